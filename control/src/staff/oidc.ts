/**
 * Staff sign-in through the hospital's identity provider: OpenID Connect authorization code
 * flow with PKCE (S256), state and nonce (openid-client). Internal listener only.
 *
 *   GET /staff/oidc/login      → the provider's login page
 *   GET /staff/oidc/callback   → code exchange; the ID token is checked by openid-client
 *                                (signature, issuer, audience = our client id, expiry, nonce)
 *
 * The flow's secrets (state, nonce, PKCE verifier) wait in Redis for 10 minutes under the hash
 * of a random id that only this browser holds (an httpOnly cookie scoped to /staff/oidc), so a
 * callback started in someone else's browser goes nowhere. A user is matched to a staff
 * account by the linked `sub`, else by the e-mail claim (and the `sub` is linked then); unknown
 * users are refused with a clear page unless OIDC_AUTO_PROVISION says otherwise. The session
 * that follows is the same kind local accounts get (sessions.ts).
 */
import { RateLimit, clientTag } from '../http/limits.js';
import { createHash, randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { db } from '../db/kysely.js';
import * as client from 'openid-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import { recordAudit } from '../domain/audit.js';
import { signIn } from './auth.js';

export interface OidcRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
}

export const OIDC_FLOW_COOKIE = 'spk_oidc';
const FLOW_SECONDS = 600;
const COOKIE_PATH = '/staff/oidc';

/** Why a sign-in was refused; the login page explains each one (`/staff/login?sso=<reason>`). */
export type SsoRefusal = 'not_registered' | 'inactive' | 'failed' | 'expired' | 'unavailable' | 'not_configured' | 'too_many';

/** Sign-ins one client address may start per 10 minutes (each keeps a pending flow in Redis). */
const SSO_STARTS_PER_CLIENT = 30;

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const flowKey = (flowId: string) => `spk:oidc-flow:${sha256(flowId)}`;

/** Plain http to the provider is allowed only on loopback (tests, a provider on the same host). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function redirectUriFor(config: Pick<Config, 'internalBaseUrl'>): string {
  return `${config.internalBaseUrl}/staff/oidc/callback`;
}

interface MatchedStaff {
  id: string;
  role: string;
}

type Match = { ok: true; staff: MatchedStaff; linked: boolean; provisioned: boolean } | { ok: false; reason: SsoRefusal; staffId?: string; detail: string };

/** Finds (or, when configured, makes) the staff account for a verified identity. */
export async function matchStaff(
  ds: DataSource,
  identity: { sub: string; email: string | null; emailVerified: boolean | undefined; name: string | null },
  autoProvision: 'none' | 'assistant' | 'clinician' | 'manager',
): Promise<Match> {
  const k = db(ds);
  const bySub = await k.selectFrom('staff').select(['id', 'role', 'active']).where('oidc_subject', '=', identity.sub).executeTakeFirst();
  if (bySub) {
    if (!bySub.active) return { ok: false, reason: 'inactive', staffId: bySub.id, detail: 'account deactivated' };
    return { ok: true, staff: bySub, linked: false, provisioned: false };
  }
  // An e-mail address the provider says it has not verified proves nothing.
  if (!identity.email || identity.emailVerified === false) {
    return { ok: false, reason: 'not_registered', detail: identity.email ? 'email not verified' : 'no email claim' };
  }
  const email = identity.email.trim().toLowerCase();
  const row = await k.selectFrom('staff').select(['id', 'role', 'active', 'oidc_subject']).where('email', '=', email).executeTakeFirst();
  if (row) {
    // Linked to another identity already: the address moved to someone else at the provider.
    if (row.oidc_subject !== null) return { ok: false, reason: 'not_registered', staffId: row.id, detail: 'linked to another subject' };
    if (!row.active) return { ok: false, reason: 'inactive', staffId: row.id, detail: 'account deactivated' };
    const linked = await k
      .updateTable('staff')
      .set({ oidc_subject: identity.sub })
      .where('id', '=', row.id)
      .where('oidc_subject', 'is', null)
      .returning('id')
      .executeTakeFirst();
    const didLink = linked !== undefined;
    if (!didLink) return { ok: false, reason: 'failed', staffId: row.id, detail: 'concurrent link' };
    return { ok: true, staff: { id: row.id, role: row.role }, linked: true, provisioned: false };
  }
  if (autoProvision === 'none') return { ok: false, reason: 'not_registered', detail: 'no staff account' };
  const name = (identity.name ?? email).trim().slice(0, 200) || email;
  const made = await k
    .insertInto('staff')
    .values({ email, name, role: autoProvision, password_hash: null, active: true, oidc_subject: identity.sub })
    .returning(['id', 'role'])
    .executeTakeFirstOrThrow();
  return { ok: true, staff: made, linked: true, provisioned: true };
}

