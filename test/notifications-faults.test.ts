/**
 * Patient messages under faults: the worker process killed with SIGKILL again and again while it
 * sends a batch (every message must arrive; duplicates are counted and reported), graceful
 * shutdown on SIGTERM, and an SMTP server that is not there (retried, logged, nothing crashes).
 */
import type { ChildProcess } from 'node:child_process';
import { workerPool } from './support/worker-process.js';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { jobIdFor } from '../control/src/jobs/plan.js';
import { startWorker } from '../control/src/worker.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { queueSettled } from './support/jobs.js';
import { startSmtp, type TestSmtp } from './support/smtp.js';

let db: TestDatabase;
let clinic: Clinic;
let clinician: Staff;
const started: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  clinic = await buildClinic(db.ds, { code: 'longziekten', name: 'Longziekten', helpdeskPhone: '088-123 45 67' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', name: 'Dr. B. Bos' });
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db?.drop();
});

async function appointments(n: number, cfg: ReturnType<typeof testConfig>, scheduler: NotificationScheduler) {
  const { integration } = await buildIntegration(db.ds);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await buildAppointment(db.ds, cfg, {
      clinic, clinician, integration,
      start: new Date(Date.parse('2027-04-12T07:00:00Z') + i * 15 * 60_000),
      patient: { email: `patient${i}@example.test`, language: i % 2 ? 'en' : 'nl' },
    });
    ids.push(a.appointment.id);
  }
  return ids;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('worker process killed mid-batch', () => {
  let smtp: TestSmtp;
  let scheduler: NotificationScheduler;

  afterAll(async () => {
    await scheduler?.queue.obliterate({ force: true }).catch(() => undefined);
    await scheduler?.close();
    await smtp?.close();
  });

  it('delivers every due message despite repeated SIGKILLs; duplicates only in the accept→record window', async () => {
    smtp = await startSmtp({ delayMs: 120 }); // a slow SMTP server (before DATA) keeps the batch in flight
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      SMTP_URL: smtp.url,
      QUEUE_PREFIX: `spk-test-kill-${randomBytes(3).toString('hex')}`,
      WORKER_LOCK_SECONDS: '2',
      WORKER_CONCURRENCY: '5',
      JOBS_RETRY_BASE_SECONDS: '0.2',
      LOG_LEVEL: 'info',
    };
    const cfg = testConfig(env);
    scheduler = new NotificationScheduler(cfg, pino({ level: 'silent' }));
    const N = 60;
    const ids = await appointments(N, cfg, scheduler);
    for (const id of ids) {
      const a = await db.ds.query(`SELECT start FROM appointment WHERE id = $1`, [id]) as Array<{ start: Date }>;
      await scheduler.scheduleAppointmentMessages({ id, start: a[0]!.start, cancelled: false });
    }

    const workers = workerPool(env, started);
    const spawnWorker = workers.start;
    const logs = workers.logs;

    const KILLS = 8;
    let kills = 0;
    let killedWhileSending = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = await spawnWorker();
      const before = smtp.mails.length;
      await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 400)));
      if (smtp.mails.length > before && smtp.mails.length < N) killedWhileSending++;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      kills++;
    }
    const last = await spawnWorker();
    const unique = () => new Set(smtp.mails.map((m) => m.messageId)).size;
    const until = Date.now() + 40_000;
    while (unique() < N && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    // Stalled jobs of the last kill stay 'active' until the lock expires and the last worker runs
    // them again: wait until the queue has nothing left to run, then count (not a fixed sleep).
    await queueSettled(scheduler.queue, () => true, 60_000);

    const received = smtp.mails.length;
    const duplicates = received - unique();
    const sentRows = (await db.ds.query(`SELECT count(*)::int AS n FROM notification_sent WHERE kind = 'invitation'`)) as Array<{ n: number }>;
    console.log(`[kill test] ${kills} SIGKILLs (${killedWhileSending} while mail was flowing): ${N} invitations due, ${received} received, ${unique()} unique, ${duplicates} duplicate(s)`);
    expect(unique()).toBe(N);
    expect(new Set(smtp.mails.map((m) => m.to[0])).size).toBe(N);
    expect(sentRows[0]!.n).toBe(N);
    expect(duplicates).toBeLessThanOrEqual(kills); // at most one per kill, and only in the accept→record window
    expect(killedWhileSending).toBeGreaterThan(0);

    // Graceful shutdown: SIGTERM, the worker finishes and exits 0 by itself.
    const t0 = Date.now();
    last.kill('SIGTERM');
    const [code] = (await new Promise((r) => last.once('exit', (c, s) => r([c, s])))) as [number | null, string | null];
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(12_000);
    expect(logs.join('')).not.toMatch(/@example\.test/);
  }, 300_000); // nine worker start-ups (tsx) on a busy two-core machine take most of two minutes
});

describe('SMTP server not there', () => {
  it('retries with back-off, logs the failure clearly, and delivers once the server is back', async () => {
    const port = await freePort();
    const logged: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const cfg = testConfig({
      DATABASE_URL: db.url,
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      QUEUE_PREFIX: `spk-test-smtpdown-${randomBytes(3).toString('hex')}`,
      JOBS_RETRY_BASE_SECONDS: '0.2',
    });
    const scheduler = new NotificationScheduler(cfg, logger);
    const worker = await startWorker(cfg, logger);
    let smtp: TestSmtp | undefined;
    try {
      const a = await buildAppointment(db.ds, cfg, { clinic, clinician, start: new Date('2027-05-03T08:00:00Z'), patient: { email: 'down@example.test' } });
      await scheduler.scheduleAppointmentMessages({ id: a.appointment.id, start: a.appointment.start, cancelled: false });
      const jobId = jobIdFor(a.appointment.id, 'invitation');
      const until = Date.now() + 15_000;
      for (;;) {
        const job = await scheduler.queue.getJob(jobId);
        if (job && job.attemptsMade >= 3) break;
        if (Date.now() > until) throw new Error('no retries seen');
        await new Promise((r) => setTimeout(r, 50));
      }
      const failures = logged.filter((l) => l.msg === 'message failed; will retry');
      expect(failures.length).toBeGreaterThanOrEqual(3);
      expect(String(failures[0]!.err)).toContain('ECONNREFUSED');
      expect(failures[0]).toMatchObject({ jobId, kind: 'invitation' });
      expect(JSON.stringify(logged)).not.toContain('down@example.test');
      // The server comes back on the same port: the next retry delivers, once.
      smtp = await startSmtpOn(port);
      const [mail] = await smtp.waitFor(1, undefined, 15_000);
      expect(mail!.to).toEqual(['down@example.test']);
      // The worker records the completion just after the mail has gone.
      const job = await scheduler.queue.getJob(jobId);
      await expect.poll(() => job!.getState(), { timeout: 5_000 }).toBe('completed');
    } finally {
      await worker.stop();
      await scheduler.queue.obliterate({ force: true }).catch(() => undefined);
      await scheduler.close();
      await smtp?.close();
    }
  });
});

async function startSmtpOn(port: number): Promise<TestSmtp> {
  return startSmtp({ port });
}
