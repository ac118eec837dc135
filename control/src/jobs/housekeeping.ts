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
 *  - fallback-sweep: no-shows and drops due a callback (callbacks/checks.ts; the job keeps its stored name).
 */
import type { DataSource } from 'typeorm';
import { FINAL_STATES, OPEN_STATES } from '../domain/visit-state.js';
import { recordAudit } from '../domain/audit.js';

/** Ends consults left open past their window. Returns what was ended, for the hub and the room teardown. */
export async function closeOverdueConsults(ds: DataSource, now = new Date()): Promise<Array<{ appointmentId: string; roomId: number }>> {
  return ds.transaction(async (m) => {
    // TypeORM answers an UPDATE … RETURNING with [rows, count].
    const [rows] = (await m.query(
      `UPDATE visit v
          SET state = 'ended', ended_at = $1, updated_at = now()
         FROM appointment a
         JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = a.id
          AND v.state = ANY($2::text[])
          AND a.start + make_interval(mins => a.duration_minutes + c.link_grace_minutes) <= $1
        RETURNING v.appointment_id, v.room_id, (SELECT state FROM visit WHERE id = v.id) AS was`,
      [now, OPEN_STATES],
    )) as [Array<{ appointment_id: string; room_id: string; was: string }>, number];
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.appointment_id);
    await m.query(
      `UPDATE participant SET revoked_at = $2 WHERE appointment_id = ANY($1::uuid[]) AND kind <> 'clinician' AND revoked_at IS NULL`,
      [ids, now],
    );
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
  const rows = (await ds.query(
    `SELECT v.room_id FROM visit v
      WHERE v.state = 'ended' AND v.ended_by IS NULL
        AND v.ended_at > $1::timestamptz - make_interval(mins => $2::int)
        -- Janus 1.1.2 can crash when a room goes while its handles detach: let the browsers leave first.
        AND v.ended_at <= $1::timestamptz - interval '10 seconds'`,
    [now, withinMinutes],
  )) as Array<{ room_id: string }>;
  return rows.map((r) => Number(r.room_id));
}

/** Of these appointments, the ones whose visit is over (their chat keys may go). */
export async function closedAmong(ds: DataSource, appointmentIds: string[]): Promise<string[]> {
  if (appointmentIds.length === 0) return [];
  const rows = (await ds.query(
    `SELECT a.id FROM appointment a LEFT JOIN visit v ON v.appointment_id = a.id
      WHERE a.id = ANY($1::uuid[]) AND (v.state IS NULL OR v.state = ANY($2::text[]) OR a.cancelled_at IS NOT NULL)`,
    [appointmentIds, FINAL_STATES],
  )) as Array<{ id: string }>;
  const known = new Set(rows.map((r) => r.id));
  // An id with no appointment at all (deleted) is over too.
  const existing = new Set(
    ((await ds.query(`SELECT id FROM appointment WHERE id = ANY($1::uuid[])`, [appointmentIds])) as Array<{ id: string }>).map((r) => r.id),
  );
  return appointmentIds.filter((id) => known.has(id) || !existing.has(id));
}

/** Removes e-mail address and phone number `days` after the appointment's end. Returns how many. */
export async function purgeContactData(ds: DataSource, days: number, now = new Date()): Promise<number> {
  return ds.transaction(async (m) => {
    const [rows] = (await m.query(
      `UPDATE appointment
          SET patient_email = NULL, patient_phone = NULL, updated_at = now()
        WHERE (patient_email IS NOT NULL OR patient_phone IS NOT NULL)
          AND start + make_interval(mins => duration_minutes) + make_interval(days => $2::int) <= $1
        RETURNING id`,
      [now, days],
    )) as [Array<{ id: string }>, number];
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'contact.purged', appointmentId: r.id, data: { retentionDays: days } });
    }
    return rows.length;
  });
}
