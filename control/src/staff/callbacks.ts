/**
 * The callback list for the dashboards (internal listener only), clinic-scoped like the other
 * staff routes; POSTs need the CSRF token (staffAuth).
 *
 *   GET  /staff/api/callbacks?clinic=CODE[&day=YYYY-MM-DD]
 *        → { callbacks: [{ id, appointmentId, clinicCode, patientDisplayName, phone, reason,
 *                          createdAt, doneAt, doneBy, callStatus }] }
 *        the day's tasks (default: today in the clinic's time zone) and every open one.
 *   POST /staff/api/callbacks/:id/done           { done: boolean }  → { callback }
 *   POST /staff/api/appointments/:id/fallback    → 201 { callback } (200 when it was there already)
 *
 * Every request, done and undone is an audit event (callbacks/tasks.ts); every change is a
 * `callbacks-changed` clinic event.
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { listCallbacks, requestCallback, setCallbackDone, type CallbackDeps } from '../callbacks/index.js';
import { callbackAppointmentId } from '../callbacks/tasks.js';
import { clinicByCode } from '../domain/clinics.js';
import { staffMaySee } from '../domain/admission.js';
import { loadConsult } from '../consult/context.js';
import { todayIn } from '../domain/contact.js';
import { HttpError, fromZodError, parseJsonBody } from '../http/errors.js';
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

const Uuid = z.string().uuid();
const ListQuery = z
  .object({
    clinic: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a clinic code').optional(),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').optional(),
  })
  .strict();
const DoneBody = z.object({ done: z.boolean() }).strict();

export function createCallbacksRouter(deps: CallbackRouteDeps): Router {
  const { ds, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds);
  const callbackDeps: CallbackDeps = { ds, hub, telephony: deps.telephony ?? null, logger: deps.logger ?? null };

  router.get('/callbacks', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const query = ListQuery.safeParse(ctx.query);
    if (!query.success) throw fromZodError(query.error, ctx.query);
    let clinicIds = staff.clinicIds;
    let timeZone = 'Europe/Amsterdam';
    if (query.data.clinic) {
      const clinic = await clinicByCode(ds, query.data.clinic);
      if (!clinic || !staff.clinicIds.includes(clinic.id)) throw new HttpError(404, 'not_found', 'no such clinic');
      clinicIds = [clinic.id];
      timeZone = clinic.timezone;
    }
    const day = query.data.day ?? todayIn(timeZone, new Date());
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      day,
      callbacks: await listCallbacks(ds, clinicIds, day, staff.role === 'clinician' ? { clinicianId: staff.id } : {}),
    };
  });

  router.post('/callbacks/:id/done', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = Uuid.safeParse(ctx.params.id);
    if (!id.success) throw new HttpError(404, 'not_found', 'no such callback');
    const appointmentId = await callbackAppointmentId(ds, id.data);
    const c = appointmentId ? await loadConsult(ds.manager, appointmentId) : null;
    if (!c || !staffMaySee(staff, c)) throw new HttpError(404, 'not_found', 'no such callback');
    const input = await parseJsonBody(ctx);
    const body = DoneBody.safeParse(input);
    if (!body.success) throw fromZodError(body.error, input);
    const result = await setCallbackDone(ds, id.data, staff.id, body.data.done);
    if (result.changed) {
      await hub.publishClinic(result.task.clinicId, { kind: 'callbacks-changed', appointmentId: result.task.appointmentId });
      // The patient's page re-reads its state: the "we will call you" message comes or goes.
      await hub.publish(result.task.appointmentId, { kind: 'changed' });
    }
    ctx.body = { callback: present(result.task) };
  });

  router.post('/appointments/:id/fallback', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = Uuid.safeParse(ctx.params.id);
    const c = id.success ? await loadConsult(ds.manager, id.data) : null;
    if (!c || !staffMaySee(staff, c)) throw new HttpError(404, 'not_found', 'no such appointment');
    const result = await requestCallback(callbackDeps, c.appointmentId, 'staff', staff.id);
    ctx.status = result.created ? 201 : 200;
    ctx.body = { callback: present(result.task) };
  });

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
