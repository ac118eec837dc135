/**
 * Visits nobody used before the link ran out (start + duration + the clinic's grace) become
 * `expired`: the state machine's `expire` event for scheduled and waiting visits, done in
 * one statement so that several control-plane processes may run it at once.
 */
import type { DataSource } from 'typeorm';
import { recordAudit } from '../domain/audit.js';
import type { VisitState } from '../domain/visit-state.js';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { revokeVisitLinks } from '../domain/links.js';

export async function expireOverdueVisits(ds: DataSource, now = new Date()): Promise<string[]> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const { rows } = await sql<{ appointment_id: string; was: VisitState }>`
      UPDATE visit v
          SET state = 'expired', updated_at = now()
         FROM appointment a
         JOIN clinic c ON c.id = a.clinic_id
        WHERE v.appointment_id = a.id
          AND v.state IN ('scheduled', 'waiting')
          AND a.start + make_interval(mins => a.duration_minutes + c.link_grace_minutes) <= ${now}
        RETURNING v.appointment_id, (SELECT state FROM visit WHERE id = v.id) AS was`.execute(k);
    const ids = rows.map((r) => r.appointment_id);
    if (ids.length === 0) return ids;
    await revokeVisitLinks(k, ids, now);
    for (const r of rows) {
      await recordAudit(m, { actorKind: 'system', actorId: null, action: 'expired', appointmentId: r.appointment_id, data: { from: r.was } });
    }
    return ids;
  });
}
