/**
 * The callback list for the dashboards (internal listener only), clinic-scoped like the other
 * staff routes; POSTs need the CSRF token (staffAuth).
 *
 *   GET  /staff/api/callbacks?clinic=CODE[&day=YYYY-MM-DD]
 *        → { callbacks: [{ id, appointmentId, clinicCode, patientDisplayName, phone, reason,
 *                          createdAt, doneAt, doneBy, callStatus }] }
 *        the day's tasks (default: today in the clinic's time zone) and every open one.
 *   POST /staff/api/callbacks/:id/done           { done: boolean }  → { callback }
 *   POST /staff/api/appointments/:id/callback    → 201 { callback } (200 when it was there already)
 *        (also still at …/:id/fallback, its old name, for pages and scripts that call it so;
 *        see callbacks/README.md)
 *
 * Every request, done and undone is an audit event (callbacks/tasks.ts); every change is a
 * `callbacks-changed` clinic event.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { listCallbacks, requestCallback, setCallbackDone, type CallbackDeps } from '../callbacks/index.js';
import { allowed, linkedToClinic } from '../domain/admission.js';
import { DomainError } from '../domain/errors.js';
import { loadConsult } from '../consult/context.js';
import { todayIn } from '../domain/contact.js';
import { NotFound } from '../http/errors.js';
import { bodyOf, queryOf, uuidParam, validate } from '../http/validate.js';
import { ClinicCode, Day } from '../http/schemas.js';
import type { Hub } from '../realtime/hub.js';
import { staffAuth } from './auth.js';
import type { StaffSession } from './sessions.js';

export interface CallbackRouteDeps {
  ds: DataSource;
  hub: Hub;
  /** Queues the telephony webhook call; absent: the task is made, no call is placed. */
  telephony?: CallbackDeps['telephony'];
  logger?: CallbackDeps['logger'];
}

const ListQuery = z.object({ clinic: ClinicCode.optional(), day: Day.optional() }).strict();
type ListQuery = z.infer<typeof ListQuery>;
const DoneBody = z.object({ done: z.boolean() }).strict();
type DoneBody = z.infer<typeof DoneBody>;

export function createCallbacksRouter(deps: CallbackRouteDeps): Router {
  const { ds, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds);
  const callbackDeps: CallbackDeps = { ds, hub, telephony: deps.telephony ?? null, logger: deps.logger ?? null };

  router.get('/callbacks', auth, validate({ query: ListQuery }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const query = queryOf<ListQuery>(ctx);
    let clinicIds = staff.clinicIds;
    let timeZone = 'Europe/Amsterdam';
    if (query.clinic) {
      const rows = (await ds.query(`SELECT id, timezone FROM clinic WHERE code = $1`, [query.clinic])) as Array<{ id: string; timezone: string }>;
      const clinic = rows[0];
      if (!clinic) throw NotFound('clinic');
      if (!linkedToClinic(staff, clinic.id)) throw new DomainError('not_allowed', 'this clinic is not one of yours');
      clinicIds = [clinic.id];
      timeZone = clinic.timezone;
    }
    const day = query.day ?? todayIn(timeZone, new Date());
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      day,
      callbacks: await listCallbacks(ds, clinicIds, day, staff.role === 'clinician' ? { clinicianId: staff.id } : {}),
    };
  });

  router.post('/callbacks/:id/done', auth, uuidParam('id', 'callback'), validate({ body: DoneBody }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = ctx.params.id!;
    const rows = (await ds.query(`SELECT appointment_id FROM callback_task WHERE id = $1`, [id])) as Array<{ appointment_id: string }>;
    const c = allowed(staff, 'see', rows[0] ? await loadConsult(ds.manager, rows[0].appointment_id) : null, 'callback');
    const result = await setCallbackDone(ds, id, staff.id, bodyOf<DoneBody>(ctx).done);
    if (result.changed) {
      await hub.publishClinic(result.task.clinicId, { kind: 'callbacks-changed', appointmentId: result.task.appointmentId });
      // The patient's page re-reads its state: the "we will call you" message comes or goes.
      await hub.publish(result.task.appointmentId, { kind: 'changed' });
    }
    ctx.body = { callback: present(result.task) };
  });

  const requestOne = async (ctx: Context & { params: Record<string, string> }) => {
    const staff = ctx.state.staff as StaffSession;
    const c = allowed(staff, 'see', await loadConsult(ds.manager, ctx.params.id!));
    const result = await requestCallback(callbackDeps, c.appointmentId, 'staff', staff.id);
    ctx.status = result.created ? 201 : 200;
    ctx.body = { callback: present(result.task) };
  };
  router.post('/appointments/:id/callback', auth, uuidParam('id', 'appointment'), requestOne);
  // The old name, kept working for hospitals' scripts (the staff pages call /callback).
  router.post('/appointments/:id/fallback', auth, uuidParam('id', 'appointment'), requestOne);

  return router;
}

function present(t: Awaited<ReturnType<typeof setCallbackDone>>['task']) {
  return {
    id: t.id,
    appointmentId: t.appointmentId,
    reason: t.reason,
    createdAt: t.createdAt.toISOString(),
    doneAt: t.doneAt ? t.doneAt.toISOString() : null,
    doneBy: t.doneBy,
    callStatus: t.callStatus,
  };
}
