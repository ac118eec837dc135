/**
 * The patient API on the public listener. The patient is known only by the link token,
 * sent as `Authorization: Bearer <token>`; a wrong token learns nothing but "not valid".
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { findParticipantByToken } from '../domain/links.js';
import { loadConsult, snapshot } from '../consult/context.js';
import { HttpError } from '../http/errors.js';
import { clientTag, type FailureGate } from '../http/limits.js';
import type { Logger } from '../logger.js';

export interface PatientDeps {
  ds: DataSource;
  linkGuesses: FailureGate;
  logger: Logger;
}

export type AppointmentLookup =
  | { kind: 'ok'; body: Record<string, unknown> }
  | { kind: 'unknown' }
  | { kind: 'blocked'; retryAfterSeconds: number };

/**
 * What the patient's page needs about the appointment, by link token: for the API below and for
 * the page itself (server.ts puts it into /p/<token>, saving the phone a round trip). A valid
 * link always works, whatever others behind the same address (a care home's NAT) guessed; an
 * unknown token counts as a guess, and past the limit the address is told to wait ('blocked').
 */
export async function lookupAppointment(deps: PatientDeps, token: string | null | undefined, ip: string): Promise<AppointmentLookup> {
  const found = token ? await findParticipantByToken(deps.ds, token, { includeRevoked: true }) : null;
  const p = found?.participant;
  if (!p) {
    const waiting = await deps.linkGuesses.wait(ip);
    const { failures } = await deps.linkGuesses.fail(ip);
    deps.logger.warn({ client: clientTag(ip), failures }, 'unknown patient link');
    return waiting > 0 ? { kind: 'blocked', retryAfterSeconds: waiting } : { kind: 'unknown' };
  }
  const c = await loadConsult(deps.ds.manager, p.appointmentId);
  if (!c) return { kind: 'unknown' };
  return {
    kind: 'ok',
    body: {
      appointmentId: c.appointmentId,
      clinic: { name: c.clinicName, helpdeskPhone: c.helpdeskPhone },
      // A walk-in not yet admitted waits for the clinic, not for the lane's clinician: any of them may come.
      clinician: { name: c.walkInLane ? c.clinicName : c.clinicianName },
      start: c.start.toISOString(),
      durationMinutes: c.durationMinutes,
      language: p.language ?? c.language,
      // A third party's link (interpreter, colleague, family) gets the guest page.
      participant: { kind: p.kind === 'guest' ? 'guest' : 'patient', guestRole: p.guestRole ?? null },
      // A revoked link (consult ended, appointment cancelled) still tells the patient why.
      state: snapshot(c, new Date(), p.kind === 'guest' ? 'guest' : 'patient'),
    },
  };
}

export function createPatientRouter(deps: PatientDeps): Router {
  const router = new Router({ prefix: '/api/patient' });

  router.get('/appointment', async (ctx) => {
    const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    const r = await lookupAppointment(deps, token, ctx.ip);
    if (r.kind === 'blocked') {
      throw new HttpError(429, 'too_many_attempts', 'too many invalid links from this address; try again later', undefined, { 'Retry-After': String(r.retryAfterSeconds) });
    }
    if (r.kind === 'unknown') throw new HttpError(404, 'unknown_link', 'this link is not valid');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = r.body;
  });

  return router;
}

/**
 * An unknown link token: counted per address (the patient API and the socket share the count),
 * answered 404, or 429 once the address has guessed too often. Throws either way.
 */
export async function refuseUnknownLink(deps: { linkGuesses: FailureGate; logger: Logger }, address: string): Promise<never> {
  const waiting = await deps.linkGuesses.wait(address);
  const { failures } = await deps.linkGuesses.fail(address);
  deps.logger.warn({ client: clientTag(address), failures }, 'unknown patient link');
  if (waiting > 0) {
    throw new HttpError(429, 'too_many_attempts', 'too many invalid links from this address; try again later', undefined, { 'Retry-After': String(waiting) });
  }
  throw new HttpError(404, 'unknown_link', 'this link is not valid');
}
