import { ApiError } from '../api/route.js';
import { isPrismError, type ErrorCode } from '../../errors/index.js';

export interface ErrorReply {
  status: number;
  body: { error: { code: string; message: string; fix?: string } };
}

const NOT_FOUND: readonly ErrorCode[] = ['BACKUP_NOT_FOUND', 'REPO_NOT_FOUND', 'SOURCE_NOT_FOUND'];
const BAD_INPUT: readonly ErrorCode[] = [
  'INVALID_ARGUMENT',
  'CONFIG_INVALID',
  'CONFIRMATION_REQUIRED',
  'RESTORE_PATH_REFUSED',
  'NO_FULL_BACKUP',
  'DELETE_REFUSED',
];
const BUSY: readonly ErrorCode[] = ['REPO_LOCKED', 'SERVICE_RUNNING', 'SERVICE_ALREADY_RUNNING'];

/** The HTTP status of a PrismError: unknown ids 404, bad input 400, a lock or the service in the way 409, the rest 500. */
export function statusOf(code: ErrorCode): number {
  if (NOT_FOUND.includes(code)) return 404;
  if (BAD_INPUT.includes(code)) return 400;
  if (BUSY.includes(code)) return 409;
  return 500;
}

/** `{ error: { code, message } }` for anything thrown by a handler or by Fastify (bad JSON, body too large …); never a stack trace. */
export function errorReply(e: unknown): ErrorReply {
  if (e instanceof ApiError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (isPrismError(e)) return { status: statusOf(e.code), body: { error: { code: e.id, message: e.message, fix: e.fix } } };
  const f = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    const code = f.statusCode === 413 ? 'BODY_TOO_LARGE' : f.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
    const message =
      f.statusCode === 413
        ? 'The request body is larger than 1 MiB.'
        : f.statusCode === 415
          ? 'Request bodies are JSON: send content-type: application/json.'
          : `Bad request: ${typeof f.message === 'string' ? f.message.slice(0, 200) : 'malformed'}`;
    return { status: f.statusCode, body: { error: { code, message } } };
  }
  return { status: 500, body: { error: { code: 'ERR_PRISM_INTERNAL', message: (e as Error)?.message ?? String(e) } } };
}

export const apiError = (status: number, code: string, message: string): ErrorReply => ({ status, body: { error: { code, message } } });
