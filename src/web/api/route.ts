import type { AppContext } from '../../app/index.js';

/**
 * One endpoint of the dashboard's API (`/api/…`). The server (web/server/) owns HTTP: it
 * authenticates, checks CSRF on every non-GET, parses JSON bodies and turns a thrown PrismError
 * or ApiError into a JSON error reply. A handler only maps a request to an app call and returns
 * what the CLI's `--json` prints for the same question, so every number matches the CLI's.
 */
export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  /** Fastify-style path, e.g. '/api/backups/:id'. */
  readonly path: string;
  /** One line for docs/dashboard.md and `GET /api`. */
  readonly summary: string;
  readonly handler: (req: ApiRequest) => Promise<ApiReply>;
}

export interface ApiRequest {
  /** A fresh context (config, clock, logger) for this request. */
  readonly ctx: AppContext;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body of a POST (the server refuses malformed JSON with 400 before a handler runs). */
  readonly body: unknown;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export type ApiReply =
  | { readonly kind: 'json'; readonly status?: number; readonly body: unknown }
  | {
      readonly kind: 'file';
      readonly name: string;
      readonly size?: number;
      readonly stream: NodeJS.ReadableStream;
    };

/** A client error: 400 bad input, 404 unknown id or path, 409 busy. The reply is `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 422,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const json = (body: unknown, status?: number): ApiReply => ({ kind: 'json', body, ...(status ? { status } : {}) });
