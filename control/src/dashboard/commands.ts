/**
 * What the assistant does from the dashboard that changes a visit or leaves a trace:
 * mark a no-show, copy the patient's link. Each writes its audit event in the same
 * transaction; the caller tells the hub afterwards.
 */
import type { DataSource } from 'typeorm';
import { loadConsult, type ConsultContext } from '../consult/context.js';
import { mayUseDashboard, type StaffIdentity } from '../domain/admission.js';
import { conflict, notAllowed, notFound } from '../domain/errors.js';
import { recordNoShow } from '../domain/no-show.js';
import { recordAudit } from '../domain/audit.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import { ParticipantEntity } from '../db/entities.js';

/** The consult, if it exists and the staff member works this clinic's dashboard (else 404 / 403). */
export async function loadForDashboard(ds: DataSource, appointmentId: string, staff: StaffIdentity): Promise<ConsultContext> {
  const c = await loadConsult(ds.manager, appointmentId);
  if (!c) throw notFound('appointment');
  if (!mayUseDashboard(staff, c.clinicId)) throw notAllowed('this appointment is not of your clinics');
  return c;
}

/**
 * The patient did not come: only for a visit that was never started, and only once the
 * appointment has begun. Final: the patient's and guests' links die, like at the end of a consult.
 */
export async function markNoShow(ds: DataSource, appointmentId: string, staff: StaffIdentity, now = new Date()) {
  return ds.transaction(async (m) => {
    const c = await loadConsult(m, appointmentId, { lock: true });
    if (!c) throw notFound('appointment');
    if (!mayUseDashboard(staff, c.clinicId)) throw notAllowed('this appointment is not of your clinics');
    // The assistant waits for the start; the EHR (hl7/) is taken at its word.
    if (c.state === 'scheduled' && now < c.start) throw conflict('the appointment has not started yet', 'too_early');
    return recordNoShow(m, c.appointmentId, { kind: 'staff', id: staff.id }, now);
  });
}

/** The patient's link again ("copy link"), audited: a link opens the waiting room. */
export async function copyPatientLink(ds: DataSource, cfg: LinkConfig, c: ConsultContext, staff: StaffIdentity): Promise<string> {
  const participant = await ds.manager.findOneBy(ParticipantEntity, { appointmentId: c.appointmentId, kind: 'patient' });
  const link = participant ? linkFor(cfg, participant) : null;
  if (!link) throw conflict('this appointment has no valid patient link any more', 'invalid_state');
  await recordAudit(ds.manager, { actorKind: 'staff', actorId: staff.id, action: 'link_copied', appointmentId: c.appointmentId });
  return link;
}
