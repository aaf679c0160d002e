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
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: method === 'POST' ? JSON.stringify(body ?? {}) : null,
      signal: signal ?? null,
    });
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

export const getJson = <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>('GET', path, undefined, signal);
export const postJson = <T>(path: string, body: unknown): Promise<T> => request<T>('POST', path, body);

/** Builds `/api/x?a=1&b=2`, leaving out empty values. */
export function apiPath(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

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
