/**
 * Patient (and guest) links, SPEC section 5. The token is derived, never stored:
 *
 *   token = base64url(HMAC-SHA256(keys.link, participantId + ':' + nonce))   (256 bits)
 *
 * The database keeps only sha256(token) (hex) for the lookup, and the nonce so the server
 * can produce the same link again for every reminder, "resend" and "copy link". A new
 * nonce (rotateLink) kills the old link.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { EntityManager, type DataSource } from 'typeorm';
import type { Config } from '../config.js';
import type { Db } from '../db/kysely.js';
import {
  AppointmentEntity, ClinicEntity, ParticipantEntity, VisitEntity,
  type Appointment, type Clinic, type Participant, type Visit,
} from '../db/entities.js';

export type LinkConfig = Pick<Config, 'keys' | 'publicBaseUrl'>;

/** 32 bytes in base64url without padding. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function deriveToken(linkKey: Buffer, participantId: string, nonce: string): string {
  return createHmac('sha256', linkKey).update(`${participantId}:${nonce}`).digest('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_SHAPE.test(token);
}

/** The fields to store for a participant with this id and nonce. */
export function linkColumns(cfg: LinkConfig, participantId: string, nonce = newNonce()) {
  return { tokenNonce: nonce, tokenHash: hashToken(deriveToken(cfg.keys.link, participantId, nonce)) };
}

/** The participant's link token, re-derived; null for staff or a revoked participant. */
export function tokenFor(cfg: LinkConfig, participant: Pick<Participant, 'id' | 'tokenNonce' | 'revokedAt'>): string | null {
  if (!participant.tokenNonce || participant.revokedAt) return null;
  return deriveToken(cfg.keys.link, participant.id, participant.tokenNonce);
}

/** `${publicBaseUrl}/p/${token}`; null for staff or a revoked participant. */
export function linkFor(cfg: LinkConfig, participant: Pick<Participant, 'id' | 'tokenNonce' | 'revokedAt'>): string | null {
  const token = tokenFor(cfg, participant);
  return token ? `${cfg.publicBaseUrl}/p/${token}` : null;
}

/** New nonce: the old link stops working at once. Returns the new link. */
export async function rotateLink(
  manager: EntityManager | DataSource,
  cfg: LinkConfig,
  participantId: string,
): Promise<string> {
  const cols = linkColumns(cfg, participantId);
  const result = await manager
    .createQueryBuilder()
    .update(ParticipantEntity)
    .set(cols)
    .where('id = :id AND revoked_at IS NULL', { id: participantId })
    .execute();
  if (!result.affected) throw new Error('participant not found or revoked');
  return `${cfg.publicBaseUrl}/p/${deriveToken(cfg.keys.link, participantId, cols.tokenNonce)}`;
}

export interface ParticipantContext {
  participant: Participant;
  appointment: Appointment;
  visit: Visit;
  clinic: Clinic;
}

/**
 * Looks a link token up by its hash. Malformed tokens are refused before any query.
 * Revoked participants (cancelled appointment, ended consult) are not found, unless
 * `includeRevoked` is set — for a page that says "this appointment was cancelled".
 * Rate-limiting and logging of guesses belong to the caller (it knows the client).
 */
export async function findParticipantByToken(
  ds: DataSource | EntityManager,
  token: string,
  opts: { includeRevoked?: boolean } = {},
): Promise<ParticipantContext | null> {
  if (!isWellFormedToken(token)) return null;
  const m = ds instanceof EntityManager ? ds : ds.manager;
  const participant = await m.findOne(ParticipantEntity, { where: { tokenHash: hashToken(token) } });
  if (!participant) return null;
  if (participant.revokedAt && !opts.includeRevoked) return null;
  const appointment = await m.findOne(AppointmentEntity, { where: { id: participant.appointmentId } });
  const visit = await m.findOne(VisitEntity, { where: { appointmentId: participant.appointmentId } });
  if (!appointment || !visit) return null;
  const clinic = await m.findOne(ClinicEntity, { where: { id: appointment.clinicId } });
  if (!clinic) return null;
  return { participant, appointment, visit, clinic };
}

/**
 * The visit is over (ended, expired, no-show): the patient's and the guests' links of these
 * appointments die now; the clinician's stays. The one place that does it.
 */
export async function revokeVisitLinks(k: Db, appointmentIds: readonly string[], now: Date): Promise<void> {
  if (appointmentIds.length === 0) return;
  await k
    .updateTable('participant')
    .set({ revoked_at: now })
    .where('appointment_id', 'in', appointmentIds)
    .where('kind', '<>', 'clinician')
    .where('revoked_at', 'is', null)
    .execute();
}
