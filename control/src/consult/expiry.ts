/**
 * Visits nobody used before the link ran out (start + duration + the clinic's grace) become
 * `expired`: the state machine's `expire` event for scheduled and waiting visits, done in
 * one statement so that several control-plane processes may run it at once.
 */
import type { DataSource } from 'typeorm';
import { recordAudit } from '../domain/audit.js';

export async function expireOverdueVisits(ds: DataSource, now = new Date()): Promise<string[]> {
  return ds.transaction(async (m) => {
    // TypeORM answers an UPDATE … RETURNING with [rows, count].
    const [rows] = (await m.query(
      `UPDATE visit v
          SET state = 'expired', updated_at = now()
         FROM appointment a
         JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = a.id
          AND v.state IN ('scheduled', 'waiting')
          AND a.start + make_interval(mins => a.duration_minutes + c.link_grace_minutes) <= $1
        RETURNING v.appointment_id, (SELECT state FROM visit WHERE id = v.id) AS was`,
      [now],
    )) as [Array<{ appointment_id: string; was: string }>, number];
    const ids = rows.map((r) => r.appointment_id);
    if (ids.length === 0) return ids;
    await m.query(
      `UPDATE participant SET revoked_at = $2 WHERE appointment_id = ANY($1::uuid[]) AND kind <> 'clinician' AND revoked_at IS NULL`,
      [ids, now],
    );
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'expired', appointmentId: r.appointment_id, data: { from: r.was } });
    }
    return ids;
  });
}
