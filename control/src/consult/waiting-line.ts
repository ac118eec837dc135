/**
 * The facts behind "how long still" (domain/waiting-line.ts) for one clinician, read from
 * PostgreSQL: who waits for her now, whether she holds a consult and since when, and how long
 * her consults ended today took ("today" in the clinic's time zone). One query.
 */
import type { EntityManager } from 'typeorm';
import { isOpenConsult, PRESENT_STATES, type VisitState } from '../domain/visit-state.js';
import { estimateWaits, visibleWait, type LaneFacts, type WaitDisplay, type WaitEstimate, type WaitInfo } from '../domain/waiting-line.js';

interface LaneRow {
  id: string;
  start: Date;
  state: VisitState;
  waiting_since: Date | null;
  admitted_at: Date | null;
  ended_at: Date | null;
}

export async function loadLane(manager: EntityManager, clinicianId: string, timezone: string): Promise<LaneFacts> {
  const rows = (await manager.query(
    `SELECT a.id, a.start, v.state, v.waiting_since, v.admitted_at, v.ended_at
       FROM appointment a
       JOIN visit v ON v.appointment_id = a.id
      WHERE a.clinician_id = $1
        AND a.cancelled_at IS NULL
        AND (v.state = ANY($3::text[])
             OR (v.state = 'ended' AND v.admitted_at IS NOT NULL
                 AND v.ended_at >= date_trunc('day', now() AT TIME ZONE $2) AT TIME ZONE $2))`,
    [clinicianId, timezone, PRESENT_STATES],
  )) as LaneRow[];
  const running = rows.filter((r) => isOpenConsult(r.state) && r.admitted_at).map((r) => new Date(r.admitted_at!).getTime());
  return {
    waiting: rows
      .filter((r) => r.state === 'waiting')
      .map((r) => ({ appointmentId: r.id, start: new Date(r.start), waitingSince: new Date(r.waiting_since ?? r.start) })),
    runningSince: running.length ? new Date(Math.max(...running)) : null,
    endedTodayMs: rows
      .filter((r) => r.state === 'ended' && r.admitted_at && r.ended_at)
      .map((r) => new Date(r.ended_at!).getTime() - new Date(r.admitted_at!).getTime()),
  };
}

/** Every waiting patient's place and estimate in this clinician's line (for the dashboard's cards). */
export async function lineOf(manager: EntityManager, clinicianId: string, timezone: string, now = new Date()): Promise<Map<string, WaitEstimate>> {
  return estimateWaits(await loadLane(manager, clinicianId, timezone), now);
}

/** What a waiting patient is told (null: she is not waiting, or her clinic shows nothing). */
export async function waitInfoFor(
  manager: EntityManager,
  c: { appointmentId: string; state: string; clinicianId: string; timezone: string; waitDisplay: WaitDisplay },
  now = new Date(),
): Promise<WaitInfo | null> {
  if (c.state !== 'waiting' || c.waitDisplay === 'none') return null;
  const line = await lineOf(manager, c.clinicianId, c.timezone, now);
  return visibleWait(c.waitDisplay, line.get(c.appointmentId));
}
