/**
 * A third party in the consult (an interpreter, a colleague, family far away) with a link of
 * their own: a `guest` participant with its own token, made like the patient's link
 * (domain/links.ts), shown to the clinician to copy and send.
 *
 * Admission: a guest joins the media room only while the consult is open — after the
 * clinician has let the patient in, never before and never after the end — and needs no
 * admission of their own. The clinician made the link for this consult moments before, sees
 * every guest's tile with its role under it, and can revoke the link, which takes the guest
 * out at once. A second waiting room in front of a third party would add a click at the
 * moment the clinician is talking to the patient, and protect against nothing the link
 * itself (256 bits, one consult, dead at the end) does not.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { AuditEventEntity, ParticipantEntity, type GuestRole } from '../db/entities.js';
import { recordAudit } from '../domain/audit.js';
import { createLinkParticipant } from '../domain/appointments.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import { ConsultError } from '../domain/errors.js';
import { allowed, type StaffIdentity } from '../domain/admission.js';
import { loadConsult, type ConsultContext } from './context.js';
import { closedReason, isOpenConsult } from '../domain/visit-state.js';

export const GUEST_ROLES = ['interpreter', 'colleague', 'family'] as const;
/** Guest links per consult (the Janus room has room for patient, clinician, guests and a spare). */
export const MAX_GUESTS = 2;

export const InviteGuest = z.object({ role: z.enum(GUEST_ROLES) }).strict();
export type InviteGuest = z.infer<typeof InviteGuest>;

