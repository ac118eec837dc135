/**
 * Fault injection (issue 14): the worker process killed with SIGKILL in the middle of a job —
 * while a reminder is with the mail server (RCPT TO held, nothing accepted yet) and while the
 * PBX is answering a fallback call (the request received, no answer yet). After a restart the
 * reminder arrives exactly once, and the PBX places exactly one call: the retry carries the same
 * X-Spreekkamer-Delivery id (docs/notifications.md: the PBX deduplicates on it), and the task is
 * recorded as sent once. Real PostgreSQL, the namespace's Redis, the worker as its own process.
 */
import { once } from 'node:events';
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { jobIdFor, telephonyJobId } from '../control/src/jobs/plan.js';
import { requestCallback } from '../control/src/callbacks/index.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildStaff } from './support/factories.js';
import { startSmtp, type TestSmtp } from './support/smtp.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

const LOGS = resolve(import.meta.dirname, '..', '.run', 'test', 'faults-worker');
let db: TestDatabase;
let clinic: Clinic;
let clinician: Staff;
let env: Record<string, string>;
let scheduler: NotificationScheduler;
const workers: WorkerProcess[] = [];

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const startWorkerProcess = async () => {
  const w = await spawnWorker(env, join(LOGS, 'worker.log'));
  workers.push(w);
  return w;
};

beforeAll(async () => {
  mkdirSync(LOGS, { recursive: true });
  db = await createTestDatabase();
  clinic = await buildClinic(db.ds, { code: `fw-${randomBytes(2).toString('hex')}`, name: 'Longziekten', noShowMinutes: 30 });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', name: 'Dr. K. Kil' });
  env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `spk-test-fw-${randomBytes(3).toString('hex')}`,
    // A killed worker's job comes round once its lock has run out.
    WORKER_LOCK_SECONDS: '2',
    WORKER_CONCURRENCY: '5',
    JOBS_RETRY_BASE_SECONDS: '0.2',
    JANUS_API_SECRET: 'test-janus-api-secret',
    JANUS_ADMIN_KEY: 'test-janus-admin-key',
    PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
    WORKER_METRICS_PORT: '0',
  };
  scheduler = new NotificationScheduler(testConfig(env), pino({ level: 'silent' }), db.ds);
});

afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  if (scheduler) {
    await scheduler.queue.obliterate({ force: true }).catch(() => undefined);
    await scheduler.callbacks.obliterate({ force: true }).catch(() => undefined);
    await scheduler.close();
  }
  await db?.drop();
});

