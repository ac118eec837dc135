/**
 * Status written back to the EHR (issue 17 point 3), against real PostgreSQL and Redis with
 * real receivers started here: a FHIR server stand-in that takes transaction Bundles, and a
 * webhook receiver that checks the HMAC signature. Visit changes are made by the real commands
 * (arrive, admit, end, switch to phone, cancel, no-show); the trigger writes the outbox in
 * their transaction and the worker (BullMQ) delivers.
 *  - FHIR: one Bundle per change, in order, valid R4, Encounter + Appointment status patch.
 *  - webhook: the receiver answers 500 for a while: every change arrives once, in order; the
 *    backlog shows in the metrics meanwhile.
 *  - a worker process killed with SIGKILL while the receiver holds a delivery: after a restart
 *    every change is accepted exactly once, in order.
 */
import type { ChildProcess } from 'node:child_process';
import { workerPool } from './support/worker-process.js';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Parameters } from '@medplum/fhirtypes';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { admitPatient, arrive, endConsult, switchToPhone } from '../control/src/consult/commands.js';
import type { StaffIdentity } from '../control/src/domain/admission.js';
import { cancelAppointment } from '../control/src/domain/appointments.js';
import { markNoShow } from '../control/src/dashboard/commands.js';
import { setWriteback } from '../control/src/ehr/outbox.js';
import { verifyTelephonySignature } from '../control/src/callbacks/telephony.js';
import { r4Errors } from '../control/src/fhir/definitions.js';
import { registry, setMetricSources } from '../control/src/metrics/registry.js';
import { db as kysely } from '../control/src/db/kysely.js';
import { EhrWritebackQueue } from '../control/src/jobs/queue.js';
import { startWorker, type RunningWorker } from '../control/src/worker.js';
import { createClient } from 'redis';
import { main as cli, type CliIo } from '../control/src/cli.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { queueSettled } from './support/jobs.js';

interface Received { headers: http.IncomingHttpHeaders; body: string; url: string; status: number | 'cut'; at: number }

/**
 * A receiver: records every request. `failNext`: answer 500 that many times; `hold`: keep the
 * next request unanswered until `release()` (a worker killed meanwhile cuts it off).
 */
