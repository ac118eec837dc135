/**
 * When the callback is due by itself (SPEC section 2, per clinic):
 *  - no-show: the patient is not in the waiting room `clinic.no_show_minutes` after the start
 *    (a delayed job per appointment, planned with the reminders; the sweep below as a net);
 *  - dropped: the patient dropped out of the consult and is not back within
 *    `clinic.drop_minutes` (found by the sweep, a repeatable job every 15 seconds: the relay
 *    records the drop in PostgreSQL, so nothing has to be queued at that moment).
 * Both end in requestCallback, which makes at most one task per appointment and reason.
 * The sweep is also the outbox of the telephony call: a task still `pending` is queued again
 * (same job id: a call already queued is not doubled).
 */
import type { CallbackCheckJobData } from '../jobs/plan.js';
import { queuePendingCalls, requestCallback, type CallbackDeps } from './tasks.js';
import { NOT_ARRIVED_STATES, type VisitState } from '../domain/visit-state.js';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';

/** Not arrived (NOT_ARRIVED_STATES): still scheduled, or marked no-show (who expects a call list entry). */
const NOT_ARRIVED: readonly VisitState[] = NOT_ARRIVED_STATES;

export type CheckOutcome = 'callback' | 'callback-exists' | 'arrived' | 'stale' | 'not-due' | 'gone';

export async function performNoShowCheck(deps: CallbackDeps, data: CallbackCheckJobData, now = new Date()): Promise<CheckOutcome> {
  const r = await db(deps.ds)
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .select(['a.start', 'a.cancelled_at', 'v.state', 'c.no_show_minutes'])
    .where('a.id', '=', data.appointmentId)
    .executeTakeFirst();
  if (!r || r.cancelled_at) return 'gone';
  if (r.start.toISOString() !== data.start) return 'stale'; // moved: a new check is planned
  if (!NOT_ARRIVED.includes(r.state)) return 'arrived';
  if (r.start.getTime() + r.no_show_minutes * 60_000 > now.getTime() + 1000) return 'not-due';
  const { created } = await requestCallback(deps, data.appointmentId, 'no_show');
  return created ? 'callback' : 'callback-exists';
}

/**
 * Every no-show and drop that is due and has no task yet. Looks back one day only, so a first
 * start on an old database does not fill the list with last month's appointments.
 */
export async function sweepCallbacks(deps: CallbackDeps, now = new Date()): Promise<{ noShow: number; dropped: number; calls: number }> {
  const k = db(deps.ds);
  const withoutTask = (reason: 'no_show' | 'dropped') =>
    k
      .selectFrom('appointment as a')
      .innerJoin('visit as v', 'v.appointment_id', 'a.id')
      .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
      .select('a.id')
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('callback_task as t').select(sql`1`.as('one')).whereRef('t.appointment_id', '=', 'a.id').where('t.reason', '=', reason))),
      );
  const noShows = await withoutTask('no_show')
    .where('v.state', 'in', NOT_ARRIVED)
    // A walk-in who registered and went no further is no appointment missed: no call (consult/expiry.ts expires her).
    .where((eb) => eb.or([eb(sql<string>`a.flags->>'walkIn'`, 'is', null), eb(sql<string>`a.flags->>'walkIn'`, '<>', 'true')]))
    .where('a.cancelled_at', 'is', null)
    .where(sql<Date>`a.start + make_interval(mins => c.no_show_minutes)`, '<=', now)
    .where('a.start', '>', sql<Date>`${now}::timestamptz - interval '1 day'`)
    .execute();
  const drops = await withoutTask('dropped')
    .where('v.state', '=', 'dropped')
    .where('v.dropped_at', 'is not', null)
    .where(sql<Date>`v.dropped_at + make_interval(mins => c.drop_minutes)`, '<=', now)
    .where('v.dropped_at', '>', sql<Date>`${now}::timestamptz - interval '1 day'`)
    .execute();
  let noShow = 0;
  let dropped = 0;
  for (const { id } of noShows) if ((await requestCallback(deps, id, 'no_show')).created) noShow++;
  for (const { id } of drops) if ((await requestCallback(deps, id, 'dropped')).created) dropped++;
  // Calls committed but never queued (the queue was away just then) go out now, once.
  const calls = await queuePendingCalls(deps);
  return { noShow, dropped, calls };
}
