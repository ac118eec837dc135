/**
 * Housekeeping run by the worker as repeatable BullMQ jobs (real PostgreSQL and Redis): the
 * schedulers are declared once however many workers start; promoting their next runs
 *  - ends consults left open past their window (audit event by the system, links revoked,
 *    browsers told, chat gone) and hands their rooms to the control plane's teardown,
 *  - removes chat keys of visits that are over and keeps those of live ones,
 *  - purges e-mail and phone N days after the appointment, keeping the audit trail clean.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { createClient, type RedisClientType } from 'redis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic } from '../control/src/db/entities.js';
import { HOUSEKEEPING_QUEUE } from '../control/src/jobs/queue.js';
import { roomsToTearDown } from '../control/src/jobs/housekeeping.js';
import { Hub, type HubEvent } from '../control/src/realtime/hub.js';
import { chatHistory, postChat } from '../control/src/realtime/chat.js';
import { SWEEPS, startWorker, type RunningWorker } from '../control/src/worker.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic } from './support/factories.js';

let db: TestDatabase;
let config: ReturnType<typeof testConfig>;
let workers: RunningWorker[] = [];
let hub: Hub;
let redis: RedisClientType;
let queue: Queue;
let clinic: Clinic;
const logger = pino({ level: 'silent' });

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs one sweep now: its next run (a delayed job) is promoted; resolves when a run of it completed. */
async function runSweep(name: string): Promise<void> {
  const done = async () => (await queue.getJobs(['completed'])).filter((j) => j.name === name).length;
  const before = await done();
  const next = await until(`the next ${name} run`, async () => (await queue.getJobs(['delayed', 'waiting'])).find((j) => j.name === name));
  if ((await next.getState()) === 'delayed') await next.promote().catch(() => undefined);
  await until(`${name} to complete`, async () => (await done()) > before);
}

beforeAll(async () => {
  db = await createTestDatabase();
  const prefix = `spk-test-hk-${randomBytes(3).toString('hex')}`;
  config = testConfig({ DATABASE_URL: db.url, QUEUE_PREFIX: prefix, CONTACT_RETENTION_DAYS: '30' });
  clinic = await buildClinic(db.ds, { code: `hk-${randomBytes(2).toString('hex')}`, linkGraceMinutes: 30 });
  hub = new Hub(config.redisUrl, logger);
  await hub.start();
  redis = createClient({ url: config.redisUrl });
  await redis.connect();
  // Two workers, as in a deployment with more than one: the schedulers exist once.
  workers = [await startWorker(config, logger), await startWorker(config, logger)];
  queue = new Queue(HOUSEKEEPING_QUEUE, { connection: createClient({ url: config.redisUrl }) as any, prefix });
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await redis?.quit();
  await hub?.stop();
  await db?.drop();
});

describe('housekeeping', () => {
  it('declares each sweep once, however many workers start', async () => {
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key ?? s.name).sort()).toEqual(SWEEPS.map((s) => s.name).sort());
  });

  it('ends a consult left open past its window, tells the browsers, drops its chat, hands its room over', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, start: new Date(Date.now() - 2 * 3600_000), durationMinutes: 20 });
    const live = await buildAppointment(db.ds, config, { clinic, start: new Date(Date.now() - 10 * 60_000), durationMinutes: 30 });
    for (const x of [a, live]) {
      await db.ds.query(`UPDATE visit SET state = 'in_consult', admitted_at = now(), consult_started_at = now() WHERE appointment_id = $1`, [x.appointment.id]);
      await postChat(hub.redis, hub, x.appointment.id, 'staff', 'Goedemorgen');
    }
    const events: HubEvent[] = [];
    const off = await hub.subscribe(a.appointment.id, (e) => void events.push(e));
    await runSweep('close-overdue-consults');
    const [visit] = (await db.ds.query(`SELECT state, ended_at, ended_by, room_id FROM visit WHERE appointment_id = $1`, [a.appointment.id])) as any[];
    expect(visit.state).toBe('ended');
    expect(visit.ended_by).toBeNull();
    const [audit] = (await db.ds.query(`SELECT actor_kind, data FROM audit_event WHERE appointment_id = $1 AND action = 'consult_end'`, [a.appointment.id])) as any[];
    expect(audit).toEqual({ actor_kind: 'system', data: { from: 'in_consult', to: 'ended', why: 'overdue' } });
    const revoked = (await db.ds.query(`SELECT revoked_at FROM participant WHERE appointment_id = $1 AND kind = 'patient'`, [a.appointment.id])) as any[];
    expect(revoked[0].revoked_at).not.toBeNull();
    await until('the ended event', async () => events.some((e) => e.kind === 'ended'));
    expect(await chatHistory(hub.redis, a.appointment.id)).toEqual([]);
    expect(await chatHistory(hub.redis, live.appointment.id)).toHaveLength(1); // still going: untouched
    expect((await db.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [live.appointment.id]))[0].state).toBe('in_consult');
    // The control plane tears the room down once the browsers had time to leave.
    expect(await roomsToTearDown(db.ds, 10)).not.toContain(Number(visit.room_id));
    expect(await roomsToTearDown(db.ds, 10, new Date(Date.now() + 11_000))).toContain(Number(visit.room_id));
    await off();
  });

  it('removes chat keys of visits that are over (cancelled by the EHR, expired), keeps live ones', async () => {
    const cancelled = await buildAppointment(db.ds, config, { clinic });
    const waiting = await buildAppointment(db.ds, config, { clinic });
    await db.ds.query(`UPDATE visit SET state = 'waiting' WHERE appointment_id = $1`, [waiting.appointment.id]);
    for (const x of [cancelled, waiting]) await postChat(hub.redis, hub, x.appointment.id, 'patient', 'Ik zit klaar');
    await redis.hSet(`spk:pause:${cancelled.appointment.id}`, 'clinician', '1');
    await db.ds.query(`UPDATE visit SET state = 'cancelled' WHERE appointment_id = $1`, [cancelled.appointment.id]);
    await runSweep('forget-chats');
    expect(await redis.exists([`spk:chat:${cancelled.appointment.id}`, `spk:pause:${cancelled.appointment.id}`])).toBe(0);
    expect(await chatHistory(hub.redis, waiting.appointment.id)).toHaveLength(1);
  });

  it('purges e-mail and phone 30 days after the appointment, with an audit event that holds neither', async () => {
    const old = await buildAppointment(db.ds, config, { clinic, start: new Date(Date.now() - 31 * 86_400_000), patient: { email: 'oud@example.test', phone: '+31611112222' } });
    const recent = await buildAppointment(db.ds, config, { clinic, start: new Date(Date.now() - 29 * 86_400_000), patient: { email: 'recent@example.test', phone: '+31633334444' } });
    await runSweep('purge-contact-data');
    const rows = (await db.ds.query(`SELECT id, patient_email, patient_phone FROM appointment WHERE id = ANY($1::uuid[])`, [[old.appointment.id, recent.appointment.id]])) as any[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(old.appointment.id)).toMatchObject({ patient_email: null, patient_phone: null });
    expect(byId.get(recent.appointment.id)).toMatchObject({ patient_email: 'recent@example.test', patient_phone: '+31633334444' });
    const audit = (await db.ds.query(`SELECT data FROM audit_event WHERE appointment_id = $1 AND action = 'contact.purged'`, [old.appointment.id])) as any[];
    expect(audit).toEqual([{ data: { retentionDays: 30 } }]);
    const everything = JSON.stringify(await db.ds.query(`SELECT data FROM audit_event`));
    expect(everything).not.toContain('oud@example.test');
    expect(everything).not.toContain('611112222');
  });
});
