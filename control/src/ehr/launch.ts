/**
 * Launch from the record with a signed, expiring link (issue 17 point 4; for EHRs without
 * SMART on FHIR, the way Epic's context-aware links and many HiX set-ups work):
 *
 *   GET /staff/launch?appointment=<appointment id>&clinician=<staff e-mail or id>&exp=<unix seconds>&sig=<hex>
 *   (appointment: Spreekkamer's id, or `<integration id>/<the EHR's id>` for an EHR that never
 *   learns ours, such as one booking over HL7 SIU)
 *   sig = hex HMAC-SHA256(EHR_LAUNCH_SECRET, "spreekkamer-launch.v1|<appointment>|<clinician>|<exp>")
 *
 * The link proves the EHR made it (for this clinician, this appointment, until exp); it does
 * not sign anyone in. The clinician signs in as always (the login page brings them back to the
 * link), and is then sent to the console on that consult (`/staff/?consult=<id>`) if:
 * the signed-in account is the clinician the link names, and that account may see the
 * appointment (its own consult, or an admin of the clinic). Everything else is refused with a
 * page that says why: a tampered or malformed link, an expired one, one valid too long,
 * another clinician's link, an appointment of another clinic.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { loadConsult } from '../consult/context.js';
import { appointmentIdByExternalId } from '../domain/appointments.js';
import { staffMaySee } from '../domain/admission.js';
import { recordAudit } from '../domain/audit.js';
import { isUuid } from '../http/validate.js';
import { SESSION_COOKIE, loadSession } from '../staff/sessions.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import { SMART_CALLBACK_PATH, smartCallback, smartLaunch } from './smart.js';

export const LAUNCH_PATH = '/staff/launch';
const VERSION = 'spreekkamer-launch.v1';
/** A link whose exp is this far in the past is still taken (clocks of EHR and appliance differ a little). */
const CLOCK_SKEW_SECONDS = 30;

export interface LaunchParams {
  appointment: string;
  clinician: string;
  /** Unix seconds. */
  exp: number;
}

export function launchSignature(secret: string, p: LaunchParams): string {
  return createHmac('sha256', secret).update(`${VERSION}|${p.appointment}|${p.clinician}|${p.exp}`).digest('hex');
}

/** What the EHR does (and the tests): the link for one clinician and appointment. */
export function launchUrl(baseUrl: string, secret: string, p: LaunchParams): string {
  const q = new URLSearchParams({ appointment: p.appointment, clinician: p.clinician, exp: String(p.exp), sig: launchSignature(secret, p) });
  return `${baseUrl.replace(/\/+$/, '')}${LAUNCH_PATH}?${q.toString()}`;
}

export type LaunchRefusal = 'malformed' | 'signature' | 'expired' | 'too_long' | 'other_clinician' | 'not_found' | 'not_allowed' | 'not_configured';

export type LaunchCheck = { ok: true; params: LaunchParams } | { ok: false; reason: LaunchRefusal };

const CLINICIAN = /^([0-9a-f-]{36}|[^\s@|]{1,64}@[^\s@|]{1,190})$/i;
/** The EHR's own id, after the integration id: printable, no `|` (the signed text's separator). */
const BY_EHR_ID = /^([0-9a-f-]{36})\/([^\x00-\x1f\x7f|]{1,200})$/i;

/** Spreekkamer's id, or the integration and the EHR's id. */
export type AppointmentRef = { id: string } | { integrationId: string; externalId: string };

export function appointmentRef(value: string): AppointmentRef | null {
  if (isUuid(value)) return { id: value };
  const m = BY_EHR_ID.exec(value);
  return m && isUuid(m[1]) ? { integrationId: m[1]!, externalId: m[2]! } : null;
}

/** Checks the link's form, signature and time; says nothing about who may use it. */
export function checkLaunch(query: Record<string, unknown>, secret: string, maxSeconds: number, nowMs = Date.now()): LaunchCheck {
  const one = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
  const appointment = one('appointment');
  const clinician = one('clinician');
  const expText = one('exp');
  const sig = one('sig');
  if (!appointment || !appointmentRef(appointment) || !clinician || !CLINICIAN.test(clinician) || !expText || !/^\d{1,12}$/.test(expText) || !sig || !/^[0-9a-f]{64}$/i.test(sig)) {
    return { ok: false, reason: 'malformed' };
  }
  const params: LaunchParams = { appointment, clinician, exp: Number(expText) };
  const expected = Buffer.from(launchSignature(secret, params), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'signature' };
  const now = nowMs / 1000;
  if (params.exp + CLOCK_SKEW_SECONDS < now) return { ok: false, reason: 'expired' };
  if (params.exp - now > maxSeconds + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'too_long' };
  return { ok: true, params };
}