async function startReceiver(path: string) {
  const requests: Received[] = [];
  const state = { failNext: 0, hold: false, held: null as null | (() => void), onHeld: null as null | (() => void) };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r: Received = { headers: req.headers, body, url: req.url ?? '', status: 200, at: Date.now() };
      requests.push(r);
      const answer = () => {
        if (res.destroyed || req.socket.destroyed) {
          r.status = 'cut';
          return;
        }
        if (state.failNext > 0) {
          state.failNext--;
          r.status = 500;
          res.writeHead(500, { 'content-type': 'text/plain' }).end('busy');
        } else {
          res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Bundle","type":"transaction-response"}');
        }
      };
      if (state.hold) {
        state.hold = false;
        r.status = 'cut';
        req.socket.once('close', () => undefined);
        state.held = () => answer();
        state.onHeld?.();
        return;
      }
      answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    requests,
    state,
    /** Requests answered 2xx: what the EHR accepted. */
    accepted: () => requests.filter((r) => r.status === 200),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SECRET = 'ehr-webhook-secret-0123456789abcdef';
const TOKEN = 'fhir-bearer-token-for-the-ehr';
const logger = pino({ level: 'silent' });
let db: TestDatabase;
let clinic: Clinic;
let clinician: Staff;
let staff: StaffIdentity;
let assistant: StaffIdentity;
const started: ChildProcess[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  clinic = await buildClinic(db.ds, { code: `cardio-${randomBytes(2).toString('hex')}`, name: 'Cardiologie' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', name: 'Dr. E. Visser' });
  const asst = await buildStaff(db.ds, { clinic, role: 'assistant', name: 'M. de Boer' });
  staff = { id: clinician.id, role: 'clinician', clinicIds: [clinic.id] };
  assistant = { id: asst.id, role: 'assistant', clinicIds: [clinic.id] };
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Leave nothing of ours in Redis.
  const redis = createClient({ url: testConfig().redisUrl });
  await redis.connect();
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
  }
  await redis.close();
  await db?.drop();
});

function configFor(extra: Record<string, string> = {}) {
  const prefix = `spk-test-ehr-${randomBytes(3).toString('hex')}`;
  prefixes.push(prefix);
  return testConfig({ DATABASE_URL: db.url, QUEUE_PREFIX: prefix, JOBS_RETRY_BASE_SECONDS: '0.2', WORKER_LOCK_SECONDS: '2', ...extra });
}

const outboxOf = async (appointmentId: string) =>
  (await db.ds.query(`SELECT id::text, state, delivered_at, attempts, last_error FROM ehr_outbox WHERE appointment_id = $1 ORDER BY id`, [appointmentId])) as Array<{
    id: string; state: string; delivered_at: Date | null; attempts: number; last_error: string | null;
  }>;

/**
 * The positive signal before "nothing was sent twice": a change made now on another appointment
 * of the same integration has reached the receiver (so a sweep ran after every earlier change was
 * recorded as delivered), and the worker's write-back queue has nothing left to run. Returns the
 * marker's appointment id, for the caller to leave out of its counts.
 */
async function aSweepLater(workerCfg: ReturnType<typeof configFor>, integration: Awaited<ReturnType<typeof buildIntegration>>['integration'], receiver: { accepted(): Received[] }): Promise<string> {
  const marker = await buildAppointment(db.ds, workerCfg, { clinic, clinician, integration, start: new Date(Date.now() + 60_000) });
  await arrive(db.ds, marker.appointment.id, marker.patient.id);
  await until('the marker change at the receiver', () => receiver.accepted().some((r) => r.body.includes(marker.appointment.id)));
  const writeback = new EhrWritebackQueue(workerCfg, logger);
  try {
    await queueSettled(writeback.queue);
  } finally {
    await writeback.close();
  }
  return marker.appointment.id;
}

async function metric(name: string): Promise<number> {
  const m = await registry.getSingleMetricAsString(name);
  return m.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('api-key writeback (CLI)', () => {
  async function run(argv: string[], env: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: { ...process.env, ...env, DATABASE_URL: db.url, SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef', JANUS_API_SECRET: 'x'.repeat(16), JANUS_ADMIN_KEY: 'y'.repeat(16), PUBLIC_BASE_URL: 'https://video.test-hospital.nl' } };
    const code = await cli(argv, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const target = async (id: string) => (await db.ds.query(`SELECT kind, url, secret FROM integration_writeback WHERE integration_id = $1`, [id])) as Array<{ kind: string; url: string; secret: string | null }>;

  it('sets a FHIR base or a webhook per integration, takes the secret from the environment only, and switches off', async () => {
    const { integration } = await buildIntegration(db.ds, { name: 'cli-test' });
    const id = integration.id;
    expect((await run(['api-key', 'writeback', '--id', id, '--webhook', 'https://engine.test/status'])).code).toBe(2); // no secret
    expect((await run(['api-key', 'writeback', '--id', id, '--webhook', 'https://engine.test/status'], { SPK_WRITEBACK_SECRET: 'short' })).code).toBe(2);
    expect((await run(['api-key', 'writeback', '--id', id, '--fhir', 'ftp://x'])).code).toBe(2);
    expect((await run(['api-key', 'writeback', '--id', id, '--fhir', 'https://fhir.test/R4', '--off'])).code).toBe(2);
    expect((await run(['api-key', 'writeback', '--id', '00000000-0000-4000-8000-000000000000', '--off'])).code).toBe(2);
    expect(await target(id)).toEqual([]);
    expect((await run(['api-key', 'writeback', '--id', id, '--fhir', 'https://fhir.test/R4'])).code).toBe(0);
    expect(await target(id)).toEqual([{ kind: 'fhir', url: 'https://fhir.test/R4', secret: null }]);
    const done = await run(['api-key', 'writeback', '--id', id, '--webhook', 'https://engine.test/status'], { SPK_WRITEBACK_SECRET: SECRET });
    expect(done.code).toBe(0);
    expect(done.out).not.toContain(SECRET);
    expect(await target(id)).toEqual([{ kind: 'webhook', url: 'https://engine.test/status', secret: SECRET }]);
    expect((await run(['api-key', 'writeback', '--id', id, '--off'])).code).toBe(0);
    expect(await target(id)).toEqual([]);
  });
});

describe('FHIR target', () => {
  let fhir: Awaited<ReturnType<typeof startReceiver>>;
  let worker: RunningWorker;
  let workerCfg: ReturnType<typeof configFor>;

  beforeAll(async () => {
    fhir = await startReceiver('/fhir/R4');
    workerCfg = configFor();
    worker = await startWorker(workerCfg, logger);
  });
  afterAll(async () => {
    await worker?.stop();
    await fhir?.close();
  });

  it('arrived, consult started and ended reach the EHR as one valid R4 transaction Bundle each, in order', async () => {
    const cfg = configFor();
    const { integration } = await buildIntegration(db.ds, { name: 'HiX FHIR' });
    expect(await setWriteback(db.ds, integration.id, { kind: 'fhir', url: `${fhir.url}/`, secret: TOKEN })).toBe(true);
    const a = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, externalId: 'HIX-APT-1001', start: new Date(Date.now() + 60_000) });
    // An appointment of an integration without write-back leaves no outbox row.
    const quiet = await buildAppointment(db.ds, cfg, { clinic, clinician, start: new Date(Date.now() + 60_000) });
    await arrive(db.ds, quiet.appointment.id, quiet.patient.id);
    expect(await outboxOf(quiet.appointment.id)).toEqual([]);

    const id = a.appointment.id;
    await arrive(db.ds, id, a.patient.id);
    await arrive(db.ds, id, a.patient.id); // a repeat changes nothing: no second event
    await admitPatient(db.ds, id, staff, async () => undefined);
    await endConsult(db.ds, id, staff);
    const endedAt = Date.now();

    const mine = () => fhir.accepted().filter((r) => r.body.includes(id));
    await until('three bundles', () => mine().length >= 3);
    // The sweep runs every 2 s: the end reaches the EHR within that plus one job.
    console.log(`[ehr write-back] consult end → EHR accepted the Bundle after ${mine()[2]!.at - endedAt} ms`);
    await aSweepLater(workerCfg, integration, fhir); // then: nothing is sent twice
    const got = mine();
    expect(got).toHaveLength(3);
    const bundles = got.map((r) => JSON.parse(r.body) as Bundle);
    for (const [i, r] of got.entries()) {
      expect(r.url).toBe('/fhir/R4');
      expect(r.headers['content-type']).toBe('application/fhir+json');
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['x-spreekkamer-delivery']).toBe(bundles[i]!.identifier!.value);
      expect(r4Errors(bundles[i]!)).toEqual([]);
    }
    const encounters = bundles.map((b) => b.entry![0]!.resource as Encounter);
    expect(encounters.map((e) => e.status)).toEqual(['arrived', 'in-progress', 'finished']);
    for (const e of encounters) expect(r4Errors(e)).toEqual([]);
    expect(bundles[0]!.entry![0]!.request).toEqual({ method: 'PUT', url: `Encounter?identifier=${encodeURIComponent(`urn:spreekkamer:appointment|${id}`)}` });
    const patches = bundles.map((b) => b.entry![1]!);
    expect(patches.every((p) => p.request?.method === 'PATCH' && p.request.url === 'Appointment?identifier=HIX-APT-1001')).toBe(true);
    expect(patches.map((p) => (p.resource as Parameters).parameter![0]!.part!.find((x) => x.name === 'value')!.valueCode)).toEqual(['arrived', 'checked-in', 'fulfilled']);
    expect(encounters[2]!.period?.end).toBeTruthy();
    expect(encounters[2]!.appointment?.[0]?.identifier?.value).toBe('HIX-APT-1001');
    // No personal data on the wire: not the patient's name, e-mail or phone.
    for (const r of got) expect(r.body).not.toMatch(/Jansen|example\.test|\+316/);
    const rows = await outboxOf(id);
    expect(rows.map((r) => r.state)).toEqual(['waiting', 'admitted', 'ended']);
    expect(rows.every((r) => r.delivered_at && r.attempts === 1)).toBe(true);
  });
});

describe('webhook target, receiver failing for a while', () => {
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let worker: RunningWorker;
  let workerCfg: ReturnType<typeof configFor>;

  beforeAll(async () => {
    hook = await startReceiver('/ehr/status');
    workerCfg = configFor();
    worker = await startWorker(workerCfg, logger);
  });
  afterAll(async () => {
    await worker?.stop();
    await hook?.close();
  });

  it('every change arrives once and in order after 500s; signed; the backlog shows meanwhile', async () => {
    setMetricSources({ db: kysely(db.ds) });
    const cfg = configFor();
    const { integration } = await buildIntegration(db.ds, { name: 'Nexus webhook' });
    await setWriteback(db.ds, integration.id, { kind: 'webhook', url: hook.url, secret: SECRET });
    hook.state.failNext = 4;
    const phone = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, start: new Date(Date.now() + 60_000) });
    const cancelled = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, start: new Date(Date.now() + 3600_000) });
    const noShow = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, start: new Date(Date.now() - 60_000) });

    await arrive(db.ds, phone.appointment.id, phone.patient.id);
    await switchToPhone(db.ds, phone.appointment.id, staff);
    await cancelAppointment(db.ds, cancelled.appointment.id, { actor: { kind: 'integration', id: integration.id } });
    await markNoShow(db.ds, noShow.appointment.id, assistant);

    await until('the backlog in the metrics', async () => (await metric('spreekkamer_ehr_writeback_backlog')) > 0, 10_000);
    const bodies = () => hook.accepted().map((r) => JSON.parse(r.body) as { id: string; event: string; appointmentId: string });
    await until('four accepted deliveries', () => bodies().length >= 4);
    const marker = await aSweepLater(workerCfg, integration, hook);
    expect(hook.requests.filter((r) => r.status === 500)).toHaveLength(4);
    const accepted = bodies().filter((b) => b.appointmentId !== marker);
    expect(accepted).toHaveLength(4);
    expect(new Set(accepted.map((b) => b.id)).size).toBe(4);
    expect(accepted.filter((b) => b.appointmentId === phone.appointment.id).map((b) => b.event)).toEqual(['arrived', 'phone_fallback']);
    expect(accepted.find((b) => b.appointmentId === cancelled.appointment.id)?.event).toBe('cancelled');
    expect(accepted.find((b) => b.appointmentId === noShow.appointment.id)).toMatchObject({ event: 'no_show' });
    for (const r of hook.accepted()) {
      const headers = { timestamp: r.headers['x-spreekkamer-timestamp'] as string, signature: r.headers['x-spreekkamer-signature'] as string };
      expect(verifyTelephonySignature(SECRET, headers, r.body)).toBe(true);
      expect(verifyTelephonySignature(SECRET, headers, r.body.replace('"cancelled"', '"ended"'))).toBe(r.body.includes('"cancelled"') ? false : true);
      expect(r.headers['x-spreekkamer-delivery']).toBe((JSON.parse(r.body) as { id: string }).id);
      expect(r.body).not.toMatch(/Jansen|example\.test|\+316/);
    }
    // Retries of the first change of an appointment never let a later one overtake it.
    const seen = hook.requests.filter((r) => r.body.includes(phone.appointment.id)).map((r) => (JSON.parse(r.body) as { event: string }).event);
    expect(seen.lastIndexOf('arrived')).toBeLessThan(seen.indexOf('phone_fallback'));
    await until('backlog 0', async () => (await metric('spreekkamer_ehr_writeback_backlog')) === 0, 5_000);
    expect(await metric('spreekkamer_ehr_writeback_failed')).toBe(0);
  });
});

