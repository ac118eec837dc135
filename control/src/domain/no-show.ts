/**
 * The patient did not come: decided here, whoever says so (the assistant on the dashboard,
 * the EHR over HL7 S26). Only a visit the patient never started (the state machine's
 * `mark_no_show`, from `scheduled`); final: the patient's and guests' links die, like at the
 * end of a consult. Repeating it is harmless. The appointment's version moves (FHIR versionId
 * and Last-Modified read appointment.updated_at; its status becomes `noshow`).
 *
 * When the fallback call for a no-show is due is callbacks/checks.ts's business; the reports
 * count a no-show there too (reports/query.ts).
 */
import type { EntityManager } from 'typeorm';
import { db } from '../db/kysely.js';
import { recordAudit, type Actor } from './audit.js';
import { conflict } from './errors.js';
import { canTransition, type VisitState } from './visit-state.js';
import { revokeVisitLinks } from './links.js';

/** Marks the visit of `appointmentId` (locked here) a no-show; `changed: false` when it already was. */
export async function recordNoShow(m: EntityManager, appointmentId: string, actor: Actor, now: Date): Promise<{ changed: boolean }> {
  const k = db(m);
  const v = await k.selectFrom('visit').select(['id', 'state']).where('appointment_id', '=', appointmentId).forUpdate().executeTakeFirst();
  if (!v) throw conflict('no visit');
  if (v.state === 'no_show') return { changed: false };
  if (!canTransition(v.state, 'mark_no_show')) {
    throw conflict(`only a patient who has not started the visit can be a no-show (the visit is ${v.state.replace('_', ' ')})`, 'invalid_state');
  }
  await k.updateTable('visit').set({ state: 'no_show', updated_at: now }).where('id', '=', v.id).execute();
  await revokeVisitLinks(k, [appointmentId], now);
  await k.updateTable('appointment').set({ updated_at: now }).where('id', '=', appointmentId).execute();
  await recordAudit(m, { actorKind: actor.kind, actorId: actor.id, action: 'no_show', appointmentId, data: { from: v.state, to: 'no_show' } });
  return { changed: true };
}
