/**
 * What the staff API reads for its lists (staff/routes.ts): a member's appointments of today,
 * and the delay message (who it changes, and whom to tell). Typed queries (db/kysely.ts).
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { LIVE_STATES, PRESENT_STATES } from '../domain/visit-state.js';
import type { StaffSession } from './sessions.js';

/**
 * The member's appointments (a clinician: their own and the walk-ins waiting in their clinics'
 * walk-in lanes; others: their clinics'): today in the
 * clinic's time zone, late in the evening the next 12 hours too, and anyone waiting or in a
 * consult whatever the clock says.
 */
export async function todayOf(ds: DataSource, staff: Pick<StaffSession, 'id' | 'role' | 'clinicIds'>) {
  return db(ds)
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .leftJoin('participant as p', (j) => j.onRef('p.appointment_id', '=', 'a.id').on('p.kind', '=', 'patient'))
    .select([
      'a.id', 'a.start', 'a.duration_minutes', 'a.patient_name', 'a.clinician_id', 'a.clinic_id',
      'v.state', 'v.waiting_since', 'v.companion', 'v.device_test', 'v.device_tested_at', 'v.ended_reason', 'p.id as participant_id',
      'c.waiting_room_opens_minutes', 'c.link_grace_minutes',
    ])
    .where((eb) =>
      staff.clinicIds.length === 0
        ? eb('a.clinician_id', '=', staff.id)
        : staff.role === 'clinician'
          ? // Their own, and the walk-ins waiting in their clinics' walk-in lanes (any of them may admit).
            eb.or([
              eb('a.clinician_id', '=', staff.id),
              eb.and([
                eb('a.clinic_id', 'in', staff.clinicIds),
                eb(sql<string>`a.flags->>'walkIn'`, '=', 'true'),
                eb('v.state', 'in', ['scheduled', 'waiting']),
                eb(sql<string>`a.clinician_id::text`, '=', sql<string>`c.walk_in->>'clinicianId'`),
              ]),
            ])
          : eb.or([eb('a.clinician_id', '=', staff.id), eb('a.clinic_id', 'in', staff.clinicIds)]),
    )
    .where((eb) =>
      eb.or([
        eb.and([
          eb('a.start', '>=', sql<Date>`date_trunc('day', now() AT TIME ZONE c.timezone) AT TIME ZONE c.timezone`),
          eb(
            'a.start',
            '<',
            sql<Date>`GREATEST((date_trunc('day', now() AT TIME ZONE c.timezone) + interval '1 day') AT TIME ZONE c.timezone, now() + interval '12 hours')`,
          ),
        ]),
        eb('v.state', 'in', PRESENT_STATES),
      ]),
    )
    .orderBy('a.start')
    .execute();
}

/**
 * Sets the delay message of a clinic (clinicianId null) or of one of its clinicians. false: the
 * staff member is not a clinician of this clinic (nothing changed).
 */
export async function setDelayMessage(ds: DataSource, clinicId: string, clinicianId: string | null, message: string | null): Promise<boolean> {
  const k = db(ds);
  if (!clinicianId) {
    await k.updateTable('clinic').set({ delay_message: message }).where('id', '=', clinicId).execute();
    return true;
  }
  const { numUpdatedRows } = await k
    .updateTable('staff_clinic as sc')
    .set({ delay_message: message })
    .where('sc.staff_id', '=', clinicianId)
    .where('sc.clinic_id', '=', clinicId)
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('staff as s').select('s.id').whereRef('s.id', '=', 'sc.staff_id').where('s.role', '=', 'clinician')),
    )
    .executeTakeFirst();
  return numUpdatedRows > 0n;
}

/** Today's live visits of the clinic (of one clinician when given): whose pages show the new message. */
export async function liveTodayOf(ds: DataSource, clinic: { id: string; timezone: string }, clinicianId: string | null): Promise<string[]> {
  let q = db(ds)
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .select('a.id')
    .where('a.clinic_id', '=', clinic.id)
    .where('v.state', 'in', LIVE_STATES)
    .where('a.start', '>=', sql<Date>`date_trunc('day', now() AT TIME ZONE ${clinic.timezone}) AT TIME ZONE ${clinic.timezone}`)
    .where('a.start', '<', sql<Date>`(date_trunc('day', now() AT TIME ZONE ${clinic.timezone}) + interval '1 day') AT TIME ZONE ${clinic.timezone}`);
  if (clinicianId) q = q.where('a.clinician_id', '=', clinicianId);
  return (await q.execute()).map((r) => r.id);
}