export function createOidcRouter(deps: OidcRouteDeps): Router {
  const { ds, config, logger, hub } = deps;
  const router = new Router({ prefix: '/staff/oidc' });
  const oidc = config.oidc;
  let discovered: Promise<client.Configuration> | null = null;

  /** Discovery once, on first use; a failure is retried on the next sign-in. */
  const configuration = (): Promise<client.Configuration> => {
    if (!oidc) return Promise.reject(new Error('OIDC is not configured'));
    discovered ??= client
      .discovery(new URL(oidc.issuer), oidc.clientId, undefined, client.ClientSecretBasic(oidc.clientSecret), {
        execute: isLoopbackUrl(oidc.issuer) ? [client.allowInsecureRequests] : [],
        timeout: 10,
      })
      .catch((err: unknown) => {
        discovered = null;
        throw err;
      });
    return discovered;
  };

  const refuse = async (ctx: Context, reason: SsoRefusal, detail: string, staffId?: string) => {
    logger.warn({ reason, detail }, 'staff SSO sign-in refused');
    await recordAudit(ds.manager, {
      actorKind: 'system',
      actorId: 'oidc',
      action: 'staff.sign_in_refused',
      data: { method: 'oidc', reason, detail, ...(staffId ? { staffId } : {}) },
    }).catch(() => undefined);
    ctx.redirect(`/staff/login?sso=${reason}`);
  };

  const clearFlowCookie = (ctx: Context) =>
    ctx.cookies.set(OIDC_FLOW_COOKIE, '', { path: COOKIE_PATH, expires: new Date(0), httpOnly: true });

  const starts = new RateLimit(hub.redis, { name: 'sso-start', points: SSO_STARTS_PER_CLIENT, seconds: 600 });

  router.get('/login', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (!oidc) return void ctx.redirect('/staff/login?sso=not_configured');
    // Every start keeps a pending flow in Redis for a while: no client may pile them up.
    const address = ctx.ip || 'unknown';
    if ((await starts.take(address)) > 0) {
      logger.warn({ client: clientTag(address) }, 'too many SSO sign-ins started from one address');
      return void ctx.redirect('/staff/login?sso=too_many');
    }
    let cfg: client.Configuration;
    try {
      cfg = await configuration();
    } catch (err) {
      logger.error({ err: errorSummary(err) }, 'OpenID Connect discovery failed');
      return void ctx.redirect('/staff/login?sso=unavailable');
    }
    const flow: Flow = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    const flowId = randomBytes(32).toString('base64url');
    await hub.redis.set(flowKey(flowId), JSON.stringify(flow), { EX: FLOW_SECONDS });
    // Lax, not Strict: the provider sends the browser back to us with a cross-site redirect.
    ctx.cookies.set(OIDC_FLOW_COOKIE, flowId, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure,
      path: COOKIE_PATH,
      maxAge: FLOW_SECONDS * 1000,
      overwrite: true,
    });
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUriFor(config),
      scope: oidc.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (!oidc) return void ctx.redirect('/staff/login?sso=not_configured');
    const flowId = ctx.cookies.get(OIDC_FLOW_COOKIE);
    clearFlowCookie(ctx);
    const raw = flowId && /^[A-Za-z0-9_-]{43}$/.test(flowId) ? await hub.redis.getDel(flowKey(flowId)) : null;
    if (!raw) return refuse(ctx, 'expired', 'no pending sign-in for this browser');
    const flow = JSON.parse(raw) as Flow;
    if (typeof ctx.query.error === 'string') {
      // The provider said no (the user cancelled, consent refused, …): its code only, no text.
      return refuse(ctx, 'failed', `provider error ${ctx.query.error.replace(/[^a-z_]/gi, '').slice(0, 40)}`);
    }
    let cfg: client.Configuration;
    try {
      cfg = await configuration();
    } catch (err) {
      logger.error({ err: errorSummary(err) }, 'OpenID Connect discovery failed');
      return void ctx.redirect('/staff/login?sso=unavailable');
    }
    let identity: { sub: string; email: string | null; emailVerified: boolean | undefined; name: string | null };
    try {
      const currentUrl = new URL(redirectUriFor(config));
      currentUrl.search = ctx.querystring;
      const tokens = await client.authorizationCodeGrant(cfg, currentUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      let email = typeof claims.email === 'string' ? claims.email : null;
      let emailVerified = typeof claims.email_verified === 'boolean' ? claims.email_verified : undefined;
      let name = typeof claims.name === 'string' ? claims.name : null;
      if (!email) {
        // Many providers keep the e-mail claim for the userinfo endpoint.
        const info = await client.fetchUserInfo(cfg, tokens.access_token, claims.sub);
        email = typeof info.email === 'string' ? info.email : null;
        emailVerified = typeof info.email_verified === 'boolean' ? info.email_verified : emailVerified;
        name ??= typeof info.name === 'string' ? info.name : null;
      }
      identity = { sub: claims.sub, email, emailVerified, name };
    } catch (err) {
      return refuse(ctx, 'failed', `token check failed: ${errorSummary(err).code ?? errorSummary(err).name}`);
    }
    const match = await matchStaff(ds, identity, oidc.autoProvision);
    if (!match.ok) return refuse(ctx, match.reason, match.detail, match.staffId);
    if (match.provisioned) {
      await recordAudit(ds.manager, { actorKind: 'system', actorId: 'oidc', action: 'staff.provisioned', data: { staffId: match.staff.id, role: match.staff.role } });
    } else if (match.linked) {
      await recordAudit(ds.manager, { actorKind: 'system', actorId: 'oidc', action: 'staff.sso_linked', data: { staffId: match.staff.id } });
    }
    await signIn(ds, ctx, config, match.staff.id, 'oidc');
    // Not a redirect: this response ends a cross-site redirect chain (the provider → us), and a
    // SameSite=Strict session cookie is not sent along such a chain. A page of our own that moves
    // on by itself starts a same-site navigation, which carries the cookie (/staff/admin checks it).
    const target = match.staff.role === 'admin' ? '/staff/admin' : match.staff.role === 'manager' ? '/staff/reports' : '/staff/';
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = signedInPage(target);
  });

  return router;
}

function signedInPage(target: '/staff/' | '/staff/admin' | '/staff/reports'): string {
  return `<!doctype html>
<html lang="nl">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <meta http-equiv="refresh" content="0;url=${target}">
  <title>Ingelogd</title>
  <link rel="stylesheet" href="/assets/app.css">
</head>
<body class="login">
  <main class="screen">
    <h1>Ingelogd <span lang="en">/ Signed in</span></h1>
    <p><a class="btn btn-primary" href="${target}" data-testid="sso-continue">Verder <span lang="en">/ Continue</span></a></p>
  </main>
</body>
</html>
`;
}

/** Error name and code only: messages from token checks can quote claims. */
function errorSummary(err: unknown): { name: string; code?: string } {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown };
    return { name: typeof e.name === 'string' ? e.name : 'Error', ...(typeof e.code === 'string' ? { code: e.code } : {}) };
  }
  return { name: 'Error' };
}
