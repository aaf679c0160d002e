import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProgressFiles } from '../../app/monitoring/progress-file.js';
import type { AppContext } from '../../app/index.js';
import type { Clock } from '../../core/clock.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { ApiReply, ApiRoute } from '../api/route.js';
import { sameSecret } from './credentials.js';
import { apiError, errorReply, type ErrorReply } from './error-reply.js';
import { EventStreams, type EventSources } from './event-stream.js';
import { registerSessionRoutes, SESSION_COOKIE } from './session-routes.js';
import { LoginThrottle, Sessions, type Session } from './sessions.js';
import { acceptsGzip, defaultUiDir, NOT_BUILT_PAGE, packageRoot, staticFile } from './static-files.js';

export const BODY_LIMIT = 1024 * 1024;

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface DashboardOptions {
  /** A fresh context (config, clock, logger) for each API request. */
  readonly context: () => Promise<AppContext>;
  /** PRISM_HOME: where progress files are read from. */
  readonly home: string;
  /** Sessions expire and failed logins are slowed down on this clock. */
  readonly clock: Clock;
  /** The access token (state/dashboard-token). */
  readonly token: string;
  /** backup.dashboard.password_hash, if a password may log in too. */
  readonly passwordHash?: string | undefined;
  readonly sessionHours: number;
  /** Served over TLS: the session cookie is Secure. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer } | undefined;
  /** The data endpoints (web/api/index.ts). */
  readonly routes: readonly ApiRoute[];
  /** The built front end (default: dist/ui/ of the package). */
  readonly uiDir?: string;
  readonly log?: Logger;
  /** What GET /api/events watches (default: the progress files of `home`, no backup list). */
  readonly events?: Partial<EventSources>;
}

export type Auth = { kind: 'bearer' } | { kind: 'cookie'; id: string; session: Session };

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
}

/** The paths under /api that answer without authentication (each checks what it needs itself). */
const PUBLIC = new Set(['POST /api/login', 'GET /api/session']);

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

const isApi = (path: string): boolean => path === '/api' || path.startsWith('/api/');

function sendError(reply: FastifyReply, e: ErrorReply): FastifyReply {
  return reply.code(e.status).type('application/json; charset=utf-8').send(e.body);
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface Dashboard {
  readonly app: FastifyInstance;
  readonly sessions: Sessions;
  readonly events: EventStreams;
}

/**
 * The dashboard's HTTP application: authentication (token or password → session cookie, or a
 * bearer token), CSRF on every POST of a cookie session, JSON bodies of at most 1 MiB, the API
 * routes, server-sent events, and the built front end from dist/ui/. Every reply carries the
 * security headers; every error under /api is `{ error: { code, message } }`.
 */
export async function buildDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const log = opts.log ?? silentLogger;
  const uiDir = opts.uiDir ?? defaultUiDir();
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...(opts.tls ? { https: { key: opts.tls.key, cert: opts.tls.cert } } : {}),
  }) as unknown as FastifyInstance;
  const sessions = new Sessions(opts.clock, opts.sessionHours * 3600_000);
  const throttle = new LoginThrottle(opts.clock);
  const events = new EventStreams({ progress: () => readProgressFiles(opts.home), ...opts.events });

  await app.register(cookie);
  // JSON only: a form or text/plain body (what another site's page can send without asking) is 415
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('auth', null);

  app.addHook('onSend', async (req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (isApi(pathOf(req.url))) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.addHook('onRequest', async (req, reply) => {
    const path = pathOf(req.url);
    if (!isApi(path) || PUBLIC.has(`${req.method} ${path}`)) return;
    const auth = authenticate(req);
    if (auth === 'invalid' || auth === null) {
      return sendError(
        reply,
        apiError(401, 'UNAUTHENTICATED', 'Log in first: POST /api/login, or send Authorization: Bearer <token> (prism ui --print-url shows it).'),
      );
    }
    if (auth.kind === 'cookie' && req.method !== 'GET' && req.method !== 'HEAD') {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, auth.session.csrf)) {
        return sendError(
          reply,
          apiError(403, 'CSRF_TOKEN_MISSING', 'This request needs the header x-csrf-token with the token from /api/login or /api/session.'),
        );
      }
    }
    req.auth = auth;
  });

  /** The bearer token or the session cookie; 'invalid' for a wrong bearer token (a cookie is not looked at then). */
  function authenticate(req: FastifyRequest): Auth | 'invalid' | null {
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.length > 0) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m && sameSecret(m[1]!, opts.token) ? { kind: 'bearer' } : 'invalid';
    }
    const id = req.cookies[SESSION_COOKIE];
    const session = sessions.get(id);
    return session && id ? { kind: 'cookie', id, session } : null;
  }

  app.setErrorHandler((e, req, reply) => {
    const r = errorReply(e);
    if (r.status >= 500)
      log.error({ event: 'dashboard.error', method: req.method, path: pathOf(req.url), error: r.body.error.message }, 'dashboard request failed');
    return sendError(reply, r);
  });

  app.setNotFoundHandler((req, reply) => {
    if (isApi(pathOf(req.url))) return sendError(reply, apiError(404, 'NOT_FOUND', `No API endpoint ${req.method} ${pathOf(req.url)}; GET /api lists them.`));
    return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
  });

  registerSessionRoutes(app, { sessions, throttle, token: opts.token, passwordHash: opts.passwordHash, secure: !!opts.tls, version: version(), log });

  app.get('/api/events', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    events.add(reply.raw);
  });

  for (const route of opts.routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (req, reply) => {
        const abort = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abort.abort();
        });
        const result = await route.handler({
          ctx: await opts.context(),
          params: (req.params ?? {}) as Record<string, string>,
          query: queryOf(req.query),
          body: req.body,
          signal: abort.signal,
        });
        return sendReply(reply, result);
      },
    });
  }

  app.get('/*', (req, reply) => {
    const path = pathOf(req.url);
    if (isApi(path)) return sendError(reply, apiError(404, 'NOT_FOUND', `No API endpoint GET ${path}; GET /api lists them.`));
    const r = staticFile(uiDir, path, acceptsGzip(req.headers['accept-encoding']));
    switch (r.kind) {
      case 'not-built':
        return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
      case 'bad':
        return reply.code(400).type('text/plain; charset=utf-8').send('bad path\n');
      case 'missing':
        return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
      case 'file':
        if (r.gzip) reply.header('content-encoding', 'gzip');
        return reply.type(r.type).header('content-length', r.size).header('cache-control', 'no-cache').header('vary', 'accept-encoding').send(r.stream);
    }
  });

  app.addHook('preClose', async () => events.close());
  return { app, sessions, events };
}

/** Query values as single strings (the last of repeated ones). */
function queryOf(q: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (!q || typeof q !== 'object') return out;
  for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[v.length - 1] === 'string') out[k] = v[v.length - 1] as string;
  }
  return out;
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function sendReply(reply: FastifyReply, r: ApiReply): FastifyReply {
  if (r.kind === 'json')
    return reply
      .code(r.status ?? 200)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(r.body));
  reply.type('application/octet-stream').header('content-disposition', attachment(r.name));
  if (r.size !== undefined) reply.header('content-length', r.size);
  return reply.send(r.stream);
}
