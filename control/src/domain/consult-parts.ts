/**
 * The parts of a consult (issue 18.2): one row per admission, from the moment the patient was
 * let in until she went back to the waiting room or the consult ended. A consult with a
 * hand-over (the nurse's intake, then the doctor) has two. The report and the integration API
 * list them; the managers' report counts a consult for the clinician who held its last part.
 * Ids and times only.
 */
import type { Db } from '../db/kysely.js';

export type PartEnd = 'returned' | 'ended' | 'phone';

export interface ConsultPart {
  clinicianId: string;
  admittedBy: string | null;
  admittedAt: Date;
  endedAt: Date | null;
  endReason: PartEnd | null;
}

/** A new part at the admission (a part still open is closed first: there is one open part at most). */
export async function openConsultPart(k: Db, p: { appointmentId: string; clinicianId: string; admittedBy: string; at: Date }): Promise<void> {
  await closeConsultParts(k, [p.appointmentId], p.at, 'returned');
  await k
    .insertInto('consult_part')
    .values({ appointment_id: p.appointmentId, clinician_id: p.clinicianId, admitted_by: p.admittedBy, admitted_at: p.at })
    .execute();
}

/** The open part of each of these consults ends now (back to the waiting room, the end, a switch to phone). */
export async function closeConsultParts(k: Db, appointmentIds: string[], at: Date, reason: PartEnd): Promise<void> {
  if (appointmentIds.length === 0) return;
  await k
    .updateTable('consult_part')
    .set({ ended_at: at, end_reason: reason })
    .where('appointment_id', 'in', appointmentIds)
    .where('ended_at', 'is', null)
    .execute();
}

/** The parts of one consult, oldest first. */
export async function consultParts(k: Db, appointmentId: string): Promise<ConsultPart[]> {
  const rows = await k
    .selectFrom('consult_part')
    .select(['clinician_id', 'admitted_by', 'admitted_at', 'ended_at', 'end_reason'])
    .where('appointment_id', '=', appointmentId)
    .orderBy('admitted_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ clinicianId: r.clinician_id, admittedBy: r.admitted_by, admittedAt: r.admitted_at, endedAt: r.ended_at, endReason: r.end_reason }));
}
