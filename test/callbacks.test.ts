/**
 * Fallback phone calls against real PostgreSQL and Redis: the no-show job (BullMQ, delayed to
 * the clinic's no-show minutes) and the drop sweep create exactly one callback task each, and
 * the clinic's telephony webhook — a real local HTTP server standing in for the PBX — receives
 * one POST whose HMAC-SHA256 signature it verifies; a webhook answering 500 is retried and the
 * task shows all the while. Then the staff routes of the callback list: contract, CSRF, clinic
 * scope, done/undone with audit events and `callbacks-changed` events.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCallbacks, requestCallback, sweepCallbacks, verifyTelephonySignature } from '../control/src/callbacks/index.js';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { errorMiddleware } from '../control/src/http/errors.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { noShowJobId } from '../control/src/jobs/plan.js';
import { Hub, type ClinicEvent } from '../control/src/realtime/hub.js';
import { createCallbacksRouter } from '../control/src/staff/callbacks.js';
import { loadConsult, snapshot } from '../control/src/consult/context.js';
import { createSession } from '../control/src/staff/sessions.js';
import { startWorker, type RunningWorker } from '../control/src/worker.js';
import { initialsOf as cardInitials } from '../control/src/dashboard/cards.js';
import { phoneCallbackVia } from '../control/src/consult/phone-callback.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildStaff } from './support/factories.js';
import { queueSettled } from './support/jobs.js';

interface Recorded { headers: http.IncomingHttpHeaders; body: string; at: number }

/** The PBX stand-in: records every POST; answers `failNext` requests with 500 first. */
async function startPbx() {
  const requests: Recorded[] = [];
  const state = { failNext: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body, at: Date.now() });
      if (state.failNext > 0) {
        state.failNext--;
        res.writeHead(500).end('busy');
      } else res.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/click-to-dial`,
    requests,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SECRET = 'pbx-shared-secret-0123456789abcdef';
let db: TestDatabase;
let pbx: Awaited<ReturnType<typeof startPbx>>;
let config: ReturnType<typeof testConfig>;
let scheduler: NotificationScheduler;
let worker: RunningWorker;
let hub: Hub;
let clinic: Clinic;
let otherClinic: Clinic;
let clinician: Staff;
const clinicEvents: ClinicEvent[] = [];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase();
  pbx = await startPbx();
  config = testConfig({
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `spk-test-cb-${randomBytes(3).toString('hex')}`,
    JOBS_RETRY_BASE_SECONDS: '0.2',
    WORKER_LOCK_SECONDS: '5',
  });
  clinic = await buildClinic(db.ds, { code: `kno-${randomBytes(2).toString('hex')}`, name: 'KNO', noShowMinutes: 0, dropMinutes: 2 });
  await db.ds.query(`UPDATE clinic SET telephony_webhook_url = $2, telephony_webhook_secret = $3 WHERE id = $1`, [clinic.id, pbx.url, SECRET]);
  otherClinic = await buildClinic(db.ds, { code: `oog-${randomBytes(2).toString('hex')}`, name: 'Oogheelkunde' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', name: 'Dr. C. de Wit' });
  hub = new Hub(config.redisUrl, logger);
  await hub.start();
  await hub.subscribeClinic(clinic.id, (e) => void clinicEvents.push(e));
  scheduler = new NotificationScheduler(config, logger, db.ds);
  worker = await startWorker(config, logger);
});

afterAll(async () => {
  await worker?.stop();
  if (scheduler) {
    await scheduler.queue.obliterate({ force: true }).catch(() => undefined);
    await scheduler.callbacks.obliterate({ force: true }).catch(() => undefined);
    await scheduler.close();
  }
  await hub?.stop();
  await pbx?.close();
  await db?.drop();
});

const tasksOf = async (appointmentId: string) =>
  (await db.ds.query(`SELECT reason, call_status FROM callback_task WHERE appointment_id = $1 ORDER BY reason`, [appointmentId])) as Array<{ reason: string; call_status: string }>;
const callsFor = (appointmentId: string) => pbx.requests.filter((r) => JSON.parse(r.body).appointmentId === appointmentId);

describe('no-show', () => {
  it('the delayed job creates one callback task and one signed webhook call', async () => {
    const start = new Date(Date.now() + 2_000);
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start, patient: { phone: '+31612345678' } });
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start, cancelled: false });
    const check = await scheduler.callbacks.getJob(noShowJobId(a.appointment.id));
    expect(Object.keys(check!.data).sort()).toEqual(['appointmentId', 'check', 'start']); // ids only
    expect(Math.abs(check!.timestamp + check!.delay - start.getTime())).toBeLessThan(1000); // noShowMinutes 0: at the start

    const [call] = await until('the webhook call', () => (callsFor(a.appointment.id).length ? callsFor(a.appointment.id) : null));
    expect(call!.at).toBeGreaterThanOrEqual(start.getTime());
    expect(verifyTelephonySignature(SECRET, { timestamp: call!.headers['x-spreekkamer-timestamp'] as string, signature: call!.headers['x-spreekkamer-signature'] as string }, call!.body)).toBe(true);
    // A forged or altered request does not verify.
    expect(verifyTelephonySignature(SECRET, { timestamp: call!.headers['x-spreekkamer-timestamp'] as string, signature: call!.headers['x-spreekkamer-signature'] as string }, call!.body.replace('+316', '+317'))).toBe(false);
    expect(verifyTelephonySignature('another-secret', { timestamp: call!.headers['x-spreekkamer-timestamp'] as string, signature: call!.headers['x-spreekkamer-signature'] as string }, call!.body)).toBe(false);
    const body = JSON.parse(call!.body);
    expect(body).toMatchObject({ event: 'callback.requested', reason: 'no_show', phone: '+31612345678', clinic: clinic.code, appointmentId: a.appointment.id });
    expect(call!.headers['x-spreekkamer-delivery']).toBe(body.callbackId);

    await until('call status sent', async () => (await tasksOf(a.appointment.id))[0]?.call_status === 'sent');
    // Running the check and the sweep again changes nothing: still one task, one call.
    await sweepCallbacks({ ds: db.ds, hub, telephony: scheduler });
    await requestCallback({ ds: db.ds, hub, telephony: scheduler }, a.appointment.id, 'no_show');
    // The fallback queue has run everything that is due: a second call would have been made.
    await queueSettled(scheduler.callbacks);
    expect(await tasksOf(a.appointment.id)).toEqual([{ reason: 'no_show', call_status: 'sent' }]);
    expect(callsFor(a.appointment.id)).toHaveLength(1);
    expect(clinicEvents).toContainEqual({ kind: 'callbacks-changed', appointmentId: a.appointment.id });
    const audit = (await db.ds.query(`SELECT action, actor_kind, data FROM audit_event WHERE appointment_id = $1 AND action LIKE 'fallback.%'`, [a.appointment.id])) as any[];
    expect(audit).toEqual([{ action: 'fallback.requested', actor_kind: 'system', data: { reason: 'no_show', callbackId: body.callbackId } }]);
    // The patient's page is told: "your clinician will call you on the number ending in 78".
    const state = snapshot((await loadConsult(db.ds.manager, a.appointment.id))!, new Date(), 'patient');
    expect(state).toMatchObject({ callbackPending: true, phoneEnding: '78' });
  });

  it("the clinician's switch to phone calls the PBX like any fallback (reason phone_switch)", async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() + 3600_000), patient: { phone: '+31611112222' } });
    // What server.ts gives the console's "switch to phone" route.
    await phoneCallbackVia({ ds: db.ds, hub, telephony: scheduler })(a.appointment.id, clinician.id);
    const [call] = await until('the webhook call', () => (callsFor(a.appointment.id).length ? callsFor(a.appointment.id) : null));
    expect(JSON.parse(call!.body)).toMatchObject({ event: 'callback.requested', reason: 'phone_switch', phone: '+31611112222' });
    await until('call status sent', async () => (await tasksOf(a.appointment.id))[0]?.call_status === 'sent');
    expect(await tasksOf(a.appointment.id)).toEqual([{ reason: 'phone_switch', call_status: 'sent' }]);
  });

  it('the check follows a moved appointment and goes with a cancelled one', async () => {
    const first = new Date(Date.now() + 3 * 86_400_000);
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: first });
    await db.ds.query(`UPDATE clinic SET no_show_minutes = 5 WHERE id = $1`, [clinic.id]);
    try {
      await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: first, cancelled: false });
      const moved = new Date(first.getTime() + 86_400_000);
      await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: moved, cancelled: false });
      const job = await scheduler.callbacks.getJob(noShowJobId(a.appointment.id));
      expect(job!.data).toMatchObject({ start: moved.toISOString() });
      expect(Math.abs(job!.timestamp + job!.delay - (moved.getTime() + 5 * 60_000))).toBeLessThan(1000);
      await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: moved, cancelled: true });
      expect(await scheduler.callbacks.getJob(noShowJobId(a.appointment.id))).toBeUndefined();
    } finally {
      await db.ds.query(`UPDATE clinic SET no_show_minutes = 0 WHERE id = $1`, [clinic.id]);
    }
  });

  it('a patient in the waiting room gets no callback', async () => {
    const start = new Date(Date.now() + 1_500);
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start });
    await db.ds.query(`UPDATE visit SET state = 'waiting', waiting_since = now() WHERE appointment_id = $1`, [a.appointment.id]);
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start, cancelled: false });
    const job = await scheduler.callbacks.getJob(noShowJobId(a.appointment.id));
    await until('the check to run', async () => (await job!.getState()) === 'completed');
    expect(await tasksOf(a.appointment.id)).toEqual([]);
  });
});

describe('dropped and not back', () => {
  it('the sweep creates the task after the clinic drop minutes, once', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() - 5 * 60_000), durationMinutes: 30 });
    await db.ds.query(`UPDATE visit SET state = 'dropped', dropped_at = now() - interval '90 seconds' WHERE appointment_id = $1`, [a.appointment.id]);
    const deps = { ds: db.ds, hub, telephony: scheduler };
    await sweepCallbacks(deps);
    expect((await tasksOf(a.appointment.id)).map((t) => t.reason)).not.toContain('dropped'); // 90 s < 2 min
    await db.ds.query(`UPDATE visit SET dropped_at = now() - interval '121 seconds' WHERE appointment_id = $1`, [a.appointment.id]);
    await sweepCallbacks(deps);
    await sweepCallbacks(deps);
    expect((await tasksOf(a.appointment.id)).filter((t) => t.reason === 'dropped')).toHaveLength(1);
    await until('the webhook call', () => callsFor(a.appointment.id).some((c) => JSON.parse(c.body).reason === 'dropped'));
  });
});

describe('queue away right after the commit (issue 14, defect 3)', () => {
  it('the committed call still reaches the PBX, exactly once: the sweep queues what was never queued', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() + 3600_000), patient: { phone: '+31612345670' } });
    // The task is committed, then queueing fails (Redis away at that moment).
    const broken = { queueCall: () => Promise.reject(new Error('queue unreachable')) };
    const { created } = await requestCallback({ ds: db.ds, hub, telephony: broken }, a.appointment.id, 'staff', clinician.id);
    expect(created).toBe(true);
    expect(await tasksOf(a.appointment.id)).toEqual([{ reason: 'staff', call_status: 'pending' }]);
    // A retry of the request finds the task and must not be the only way to queue it.
    expect((await requestCallback({ ds: db.ds, hub, telephony: broken }, a.appointment.id, 'staff', clinician.id)).created).toBe(false);
    // The worker's repeatable sweep (and a second run, and the worker's own) queue it once.
    await sweepCallbacks({ ds: db.ds, hub, telephony: scheduler });
    await sweepCallbacks({ ds: db.ds, hub, telephony: scheduler });
    await until('the webhook call', () => (callsFor(a.appointment.id).length ? true : null));
    await until('call status sent', async () => (await tasksOf(a.appointment.id))[0]?.call_status === 'sent');
    await sweepCallbacks({ ds: db.ds, hub, telephony: scheduler });
    await queueSettled(scheduler.callbacks);
    expect(callsFor(a.appointment.id)).toHaveLength(1);
  });
});

describe('initials (issue 14, defect 4)', () => {
  it('the call-back list shows the same initials as the dashboard card, without the title', async () => {
    const quiet = await buildClinic(db.ds, { code: `ini-${randomBytes(2).toString('hex')}`, name: 'Initialen' });
    await db.ds.query(`UPDATE clinic SET initials_only = true WHERE id = $1`, [quiet.id]);
    const doctor = await buildStaff(db.ds, { clinic: quiet, role: 'clinician', name: 'Dr. I. Nitiaal' });
    const a = await buildAppointment(db.ds, config, { clinic: quiet, clinician: doctor, start: new Date(Date.now() + 3600_000), patient: { name: 'Mevrouw J. de Vries' } });
    await requestCallback({ ds: db.ds, hub }, a.appointment.id, 'staff', doctor.id);
    const day = new Date().toISOString().slice(0, 10);
    const [row] = await listCallbacks(db.ds, [quiet.id], day);
    expect(row!.patientDisplayName).toBe('J.V.');
    expect(row!.patientDisplayName).toBe(cardInitials('Mevrouw J. de Vries'));
  });
});

describe('webhook down', () => {
  it('is retried with back-off until it answers; the task shows all the while', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() + 3600_000) });
    pbx.state.failNext = 2;
    const before = pbx.requests.length;
    const { task, created } = await requestCallback({ ds: db.ds, hub, telephony: scheduler }, a.appointment.id, 'staff', clinician.id);
    expect(created).toBe(true);
    const day = new Date().toISOString().slice(0, 10);
    expect((await listCallbacks(db.ds, [clinic.id], day)).map((c) => c.id)).toContain(task.id);
    await until('three attempts', () => callsFor(a.appointment.id).length >= 3);
    await until('call status sent', async () => (await tasksOf(a.appointment.id))[0]?.call_status === 'sent');
    const calls = callsFor(a.appointment.id);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers['x-spreekkamer-delivery']))).toEqual(new Set([task.id]));
    expect(calls[2]!.at - calls[0]!.at).toBeGreaterThanOrEqual(500); // 0.2 s, then 0.4 s back-off
    for (const c of calls) {
      expect(verifyTelephonySignature(SECRET, { timestamp: c.headers['x-spreekkamer-timestamp'] as string, signature: c.headers['x-spreekkamer-signature'] as string }, c.body)).toBe(true);
    }
    expect(pbx.requests.length - before).toBe(3);
  });
});

describe('staff routes', () => {
  let base: string;
  let server: http.Server;
  let assistantCookie: string;
  let assistantCsrf: string;
  let assistantId: string;
  let outsiderCookie: string;
  let outsiderCsrf: string;

  beforeAll(async () => {
    const app = new Koa();
    app.use(errorMiddleware(logger));
    const router = createCallbacksRouter({ ds: db.ds, hub, telephony: scheduler });
    app.use(router.routes()).use(router.allowedMethods());
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/staff/api`;
    const assistant = await buildStaff(db.ds, { clinic, role: 'assistant' });
    assistantId = assistant.id;
    const s = await createSession(db.ds, assistant.id);
    assistantCookie = `spk_session=${s.token}`;
    assistantCsrf = s.csrfToken;
    const outsider = await buildStaff(db.ds, { clinic: otherClinic, role: 'assistant' });
    const o = await createSession(db.ds, outsider.id);
    outsiderCookie = `spk_session=${o.token}`;
    outsiderCsrf = o.csrfToken;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const call = async (path: string, init: { method?: string; body?: unknown; cookie?: string; csrf?: string | null } = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        cookie: init.cookie ?? assistantCookie,
        ...(init.csrf === null ? {} : { 'x-csrf-token': init.csrf ?? assistantCsrf }),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('requests a callback (201, then 200, also at the old …/fallback path), lists it by the contract, ticks it off and on with audit events', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() + 7200_000), patient: { name: 'Anna Bakker', phone: '+31687654321' } });
    const first = await call(`/appointments/${a.appointment.id}/callback`, { method: 'POST' });
    expect(first.status).toBe(201);
    const again = await call(`/appointments/${a.appointment.id}/callback`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(again.body.callback.id).toBe(first.body.callback.id);
    // The old path is the same route (the staff pages and scripts may still call it).
    const old = await call(`/appointments/${a.appointment.id.toUpperCase()}/fallback`, { method: 'POST' });
    expect(old.status).toBe(200);
    expect(old.body.callback.id).toBe(first.body.callback.id);

    const list = await call(`/callbacks?clinic=${clinic.code}`);
    expect(list.status).toBe(200);
    const item = list.body.callbacks.find((c: any) => c.id === first.body.callback.id);
    expect(item).toEqual({
      id: first.body.callback.id, appointmentId: a.appointment.id, clinicCode: clinic.code, patientDisplayName: 'Anna Bakker',
      phone: '+31687654321', reason: 'staff', createdAt: expect.any(String), doneAt: null, doneBy: null, callStatus: expect.any(String),
    });

    const done = await call(`/callbacks/${item.id}/done`, { method: 'POST', body: { done: true } });
    expect(done.status).toBe(200);
    expect(done.body.callback.doneBy).toBe(assistantId);
    expect(done.body.callback.doneAt).toEqual(expect.any(String));
    const undone = await call(`/callbacks/${item.id}/done`, { method: 'POST', body: { done: false } });
    expect(undone.body.callback.doneAt).toBeNull();
    const audit = (await db.ds.query(
      `SELECT action, actor_id FROM audit_event WHERE appointment_id = $1 AND action LIKE 'fallback.%' ORDER BY id`, [a.appointment.id],
    )) as any[];
    expect(audit).toEqual([
      { action: 'fallback.requested', actor_id: assistantId },
      { action: 'fallback.done', actor_id: assistantId },
      { action: 'fallback.undone', actor_id: assistantId },
    ]);
    expect(JSON.stringify(audit)).not.toContain('31687654321');
    await until('callbacks-changed events', () => clinicEvents.filter((e) => e.kind === 'callbacks-changed' && e.appointmentId === a.appointment.id).length >= 3);
  });

  it('refuses bad input with 4xx naming the problem, and changes nothing', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician });
    const { task } = await requestCallback({ ds: db.ds }, a.appointment.id, 'staff');
    const cases: Array<[string, Parameters<typeof call>[1], number, string?]> = [
      [`/callbacks/${task.id}/done`, { method: 'POST', body: { done: 'yes' } }, 400, 'done'],
      [`/callbacks/${task.id}/done`, { method: 'POST', body: { done: true, extra: 1 } }, 400, 'extra'],
      [`/callbacks/${task.id}/done`, { method: 'POST', body: '{not json' }, 400],
      [`/callbacks/${task.id}/done`, { method: 'POST', body: { done: true }, csrf: null }, 403],
      // Another clinic's task, appointment or list: refused by the clinic scope (staff/auth.ts).
      [`/callbacks/${task.id}/done`, { method: 'POST', body: { done: true }, cookie: outsiderCookie, csrf: outsiderCsrf }, 403],
      [`/callbacks/not-a-uuid/done`, { method: 'POST', body: { done: true } }, 404],
      [`/appointments/${a.appointment.id}/callback`, { method: 'POST', cookie: outsiderCookie, csrf: outsiderCsrf }, 403],
      [`/appointments/not-a-uuid/callback`, { method: 'POST' }, 404],
      [`/callbacks?clinic=${clinic.code}`, { cookie: outsiderCookie }, 403],
      [`/callbacks?clinic=no-such-clinic`, {}, 404],
      [`/callbacks?day=tomorrow`, {}, 400, 'day'],
      [`/callbacks?clinic=${clinic.code}`, { cookie: 'spk_session=nope' }, 401],
    ];
    for (const [path, init, status, field] of cases) {
      const res = await call(path, init);
      expect(res.status, `${init?.method ?? 'GET'} ${path}`).toBe(status);
      if (field) expect(JSON.stringify(res.body.error)).toContain(field);
    }
    expect((await db.ds.query(`SELECT done_at FROM callback_task WHERE id = $1`, [task.id]))[0].done_at).toBeNull();
    const cancelled = await buildAppointment(db.ds, config, { clinic, clinician });
    await db.ds.query(`UPDATE appointment SET cancelled_at = now() WHERE id = $1`, [cancelled.appointment.id]);
    expect((await call(`/appointments/${cancelled.appointment.id}/callback`, { method: 'POST' })).status).toBe(409);
  });
});