/** The refusal pages: what happened and what to do, in Dutch and English. */
const MESSAGES: Record<LaunchRefusal, { status: number; nl: string; en: string }> = {
  malformed: { status: 400, nl: 'Deze link uit het dossier is onvolledig of beschadigd. Open het consult opnieuw vanuit het dossier.', en: 'This link from the record is incomplete or damaged. Open the consult again from the record.' },
  signature: { status: 403, nl: 'Deze link uit het dossier is niet echt (de handtekening klopt niet). Open het consult opnieuw vanuit het dossier.', en: 'This link from the record is not genuine (its signature does not match). Open the consult again from the record.' },
  expired: { status: 403, nl: 'Deze link uit het dossier is verlopen. Open het consult opnieuw vanuit het dossier.', en: 'This link from the record has expired. Open the consult again from the record.' },
  too_long: { status: 403, nl: 'Deze link uit het dossier is te lang geldig en wordt daarom niet aanvaard. Vraag de applicatiebeheerder van het dossier om de instelling.', en: 'This link from the record is valid for too long and is therefore refused. Ask the record\'s application manager to check the setting.' },
  other_clinician: { status: 403, nl: 'Deze link is voor een andere zorgverlener dan wie hier is aangemeld. Meld u af en open het consult opnieuw vanuit het dossier.', en: 'This link is for another clinician than the one signed in here. Sign out and open the consult again from the record.' },
  not_found: { status: 404, nl: 'Dit consult bestaat niet (meer) in Spreekkamer.', en: 'This consultation does not exist (any more) in Spreekkamer.' },
  not_allowed: { status: 403, nl: 'U hebt geen toegang tot dit consult (het hoort bij een andere zorgverlener of polikliniek).', en: 'You have no access to this consultation (it belongs to another clinician or clinic).' },
  not_configured: { status: 404, nl: 'Starten vanuit het dossier is op deze Spreekkamer niet ingesteld.', en: 'Launching from the record is not set up on this Spreekkamer.' },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The one refusal page of a launch from the record (signed link and SMART alike). */
export function sendRefusalPage(ctx: Context, reason: string, m: { status: number; nl: string; en: string }): void {
  ctx.status = m.status;
  if (m.status === 503) ctx.set('Retry-After', '60');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!doctype html><html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spreekkamer</title></head><body data-launch-refused="${escapeHtml(reason)}">
<main><h1>Consult niet geopend</h1><p>${escapeHtml(m.nl)}</p><h2 lang="en">Consultation not opened</h2><p lang="en">${escapeHtml(m.en)}</p>
<p><a href="/staff/">Naar de lijst van vandaag / Today's list</a></p></main></body></html>`;
}

function refuse(ctx: Context, reason: LaunchRefusal): void {
  sendRefusalPage(ctx, reason, MESSAGES[reason]);
}

export interface LaunchDeps {
  ds: DataSource;
  config: Config;
  hub: Hub;
  logger: Logger;
}

export function createLaunchRouter(deps: LaunchDeps): Router {
  const router = new Router();
  // SMART on FHIR EHR launch (smart.ts): iss and launch instead of a signed link.
  router.get(SMART_CALLBACK_PATH, (ctx) => smartCallback(deps, ctx));
  router.get(LAUNCH_PATH, async (ctx) => {
    if (ctx.query.iss !== undefined || ctx.query.launch !== undefined) return smartLaunch(deps, ctx);
    const launch = deps.config.ehrLaunch;
    if (!launch) return refuse(ctx, 'not_configured');
    const check = checkLaunch(ctx.query, launch.secret, launch.maxSeconds);
    if (!check.ok) return refuse(ctx, check.reason);
    const { params } = check;
    const session = await loadSession(deps.ds, ctx.cookies.get(SESSION_COOKIE));
    if (!session) {
      // Sign in first; the login page comes back here (the link is checked again then).
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(`/staff/login?next=${encodeURIComponent(ctx.originalUrl)}`);
      return;
    }
    const named = params.clinician.includes('@') ? session.email.toLowerCase() === params.clinician.toLowerCase() : session.id === params.clinician;
    if (!named) return refuse(ctx, 'other_clinician');
    const ref = appointmentRef(params.appointment)!;
    const id = 'id' in ref
      ? ref.id
      : await appointmentIdByExternalId(deps.ds, ref.integrationId, ref.externalId);
    const c = id ? await loadConsult(deps.ds.manager, id) : null;
    if (!c) return refuse(ctx, 'not_found');
    if (!staffMaySee(session, c)) return refuse(ctx, 'not_allowed');
    await recordAudit(deps.ds.manager, { actorKind: 'staff', actorId: session.id, action: 'ehr_launch', appointmentId: c.appointmentId, data: {} });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`/staff/?consult=${c.appointmentId}`);
  });
  return router;
}
