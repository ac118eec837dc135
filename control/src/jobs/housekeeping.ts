/**
 * Housekeeping: small sweeps the worker runs as repeatable BullMQ jobs (worker.ts). Each is one
 * or two statements, harmless to run twice or in two workers at once.
 *
 *  - expire-links: visits nobody used before the link ran out become `expired` (consult/expiry.ts).
 *  - close-overdue-consults: consults left open (admitted, in consult, dropped) past the link
 *    window (start + duration + the clinic's grace) are ended by the system; browsers are told.
 *    Their Janus rooms are destroyed by the control plane, which holds the Janus connection
 *    (`roomsToTearDown`, called from main.ts): the worker talks to PostgreSQL, Redis and the
 *    outside gateways only.
 *  - forget-chats: chat and pause keys of visits that are over leave Redis (SPEC section 2;
 *    the end route deletes at once, this catches cancellation, expiry and the sweep above).
 *  - purge-contact-data: e-mail address and phone number are removed N days after the
 *    appointment (CONTACT_RETENTION_DAYS, default 30); audit events stay, without contact data.
 *  - forget-unseen-walk-ins (with expire-links, every minute): walk-in patients whose visit is
 *    over without ever being admitted are anonymised (forgetUnseenWalkIns).
 *  - fallback-sweep: no-shows and drops due a callback (callbacks/checks.ts; the job keeps its stored name).
 */
import type { DataSource } from 'typeorm';
import { FINAL_STATES, OPEN_STATES } from '../domain/visit-state.js';
import type { VisitState } from '../domain/visit-state.js';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { recordAudit } from '../domain/audit.js';
import { revokeVisitLinks } from '../domain/links.js';
import { closeConsultParts } from '../domain/consult-parts.js';

/** Ends consults left open past their window. Returns what was ended, for the hub and the room teardown. */
export async function closeOverdueConsults(ds: DataSource, now = new Date()): Promise<Array<{ appointmentId: string; roomId: number }>> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const { rows } = await sql<{ appointment_id: string; room_id: string; was: VisitState }>`
      UPDATE visit v
          SET state = 'ended', ended_at = ${now}, updated_at = now()
         FROM appointment a
         JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = a.id
          AND v.state = ANY(${[...OPEN_STATES]}::text[])
          AND a.start + make_interval(mins => a.duration_minutes + c.link_grace_minutes) <= ${now}
        RETURNING v.appointment_id, v.room_id, (SELECT state FROM visit WHERE id = v.id) AS was`.execute(k);
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.appointment_id);
    await revokeVisitLinks(k, ids, now);
    await closeConsultParts(k, ids, now, 'ended');
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'consult_end', appointmentId: r.appointment_id, data: { from: r.was, to: 'ended', why: 'overdue' } });
    }
    return rows.map((r) => ({ appointmentId: r.appointment_id, roomId: Number(r.room_id) }));
  });
}

/**
 * Rooms of consults the system ended (overdue) in the last `withinMinutes`: the control plane
 * destroys them (destroying a room that is gone already is harmless).
 */
export async function roomsToTearDown(ds: DataSource, withinMinutes = 10, now = new Date()): Promise<number[]> {
  const rows = await db(ds)
    .selectFrom('visit as v')
    .select('v.room_id')
    .where('v.state', '=', 'ended')
    .where('v.ended_by', 'is', null)
    .where('v.ended_at', '>', sql<Date>`${now}::timestamptz - make_interval(mins => ${withinMinutes}::int)`)
    // Janus 1.1.2 can crash when a room goes while its handles detach: let the browsers leave first.
    .where('v.ended_at', '<=', sql<Date>`${now}::timestamptz - interval '10 seconds'`)
    .execute();
  return rows.map((r) => Number(r.room_id));
}

/** Of these appointments, the ones whose visit is over (their chat keys may go). */
export async function closedAmong(ds: DataSource, appointmentIds: string[]): Promise<string[]> {
  if (appointmentIds.length === 0) return [];
  const k = db(ds);
  const rows = await k
    .selectFrom('appointment as a')
    .leftJoin('visit as v', 'v.appointment_id', 'a.id')
    .select('a.id')
    .where('a.id', 'in', appointmentIds)
    .where((eb) => eb.or([eb('v.state', 'is', null), eb('v.state', 'in', FINAL_STATES), eb('a.cancelled_at', 'is not', null)]))
    .execute();
  const known = new Set(rows.map((r) => r.id));
  // An id with no appointment at all (deleted) is over too.
  const existing = new Set((await k.selectFrom('appointment').select('id').where('id', 'in', appointmentIds).execute()).map((r) => r.id));
  return appointmentIds.filter((id) => known.has(id) || !existing.has(id));
}

/** Removes e-mail address and phone number `days` after the appointment's end. Returns how many. */
export async function purgeContactData(ds: DataSource, days: number, now = new Date()): Promise<number> {
  return ds.transaction(async (m) => {
    const rows = await db(m)
      .updateTable('appointment')
      .set({ patient_email: null, patient_phone: null, updated_at: sql<Date>`now()` })
      .where((eb) => eb.or([eb('patient_email', 'is not', null), eb('patient_phone', 'is not', null)]))
      .where(sql<Date>`start + make_interval(mins => duration_minutes) + make_interval(days => ${days}::int)`, '<=', now)
      .returning('id')
      .execute();
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'contact.purged', appointmentId: r.id, data: { retentionDays: days } });
    }
    return rows.length;
  });
}

/** What an anonymised walk-in keeps of the patient's name. */
export const ANONYMOUS_NAME = '—';

/**
 * Walk-ins who never reached a clinician (their visit is over: expired, cancelled, no-show, or
 * ended from the waiting room, never admitted; not those switched to a phone call or with a
 * callback still to make) have no reason to be kept with their details:
 * the retention rule (CONTACT_RETENTION_DAYS) keeps contact data only for patients seen, so
 * these are anonymised at the next sweep: name, birth date, phone and e-mail address go (the
 * patient participant's name too); the appointment stays, without a person, for the day's
 * figures. Returns how many.
 */
export async function forgetUnseenWalkIns(ds: DataSource): Promise<number> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const rows = await k
      .updateTable('appointment as a')
      .from('visit as v')
      .set({ patient_name: ANONYMOUS_NAME, patient_birth_date: null, patient_phone: null, patient_email: null, updated_at: sql<Date>`now()` })
      .whereRef('v.appointment_id', '=', 'a.id')
      .where(sql<string>`a.flags->>'walkIn'`, '=', 'true')
      .where('v.state', 'in', [...FINAL_STATES])
      .where('v.admitted_at', 'is', null)
      // Switched to a phone call, or a callback still to make: the clinic reached (or will reach) her.
      .where((eb) => eb.or([eb('v.ended_reason', 'is', null), eb('v.ended_reason', '<>', 'phone')]))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('callback_task as t').select('t.id').whereRef('t.appointment_id', '=', 'a.id').where('t.done_at', 'is', null))))
      .where('a.patient_name', '<>', ANONYMOUS_NAME)
      .returning('a.id')
      .execute();
    if (rows.length === 0) return 0;
    const ids = rows.map((r) => r.id);
    await k.updateTable('participant').set({ display_name: ANONYMOUS_NAME }).where('appointment_id', 'in', ids).where('kind', '=', 'patient').execute();
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'walk_in.anonymised', appointmentId: r.id, data: { why: 'never admitted' } });
    }
    return rows.length;
  });
}
