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
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
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
    const k = db(m);
    const { rows: marked } = await sql<{ clinic_id: string; clinician_id: string; day: string }>`
      UPDATE visit v SET rated = true
         FROM appointment a JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = ${consult.appointmentId} AND a.id = v.appointment_id AND v.state = 'ended' AND NOT v.rated
        RETURNING a.clinic_id, a.clinician_id, (a.start AT TIME ZONE c.timezone)::date::text AS day`.execute(k);
    const row = marked[0];
    if (!row) {
      const v = await k.selectFrom('visit').select(['state', 'rated']).where('appointment_id', '=', consult.appointmentId).executeTakeFirst();
      if (v?.rated) throw new RatingError('already_rated', 'this consult has been rated already');
      throw new RatingError('not_ended', 'a consult can be rated once it has ended');
    }
    const score = input.score ?? null;
    const comment = input.comment ?? null;
    const commentKey = comment === null ? randomBytes(32).toString('base64url') : null;
    await k
      .insertInto('consult_rating')
      .values({ clinic_id: row.clinic_id, clinician_id: row.clinician_id, day: row.day, score, comment, comment_key_hash: commentKey ? sha256(commentKey) : null })
      .execute();
    return { commentKey };
  });
}

/** The comment after a score: once, with the key the score's answer gave (only the page that sent the score holds it). */
export async function addComment(ds: DataSource, input: AddComment): Promise<void> {
  const row = await db(ds)
    .updateTable('consult_rating')
    .set({ comment: input.comment, comment_key_hash: null })
    .where('comment_key_hash', '=', sha256(input.key))
    .where('comment', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!row) throw new RatingError('invalid_key', 'this comment key is not valid (used already)');
}