describe('worker killed mid-job', () => {
  let smtp: TestSmtp | undefined;
  afterAll(async () => smtp?.close());

  test('during a reminder send: after the restart the reminder arrives exactly once', async () => {
    // The first message (the invitation) goes through; every later one is held at RCPT TO.
    let rcpts = 0;
    let holding = true;
    const held: Array<() => void> = [];
    smtp = await startSmtp({ onRcptTo: (answer) => (++rcpts > 1 && holding ? held.push(answer) : answer()) });
    env.SMTP_URL = smtp.url;
    const first = await startWorkerProcess();
    try {
      // The invitation is due now, the 15-minute reminder 2 s later (messages to one patient go one at a time).
      const start = new Date(Date.now() + 15 * 60_000 + 2_000);
      const email = `reminder-${randomBytes(3).toString('hex')}@example.test`;
      const a = await buildAppointment(db.ds, testConfig(env), { clinic, clinician, start, patient: { email } });
      await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start, cancelled: false });
      const ids = [jobIdFor(a.appointment.id, 'invitation'), jobIdFor(a.appointment.id, 'reminder_15m')];
      await smtp.waitFor(1, (m) => m.to.includes(email));
      // The reminder is with the mail server, not accepted: the worker dies.
      await until('the reminder at RCPT TO', () => held.length >= 1);
      expect(await (await scheduler.queue.getJob(ids[1]!))!.getState()).toBe('active');
      await first.stop('SIGKILL');
      holding = false;
      for (const answer of held) answer(); // the dead worker's connection is gone already
      expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);

      await startWorkerProcess();
      // Done once both jobs are completed: no other worker is left to send a second copy.
      await until('both jobs completed', async () => {
        const states = await Promise.all(ids.map(async (id) => (await scheduler.queue.getJob(id))?.getState()));
        return states.every((s) => s === 'completed');
      });
      const mails = smtp.mails.filter((m) => m.to.includes(email));
      expect(mails).toHaveLength(2); // the invitation and the reminder, once each
      expect(new Set(mails.map((m) => m.messageId)).size).toBe(2);
      const sent = (await db.ds.query(`SELECT kind FROM notification_sent WHERE appointment_id = $1 ORDER BY kind`, [a.appointment.id])) as Array<{ kind: string }>;
      expect(sent.map((r) => r.kind)).toEqual(['invitation', 'reminder_15m']);
    } finally {
      for (const w of workers.splice(0)) await w.stop('SIGKILL');
    }
  }, 180_000);

  test('during a fallback call: after the restart the PBX places exactly one call', async () => {
    // The PBX stand-in: holds the first request unanswered; dials once per delivery id.
    const requests: Array<{ delivery: string; body: string }> = [];
    const dialled = new Set<string>();
    let holdFirst = true;
    const pbx = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const delivery = String(req.headers['x-spreekkamer-delivery']);
        requests.push({ delivery, body });
        if (holdFirst) return; // received, never answered: the worker dies waiting
        dialled.add(delivery);
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":true}');
      });
    });
    pbx.listen(0, '127.0.0.1');
    await once(pbx, 'listening');
    try {
      const url = `http://127.0.0.1:${(pbx.address() as AddressInfo).port}/click-to-dial`;
      await db.ds.query(`UPDATE clinic SET telephony_webhook_url = $2, telephony_webhook_secret = $3 WHERE id = $1`, [clinic.id, url, 'pbx-secret-0123456789abcdef0123']);
      const a = await buildAppointment(db.ds, testConfig(env), { clinic, clinician, start: new Date(Date.now() + 3600_000), patient: { phone: '+31612340000' } });
      const { task, created } = await requestCallback({ ds: db.ds, telephony: scheduler }, a.appointment.id, 'staff', clinician.id);
      expect(created).toBe(true);

      const worker = await startWorkerProcess();
      await until('the PBX to receive the call', () => requests.length >= 1);
      await worker.stop('SIGKILL');
      holdFirst = false;
      const [status] = (await db.ds.query(`SELECT call_status FROM callback_task WHERE id = $1`, [task.id])) as Array<{ call_status: string }>;
      expect(status!.call_status).toBe('pending');

      await startWorkerProcess();
      await until('the call recorded as sent', async () => {
        const [t] = (await db.ds.query(`SELECT call_status FROM callback_task WHERE id = $1`, [task.id])) as Array<{ call_status: string }>;
        return t?.call_status === 'sent';
      });
      await until('the call job completed', async () => (await (await scheduler.callbacks.getJob(telephonyJobId(task.id)))?.getState()) === 'completed');
      console.log(`[faults-worker] PBX: ${requests.length} request(s) for one task, ${dialled.size} call(s) placed`);
      expect(new Set(requests.map((r) => r.delivery))).toEqual(new Set([task.id]));
      expect(dialled.size).toBe(1);
      expect(requests.length).toBeLessThanOrEqual(2); // the held one and one retry
      const tasks = (await db.ds.query(`SELECT id FROM callback_task WHERE appointment_id = $1`, [a.appointment.id])) as unknown[];
      expect(tasks).toHaveLength(1);
      const audit = (await db.ds.query(`SELECT action FROM audit_event WHERE appointment_id = $1 AND action LIKE 'fallback.%'`, [a.appointment.id])) as unknown[];
      expect(audit).toHaveLength(1);
    } finally {
      for (const w of workers.splice(0)) await w.stop('SIGKILL');
      pbx.closeAllConnections();
      await new Promise<void>((r) => pbx.close(() => r()));
    }
  }, 180_000);
});
