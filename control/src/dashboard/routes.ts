/**
 * The assistant's dashboard API (internal listener only, signed-in assistants and admins of
 * the clinic; writes need the CSRF token like every staff write):
 *
 *   GET  /staff/api/dashboard?clinic=CODE[&date=YYYY-MM-DD]  lanes per clinician, a card each
 *   GET  /staff/api/dashboard/clinics                         the clinics this person may watch
 *   GET  /staff/api/dashboard/cards/:id                       one card again
 *   POST /staff/api/appointments/:id/no-show                  mark a no-show (audited)
 *   POST /staff/api/appointments/:id/notify-clinician         "please look at this patient"
 *   POST /staff/api/appointments/:id/link                     the patient link, for copying (audited)
 *
 * Moving patients to another lane (one, some, or a whole lane) is POST /staff/api/transfers
 * (consult/transfer-routes.ts); the day's answer lists the clinicians they may go to.
 *
 * Chat, the clinic's delay message and the callback have their own routes (staff/, callbacks).
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Hub } from '../realtime/hub.js';
import type { StaffSession } from '../staff/sessions.js';
import { staffAuth } from '../staff/auth.js';
import { DomainError } from '../domain/errors.js';
import { queryOf, uuidParam, validate } from '../http/validate.js';
import { ClinicCode, Day } from '../http/schemas.js';
import { recordAudit } from '../domain/audit.js';
import { WALK_IN_LANE, cardOf, cardsOfDay, clinicianDelays, clinicsByIds, todayIn, type DashboardCard } from './cards.js';
import { clinicByCode } from '../domain/clinics.js';
import { copyPatientLink, loadForDashboard, markNoShow } from './commands.js';
import { mayUseDashboard } from '../domain/admission.js';
import { db } from '../db/kysely.js';

const DashboardQuery = z.object({ clinic: ClinicCode, date: Day.optional() }).strict();
type DashboardQuery = z.infer<typeof DashboardQuery>;

export interface DashboardRouteDeps {
  ds: DataSource;
  config: Config;
  hub: Hub;
}

export function createDashboardRouter(deps: DashboardRouteDeps): Router {
  const { ds, config, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds);
  const appointment = uuidParam('id', 'appointment');

  router.get('/dashboard', auth, validate({ query: DashboardQuery }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const query = queryOf<DashboardQuery>(ctx);
    const clinic = await clinicByCode(ds, query.clinic);
    if (!clinic) throw new DomainError('not_found', 'no such clinic', 'clinic');
    if (!mayUseDashboard(staff, clinic.id)) throw new DomainError('not_allowed', 'this clinic is not one of yours', 'clinic');
    const day = query.date ?? todayIn(clinic.timezone);
    const [cards, delays, clinicians] = await Promise.all([
      cardsOfDay(ds, hub, clinic.id, day),
      clinicianDelays(ds, clinic.id),
      cliniciansOf(ds, clinic.id),
    ]);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      serverTime: new Date().toISOString(),
      date: day,
      clinic: { id: clinic.id, code: clinic.code, name: clinic.name, timezone: clinic.timezone, initialsOnly: clinic.initials_only, delayMessage: clinic.delay_message },
      lanes: lanesOf(cards, delays),
      clinicians,
    } satisfies DashboardDay;
  });

  /** The clinics whose dashboard this staff member may open (the page's clinic picker). */
  router.get('/dashboard/clinics', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const rows = await clinicsByIds(ds, staff.clinicIds);
    ctx.body = { clinics: rows.filter((r) => mayUseDashboard(staff, r.id)).map((r) => ({ code: r.code, name: r.name })) };
  });

  router.get('/dashboard/cards/:id', auth, appointment, async (ctx) => {
    const c = await loadForDashboard(ds, ctx.params.id!, ctx.state.staff);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { card: await cardOf(ds, hub, c.appointmentId) };
  });

  router.post('/appointments/:id/no-show', auth, appointment, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = ctx.params.id!;
    const r = await markNoShow(ds, id, staff);
    if (r.changed) await hub.publish(id, { kind: 'changed' });
    ctx.body = { card: await cardOf(ds, hub, id) };
  });

  router.post('/appointments/:id/notify-clinician', auth, appointment, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const c = await loadForDashboard(ds, ctx.params.id!, staff);
    await recordAudit(ds.manager, { actorKind: 'staff', actorId: staff.id, action: 'clinician_notified', appointmentId: c.appointmentId });
    await hub.publishClinic(c.clinicId, {
      kind: 'clinician-notified',
      appointmentId: c.appointmentId,
      clinicianId: c.clinicianId,
      fromStaffId: staff.id,
    });
    ctx.body = { notified: true };
  });

  router.post('/appointments/:id/link', auth, appointment, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const c = await loadForDashboard(ds, ctx.params.id!, staff);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { link: await copyPatientLink(ds, config, c, staff) };
  });

  return router;
}

/** Cards grouped per clinician, lanes in the order of their first appointment. */
/** `delays`: each clinician's own delay message (shown in their patients' waiting rooms). */
export function lanesOf(cards: DashboardCard[], delays: ReadonlyMap<string, string> = new Map()) {
  const lanes = new Map<string, { clinicianId: string; clinicianName: string; delayMessage: string | null; walkIn: boolean; cards: DashboardCard[] }>();
  for (const card of cards) {
    let lane = lanes.get(card.lane);
    if (!lane) {
      // The walk-in lane (clinicianId WALK_IN_LANE) is named by the page in its own language.
      const walkIn = card.lane === WALK_IN_LANE;
      lane = { clinicianId: card.lane, clinicianName: walkIn ? '' : card.clinicianName, delayMessage: walkIn ? null : (delays.get(card.clinicianId) ?? null), walkIn, cards: [] };
      lanes.set(card.lane, lane);
    }
    lane.cards.push(card);
  }
  // The walk-in lane first: those patients have no appointment time and anyone may take them.
  return [...lanes.values()].sort((a, b) => Number(b.walkIn) - Number(a.walkIn));
}

/** One lane of GET /staff/api/dashboard (the dashboard page imports these types). */
export type DashboardLane = ReturnType<typeof lanesOf>[number];
/** The body of GET /staff/api/dashboard. */
export interface DashboardDay {
  serverTime: string;
  date: string;
  clinic: { id: string; code: string; name: string; timezone: string; initialsOnly: boolean; delayMessage: string | null };
  lanes: DashboardLane[];
  /** The clinic's active clinicians: where patients may be moved to (issue 18.1). */
  clinicians: Array<{ id: string; name: string }>;
}

/** The active clinicians of a clinic, by name. */
async function cliniciansOf(ds: DataSource, clinicId: string): Promise<Array<{ id: string; name: string }>> {
  return db(ds)
    .selectFrom('staff as s')
    .innerJoin('staff_clinic as sc', 'sc.staff_id', 's.id')
    .select(['s.id', 's.name'])
    .where('sc.clinic_id', '=', clinicId)
    .where('s.role', '=', 'clinician')
    .where('s.active', '=', true)
    .orderBy('s.name')
    .orderBy('s.id')
    .execute();
}
