/**
 * Storing a patient's rating, once per consult, without a link back to it.
 *
 * The patient's link token says which consult; the visit must have ended. In one transaction
 * the visit is marked `rated` (a conditional UPDATE: a second send, also a concurrent one,
 * finds nothing to mark) and the rating row is written with clinic, clinician and the consult's
 * date only. A score sent alone returns a one-time key (only its hash is stored) with which the
 * page may add a comment a moment later; the key leads to the rating row, never to the visit.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError } from '../domain/errors.js';
import type { AddComment, SendRating } from './schema.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export type RatingRefusal = 'not_patient' | 'not_ended' | 'already_rated';

/** What rating refuses with: 403 `not_patient`, 409 `not_ended`, `already_rated`, `invalid_key` (the patient's page knows these words). */
export class RatingError extends DomainError {
  constructor(reason: RatingRefusal | 'invalid_key', message: string) {
    super(reason === 'not_patient' ? 'not_allowed' : 'conflict', message, undefined, reason);
    this.name = 'RatingError';
  }
}

export async function sendRating(
  ds: DataSource,
  consult: { appointmentId: string; participantKind: string },
  input: SendRating,
): Promise<{ commentKey: string | null }> {
  if (consult.participantKind !== 'patient') throw new RatingError('not_patient', 'only the patient rates the consult');
  return ds.transaction(async (m) => {
    const [marked] = (await m.query(
      `UPDATE visit v SET rated = true
         FROM appointment a JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = $1 AND a.id = v.appointment_id AND v.state = 'ended' AND NOT v.rated
        RETURNING a.clinic_id, a.clinician_id, (a.start AT TIME ZONE c.timezone)::date::text AS day`,
      [consult.appointmentId],
    )) as [Array<{ clinic_id: string; clinician_id: string; day: string }>, number];
    const row = marked[0];
    if (!row) {
      const [v] = (await m.query(`SELECT state, rated FROM visit WHERE appointment_id = $1`, [consult.appointmentId])) as Array<{ state: string; rated: boolean }>;
      if (v?.rated) throw new RatingError('already_rated', 'this consult has been rated already');
      throw new RatingError('not_ended', 'a consult can be rated once it has ended');
    }
    const score = input.score ?? null;
    const comment = input.comment ?? null;
    const commentKey = comment === null ? randomBytes(32).toString('base64url') : null;
    await m.query(
      `INSERT INTO consult_rating (clinic_id, clinician_id, day, score, comment, comment_key_hash) VALUES ($1, $2, $3::date, $4, $5, $6)`,
      [row.clinic_id, row.clinician_id, row.day, score, comment, commentKey ? sha256(commentKey) : null],
    );
    return { commentKey };
  });
}

/** The comment after a score: once, with the key the score's answer gave (only the page that sent the score holds it). */
export async function addComment(ds: DataSource, input: AddComment): Promise<void> {
  const [rows] = (await ds.query(
    `UPDATE consult_rating SET comment = $2, comment_key_hash = NULL
      WHERE comment_key_hash = $1 AND comment IS NULL
      RETURNING id`,
    [sha256(input.key), input.comment],
  )) as [unknown[], number];
  if (rows.length === 0) throw new RatingError('invalid_key', 'this comment key is not valid (used already)');
}
