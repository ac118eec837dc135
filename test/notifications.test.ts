/**
 * Patient messages end to end: the integration API schedules BullMQ jobs in a real Redis, the
 * worker reads the appointment from a real PostgreSQL and sends through a real SMTP server.
 * Time is driven by promoting delayed jobs, never by sleeping.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrationApiRouter } from '../control/src/api/v1/index.js';
import { errorMiddleware } from '../control/src/http/errors.js';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { jobIdFor } from '../control/src/jobs/plan.js';
import { startWorker, type RunningWorker } from '../control/src/worker.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { startSmtp, type ReceivedMail, type TestSmtp } from './support/smtp.js';
import { PersonalData, captureLogs, levelsOf } from './support/personal-data.js';
import { queueSettled } from './support/jobs.js';

const prefix = `spk-test-notify-${randomBytes(3).toString('hex')}`;
let db: TestDatabase;
let smtp: TestSmtp;
let config: ReturnType<typeof testConfig>;
let scheduler: NotificationScheduler;
let worker: RunningWorker;
let server: Server;
let base: string;
let key: string;
let clinic: Clinic;
let clinician: Staff;
// The product's logger (its redaction) at every level, shared by the API, the scheduler and the worker.
const { logger, lines: logged } = captureLogs('notifications-test');
/** Every personal value this file sent or got back: names, e-mail, phone, birth dates, link tokens. */
const personal = new PersonalData();

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startSmtp();
  config = testConfig({
    DATABASE_URL: db.url,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Videoconsult <noreply@test-hospital.nl>',
    QUEUE_PREFIX: prefix,
    JOBS_RETRY_BASE_SECONDS: '0.2',
    WORKER_LOCK_SECONDS: '5',
  });
  clinic = await buildClinic(db.ds, { code: 'cardio', name: 'Polikliniek Cardiologie', helpdeskPhone: '088-123 45 67', timezone: 'Europe/Amsterdam' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', email: 'visser@hospital.test', name: 'Dr. A. Visser' });
  ({ key } = await buildIntegration(db.ds, { name: 'hix' }));
  scheduler = new NotificationScheduler(config, logger);
  worker = await startWorker(config, logger);

  const app = new Koa();
  app.use(errorMiddleware(logger));
  const api = createIntegrationApiRouter({ ds: db.ds, config, logger, messages: scheduler });
  app.use(api.routes()).use(api.allowedMethods());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await worker?.stop();
  if (scheduler) {
    await scheduler.queue.obliterate({ force: true }).catch(() => undefined);
    await scheduler.close();
  }
  await smtp?.close();
  await db?.drop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  personal.addPatient((body as { patient?: unknown } | undefined)?.patient);
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const parsed = (await res.json()) as { patient?: Parameters<typeof personal.addPatient>[0]; patientLink?: string } | null;
  personal.addPatient(parsed?.patient);
  personal.addLink(parsed?.patientLink);
  return { status: res.status, body: parsed };
}

async function create(start: string, patient: Record<string, unknown> = {}) {
  const res = await call('POST', '/appointments', {
    externalId: `HIX-${randomBytes(4).toString('hex')}`,
    clinic: 'cardio',
    clinician: 'visser@hospital.test',
    start,
    durationMinutes: 20,
    patient: { name: 'Jan Jansen', birthDate: '1958-09-21', email: `p-${randomBytes(3).toString('hex')}@example.test`, language: 'nl', ...patient },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; patientLink: string; patient: { email: string } };
}

const forAppointment = (id: string) => (m: ReceivedMail) => m.messageId.startsWith(`<${id}.`);
const ofKind = (id: string, kind: string) => (m: ReceivedMail) => m.messageId.startsWith(`<${id}.${kind}`);

async function promote(id: string, kinds: Array<'3d' | '1d' | '15m'>) {
  for (const k of kinds) {
    const job = await scheduler.queue.getJob(`reminder-${id}-${k}`);
    expect(job, `reminder ${k}`).toBeTruthy();
    await job!.promote();
  }
}

describe('invitation and reminders', () => {
  it('sends the invitation (with calendar file) and the three reminders, in Dutch, at the right time across the DST change', async () => {
    // 28 March 2027: clocks go from 02:00 to 03:00 in Amsterdam. 10:00 local is 08:00 UTC.
    const a = await create('2027-03-28T10:00:00+02:00');
    const [inv] = await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    expect(inv!.to).toEqual([a.patient.email]);
    expect(inv!.contentLanguage).toBe('nl');
    expect(inv!.subject).toBe('Uitnodiging videoconsult zondag 28 maart 2027 om 10:00');
    expect(inv!.text).toContain(a.patientLink);
    expect(inv!.text).toContain('Dr. A. Visser');
    expect(inv!.text).toContain('Polikliniek Cardiologie');
    expect(inv!.text).toContain('088-123 45 67');
    expect(inv!.text).toContain('apparaattest');
    expect(inv!.text).toContain('10 minuten voor de afspraak open, om 09:50');
    expect(inv!.html).toContain('<html lang="nl">');
    expect(inv!.html).toContain(`href="${a.patientLink}"`);
    const ics = inv!.attachments.find((x) => x.filename === 'videoconsult.ics');
    expect(ics?.contentType).toMatch(/^text\/calendar/);
    expect(ics!.content).toContain('DTSTART:20270328T080000Z');
    expect(ics!.content).toContain('DTEND:20270328T082000Z');
    expect(ics!.content.replace(/\r\n /g, '')).toContain(`URL:${a.patientLink}`);

    // Reminders wait in Redis, due 3 days, 1 day and 15 minutes before the start.
    for (const [k, due] of [['3d', '2027-03-25T08:00:00.000Z'], ['1d', '2027-03-27T08:00:00.000Z'], ['15m', '2027-03-28T07:45:00.000Z']] as const) {
      const job = await scheduler.queue.getJob(`reminder-${a.id}-${k}`);
      expect(await job!.getState()).toBe('delayed');
      expect(Math.abs(job!.timestamp + job!.delay - Date.parse(due))).toBeLessThan(1000); // delay counted from the add
      expect(Object.keys(job!.data).sort()).toEqual(['appointmentId', 'kind', 'start']); // ids only
    }
    await promote(a.id, ['3d', '1d', '15m']);
    const r3 = (await smtp.waitFor(1, ofKind(a.id, 'reminder_3d')))[0]!;
    const r1 = (await smtp.waitFor(1, ofKind(a.id, 'reminder_1d')))[0]!;
    const r15 = (await smtp.waitFor(1, ofKind(a.id, 'reminder_15m')))[0]!;
    expect(r3.subject).toBe('Herinnering: videoconsult zondag 28 maart 2027 om 10:00 — test nu uw apparaat');
    expect(r1.subject).toBe('Herinnering: morgen videoconsult om 10:00');
    expect(r15.subject).toBe('Uw videoconsult begint om 10:00; u kunt starten vanaf 09:50');
    for (const m of [r3, r1, r15]) expect(m.text).toContain(a.patientLink);
    expect(smtp.mails.filter(forAppointment(a.id))).toHaveLength(4);
  });

  it('writes English for an English-speaking patient, and the autumn change right too', async () => {
    // 31 October 2027: clocks go back; 10:00 local is 09:00 UTC.
    const a = await create('2027-10-31T10:00:00+01:00', { language: 'en' });
    const [inv] = await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    expect(inv!.subject).toBe('Invitation: video consultation on Sunday, 31 October 2027 at 10:00');
    expect(inv!.contentLanguage).toBe('en');
    expect(inv!.html).toContain('<html lang="en">');
    expect(inv!.text).toContain('device test');
    expect(inv!.text).toContain('Call Polikliniek Cardiologie: 088-123 45 67');
    expect(inv!.attachments[0]!.content).toContain('DTSTART:20271031T090000Z');
  });

  it('plans no reminder whose moment has passed', async () => {
    const start = new Date(Date.now() + 2 * 3600_000); // in two hours: only the 15-minute reminder is ahead
    const a = await create(start.toISOString());
    await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    expect(await scheduler.queue.getJob(`reminder-${a.id}-3d`)).toBeUndefined();
    expect(await scheduler.queue.getJob(`reminder-${a.id}-1d`)).toBeUndefined();
    expect(await (await scheduler.queue.getJob(`reminder-${a.id}-15m`))!.getState()).toBe('delayed');
  });

  it('scheduling twice makes one job, and one message', async () => {
    const body = {
      externalId: `HIX-twice-${randomBytes(3).toString('hex')}`, clinic: 'cardio', clinician: clinician.id,
      start: '2027-05-10T09:30:00+02:00', durationMinutes: 15,
      patient: { name: 'Piet Pieters', birthDate: '1970-01-01', email: 'piet@example.test', language: 'nl' },
    };
    const first = await call('POST', '/appointments', body);
    const again = await call('POST', '/appointments', body);
    expect([first.status, again.status]).toEqual([201, 200]);
    const id = first.body.id as string;
    await scheduler.scheduleAppointmentMessages({ id, start: new Date(body.start), cancelled: false });
    await smtp.waitFor(1, ofKind(id, 'invitation'));
    const jobs = await scheduler.queue.getJobs(['delayed', 'waiting', 'active', 'completed']);
    const mine = jobs.filter((j) => j.data.appointmentId === id);
    expect(mine.map((j) => j.id).sort()).toEqual(
      [jobIdFor(id, 'invitation'), jobIdFor(id, 'reminder_15m'), jobIdFor(id, 'reminder_1d'), jobIdFor(id, 'reminder_3d')].sort(),
    );
    // Every job of this appointment that is due has run: a second invitation would be in by now.
    await queueSettled(scheduler.queue, (j) => j.data.appointmentId === id);
    expect(smtp.mails.filter(ofKind(id, 'invitation'))).toHaveLength(1);
  });
});

describe('move and cancel', () => {
  it('moving the appointment moves its reminders', async () => {
    const a = await create('2027-06-15T09:00:00+02:00');
    await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    // The 3-day reminder for the old time goes out; then the EHR moves the appointment.
    await promote(a.id, ['3d']);
    await smtp.waitFor(1, ofKind(a.id, 'reminder_3d'));
    const moved = await call('PATCH', `/appointments/${a.id}`, { start: '2027-06-22T14:30:00+02:00' });
    expect(moved.status).toBe(200);
    for (const [k, due] of [['3d', '2027-06-19T12:30:00.000Z'], ['1d', '2027-06-21T12:30:00.000Z'], ['15m', '2027-06-22T12:15:00.000Z']] as const) {
      const job = await scheduler.queue.getJob(`reminder-${a.id}-${k}`);
      expect(await job!.getState()).toBe('delayed');
      expect(Math.abs(job!.timestamp + job!.delay - Date.parse(due))).toBeLessThan(1000); // delay counted from the add
    }
    await promote(a.id, ['3d', '1d', '15m']);
    const after = await smtp.waitFor(4, (m) => forAppointment(a.id)(m) && m.messageId.includes('reminder'));
    const subjects = after.map((m) => m.subject);
    expect(subjects.filter((s) => s.includes('dinsdag 15 juni 2027 om 09:00'))).toHaveLength(1); // the one sent before the move
    expect(subjects).toContain('Herinnering: videoconsult dinsdag 22 juni 2027 om 14:30 — test nu uw apparaat');
    expect(subjects).toContain('Herinnering: morgen videoconsult om 14:30');
    expect(subjects).toContain('Uw videoconsult begint om 14:30; u kunt starten vanaf 14:20');
    // Moving to the same time again changes nothing.
    const job3d = await scheduler.queue.getJob(`reminder-${a.id}-3d`);
    await call('PATCH', `/appointments/${a.id}`, { start: '2027-06-22T14:30:00+02:00' });
    expect((await scheduler.queue.getJob(`reminder-${a.id}-3d`))!.timestamp).toBe(job3d!.timestamp);
  });

  it('a reminder job planned for the old time sends nothing', async () => {
    const a = await create('2027-07-01T09:00:00+02:00');
    await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    await call('PATCH', `/appointments/${a.id}`, { start: '2027-07-02T09:00:00+02:00' });
    // A stale job (e.g. one that was running while the move happened) comes round anyway.
    await scheduler.queue.add('reminder_1d', { appointmentId: a.id, kind: 'reminder_1d', start: '2027-07-01T07:00:00.000Z' }, { jobId: `stale-${a.id}` });
    const stale = await waitForFinished(`stale-${a.id}`);
    expect(stale.returnvalue).toEqual({ email: 'stale', sms: 'channel-disabled' });
    expect(smtp.mails.filter(ofKind(a.id, 'reminder'))).toHaveLength(0);
  });

  it('cancelling removes the reminders and sends a cancellation; nothing after that', async () => {
    const a = await create('2027-09-01T11:00:00+02:00');
    await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    const res = await call('DELETE', `/appointments/${a.id}`);
    expect(res.status).toBe(200);
    const [c] = await smtp.waitFor(1, ofKind(a.id, 'cancellation'));
    expect(c!.subject).toBe('Geannuleerd: videoconsult woensdag 1 september 2027 om 11:00');
    expect(c!.text).not.toContain(a.patientLink);
    for (const k of ['3d', '1d', '15m']) expect(await scheduler.queue.getJob(`reminder-${a.id}-${k}`)).toBeUndefined();
    // Cancelling again (the EHR retries) sends no second cancellation.
    expect((await call('DELETE', `/appointments/${a.id}`)).status).toBe(200);
    // A reminder that slipped through is dropped by the worker.
    await scheduler.queue.add('reminder_15m', { appointmentId: a.id, kind: 'reminder_15m', start: '2027-09-01T09:00:00.000Z' }, { jobId: `late-${a.id}` });
    expect((await waitForFinished(`late-${a.id}`)).returnvalue).toEqual({ email: 'not-wanted', sms: 'channel-disabled' });
    await queueSettled(scheduler.queue, (j) => j.data.appointmentId === a.id);
    expect(smtp.mails.filter(forAppointment(a.id)).map((m) => m.messageId.split('.')[1]!.replace(/@.*/, ''))).toEqual(['invitation', 'cancellation']);
  });

  it('a patient who gets an e-mail address later gets the invitation then', async () => {
    const a = await create('2027-08-01T09:00:00+02:00', { email: null });
    await waitForFinished(jobIdFor(a.id, 'invitation'));
    expect(smtp.mails.filter(forAppointment(a.id))).toHaveLength(0);
    await call('PATCH', `/appointments/${a.id}`, { patient: { email: 'later@example.test' } });
    const [inv] = await smtp.waitFor(1, ofKind(a.id, 'invitation'));
    expect(inv!.to).toEqual(['later@example.test']);
  });
});

describe('logs and payloads', () => {
  it('keeps every personal value out of the API, scheduler and worker logs, at every level', () => {
    // The log was live: the worker's per-job lines, at debug as well as info.
    expect(logged.some((l) => l.msg === 'notification job done')).toBe(true);
    expect(logged.length).toBeGreaterThan(20);
    expect(levelsOf(logged).has(20) || levelsOf(logged).has(10)).toBe(true);
    // Every patient this file created (names, e-mail, phone, birth date) and every link token.
    expect(personal.size).toBeGreaterThan(10);
    const text = JSON.stringify(logged);
    expect(personal.foundIn(text)).toEqual([]);
    expect(text).not.toMatch(/@example\.test/);
  });
});

async function waitForFinished(jobId: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await scheduler.queue.getJob(jobId);
    // Read again once completed: a job read while still active carries no returnvalue.
    if (job && (await job.getState()) === 'completed') return (await scheduler.queue.getJob(jobId)) ?? job;
    if (Date.now() > until) throw new Error(`job ${jobId} did not complete`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
