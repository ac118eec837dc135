/**
 * The facts behind "how long still" (domain/waiting-line.ts) for one clinician, read from
 * PostgreSQL: who waits for her now, whether she holds a consult and since when, and how long
 * her consults ended today took ("today" in the clinic's time zone). One query.
 */
import type { EntityManager } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { isOpenConsult, PRESENT_STATES } from '../domain/visit-state.js';
import { estimateWaits, visibleWait, type LaneFacts, type WaitDisplay, type WaitEstimate, type WaitInfo } from '../domain/waiting-line.js';

export async function loadLane(manager: EntityManager, clinicianId: string, timezone: string): Promise<LaneFacts> {
  const rows = await db(manager)
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .select(['a.id', 'a.start', 'v.state', 'v.waiting_since', 'v.admitted_at', 'v.ended_at'])
    .where('a.clinician_id', '=', clinicianId)
    .where('a.cancelled_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('v.state', 'in', PRESENT_STATES),
        eb.and([
          eb('v.state', '=', 'ended'),
          eb('v.admitted_at', 'is not', null),
          eb('v.ended_at', '>=', sql<Date>`date_trunc('day', now() AT TIME ZONE ${timezone}) AT TIME ZONE ${timezone}`),
        ]),
      ]),
    )
    .execute();
  const running = rows.flatMap((r) => (isOpenConsult(r.state) && r.admitted_at ? [r.admitted_at.getTime()] : []));
  return {
    waiting: rows
      .filter((r) => r.state === 'waiting')
      .map((r) => ({ appointmentId: r.id, start: r.start, waitingSince: r.waiting_since ?? r.start })),
    runningSince: running.length ? new Date(Math.max(...running)) : null,
    endedTodayMs: rows.flatMap((r) => (r.state === 'ended' && r.admitted_at && r.ended_at ? [r.ended_at.getTime() - r.admitted_at.getTime()] : [])),
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
