import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../core/logger.js';
import { checkPassword, sameSecret } from './credentials.js';
import { apiError } from './error-reply.js';
import type { LoginThrottle, Sessions } from './sessions.js';

export const SESSION_COOKIE = 'prism_session';

interface SessionDeps {
  readonly sessions: Sessions;
  readonly throttle: LoginThrottle;
  readonly token: string;
  readonly passwordHash: string | undefined;
  /** Served over TLS: the cookie is Secure. */
  readonly secure: boolean;
  readonly version: string;
  readonly log: Logger;
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  const e = apiError(401, 'UNAUTHENTICATED', message);
  return reply.code(e.status).type('application/json; charset=utf-8').send(e.body);
}

/** POST /api/login, GET /api/session, POST /api/logout. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionDeps): void {
  const { sessions, throttle } = deps;
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: deps.secure };

  app.post('/api/login', async (req, reply) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = throttle.waitMs(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      const e = apiError(429, 'TOO_MANY_ATTEMPTS', `Too many failed logins: try again in ${seconds} s.`);
      return reply.code(429).header('retry-after', String(seconds)).type('application/json; charset=utf-8').send(e.body);
    }
    const body = req.body as { token?: unknown; password?: unknown } | undefined;
    const token = typeof body?.token === 'string' ? body.token : undefined;
    const password = typeof body?.password === 'string' ? body.password : undefined;
    if (token === undefined && password === undefined) {
      const e = apiError(400, 'BAD_REQUEST', 'Send { "token": "…" } or { "password": "…" } as JSON.');
      return reply.code(400).type('application/json; charset=utf-8').send(e.body);
    }
    let ok = false;
    if (token !== undefined) ok = token.length <= 1024 && sameSecret(token, deps.token);
    else if (password !== undefined && deps.passwordHash !== undefined && password.length <= 1024) ok = await checkPassword(password, deps.passwordHash);
    if (!ok) {
      throttle.failed(address);
      deps.log.warn({ event: 'dashboard.login_failed', address, with: token !== undefined ? 'token' : 'password' }, 'dashboard login failed');
      return unauthorized(
        reply,
        token !== undefined
          ? 'Wrong token.'
          : deps.passwordHash
            ? 'Wrong password.'
            : 'No password is set (backup.dashboard.password_hash): log in with the token.',
      );
    }
    throttle.succeeded(address);
    const { id, session } = sessions.create();
    deps.log.info({ event: 'dashboard.login', address, with: token !== undefined ? 'token' : 'password' }, 'dashboard login');
    return reply
      .setCookie(SESSION_COOKIE, id, { ...cookieOptions, expires: session.expiresAt })
      .type('application/json; charset=utf-8')
      .send({ csrf_token: session.csrf, expires_at: session.expiresAt.toISOString() });
  });

  app.get('/api/session', async (req, reply) => {
    const session = sessions.get(req.cookies[SESSION_COOKIE]);
    if (!session) return unauthorized(reply, 'Not logged in.');
    return reply.type('application/json; charset=utf-8').send({
      csrf_token: session.csrf,
      version: deps.version,
      time_zone: null,
      expires_at: session.expiresAt.toISOString(),
    });
  });

  // authenticated (and CSRF-checked) by the onRequest hook like every other POST
  app.post('/api/logout', async (req, reply) => {
    if (req.auth?.kind === 'cookie') sessions.delete(req.auth.id);
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).type('application/json; charset=utf-8').send({ ok: true });
  });
}
