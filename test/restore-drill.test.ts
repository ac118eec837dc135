/**
 * The restore drill (issue 12): the database backup of one host is restored on a fresh host —
 * another PostgreSQL server, an empty Redis, the same secrets — the way
 * docs/handbook/backup-restore.md says: `pg_dump --format=custom` on the old host,
 * `pg_restore` on the new one, then `spreekkamer jobs reschedule`.
 * Proven here: every patient link sent before the backup still opens on the new host; nothing is
 * planned in the empty Redis until the command runs; the command plans every reminder and no-show
 * check still ahead (at the times the old host had planned) and every cancellation message not
 * yet sent, and nothing for what is over; a second run changes nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as cli, type CliIo } from '../control/src/cli.js';
import { NotificationScheduler } from '../control/src/jobs/queue.js';
import { REMINDERS, jobIdFor, noShowJobId } from '../control/src/jobs/plan.js';
import { createDataSource } from '../control/src/db/data-source.js';
import type { DataSource } from 'typeorm';
import { startStack, spawnControlPlane, type ControlPlane, type Stack } from './support/stack.js';
import { cancelViaApi, createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';
import { urlForDatabase } from './support/db.js';

const run = promisify(execFile);
const BASE = 21600;
const DAY = 24 * 60;

let stack: Stack;
let seeded: SeededClinic;
let pg: PrivatePostgres;
let redis: PrivateRedis;
let fresh: ControlPlane | null = null;
let restored: DataSource | null = null;
let scheduler: NotificationScheduler | null = null;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spk-restore-'));
  [stack, pg, redis] = await Promise.all([
    startStack({ name: 'restore-drill', basePort: BASE }),
    startPrivatePostgres(BASE + 50),
    startPrivateRedis(BASE + 60),
  ]);
  seeded = await seedClinic(stack);
}, 120_000);

afterAll(async () => {
  await scheduler?.close().catch(() => undefined);
  await restored?.destroy().catch(() => undefined);
  await fresh?.stop().catch(() => undefined);
  await stack?.stop();
  await redis?.destroy().catch(() => undefined);
  await pg?.destroy().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** What a patient's page asks first: the appointment behind the link (404 for a dead one). */