export interface GuestJson {
  id: string;
  role: GuestRole;
  /** The full link; null once revoked. */
  link: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export async function listGuests(ds: DataSource, cfg: LinkConfig, appointmentId: string): Promise<GuestJson[]> {
  const rows = (await ds.query(
    `SELECT id, guest_role, token_nonce, created_at, revoked_at FROM participant
      WHERE appointment_id = $1 AND kind = 'guest' ORDER BY created_at`,
    [appointmentId],
  )) as any[];
  return rows.map((r) => ({
    id: r.id,
    role: r.guest_role ?? 'colleague',
    link: linkFor(cfg, { id: r.id, tokenNonce: r.token_nonce, revokedAt: r.revoked_at }),
    createdAt: new Date(r.created_at).toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  }));
}

/** A new guest link. Before or during the consult, not after it; at most MAX_GUESTS live ones. */
export async function inviteGuest(
  ds: DataSource,
  cfg: LinkConfig,
  appointmentId: string,
  staff: StaffIdentity,
  input: InviteGuest,
): Promise<GuestJson> {
  const id = await ds.transaction(async (m) => {
    const c = allowed(staff, 'hold', await loadConsult(m, appointmentId, { lock: true }));
    refuseGuestsWhenClosed(c);
    if (c.state !== 'waiting' && !isOpenConsult(c.state)) {
      throw new ConsultError('invalid_state', 'a third party is invited once the patient is in the waiting room');
    }
    return createGuest(m, cfg, c, { actorKind: 'staff', actorId: staff.id }, input);
  });
  return (await listGuests(ds, cfg, appointmentId)).find((g) => g.id === id)!;
}

/**
 * A guest link made by the scheduling system (an interpreter booked with the appointment):
 * any time until the consult ends. The guest still gets in only while the consult runs.
 * `integrationId`: the caller, already checked to own the appointment.
 */
export async function inviteGuestForIntegration(
  ds: DataSource,
  cfg: LinkConfig,
  appointmentId: string,
  integrationId: string,
  input: InviteGuest,
): Promise<GuestJson> {
  const id = await ds.transaction(async (m) => {
    const c = await loadConsult(m, appointmentId, { lock: true });
    if (!c) throw new ConsultError('not_found', 'no such appointment');
    refuseGuestsWhenClosed(c);
    return createGuest(m, cfg, c, { actorKind: 'integration', actorId: integrationId }, input);
  });
  return (await listGuests(ds, cfg, appointmentId)).find((g) => g.id === id)!;
}

/** No new guest links once the visit is over: 'ended' when the consult ended, else 'invalid_state'. */
function refuseGuestsWhenClosed(c: ConsultContext): void {
  const closed = closedReason(c.state);
  if (closed === 'ended') throw new ConsultError('ended', 'the consult has ended');
  if (closed) throw new ConsultError('invalid_state', `the visit is ${c.state.replace('_', ' ')}`);
}

async function createGuest(
  m: EntityManager,
  cfg: LinkConfig,
  c: ConsultContext,
  actor: { actorKind: 'staff' | 'integration'; actorId: string },
  input: InviteGuest,
): Promise<string> {
  const [live] = (await m.query(
    `SELECT count(*)::int AS n FROM participant WHERE appointment_id = $1 AND kind = 'guest' AND revoked_at IS NULL`,
    [c.appointmentId],
  )) as Array<{ n: number }>;
  if ((live?.n ?? 0) >= MAX_GUESTS) throw new ConsultError('invalid_state', `at most ${MAX_GUESTS} third parties per consult`);
  // The display name stays the role: a guest's name is not needed for the consult.
  const p = await createLinkParticipant(m, cfg, { appointmentId: c.appointmentId, kind: 'guest', displayName: input.role, language: c.language as 'nl' | 'en' });
  await m.query(`UPDATE participant SET guest_role = $2 WHERE id = $1`, [p.id, input.role]);
  await recordAudit(m, { ...actor, action: 'guest.invited', appointmentId: c.appointmentId, data: { participantId: p.id, role: input.role } });
  return p.id;
}

/** Revoke a guest's link: the guest leaves the consult at once (the relay sees the revocation). */
export async function revokeGuest(
  ds: DataSource,
  appointmentId: string,
  participantId: string,
  staff: StaffIdentity,
  now = new Date(),
): Promise<{ changed: boolean }> {
  return ds.transaction(async (m) => {
    const c = allowed(staff, 'hold', await loadConsult(m, appointmentId, { lock: true }));
    const [rows] = (await m.query(
      `UPDATE participant SET revoked_at = $3 WHERE id = $2 AND appointment_id = $1 AND kind = 'guest' AND revoked_at IS NULL RETURNING id`,
      [appointmentId, participantId, now],
    )) as [Array<{ id: string }>, number];
    if (rows.length === 0) {
      const exists = (await m.query(`SELECT 1 FROM participant WHERE id = $2 AND appointment_id = $1 AND kind = 'guest'`, [
        appointmentId,
        participantId,
      ])) as unknown[];
      if (exists.length === 0) throw new ConsultError('not_found', 'no such guest');
      return { changed: false };
    }
    await recordAudit(m, { actorKind: 'staff', actorId: staff.id, action: 'guest.revoked', appointmentId, data: { participantId } });
    return { changed: true };
  });
}

/**
 * A guest's media is up: on record once per guest (the consult report lists who joined).
 * The visit row is locked, so two sockets of one guest write one event.
 */
export async function guestJoined(ds: DataSource, appointmentId: string, participantId: string, role: string): Promise<void> {
  await ds.transaction(async (m) => {
    if (!(await loadConsult(m, appointmentId, { lock: true }))) throw new ConsultError('not_found', 'no such appointment');
    const seen = await m.count(AuditEventEntity, { where: { appointmentId, action: 'guest.joined', actorId: participantId } });
    if (seen > 0) return;
    await recordAudit(m, { actorKind: 'patient', actorId: participantId, action: 'guest.joined', appointmentId, data: { participantId, role } });
  });
}

/** The clinician took this guest's link back (or it is gone). */
export async function guestLinkRevoked(ds: DataSource, participantId: string): Promise<boolean> {
  const p = await ds.manager.findOne(ParticipantEntity, { where: { id: participantId }, select: { id: true, revokedAt: true } });
  return !p || p.revokedAt !== null;
}
