/**
 * Transfer (issue 18.1): waiting (or scheduled, not yet arrived) patients move to another
 * clinician's lane — the same clinic, or another clinic that takes transfers in
 * (clinic.accepts_transfers, off by default). The lane is the appointment's clinician; the
 * visit is not touched: the patient keeps her place (waiting_since), her link and her page.
 *
 * One command for one patient or the whole afternoon of an ill colleague, all or nothing: every
 * patient is checked under the lock before any is moved, and the first refusal names the
 * problem and changes nothing. The dashboard, the staff API and the hand-over after "back to the
 * waiting room" (consult/commands.ts returnToWaiting) all call it. Audit event `transfer` per
 * patient, ids only. The caller tells the hub after the commit (transferredNews).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { db } from '../db/kysely.js';
import { allowed, type StaffIdentity } from './admission.js';
import { recordAudit } from './audit.js';
import { conflict, invalid, notFound } from './errors.js';
import type { VisitState } from './visit-state.js';

/** At most this many patients in one transfer (a clinician's day fits easily). */
export const MAX_TRANSFER = 200;

/** Who may be moved: not arrived yet, or in the waiting room. */
const MOVABLE: readonly VisitState[] = ['scheduled', 'waiting'];

export interface TransferInput {
  appointmentIds: string[];
  /** The clinician whose lane they go to (staff id). */
  toClinician: string;
  /** Another clinic (its code); leave out to stay in each patient's own clinic. */
  toClinic?: string;
}

export interface Transferred {
  appointmentId: string;
  fromClinicianId: string;
  toClinicianId: string;
  fromClinicId: string;
  toClinicId: string;
  /** False: she was already in that lane (nothing written). */
  changed: boolean;
}

/** The transfer in its own transaction. Ids arrive as uuids (the route's schema). */
export async function transferPatients(ds: DataSource, staff: StaffIdentity, input: TransferInput, now = new Date()): Promise<Transferred[]> {
  return ds.transaction((m) => transferWithin(m, staff, input, now));
}

/** The transfer inside the caller's transaction (the hand-over runs it after its own step). */
export async function transferWithin(m: EntityManager, staff: StaffIdentity, input: TransferInput, now = new Date()): Promise<Transferred[]> {
  const k = db(m);
  const ids = [...new Set(input.appointmentIds.map((id) => id.toLowerCase()))];
  if (ids.length === 0) throw invalid('appointmentIds', 'name at least one appointment');
  if (ids.length > MAX_TRANSFER) throw invalid('appointmentIds', `at most ${MAX_TRANSFER} appointments at once`);

  const target = input.toClinic
    ? await k.selectFrom('clinic').select(['id', 'code', 'accepts_transfers']).where('code', '=', input.toClinic).executeTakeFirst()
    : null;
  if (input.toClinic && !target) throw invalid('toClinic', 'no such clinic');

  // Locked in one order (by id), so two transfers of overlapping groups cannot deadlock.
  const rows = await k
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .select(['a.id', 'a.clinic_id', 'a.clinician_id', 'a.cancelled_at', 'v.state', 'c.assistants_may_admit'])
    .where('a.id', 'in', ids)
    .orderBy('a.id')
    .forUpdate()
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));

  // The target clinician: active, a clinician, linked to the clinic each patient goes to.
  const clinician = await k
    .selectFrom('staff')
    .select(['id', 'role', 'active'])
    .where('id', '=', input.toClinician.toLowerCase())
    .executeTakeFirst();
  if (!clinician || !clinician.active || clinician.role !== 'clinician') {
    throw invalid('toClinician', 'no active clinician with this id');
  }
  const clinicsOfClinician = new Set(
    (await k.selectFrom('staff_clinic').select('clinic_id').where('staff_id', '=', clinician.id).execute()).map((r) => r.clinic_id),
  );

  const plan: Transferred[] = [];
  for (const id of ids) {
    const r = byId.get(id);
    if (!r) throw notFound(`appointment ${id}`);
    allowed(staff, 'transfer', { clinicianId: r.clinician_id, clinicId: r.clinic_id, assistantsMayAdmit: r.assistants_may_admit });
    if (r.cancelled_at || !MOVABLE.includes(r.state)) {
      throw conflict(`appointment ${id}: only a waiting or scheduled patient can be moved; this visit is ${r.cancelled_at ? 'cancelled' : r.state.replaceAll('_', ' ')}`, 'invalid_state');
    }
    const toClinicId = target?.id ?? r.clinic_id;
    if (toClinicId !== r.clinic_id && !target?.accepts_transfers) {
      throw invalid('toClinic', 'this clinic does not take in patients from other clinics');
    }
    if (!clinicsOfClinician.has(toClinicId)) throw invalid('toClinician', 'this clinician does not work in the clinic the patient goes to');
    plan.push({
      appointmentId: id,
      fromClinicianId: r.clinician_id,
      toClinicianId: clinician.id,
      fromClinicId: r.clinic_id,
      toClinicId,
      changed: r.clinician_id !== clinician.id || r.clinic_id !== toClinicId,
    });
  }

  // Everything checked: now the moves (the visit, and so the waiting place, stays as it is).
  for (const t of plan.filter((p) => p.changed)) {
    await k
      .updateTable('appointment')
      .set({ clinician_id: t.toClinicianId, clinic_id: t.toClinicId, updated_at: now })
      .where('id', '=', t.appointmentId)
      .execute();
    await recordAudit(m, {
      actorKind: 'staff',
      actorId: staff.id,
      action: 'transfer',
      appointmentId: t.appointmentId,
      data: { fromClinicianId: t.fromClinicianId, toClinicianId: t.toClinicianId, fromClinicId: t.fromClinicId, toClinicId: t.toClinicId },
    });
  }
  return plan;
}

/**
 * The clinics (codes) and clinicians (ids and e-mail addresses, lower case) this appointment was
 * moved away from: the EHR booked it with them and may say so again in an update (fhir/).
 */
export async function movedFrom(m: EntityManager | DataSource, appointmentId: string): Promise<{ clinics: string[]; clinicians: string[] }> {
  const k = db(m);
  const moves = await k
    .selectFrom('audit_event')
    .select(['data'])
    .where('appointment_id', '=', appointmentId)
    .where('action', '=', 'transfer')
    .execute();
  const clinicianIds = [...new Set(moves.map((e) => String(e.data.fromClinicianId ?? '')).filter(Boolean))];
  const clinicIds = [...new Set(moves.map((e) => String(e.data.fromClinicId ?? '')).filter(Boolean))];
  if (clinicianIds.length === 0) return { clinics: [], clinicians: [] };
  const [staff, clinics] = await Promise.all([
    k.selectFrom('staff').select(['id', 'email']).where('id', 'in', clinicianIds).execute(),
    clinicIds.length ? k.selectFrom('clinic').select('code').where('id', 'in', clinicIds).execute() : Promise.resolve([]),
  ]);
  return { clinics: clinics.map((c) => c.code), clinicians: staff.flatMap((s) => [s.id, s.email.toLowerCase()]) };
}
