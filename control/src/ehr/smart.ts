/**
 * SMART on FHIR EHR launch (issue 17 point 4), beside the signed launch link (launch.ts):
 *
 *   GET /staff/launch?iss=<the EHR's FHIR base>&launch=<opaque>
 *     → only for an iss listed in SMART_ISSUERS: reads <iss>/.well-known/smart-configuration and
 *       redirects to the EHR's authorize endpoint with response_type=code, our client id,
 *       redirect_uri=<INTERNAL_BASE_URL>/staff/launch/callback, scope "launch openid fhirUser",
 *       launch, aud=iss, state, nonce and PKCE (S256).
 *   GET /staff/launch/callback?code=…&state=…
 *     → exchanges the code (openid-client: the ID token's signature against the EHR's jwks_uri,
 *       issuer, audience, expiry, nonce), takes the appointment from the token response's launch
 *       context (`fhirContext` Appointment reference or identifier, else `appointment`, else
 *       `encounter`) as the EHR's id of an appointment of the issuer's integration (its
 *       externalId, or our own id), the clinician from the ID token's subject (the staff
 *       member's OIDC link, when the EHR signs in with the same identity provider as OIDC_ISSUER)
 *       or its verified e-mail; refuses if that staff member may not see the appointment; else
 *       signs them in and opens the console on that consult.
 *
 * The flow's secrets wait in Redis for 10 minutes under the hash of a random id only this
 * browser holds (an httpOnly cookie scoped to /staff/launch). Every refusal is a page that says
 * why in Dutch and English, and an audit event `ehr_launch_refused` (no personal data).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import * as client from 'openid-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import { loadConsult } from '../consult/context.js';
import { staffMaySee, type StaffIdentity } from '../domain/admission.js';
import { recordAudit } from '../domain/audit.js';
import { isUuid } from '../http/validate.js';
import { signIn } from '../staff/auth.js';
import { isLoopbackUrl } from '../staff/oidc.js';
import { sendRefusalPage } from './launch.js';

export const SMART_CALLBACK_PATH = '/staff/launch/callback';
export const SMART_SCOPE = 'launch openid fhirUser';
const FLOW_COOKIE = 'spk_smart';
const COOKIE_PATH = '/staff/launch';
const FLOW_SECONDS = 600;

export type SmartRefusal = 'untrusted_iss' | 'malformed' | 'ehr_unavailable' | 'bad_state' | 'denied' | 'token_failed' | 'no_context' | 'not_found' | 'unknown_clinician' | 'not_allowed';

const MESSAGES: Record<SmartRefusal, { status: number; nl: string; en: string }> = {
  untrusted_iss: { status: 403, nl: 'Dit dossiersysteem is niet als vertrouwd ingesteld op deze Spreekkamer.', en: 'This record system is not set up as trusted on this Spreekkamer.' },
  malformed: { status: 400, nl: 'De start vanuit het dossier is onvolledig. Open het consult opnieuw vanuit het dossier.', en: 'The launch from the record is incomplete. Open the consult again from the record.' },
  ehr_unavailable: { status: 503, nl: 'Het dossiersysteem is nu niet bereikbaar. Probeer het over een minuut opnieuw.', en: 'The record system cannot be reached right now. Try again in a minute.' },
  bad_state: { status: 403, nl: 'Deze aanmelding hoort niet bij een start vanuit het dossier in deze browser, of duurde te lang. Open het consult opnieuw vanuit het dossier.', en: 'This sign-in does not belong to a launch from the record in this browser, or took too long. Open the consult again from the record.' },
  denied: { status: 403, nl: 'Het dossiersysteem heeft de aanmelding geweigerd.', en: 'The record system refused the sign-in.' },
  token_failed: { status: 403, nl: 'De aanmelding via het dossiersysteem kon niet worden gecontroleerd.', en: 'The sign-in through the record system could not be verified.' },
  no_context: { status: 400, nl: 'Het dossier heeft niet gezegd om welke afspraak het gaat.', en: 'The record did not say which appointment this is about.' },
  not_found: { status: 404, nl: 'Dit consult bestaat niet (meer) in Spreekkamer.', en: 'This consultation does not exist (any more) in Spreekkamer.' },
  unknown_clinician: { status: 403, nl: 'U hebt geen account in Spreekkamer dat bij uw aanmelding in het dossier hoort. Vraag de applicatiebeheerder.', en: 'You have no Spreekkamer account that matches your sign-in to the record. Ask the application manager.' },
  not_allowed: { status: 403, nl: 'U hebt geen toegang tot dit consult (het hoort bij een andere zorgverlener of polikliniek).', en: 'You have no access to this consultation (it belongs to another clinician or clinic).' },
};

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const flowKey = (id: string) => `spk:smart-flow:${sha256(id)}`;

interface Flow {
  iss: string;
  state: string;
  nonce: string;
  verifier: string;
  server: { issuer: string; authorization_endpoint: string; token_endpoint: string; jwks_uri: string };
}

export interface SmartDeps {
  ds: DataSource;
  config: Config;
  hub: Hub;
  logger: Logger;
}

export const smartRedirectUri = (config: Pick<Config, 'internalBaseUrl'>) => `${config.internalBaseUrl}${SMART_CALLBACK_PATH}`;

async function refuse(deps: SmartDeps, ctx: Context, reason: SmartRefusal, detail: string, extra: Record<string, string> = {}): Promise<void> {
  deps.logger.warn({ reason, detail }, 'SMART launch refused');
  await recordAudit(deps.ds.manager, { actorKind: 'system', actorId: 'smart', action: 'ehr_launch_refused', data: { method: 'smart', reason, detail, ...extra } }).catch(() => undefined);
  sendRefusalPage(ctx, reason, MESSAGES[reason]);
}

const httpUrl = (v: unknown): v is string => typeof v === 'string' && v.length <= 2000 && /^https?:\/\//.test(v) && URL.canParse(v);

/** GET /staff/launch?iss=…&launch=… */
export async function smartLaunch(deps: SmartDeps, ctx: Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const iss = typeof ctx.query.iss === 'string' ? ctx.query.iss.replace(/\/+$/, '') : null;
  const launch = typeof ctx.query.launch === 'string' ? ctx.query.launch : null;
  if (!iss || !launch || launch.length > 2000 || /[\x00-\x1f\x7f]/.test(launch)) return refuse(deps, ctx, 'malformed', 'iss or launch missing or malformed');
  const trusted = deps.config.smartIssuers.find((i) => i.iss === iss);
  if (!trusted) return refuse(deps, ctx, 'untrusted_iss', 'iss not in SMART_ISSUERS', { iss: iss.slice(0, 200) });
  let meta: Record<string, unknown>;
  try {
    const res = await fetch(`${iss}/.well-known/smart-configuration`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    meta = (await res.json()) as Record<string, unknown>;
    if (!meta || typeof meta !== 'object') throw new Error('not an object');
  } catch (err) {
    return refuse(deps, ctx, 'ehr_unavailable', `smart-configuration: ${(err as Error).name}`, { iss });
  }
  const { issuer, authorization_endpoint, token_endpoint, jwks_uri } = meta;
  // Without issuer and jwks_uri (SMART's sso-openid-connect) the ID token cannot be checked.
  if (!httpUrl(issuer) || !httpUrl(authorization_endpoint) || !httpUrl(token_endpoint) || !httpUrl(jwks_uri)) {
    return refuse(deps, ctx, 'ehr_unavailable', 'smart-configuration lacks issuer, authorization_endpoint, token_endpoint or jwks_uri', { iss });
  }
  const flow: Flow = {
    iss,
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
    server: { issuer, authorization_endpoint, token_endpoint, jwks_uri },
  };
  const flowId = randomBytes(32).toString('base64url');
  try {
    await deps.hub.redis.set(flowKey(flowId), JSON.stringify(flow), { EX: FLOW_SECONDS });
  } catch {
    return refuse(deps, ctx, 'ehr_unavailable', 'redis unavailable');
  }
  // Lax: the EHR's authorization server sends the browser back with a cross-site redirect.
  ctx.cookies.set(FLOW_COOKIE, flowId, { httpOnly: true, sameSite: 'lax', secure: deps.config.cookieSecure, path: COOKIE_PATH, maxAge: FLOW_SECONDS * 1000, overwrite: true });
  const url = new URL(authorization_endpoint);
  const q = {
    response_type: 'code',
    client_id: trusted.clientId,
    redirect_uri: smartRedirectUri(deps.config),
    scope: SMART_SCOPE,
    launch,
    aud: iss,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
  ctx.status = 303;
  ctx.redirect(url.href);
}

/** The EHR's appointment id from the token response's launch context. */
export function contextAppointment(tokens: Record<string, unknown>): string | null {
  const ok = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\x00-\x1f\x7f|]/.test(v);
  const fromRef = (ref: unknown, type: string) => {
    if (!ok(ref)) return null;
    const m = new RegExp(`(?:^|/)${type}/([^/]+)(?:/_history/[^/]+)?$`).exec(ref);
    return m ? m[1]! : ref.includes('/') ? null : ref;
  };
  if (Array.isArray(tokens.fhirContext)) {
    for (const c of tokens.fhirContext as Array<Record<string, unknown>>) {
      if (!c || typeof c !== 'object') continue;
      const ref = fromRef(c.reference, 'Appointment');
      if (ref && typeof c.reference === 'string' && c.reference.includes('Appointment/')) return ref;
      const ident = c.identifier as { value?: unknown } | undefined;
      if (c.type === 'Appointment' && ident && ok(ident.value)) return ident.value;
    }
  }
  const appointment = fromRef(tokens.appointment, 'Appointment');
  if (appointment) return appointment;
  return fromRef(tokens.encounter, 'Encounter');
}

/** GET /staff/launch/callback */
export async function smartCallback(deps: SmartDeps, ctx: Context): Promise<void> {
  const { ds, config } = deps;
  ctx.set('Cache-Control', 'no-store');
  const flowId = ctx.cookies.get(FLOW_COOKIE);
  ctx.cookies.set(FLOW_COOKIE, '', { path: COOKIE_PATH, expires: new Date(0), httpOnly: true });
  let raw: string | null = null;
  try {
    raw = flowId && /^[A-Za-z0-9_-]{43}$/.test(flowId) ? await deps.hub.redis.getDel(flowKey(flowId)) : null;
  } catch {
    return refuse(deps, ctx, 'ehr_unavailable', 'redis unavailable');
  }
  if (!raw) return refuse(deps, ctx, 'bad_state', 'no pending launch for this browser');
  const flow = JSON.parse(raw) as Flow;
  if (ctx.query.state !== flow.state) return refuse(deps, ctx, 'bad_state', 'state does not match', { iss: flow.iss });
  if (typeof ctx.query.error === 'string') return refuse(deps, ctx, 'denied', `ehr error ${ctx.query.error.replace(/[^a-z_]/gi, '').slice(0, 40)}`, { iss: flow.iss });
  const trusted = config.smartIssuers.find((i) => i.iss === flow.iss);
  if (!trusted) return refuse(deps, ctx, 'untrusted_iss', 'iss no longer in SMART_ISSUERS', { iss: flow.iss });

  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  try {
    const cfg = new client.Configuration(flow.server, trusted.clientId, undefined, client.ClientSecretBasic(trusted.clientSecret));
    if (isLoopbackUrl(flow.server.token_endpoint)) client.allowInsecureRequests(cfg);
    const currentUrl = new URL(smartRedirectUri(config));
    currentUrl.search = ctx.querystring;
    tokens = await client.authorizationCodeGrant(cfg, currentUrl, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  } catch (err) {
    const e = err as { name?: string; code?: string };
    return refuse(deps, ctx, 'token_failed', `token check failed: ${e.code ?? e.name ?? 'Error'}`, { iss: flow.iss });
  }
  const claims = tokens.claims();
  if (!claims) return refuse(deps, ctx, 'token_failed', 'no ID token', { iss: flow.iss });

  const ehrId = contextAppointment(tokens as unknown as Record<string, unknown>);
  if (!ehrId) return refuse(deps, ctx, 'no_context', 'no appointment, encounter or fhirContext in the token response', { iss: flow.iss });
  const row = await db(ds)
    .selectFrom('appointment')
    .select('id')
    .where('integration_id', '=', trusted.integration)
    .where((eb) => (isUuid(ehrId) ? eb.or([eb('external_id', '=', ehrId), eb(sql<string>`id::text`, '=', ehrId)]) : eb('external_id', '=', ehrId)))
    .orderBy(sql`external_id = ${ehrId}`, 'desc')
    .limit(1)
    .executeTakeFirst();
  const consult = row ? await loadConsult(ds.manager, row.id) : null;
  if (!consult) return refuse(deps, ctx, 'not_found', 'no appointment of the integration with that id', { iss: flow.iss });

  const staff = await matchClinician(ds, config, claims);
  if (!staff) return refuse(deps, ctx, 'unknown_clinician', 'no active staff member for the ID token subject or e-mail', { iss: flow.iss, appointmentId: consult.appointmentId });
  if (!staffMaySee(staff, consult)) {
    return refuse(deps, ctx, 'not_allowed', 'staff member may not see the appointment', { iss: flow.iss, appointmentId: consult.appointmentId, staffId: staff.id });
  }
  await signIn(ds, ctx, config, staff.id, 'oidc');
  await recordAudit(ds.manager, { actorKind: 'staff', actorId: staff.id, action: 'ehr_launch', appointmentId: consult.appointmentId, data: { method: 'smart', iss: flow.iss } });
  // A page, not a redirect: the session cookie is SameSite=Strict and this ends a cross-site chain.
  const target = `/staff/?consult=${consult.appointmentId}`;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!doctype html><html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow"><meta http-equiv="refresh" content="0;url=${target}"><title>Consult openen</title>
<link rel="stylesheet" href="/assets/app.css"></head><body class="login"><main class="screen">
<h1>Consult openen <span lang="en">/ Opening the consultation</span></h1>
<p><a class="btn btn-primary" href="${target}" data-testid="launch-continue">Verder <span lang="en">/ Continue</span></a></p></main></body></html>`;
}

/**
 * The staff member the EHR signed in: by the ID token's subject when the EHR's authorization
 * server is the identity provider staff sign in with (OIDC_ISSUER, the existing link), else by
 * an e-mail claim the EHR does not say is unverified. Active accounts only; never links.
 */
async function matchClinician(ds: DataSource, config: Pick<Config, 'oidc'>, claims: client.IDToken): Promise<StaffIdentity | null> {
  const find = async (column: 's.oidc_subject' | 's.email', value: string): Promise<StaffIdentity | null> => {
    const r = await db(ds)
      .selectFrom('staff as s')
      .leftJoin('staff_clinic as sc', 'sc.staff_id', 's.id')
      .select(['s.id', 's.role', sql<string[]>`coalesce(array_agg(sc.clinic_id) FILTER (WHERE sc.clinic_id IS NOT NULL), '{}')`.as('clinic_ids')])
      .where(column, '=', value)
      .where('s.active', '=', true)
      .groupBy('s.id')
      .executeTakeFirst();
    return r ? { id: r.id, role: r.role, clinicIds: r.clinic_ids } : null;
  };
  if (config.oidc && claims.iss.replace(/\/+$/, '') === config.oidc.issuer.replace(/\/+$/, '')) {
    const bySub = await find('s.oidc_subject', claims.sub);
    if (bySub) return bySub;
  }
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : null;
  if (!email || claims.email_verified === false) return null;
  return find('s.email', email);
}
