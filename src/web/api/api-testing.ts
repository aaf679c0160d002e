import type { AppContext } from '../../app/index.js';
import { apiRoutes } from './index.js';
import { ApiError, type ApiReply } from './route.js';

/** Calls the route registered for METHOD PATH (e.g. 'GET /api/backups/:id') as the server would, for the tests of the handlers. */
export async function call(
  ctx: AppContext,
  route: string,
  req: { params?: Record<string, string>; query?: Record<string, string | undefined>; body?: unknown } = {},
): Promise<ApiReply> {
  const [method, path] = route.split(' ');
  const r = apiRoutes.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${route}`);
  return r.handler({ ctx, params: req.params ?? {}, query: req.query ?? {}, body: req.body, signal: new AbortController().signal });
}

/** The JSON body of a reply (through JSON, as the client gets it). */
export async function body<T = any>(reply: Promise<ApiReply>): Promise<T> {
  const r = await reply;
  if (r.kind !== 'json') throw new Error(`not JSON: a ${r.kind}`);
  return JSON.parse(JSON.stringify(r.body)) as T;
}

/** The ApiError a call fails with (its status and message), or an error when it does not fail. */
export async function refusal(reply: Promise<ApiReply>): Promise<ApiError> {
  try {
    await reply;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('the call did not fail');
}

/** The bytes of a file reply. */
export async function bytes(reply: Promise<ApiReply>): Promise<{ name: string; size: number | undefined; data: Buffer }> {
  const r = await reply;
  if (r.kind !== 'file') throw new Error('not a file');
  const parts: Buffer[] = [];
  for await (const c of r.stream) parts.push(Buffer.from(c as Buffer));
  return { name: r.name, size: r.size, data: Buffer.concat(parts) };
}
