/**
 * Staff sign-in and the guard every staff route runs (internal listener only):
 *
 *  - `POST /staff/api/login` (local accounts, Argon2id) with login rate limiting in Redis per
 *    e-mail address and per client address → 429; `POST /staff/api/logout`; `GET /staff/api/me`;
 *    `GET /staff/api/login-options` (is SSO configured?). OpenID Connect lives in oidc.ts.
 *  - `staffAuth`: a live session (read from PostgreSQL on every request, so a revoked session
 *    is refused at once), the CSRF token on state-changing methods, and manager accounts kept
 *    to the routes that say they take them. What a staff member may do with a consult or a
 *    clinic is not decided here but by each route, with the domain's rules
 *    (domain/admission.ts: `can`, `allowed`, `linkedToClinic`).
 *  - `requireRole`: e.g. admin only.
 * Sign-in, sign-out and refusals are audit events (ids only, never an e-mail address).
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import type { StaffRole } from '../db/entities.js';
import { HttpError } from '../http/errors.js';
import { bodyOf, validate } from '../http/validate.js';
import { FailureGate, clientTag } from '../http/limits.js';
import { recordAudit } from '../domain/audit.js';
import { SESSION_COOKIE, createSession, csrfMatches, loadSession, revokeSession, verifyLogin, type SignInMethod, type StaffSession } from './sessions.js';

export interface AuthRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
}

const Login = z.object({ email: z.string().trim().email().max(254), password: z.string().min(1).max(1024) }).strict();
type Login = z.infer<typeof Login>;

/**
 * Requires a signed-in staff member; state-changing methods also need the CSRF token. Manager
 * accounts see reports only (never a patient's name): they pass only where the route says
 * `{ managers: true }` (who am I, sign out, the reports).
 */
export function staffAuth(ds: DataSource, opts: { managers?: boolean } = {}): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = await loadSession(ds, ctx.cookies.get(SESSION_COOKIE));
    if (!session) throw new HttpError(401, 'not_authenticated', 'sign in first');
    if (!['GET', 'HEAD'].includes(ctx.method) && !csrfMatches(session.csrfToken, ctx.get('x-csrf-token'))) {
      throw new HttpError(403, 'csrf', 'missing or wrong CSRF token (x-csrf-token header)');
    }
    // Managers read the reports of their clinics; everything else (patients' names) is closed to them.
    if (session.role === 'manager' && !opts.managers) throw new HttpError(403, 'not_allowed', 'manager accounts see the reports only');
    ctx.state.staff = session;
    await next();
  };
}

/** After staffAuth: only these roles pass (403 otherwise). */
export function requireRole(...roles: StaffRole[]): Middleware {
  return async (ctx: Context, next: Next) => {
    const staff = ctx.state.staff as StaffSession | undefined;
    if (!staff) throw new HttpError(401, 'not_authenticated', 'sign in first');
    if (!roles.includes(staff.role)) throw new HttpError(403, 'not_allowed', `only for ${roles.join(' or ')} accounts`);
    await next();
  };
}

export function setSessionCookie(ctx: Context, config: Config, s: { token: string; expiresAt: Date }): void {
  ctx.cookies.set(SESSION_COOKIE, s.token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.cookieSecure,
    path: '/staff',
    expires: s.expiresAt,
    overwrite: true,
  });
}

/** Opens a session for a verified staff member: cookie, audit event. Returns the session. */
export async function signIn(ds: DataSource, ctx: Context, config: Config, staffId: string, method: SignInMethod): Promise<StaffSession> {
  const s = await createSession(ds, staffId, method);
  setSessionCookie(ctx, config, s);
  await recordAudit(ds.manager, { actorKind: 'staff', actorId: staffId, action: 'staff.sign_in', data: { method } });
  return (await loadSession(ds, s.token))!;
}

export function presentStaff(s: StaffSession) {
  return { id: s.id, name: s.name, email: s.email, role: s.role, clinicIds: s.clinicIds };
}

/**
 * Failed local sign-ins, across processes (http/limits.ts), so that guessing is slow and nobody
 * can lock a staff member out (issue 14, defect 13):
 *  - per account AND address: the guesser's own address waits longer after each failure;
 *  - per address: one address trying many accounts waits too;
 *  - per account from addresses the account never signed in from: a guess spread over many
 *    addresses waits, but the owner's own workstations (a sign-in there in the last 30 days)
 *    are never held up by what strangers tried.
 * The waits grow (30 s, 1 min, 2 min … up to the window) instead of one long lockout.
 */
