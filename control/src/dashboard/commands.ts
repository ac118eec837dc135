/**
 * What the assistant does from the dashboard that changes a visit or leaves a trace:
 * mark a no-show, copy the patient's link. Each writes its audit event in the same
 * transaction; the caller tells the hub afterwards.
 */
import type { DataSource } from 'typeorm';
import { loadConsult, type ConsultContext } from '../consult/context.js';
import { mayUseDashboard, type StaffIdentity } from '../domain/admission.js';
import { canTransition } from '../domain/visit-state.js';
import { recordAudit } from '../domain/audit.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import { ParticipantEntity } from '../db/entities.js';
import { HttpError } from '../http/errors.js';

/** The consult, if it exists and the staff member works this clinic's dashboard (else 404 / 403). */
export async function loadForDashboard(ds: DataSource, appointmentId: string, staff: StaffIdentity): Promise<ConsultContext> {
  const c = await loadConsult(ds.manager, appointmentId);
  if (!c) throw new HttpError(404, 'not_found', 'no such appointment');
  if (!mayUseDashboard(staff, c.clinicId)) throw new HttpError(403, 'forbidden', 'this appointment is not of your clinics');
  return c;
}

/**
 * The patient did not come: only for a visit that was never started, and only once the
 * appointment has begun. Final: the patient's and guests' links die, like at the end of a consult.
 */
export async function markNoShow(ds: DataSource, appointmentId: string, staff: StaffIdentity, now = new Date()) {
  return ds.transaction(async (m) => {
    const c = await loadConsult(m, appointmentId, { lock: true });
    if (!c) throw new HttpError(404, 'not_found', 'no such appointment');
    if (!mayUseDashboard(staff, c.clinicId)) throw new HttpError(403, 'forbidden', 'this appointment is not of your clinics');
    if (c.state === 'no_show') return { changed: false };
    if (!canTransition(c.state, 'mark_no_show')) {
      throw new HttpError(409, 'invalid_state', `only a patient who has not started the visit can be a no-show (the visit is ${c.state.replace('_', ' ')})`);
    }
    if (now < c.start) throw new HttpError(409, 'too_early', 'the appointment has not started yet');
    await m.query(`UPDATE visit SET state = 'no_show', updated_at = now() WHERE id = $1`, [c.visitId]);
    await m.query(
      `UPDATE participant SET revoked_at = $2 WHERE appointment_id = $1 AND kind <> 'clinician' AND revoked_at IS NULL`,
      [c.appointmentId, now],
    );
    await recordAudit(m, {
      actorKind: 'staff',
      actorId: staff.id,
      action: 'no_show',
      appointmentId: c.appointmentId,
      data: { from: c.state, to: 'no_show' },
    });
    return { changed: true };
  });
}

/** The patient's link again ("copy link"), audited: a link opens the waiting room. */
export async function copyPatientLink(ds: DataSource, cfg: LinkConfig, c: ConsultContext, staff: StaffIdentity): Promise<string> {
  const participant = await ds.manager.findOneBy(ParticipantEntity, { appointmentId: c.appointmentId, kind: 'patient' });
  const link = participant ? linkFor(cfg, participant) : null;
  if (!link) throw new HttpError(409, 'invalid_state', 'this appointment has no valid patient link any more');
  await recordAudit(ds.manager, { actorKind: 'staff', actorId: staff.id, action: 'link_copied', appointmentId: c.appointmentId });
  return link;
}
