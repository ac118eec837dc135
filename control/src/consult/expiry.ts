/**
 * Visits nobody used before the link ran out (start + duration + the clinic's grace) become
 * `expired`: the state machine's `expire` event for scheduled and waiting visits, done in
 * one statement so that several control-plane processes may run it at once. A walk-in
 * (domain/walk-in.ts) who registered and did not come into the waiting room within
 * WALK_IN_ARRIVAL_MINUTES expires too: her place in the clinic's walk-in queue is free again.
 */
import type { DataSource } from 'typeorm';
import { recordAudit } from '../domain/audit.js';
import type { VisitState } from '../domain/visit-state.js';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { revokeVisitLinks } from '../domain/links.js';

/** Minutes a walk-in has from her registration to the waiting room (device test included). */
export const WALK_IN_ARRIVAL_MINUTES = 15;

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
          AND (a.start + make_interval(mins => a.duration_minutes + c.link_grace_minutes) <= ${now}
               -- A walk-in who registered but did not come into the waiting room within
               -- WALK_IN_ARRIVAL_MINUTES (at least the clinic's no-show minutes) frees her place in the queue.
               OR (v.state = 'scheduled' AND a.flags->>'walkIn' = 'true'
                   AND a.start + make_interval(mins => GREATEST(c.no_show_minutes, ${WALK_IN_ARRIVAL_MINUTES}::int)) <= ${now}))
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