export class LoginLimiter {
  private pair: FailureGate;
  private client: FailureGate;
  private account: FailureGate;

  constructor(private hub: Hub, limits: Config['login']) {
    this.pair = new FailureGate(hub.redis, { name: 'login-pair', free: limits.maxFailuresPerAccount, windowSeconds: limits.windowSeconds });
    this.client = new FailureGate(hub.redis, { name: 'login-client', free: limits.maxFailuresPerClient, windowSeconds: limits.windowSeconds });
    this.account = new FailureGate(hub.redis, { name: 'login-account', free: limits.maxFailuresPerAccount, windowSeconds: limits.windowSeconds });
  }

  /** The limit in force and the seconds to wait, or null: go ahead. */
  async blocked(email: string, address: string): Promise<{ limit: 'account' | 'client'; waitSeconds: number } | null> {
    const [pair, client, known] = await Promise.all([
      this.pair.wait(`${email}|${address}`),
      this.client.wait(address),
      this.knownAddress(email, address),
    ]);
    const account = known ? 0 : await this.account.wait(email);
    if (pair > 0 || account > 0) return { limit: 'account', waitSeconds: Math.max(pair, account) };
    if (client > 0) return { limit: 'client', waitSeconds: client };
    return null;
  }

  async fail(email: string, address: string): Promise<void> {
    await Promise.all([this.pair.fail(`${email}|${address}`), this.client.fail(address), this.account.fail(email)]);
  }

  /** A correct password: this address is the owner's from now on; its own count starts again. */
  async succeeded(email: string, address: string): Promise<void> {
    const key = knownKey(email);
    await this.hub.redis.multi().sAdd(key, clientTag(address)).expire(key, KNOWN_ADDRESS_SECONDS).exec();
    await this.pair.reset(`${email}|${address}`);
  }

  private async knownAddress(email: string, address: string): Promise<boolean> {
    return Boolean(await this.hub.redis.sIsMember(knownKey(email), clientTag(address)).catch(() => false));
  }
}

/** How long a sign-in makes an address the account's own (for the account-wide wait). */
const KNOWN_ADDRESS_SECONDS = 30 * 86_400;
const knownKey = (email: string) => `spk:login-known:${clientTag(`account:${email}`)}`;

export function createAuthRouter(deps: AuthRouteDeps): Router {
  const { ds, config, logger, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds, { managers: true });
  const limiter = new LoginLimiter(hub, config.login);

  router.get('/login-options', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { password: true, sso: config.oidc !== null };
  });

  router.post('/login', validate({ body: Login }), async (ctx) => {
    const body = bodyOf<Login>(ctx);
    const email = body.email.toLowerCase();
    const address = ctx.ip || 'unknown';
    const blocked = await limiter.blocked(email, address);
    if (blocked) {
      logger.warn({ client: clientTag(address), limit: blocked.limit }, 'staff sign-in rate limited');
      const wait = blocked.waitSeconds < 60 ? `${blocked.waitSeconds} seconds` : `${Math.ceil(blocked.waitSeconds / 60)} minutes`;
      throw new HttpError(
        429,
        'too_many_attempts',
        `too many failed sign-in attempts; wait ${wait} and try again, or ask the application administrator`,
        undefined,
        { 'Retry-After': String(blocked.waitSeconds) },
      );
    }
    const staffId = await verifyLogin(ds, email, body.password);
    if (!staffId) {
      await limiter.fail(email, address);
      logger.info({ client: clientTag(address) }, 'staff sign-in failed');
      throw new HttpError(401, 'invalid_login', 'e-mail address or password is not correct');
    }
    await limiter.succeeded(email, address).catch((err: unknown) => logger.warn({ err: String(err) }, 'sign-in not remembered for the limiter'));
    const session = await signIn(ds, ctx, config, staffId, 'password');
    ctx.body = { staff: presentStaff(session), csrfToken: session.csrfToken };
  });

  router.post('/logout', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    await revokeSession(ds, staff.sessionId);
    await recordAudit(ds.manager, { actorKind: 'staff', actorId: staff.id, action: 'staff.sign_out' });
    ctx.cookies.set(SESSION_COOKIE, '', { path: '/staff', expires: new Date(0) });
    ctx.body = { ok: true };
  });

  router.get('/me', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    ctx.set('Cache-Control', 'no-store');
    // The staff pages sign out by themselves after this long without use (shared poli PCs).
    ctx.body = { staff: presentStaff(staff), csrfToken: staff.csrfToken, idleSignOutMinutes: config.login.idleMinutes };
  });

  return router;
}
