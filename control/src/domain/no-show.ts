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
import { recordAudit, type Actor } from './audit.js';
import { conflict } from './errors.js';
import { canTransition, type VisitState } from './visit-state.js';

/** Marks the visit of `appointmentId` (locked here) a no-show; `changed: false` when it already was. */
export async function recordNoShow(m: EntityManager, appointmentId: string, actor: Actor, now: Date): Promise<{ changed: boolean }> {
  const [v] = (await m.query(`SELECT id, state FROM visit WHERE appointment_id = $1 FOR UPDATE`, [appointmentId])) as Array<{
    id: string;
    state: VisitState;
  }>;
  if (!v) throw conflict('no visit');
  if (v.state === 'no_show') return { changed: false };
  if (!canTransition(v.state, 'mark_no_show')) {
    throw conflict(`only a patient who has not started the visit can be a no-show (the visit is ${v.state.replace('_', ' ')})`, 'invalid_state');
  }
  await m.query(`UPDATE visit SET state = 'no_show', updated_at = $2 WHERE id = $1`, [v.id, now]);
  await m.query(`UPDATE participant SET revoked_at = $2 WHERE appointment_id = $1 AND kind <> 'clinician' AND revoked_at IS NULL`, [appointmentId, now]);
  await m.query(`UPDATE appointment SET updated_at = $2 WHERE id = $1`, [appointmentId, now]);
  await recordAudit(m, { actorKind: actor.kind, actorId: actor.id, action: 'no_show', appointmentId, data: { from: v.state, to: 'no_show' } });
  return { changed: true };
}