describe('worker killed mid-delivery', () => {
  let hook: Awaited<ReturnType<typeof startReceiver>>;

  afterAll(async () => {
    await hook?.close();
  });

  it('the change the dead worker was sending is accepted once after the restart, before the next', async () => {
    hook = await startReceiver('/ehr/status');
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `spk-test-ehrkill-${randomBytes(3).toString('hex')}`,
      WORKER_LOCK_SECONDS: '2',
      JOBS_RETRY_BASE_SECONDS: '0.2',
      LOG_LEVEL: 'info',
    };
    prefixes.push(env.QUEUE_PREFIX!);
    const cfg = testConfig(env);
    const { integration } = await buildIntegration(db.ds, { name: 'Epic webhook' });
    await setWriteback(db.ds, integration.id, { kind: 'webhook', url: hook.url, secret: SECRET });
    const a = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, start: new Date(Date.now() + 60_000) });
    const id = a.appointment.id;

    const workers = workerPool(env, started);
    const spawnWorker = workers.start;
    const logs = workers.logs;

    hook.state.hold = true;
    const held = new Promise<void>((r) => (hook.state.onHeld = r));
    const first = await spawnWorker();
    await arrive(db.ds, id, a.patient.id);
    await admitPatient(db.ds, id, staff, async () => undefined);
    await held; // the worker is sending "arrived" and waits for the answer
    console.log('[ehr kill test] first worker holds a delivery; SIGKILL');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    hook.state.held?.(); // too late: the connection is gone
    await endConsult(db.ds, id, staff);

    const second = await spawnWorker();
    const bodies = () => hook.accepted().map((r) => JSON.parse(r.body) as { id: string; event: string });
    await until('three accepted deliveries', () => bodies().length >= 3, 40_000);
    // The dead worker's job stays 'active' until its lock runs out and the second worker runs it
    // again: once the queue has nothing left to run, that job has found nothing left to send.
    const writeback = new EhrWritebackQueue(cfg, logger);
    try {
      await queueSettled(writeback.queue, () => true, 40_000);
    } finally {
      await writeback.close();
    }
    expect(bodies().map((b) => b.event)).toEqual(['arrived', 'consult_started', 'ended']);
    expect(new Set(bodies().map((b) => b.id)).size).toBe(3);
    // The cut-off request was the same event: the receiver could have deduplicated it by id.
    expect(hook.requests[0]!.status).toBe('cut');
    expect((JSON.parse(hook.requests[0]!.body) as { id: string }).id).toBe(bodies()[0]!.id);
    expect((await outboxOf(id)).every((r) => r.delivered_at)).toBe(true);
    // The worker's log names no patient.
    expect(logs.join('')).not.toMatch(/Jansen|example\.test|\+316/);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 240_000);
});
