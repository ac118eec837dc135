/**
 * Redis restarts while a batch of patient messages is due. The test runs its own Redis with
 * AOF persistence (appendfsync always) and `maxmemory-policy noeviction`, as deployed, on a
 * port of its own; a worker sends 40 invitations through a slow real SMTP server; Redis is
 * killed (SIGKILL) mid-batch and started again on the same data. Every due message must
 * arrive exactly once: the queue survives in the AOF, jobs cut off by the restart stall and run
 * again, and the sent-records keep a re-run from sending twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { startWorker, type RunningWorker } from '../control/src/worker.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { queueSettled } from './support/jobs.js';
import { startSmtp, type TestSmtp } from './support/smtp.js';

let db: TestDatabase;
let dir: string;
let redis: ChildProcess | null = null;
let port: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as { port: number };
      srv.close(() => resolve(p));
    });
  });
}

async function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
  ], { stdio: 'ignore' });
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      // Wait until the AOF is loaded (a loading server answers LOADING).
      if ((await client.ping()) === 'PONG') break;
    } catch {
      if (Date.now() > end) throw new Error('redis did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await client.quit();
  return child;
}

async function stopRedis(signal: NodeJS.Signals): Promise<void> {
  const child = redis;
  redis = null;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'spk-redis-aof-'));
  port = await freePort();
  redis = await startRedis();
});

afterAll(async () => {
  await stopRedis('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

describe('Redis restart mid-batch', () => {
  it('delivers every due message exactly once', async () => {
    const smtp: TestSmtp = await startSmtp({ delayMs: 100 });
    const config = testConfig({
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      SMTP_URL: smtp.url,
      QUEUE_PREFIX: `spk-test-redis-${randomBytes(3).toString('hex')}`,
      WORKER_LOCK_SECONDS: '2',
      WORKER_CONCURRENCY: '4',
      JOBS_RETRY_BASE_SECONDS: '0.2',
    });
    const logger = pino({ level: 'silent' });
    const clinic = await buildClinic(db.ds, { code: `aof-${randomBytes(2).toString('hex')}` });
    const clinician = await buildStaff(db.ds, { clinic });
    const { integration } = await buildIntegration(db.ds);
    const N = 40;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = await buildAppointment(db.ds, config, {
        clinic, clinician, integration,
        start: new Date(Date.parse('2027-05-10T07:00:00Z') + i * 10 * 60_000),
        patient: { email: `aof${i}@example.test` },
      });
      ids.push(a.appointment.id);
    }
    const scheduler = new NotificationScheduler(config, logger, db.ds);
    for (const [i, id] of ids.entries()) {
      await scheduler.scheduleAppointmentMessages({ id, start: new Date(Date.parse('2027-05-10T07:00:00Z') + i * 10 * 60_000), cancelled: false });
    }
    let worker: RunningWorker | null = null;
    try {
      worker = await startWorker(config, logger);
      const third = Date.now() + 20_000;
      while (smtp.mails.length < N / 3 && Date.now() < third) await new Promise((r) => setTimeout(r, 20));
      const atKill = smtp.mails.length;
      await stopRedis('SIGKILL');
      await new Promise((r) => setTimeout(r, 1_000));
      redis = await startRedis();

      const unique = () => new Set(smtp.mails.map((m) => m.messageId)).size;
      const end = Date.now() + 60_000;
      while (unique() < N && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      // Jobs whose completion was lost with the connection stall and run again after the lock
      // expires (2 s): wait until the queue has nothing left to run, then count (not a fixed sleep).
      await queueSettled(scheduler.queue, (j) => ids.includes((j.data as { appointmentId?: string }).appointmentId ?? ''), 60_000);
      const received = smtp.mails.length;
      console.log(`[redis restart] ${N} invitations due; killed Redis after ${atKill} arrived; ${received} received, ${unique()} unique`);
      expect(atKill).toBeLessThan(N);
      expect(unique()).toBe(N);
      expect(received).toBe(N);
      const rows = (await db.ds.query(`SELECT count(*)::int AS n FROM notification_sent WHERE appointment_id = ANY($1::uuid[])`, [ids])) as Array<{ n: number }>;
      expect(rows[0]!.n).toBe(N);
    } finally {
      await worker?.stop();
      await scheduler.queue.obliterate({ force: true }).catch(() => undefined);
      await scheduler.close();
      await smtp.close();
    }
  }, 120_000);
});
