/**
 * The API client: same-origin fetch with the session cookie; every POST carries the CSRF token
 * from /api/login or /api/session. A 401 anywhere sends the app back to the login page.
 */
import type { Session } from './types.js';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
const unauthorizedListeners = new Set<() => void>();

export function setCsrf(token: string): void {
  csrf = token;
}

export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function failure(res: Response): Promise<ApiFailure> {
  let code = `HTTP_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}.`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiFailure(res.status, code, message);
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  return answer<T>(
    path,
    fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: method === 'POST' ? JSON.stringify(body ?? {}) : null,
      signal: signal ?? null,
    }),
  );
}

/** The body of a response to `path`, or the ApiFailure it is (a 401 sends the app to sign in). */
async function answer<T>(path: string, sent: Promise<Response>): Promise<T> {
  let res: Response;
  try {
    res = await sent;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiFailure(0, 'NETWORK', 'The dashboard server did not answer. Is the service running? Check `prism status`, then reload this page.');
  }
  if (res.status === 401 && path !== '/api/login' && path !== '/api/session') {
    for (const l of unauthorizedListeners) l();
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** How long an answer boot.js asked for is taken: after that the page was left meanwhile, and asks again. */
const AHEAD_MS = 10_000;

/** The answer boot.js asked for `path` before this code loaded (once), read as getJson reads it; else undefined. */
export function takeAhead<T>(path: string): Promise<T> | undefined {
  const held = window.prismAhead?.[path];
  if (!held) return undefined;
  delete window.prismAhead![path];
  return performance.now() - held.at < AHEAD_MS ? answer<T>(path, held.answer) : undefined;
}

export const getJson = <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>('GET', path, undefined, signal);
export const postJson = <T>(path: string, body: unknown): Promise<T> => request<T>('POST', path, body);

export { apiPath } from './data-paths.js';

export async function login(credentials: { token: string } | { password: string }): Promise<Session> {
  const s = await request<Session>('POST', '/api/login', credentials);
  setCsrf(s.csrf_token);
  return s;
}

export async function currentSession(): Promise<Session | null> {
  try {
    const s = await request<Session>('GET', '/api/session');
    setCsrf(s.csrf_token);
    return s;
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) return null;
    throw e;
  }
}

export async function logout(): Promise<void> {
  try {
    await request<unknown>('POST', '/api/logout', {});
  } finally {
    setCsrf('');
  }
}