async function openLink(cp: ControlPlane, link: string): Promise<{ status: number; visitState?: string; appointmentId?: string }> {
  const token = new URL(link).pathname.split('/').pop()!;
  const res = await fetch(`${cp.publicUrl}/api/patient/appointment`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { appointmentId?: string; state?: { visitState?: string } };
  return { status: res.status, visitState: body.state?.visitState, appointmentId: body.appointmentId };
}

describe('restore drill: a backup restored on a fresh host', () => {
  it('keeps every patient link working and plans every message still ahead again, once', async () => {
    // The old host's appointments: far ahead (all three reminders to come), in an hour (only the
    // 15-minute one), cancelled (its cancellation message not sent yet: no worker runs here), and
    // one that was yesterday (nothing left to plan).
    const ahead = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 4 * DAY });
    const soon = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 60 });
    const cancelled = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 2 * DAY });
    await cancelViaApi(stack, seeded, cancelled.id);
    const past = await createAppointmentViaApi(stack, seeded, { startsInMinutes: -DAY });

    // The nightly backup, as deploy/roles/spreekkamer's backup script takes it.
    const dump = join(dir, 'spreekkamer.dump');
    await run('pg_dump', ['--format=custom', `--file=${dump}`, `--dbname=${stack.env.DATABASE_URL!}`]);

    // The fresh host: its own PostgreSQL with the dump restored, an empty Redis, the same secrets.
    const adminDb = createDataSource(pg.url, { poolSize: 1 });
    await adminDb.initialize();
    await adminDb.query('CREATE DATABASE spreekkamer');
    await adminDb.destroy();
    const restoredUrl = urlForDatabase(pg.url, 'spreekkamer');
    await run('pg_restore', ['--no-owner', `--dbname=${restoredUrl}`, dump]);
    const env = {
      ...stack.env,
      DATABASE_URL: restoredUrl,
      REDIS_URL: redis.url,
      PUBLIC_PORT: String(BASE + 10),
      INTERNAL_PORT: String(BASE + 11),
      PUBLIC_BASE_URL: `http://127.0.0.1:${BASE + 10}`,
      INTERNAL_BASE_URL: `http://127.0.0.1:${BASE + 11}`,
    };
    fresh = await spawnControlPlane(env, join(dir, 'control-fresh.log'));

    // Every link sent before the backup opens on the new host (the cancelled one says so).
    expect(await openLink(fresh, ahead.patientLink)).toEqual({ status: 200, visitState: 'scheduled', appointmentId: ahead.id });
    expect(await openLink(fresh, soon.patientLink)).toEqual({ status: 200, visitState: 'scheduled', appointmentId: soon.id });
    expect(await openLink(fresh, cancelled.patientLink)).toEqual({ status: 200, visitState: 'cancelled', appointmentId: cancelled.id });

    restored = createDataSource(restoredUrl, { poolSize: 2 });
    await restored.initialize();
    scheduler = new NotificationScheduler({ redisUrl: redis.url, jobs: stack.config.jobs }, pino({ level: 'silent' }), restored);
    const q = scheduler.queue;
    // The empty Redis knows nothing of them (this is what the command is for).
    expect(await q.getJobCounts()).toMatchObject({ delayed: 0, waiting: 0 });

    const io = (out: string[]): CliIo => ({ out: (t) => out.push(t), err: (t) => out.push(t), env });
    const out: string[] = [];
    expect(await cli(['jobs', 'reschedule'], io(out))).toBe(0);
    expect(out.join('\n')).toMatch(/2 appointment\(s\) still ahead, 1 cancellation message\(s\)/);

    // The reminders, due when the old host had them due (within the seconds this test takes).
    const dueAt = async (id: string) => {
      const job = await q.getJob(id);
      return job ? job.timestamp + (job.opts.delay ?? 0) : null;
    };
    const startOf = async (id: string) => new Date(((await restored!.query('SELECT start FROM appointment WHERE id = $1', [id])) as Array<{ start: Date }>)[0]!.start).getTime();
    const aheadStart = await startOf(ahead.id);
    for (const r of REMINDERS) {
      const due = await dueAt(jobIdFor(ahead.id, r.kind));
      expect(due, r.kind).not.toBeNull();
      expect(Math.abs(due! - (aheadStart - r.beforeMs)), r.kind).toBeLessThan(60_000);
    }
    expect(await dueAt(jobIdFor(soon.id, 'reminder_15m'))).not.toBeNull();
    expect(await dueAt(jobIdFor(soon.id, 'reminder_1d'))).toBeNull();
    // The no-show checks of both, the cancellation message, and nothing for what is over.
    expect(await scheduler.callbacks.getJob(noShowJobId(ahead.id))).toBeTruthy();
    expect(await scheduler.callbacks.getJob(noShowJobId(soon.id))).toBeTruthy();
    expect(await q.getJob(jobIdFor(cancelled.id, 'cancellation'))).toBeTruthy();
    for (const r of REMINDERS) expect(await q.getJob(jobIdFor(cancelled.id, r.kind)), r.kind).toBeFalsy();
    expect(await scheduler.callbacks.getJob(noShowJobId(cancelled.id))).toBeFalsy();
    for (const kind of ['invitation', ...REMINDERS.map((r) => r.kind)] as const) {
      expect(await q.getJob(jobIdFor(past.id, kind)), kind).toBeFalsy();
    }
    expect(await scheduler.callbacks.getJob(noShowJobId(past.id))).toBeFalsy();

    // Run again (an operator who is not sure it ran): the same jobs, none twice, none moved.
    const before = { counts: await q.getJobCounts(), fallback: await scheduler.callbacks.getJobCounts(), due: await dueAt(jobIdFor(ahead.id, 'reminder_1d')) };
    expect(await cli(['jobs', 'reschedule'], io([]))).toBe(0);
    expect({ counts: await q.getJobCounts(), fallback: await scheduler.callbacks.getJobCounts(), due: await dueAt(jobIdFor(ahead.id, 'reminder_1d')) }).toEqual(before);
  }, 180_000);
});
