/**
 * SMS end to end: the worker reads the phone number from PostgreSQL at send time and posts to
 * the SMS gateway — a real local HTTP server that records requests and answers 500 or 4xx on
 * demand. CM.com's documented JSON format and the generic URL/header/body template; one part
 * of at most 160 GSM-7 characters; retries on 500; a 4xx fails for good at once and shows in
 * failedMessages; a message that keeps failing until the last attempt too. Per-clinic
 * channels and reminder times.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { jobIdFor } from '../control/src/jobs/plan.js';
import { failedMessages } from '../control/src/notify/failed.js';
import { gsm7Length } from '../control/src/notify/sms.js';
import { startWorker, type RunningWorker } from '../control/src/worker.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildStaff } from './support/factories.js';
import { queueSettled } from './support/jobs.js';

interface Recorded { path: string; headers: http.IncomingHttpHeaders; body: string }

async function startGateway() {
  const requests: Recorded[] = [];
  const state: { answer: Array<number> } = { answer: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      const status = state.answer.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"details":"Created 1 message(s)","errorCode":0}' : `{"details":"refused +31612345678","errorCode":${status}}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, state, close: () => new Promise<void>((r) => server.close(() => r())) };
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

let db: TestDatabase;
let gw: Awaited<ReturnType<typeof startGateway>>;
let clinic: Clinic;
let clinician: Staff;
const logged: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
let running: { worker: RunningWorker; scheduler: NotificationScheduler } | null = null;

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGateway();
  clinic = await buildClinic(db.ds, { code: `derma-${randomBytes(2).toString('hex')}`, name: 'Dermatologie', helpdeskPhone: '088-123 45 67' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', name: 'Dr. E. Smit' });
});
afterEach(async () => {
  if (!running) return;
  await running.worker.stop();
  await running.scheduler.queue.obliterate({ force: true }).catch(() => undefined);
  await running.scheduler.close();
  running = null;
});
afterAll(async () => {
  await gw?.close();
  await db?.drop();
});

async function start(env: Record<string, string>) {
  const config = testConfig({
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `spk-test-sms-${randomBytes(3).toString('hex')}`,
    JOBS_RETRY_BASE_SECONDS: '0.2',
    WORKER_LOCK_SECONDS: '5',
    LOG_LEVEL: 'info',
    ...env,
  });
  const scheduler = new NotificationScheduler(config, logger, db.ds);
  const worker = await startWorker(config, logger);
  running = { worker, scheduler };
  return { config, scheduler };
}

const forRef = (appointmentId: string) => (r: Recorded) => r.body.includes(appointmentId);

describe('CM.com format', () => {
  it('sends the invitation as one GSM-7 part to the number read at send time; 500 is retried; no duplicate', async () => {
    const { config, scheduler } = await start({ SMS_PROVIDER: 'cm', SMS_URL: `${gw.url}/v1.0/message`, SMS_TOKEN: '00000000-aaaa-bbbb-cccc-000000000000', SMS_SENDER: 'Ziekenhuis' });
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2027-03-28T08:00:00Z'), patient: { phone: '+31611111111', email: null, language: 'nl' } });
    // Changed after scheduling, before sending: the job carries ids only, the number is read at send time.
    gw.state.answer = [500, 500];
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });
    await db.ds.query(`UPDATE appointment SET patient_phone = '+31622222222' WHERE id = $1`, [a.appointment.id]);
    const ok = await until('an accepted SMS', () => (gw.requests.filter(forRef(a.appointment.id)).length >= 3 ? gw.requests.filter(forRef(a.appointment.id)) : null));
    expect(ok).toHaveLength(3); // two 500s, then accepted
    const body = JSON.parse(ok[2]!.body);
    expect(ok[2]!.path).toBe('/v1.0/message');
    expect(body.messages.authentication.producttoken).toBe('00000000-aaaa-bbbb-cccc-000000000000');
    const msg = body.messages.msg[0];
    expect(msg.from).toBe('Ziekenhuis');
    expect(msg.to).toEqual([{ number: '0031622222222' }]);
    expect(msg.body.type).toBe('auto');
    expect(msg.maximumNumberOfMessageParts).toBe(1);
    expect(msg.reference).toBe(`${a.appointment.id}.invitation`);
    expect(msg.body.content).toContain(a.patientLink);
    expect(msg.body.content).toContain('zo 28 mrt om 10:00');
    expect(gsm7Length(msg.body.content)).toBeLessThanOrEqual(160);
    const job = await scheduler.queue.getJob(jobIdFor(a.appointment.id, 'invitation'));
    await until('job completed', async () => (await job!.getState()) === 'completed');
    expect(await job!.getState()).toBe('completed');
    // Scheduling again sends nothing more.
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });
    await queueSettled(scheduler.queue, (j) => j.data.appointmentId === a.appointment.id);
    expect(gw.requests.filter(forRef(a.appointment.id))).toHaveLength(3);
    const rows = await db.ds.query(`SELECT kind, channel FROM notification_sent WHERE appointment_id = $1`, [a.appointment.id]);
    expect(rows).toEqual([{ kind: 'invitation', channel: 'sms' }]);
    expect(JSON.stringify(logged)).not.toContain('622222222');
  });

  it('a 4xx (bad token) fails for good at once, is logged clearly, and shows in failedMessages', async () => {
    const { config, scheduler } = await start({ SMS_PROVIDER: 'cm', SMS_URL: `${gw.url}/v1.0/message`, SMS_TOKEN: 'wrong-token' });
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2027-04-01T08:00:00Z'), patient: { phone: '+31633333333', email: null } });
    gw.state.answer = [401];
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });
    const failed = await until('the failure recorded', async () => {
      const m = await failedMessages(db.ds, [a.appointment.id]);
      return m.get(a.appointment.id);
    });
    expect(failed).toEqual([{ kind: 'invitation', channel: 'sms', failedAt: expect.any(Date) }]);
    // The job has finished (a retry would be waiting out its back-off, which counts as busy).
    await queueSettled(scheduler.queue, (j) => j.data.appointmentId === a.appointment.id);
    expect(gw.requests.filter(forRef(a.appointment.id))).toHaveLength(1); // not retried
    const row = (await db.ds.query(`SELECT error FROM notification_failed WHERE appointment_id = $1`, [a.appointment.id]))[0];
    expect(row.error).toMatch(/^sms gateway: HTTP 401/);
    expect(row.error).not.toContain('31612345678');
    expect(row.error).not.toContain('wrong-token');
    expect(JSON.stringify(logged)).not.toContain('633333333');
    const job = await scheduler.queue.getJob(jobIdFor(a.appointment.id, 'invitation'));
    expect(await job!.getState()).toBe('completed'); // the job is done; the SMS is recorded as failed
  });

  it('a gateway that keeps answering 500 fails for good after the last attempt, recorded once', async () => {
    const { config, scheduler } = await start({ SMS_PROVIDER: 'cm', SMS_URL: `${gw.url}/v1.0/message`, SMS_TOKEN: 't', JOBS_ATTEMPTS: '3' });
    const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2027-04-02T08:00:00Z'), patient: { phone: '+31644444444', email: null } });
    gw.state.answer = [500, 500, 500];
    await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });
    const job = await scheduler.queue.getJob(jobIdFor(a.appointment.id, 'invitation'));
    await until('job failed', async () => (await job!.getState()) === 'failed');
    expect(gw.requests.filter(forRef(a.appointment.id))).toHaveLength(3);
    expect((await failedMessages(db.ds, [a.appointment.id])).get(a.appointment.id)).toEqual([{ kind: 'invitation', channel: 'sms', failedAt: expect.any(Date) }]);
    expect(logged.some((l) => l.msg === 'message failed for good' && l.jobId === job!.id)).toBe(true);
  });
});

describe('generic HTTP template, channels and landlines', () => {
  it('fills URL, headers and body template; no SMS to a Dutch landline; the clinic may switch SMS off', async () => {
    const { config, scheduler } = await start({
      SMS_PROVIDER: 'http',
      SMS_URL: `${gw.url}/api/sms`,
      SMS_TOKEN: 'secret-key-1',
      SMS_HTTP_HEADERS: '{"Authorization":"Bearer {{token}}"}',
      SMS_HTTP_BODY: '{"recipient":"{{to}}","message":"{{text}}","ref":"{{reference}}","from":"{{sender}}"}',
    });
    const en = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2027-10-31T09:00:00Z'), patient: { phone: '+31655555555', email: null, language: 'en' } });
    const landline = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2027-10-31T09:30:00Z'), patient: { phone: '+31201234567', email: null } });
    const quiet = await buildClinic(db.ds, { code: `stil-${randomBytes(2).toString('hex')}` });
    await db.ds.query(`UPDATE clinic SET message_schedule = '{"reminderMinutes":{"reminder_3d":null,"reminder_1d":1440,"reminder_15m":30},"channels":["email"]}' WHERE id = $1`, [quiet.id]);
    const emailOnly = await buildAppointment(db.ds, config, { clinic: quiet, start: new Date('2027-10-31T10:00:00Z'), patient: { phone: '+31666666666', email: null } });
    for (const a of [en, landline, emailOnly]) await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });

    const [req] = await until('the SMS', () => (gw.requests.some(forRef(en.appointment.id)) ? gw.requests.filter(forRef(en.appointment.id)) : null));
    expect(req!.path).toBe('/api/sms');
    expect(req!.headers.authorization).toBe('Bearer secret-key-1');
    const body = JSON.parse(req!.body);
    expect(body).toMatchObject({ recipient: '+31655555555', ref: `${en.appointment.id}.invitation`, from: 'Videoconsult' });
    expect(body.message).toContain('Sun 31 Oct at 10:00'); // winter time: 09:00 UTC is 10:00 in Amsterdam
    expect(body.message).toContain(en.patientLink);
    for (const a of [landline, emailOnly]) {
      const id = jobIdFor(a.appointment.id, 'invitation');
      await until('job completed', async () => (await scheduler.queue.getJob(id))?.finishedOn !== undefined);
      // Read again once finished: a job fetched while it ran keeps the snapshot without a return value.
      const job = await scheduler.queue.getJob(id);
      expect(await job!.getState()).toBe('completed');
      expect(job!.returnvalue).toMatchObject({ sms: a === landline ? 'no-address' : 'channel-disabled' });
      expect(gw.requests.filter(forRef(a.appointment.id))).toHaveLength(0);
    }
    // The clinic's reminder times: no 3-day reminder, the 15-minute one 30 minutes before.
    expect(await scheduler.queue.getJob(jobIdFor(emailOnly.appointment.id, 'reminder_3d'))).toBeUndefined();
    const r15 = await scheduler.queue.getJob(jobIdFor(emailOnly.appointment.id, 'reminder_15m'));
    expect(Math.abs(r15!.timestamp + r15!.delay - (emailOnly.appointment.start.getTime() - 30 * 60_000))).toBeLessThan(1000);
  });

  it('bad SMS configuration is refused at start-up with a message naming the variable', () => {
    expect(() => testConfig({ SMS_PROVIDER: 'cm' })).toThrow(/SMS_TOKEN: is required when SMS_PROVIDER=cm/);
    expect(() => testConfig({ SMS_PROVIDER: 'http' })).toThrow(/SMS_URL: is required/);
    expect(() => testConfig({ SMS_PROVIDER: 'http', SMS_URL: 'http://x', SMS_HTTP_HEADERS: '[1]' })).toThrow(/SMS_HTTP_HEADERS: must be a JSON object/);
    expect(() => testConfig({ SMS_SENDER: 'Much too long a sender' })).toThrow(/SMS_SENDER/);
  });
});
