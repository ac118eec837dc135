/**
 * The assistant's live waiting-room dashboard: API (routes.ts), live feed (feed.ts), cards
 * (cards.ts) and the dashboard's own commands (commands.ts). See docs/dashboard.md.
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import type { ClinicResolver } from '../realtime/hub.js';

export { createDashboardRouter } from './routes.js';
export { DashboardFeed, DASHBOARD_WS_PATH } from './feed.js';
export { noteDeviceTest } from './cards.js';

/** A visit that started waiting this recently counts as an arrival (the cue plays). */
const ARRIVAL_WINDOW_SECONDS = 10;

/** How the hub finds the clinic of a visit, so every visit change reaches its dashboards. */
export function visitClinicResolver(ds: DataSource): ClinicResolver {
  return async (appointmentId) => {
    const r = await db(ds)
      .selectFrom('appointment as a')
      .innerJoin('visit as v', 'v.appointment_id', 'a.id')
      .select(['a.clinic_id', sql<boolean>`(v.state = 'waiting' AND v.waiting_since > now() - make_interval(secs => ${ARRIVAL_WINDOW_SECONDS}))`.as('arrived')])
      .where('a.id', '=', appointmentId)
      .executeTakeFirst();
    return r ? { clinicId: r.clinic_id, arrived: Boolean(r.arrived) } : null;
  };
}
