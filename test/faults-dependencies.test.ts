/**
 * Fault injection (issue 14): PostgreSQL and Redis each stopped for ~10 s while a consult runs,
 * a patient waits and an assistant's dashboard is open. Both are private to this test (a cluster
 * of its own made with initdb, a redis-server of its own with an append-only file as deployed),
 * used by the control plane and the worker; the machine's PostgreSQL is never stopped.
 *
 * During the outage: every HTTP answer is 2xx or 503 with Retry-After — never a 500, never a
 * hang — and /readyz names the missing dependency. Writes sent during it (a chat message, an
 * admission) either fail clearly (503) or are applied exactly once. Afterwards: the consult's
 * media never stopped and its signalling works (the clinician ends it at the very end), the
 * waiting patient still waits, the dashboard is live again and shows her, nothing is lost (visit
 * states, audit events, planned reminders, chat), and no process crashed.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { APIRequestContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { expectScreen } from './support/patient-page.js';
import { admit, waitingPatient, type Consult } from './support/multi-janus.js';
import { frameReport, installFrameMeter, markFrames } from './support/frames.js';
import { NOTIFICATION_STUB, openDashboard, seedAssistant } from './support/dashboard.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

const BASE = 20400;
const OUTAGE_MS = 10_000;
const ROOT = resolve(import.meta.dirname, '..');

let pg: PrivatePostgres;
let redis: PrivateRedis;
let stack: Stack;
let seeded: SeededClinic;
let worker: WorkerProcess;
let patients: TestBrowser;
let staff: TestBrowser;
let consult: Consult;
let waiting: { appointmentId: string; roomId: number; patient: Page };
let dashboard: Page;
let clinicianApi: APIRequestContext;
let csrf: string;
let apiKey: string;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPrivatePostgres(BASE + 50), startPrivateRedis(BASE + 60, { keepData: true })]);
  stack = await startStack({ name: 'faults-deps', basePort: BASE, databaseUrl: pg.url, env: { REDIS_URL: redis.url } });
  worker = await spawnWorker({ ...stack.env, WORKER_METRICS_PORT: '0', LOG_LEVEL: 'warn' }, join(ROOT, '.run', 'test', 'faults-deps', 'worker.log'));
  seeded = await seedClinic(stack);
  apiKey = seeded.apiKey;
  const assistant = await seedAssistant(stack, [seeded.clinicId], `f${randomBytes(2).toString('hex')}`);
  [patients, staff] = await Promise.all([launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser()]);
  await signInClinician(staff.page, stack, seeded);
  clinicianApi = staff.page.context().request;
  csrf = ((await (await clinicianApi.get(`${stack.control.internalUrl}/staff/api/me`)).json()) as { csrfToken: string }).csrfToken;
  const w = await waitingPatient(stack, seeded, patients.browser);
  consult = await admit(stack, staff.page, w);
  waiting = await waitingPatient(stack, seeded, patients.browser);
  const dashContext = await staff.browser.newContext({ viewport: { width: 1280, height: 800 } });
  dashboard = await dashContext.newPage();
  await dashboard.addInitScript(NOTIFICATION_STUB);
  await openDashboard(dashboard, stack.control.internalUrl, assistant, seeded.clinicCode);
  await dashboard.locator(card(waiting.appointmentId)).waitFor();
  await Promise.all([installFrameMeter(consult.patient), installFrameMeter(consult.clinician)]);
}, 600_000);

afterAll(async () => {
  await patients?.close();
  await staff?.close();
  await worker?.stop('SIGTERM');
  // The stack drops its database on the private cluster: it must be running for that.
  await pg?.start().catch(() => undefined);
  await stack?.stop();
  await Promise.all([pg?.destroy(), redis?.destroy()]);
});

const card = (id: string) => `li.card[data-appointment-id="${id}"]`;

interface Probe { what: string; status: number | 'timeout' | 'error'; retryAfter: string | null }

/** The requests a browser, an assistant and the EHR make all day, fired once. */
async function probeOnce(): Promise<Probe[]> {
  // A Redis command the client queued while Redis is away gives up after 5 s: the answer comes by then.
  const timeout = 8_000;
  const plain = async (what: string, url: string, init: RequestInit = {}): Promise<Probe> => {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeout) });
      await res.arrayBuffer();
      return { what, status: res.status, retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      return { what, status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'error', retryAfter: null };
    }
  };
  const staffGet = async (what: string, path: string, as = clinicianApi): Promise<Probe> => {
    try {
      const res = await as.get(`${stack.control.internalUrl}${path}`, { timeout });
      return { what, status: res.status(), retryAfter: res.headers()['retry-after'] ?? null };
    } catch (err) {
      return { what, status: /Timeout/i.test(String(err)) ? 'timeout' : 'error', retryAfter: null };
    }
  };
  const bearer = { headers: { authorization: `Bearer ${apiKey}` } };
  return Promise.all([
    plain('readyz', `${stack.control.internalUrl}/readyz`),
    plain('livez', `${stack.control.publicUrl}/livez`),
    plain('api appointment', `${stack.control.internalUrl}/api/v1/appointments/${waiting.appointmentId}`, bearer),
    plain('api participants', `${stack.control.internalUrl}/api/v1/appointments/${waiting.appointmentId}/participants`, bearer),
    plain('patient link', waiting.patient.url()),
    staffGet('staff today', '/staff/api/today'),
    staffGet('staff chat', `/staff/api/appointments/${waiting.appointmentId}/chat`),
    staffGet('dashboard', `/staff/api/dashboard?clinic=${seeded.clinicCode}`, dashboard.context().request),
  ]);
}

const staffPost = async (path: string, body: unknown): Promise<{ status: number | 'timeout'; retryAfter: string | null; body: unknown }> => {
  try {
    const res = await clinicianApi.post(`${stack.control.internalUrl}${path}`, { data: body, headers: { 'x-csrf-token': csrf }, timeout: 8_000 });
    return { status: res.status(), retryAfter: res.headers()['retry-after'] ?? null, body: await res.json().catch(() => null) };
  } catch {
    return { status: 'timeout', retryAfter: null, body: null };
  }
};

/** What the EHR does: create an appointment (no retry here; the test checks what one attempt left). */
async function ehrCreate(externalId: string): Promise<{ status: number | 'timeout'; retryAfter: string | null }> {
  try {
    const res = await fetch(`${stack.control.internalUrl}/api/v1/appointments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        externalId, clinic: seeded.clinicCode, clinician: seeded.clinician.email,
        start: new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 9 * 3_600_000).toISOString().replace('Z', '+00:00'), durationMinutes: 15,
        patient: { name: 'Dhr. P. Storing', birthDate: '1950-01-01', phone: '0612345679', language: 'nl' },
      }),
      signal: AbortSignal.timeout(8_000),
    });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 'timeout', retryAfter: null };
  }
}

const audit = async (appointmentId: string) =>
  ((await stack.ds.query(`SELECT action FROM audit_event WHERE appointment_id = $1`, [appointmentId])) as Array<{ action: string }>).map((r) => r.action);
const visitState = async (appointmentId: string) =>
  ((await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId])) as Array<{ state: string }>)[0]?.state;
const chatTexts = async (appointmentId: string) =>
  ((await (await clinicianApi.get(`${stack.control.internalUrl}/staff/api/appointments/${appointmentId}/chat`)).json()) as { messages: Array<{ text: string }> }).messages.map((m) => m.text);
const planned = async (appointmentId: string) =>
  (await redisKeys(`*${appointmentId}*`)).length;

async function redisKeys(pattern: string): Promise<string[]> {
  const { createClient } = await import('redis');
  const c = createClient({ url: redis.url });
  await c.connect();
  try {
    return await c.keys(pattern);
  } finally {
    await c.quit();
  }
}

/**
 * Stop a dependency for OUTAGE_MS; while it is away probe every second and send one chat
 * message and one admission. Returns what the probes saw and what the writes answered.
 */
async function outage(name: 'postgresql' | 'redis', dep: { stop(): Promise<void>; start(): Promise<void> }, late: { appointmentId: string }) {
  await Promise.all([markFrames(consult.patient), markFrames(consult.clinician)]);
  const controlPid = stack.control.child.pid;
  await dep.stop();
  const stoppedAt = Date.now();
  const probes: Probe[] = [];
  let readyzNamedIt = false;
  const chatText = `Tijdens de storing (${name}) ${randomBytes(3).toString('hex')}`;
  const externalId = `ehr-outage-${randomBytes(4).toString('hex')}`;
  // The writes go out while the probes run (each may take the client's command timeout).
  const writes = Promise.all([
    staffPost(`/staff/api/appointments/${waiting.appointmentId}/chat`, { text: chatText }),
    staffPost(`/staff/api/appointments/${late.appointmentId}/admit`, {}),
    ehrCreate(externalId),
  ]);
  while (Date.now() - stoppedAt < OUTAGE_MS) {
    const round = await probeOnce();
    probes.push(...round);
    const r = await fetch(`${stack.control.internalUrl}/readyz`).then((res) => res.json() as Promise<{ ready: boolean; checks: Record<string, boolean> }>).catch(() => null);
    if (r && !r.ready && r.checks[name] === false) readyzNamedIt = true;
    await new Promise((res) => setTimeout(res, 1_000));
  }
  const [chat, admission, created] = await writes;
  await dep.start();
  console.log(`[faults ${name}] away ${Date.now() - stoppedAt} ms; chat during it: ${chat.status}; admission: ${admission.status}; EHR create: ${created.status}; ` +
    `probe answers: ${JSON.stringify(tally(probes))}`);
  expect(stack.control.child.pid).toBe(controlPid);
  return { probes, readyzNamedIt, chat, chatText, admission, created, externalId };
}

function tally(probes: Probe[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of probes) out[`${p.what} ${p.status}`] = (out[`${p.what} ${p.status}`] ?? 0) + 1;
  return out;
}

/** Everything the outage must not have broken, checked once the dependency is back. */
async function afterwards(name: string, o: Awaited<ReturnType<typeof outage>>, late: { appointmentId: string; patient?: Page }) {
  // The API answered, clearly, the whole time.
  const bad = o.probes.filter((p) => p.what !== 'readyz' && !(p.status === 200 || (p.status === 503 && p.retryAfter)));
  expect(bad, `answers other than 200 or 503 + Retry-After while ${name} was away`).toEqual([]);
  expect(o.probes.filter((p) => p.what === 'readyz' && p.status !== 503 && p.status !== 200)).toEqual([]);
  expect(o.readyzNamedIt, `/readyz named ${name} while it was away`).toBe(true);
  for (const w of [o.chat, o.admission, o.created]) {
    expect([200, 201, 503]).toContain(w.status);
    if (w.status === 503) expect(w.retryAfter).toBeTruthy();
  }
  // Back to ready without a restart.
  await expect.poll(async () => (await fetch(`${stack.control.internalUrl}/readyz`)).status, { timeout: 30_000, interval: 250 }).toBe(200);

  // The consult: media went on the whole time; nobody was re-admitted or dropped.
  const [p, c] = await Promise.all([frameReport(consult.patient), frameReport(consult.clinician)]);
  console.log(`[faults ${name}] longest gap without a new frame: patient ${p.maxGapMs} ms, clinician ${c.maxGapMs} ms (load ${loadavg()[0]!.toFixed(1)})`);
  expect(p.fresh || c.fresh, 'no renegotiation: the same connections carried on').toBe(false);
  // Frames keep coming (polled: on a loaded two-core machine one 600-ms window may see none).
  await expect.poll(async () => (await frameReport(consult.patient)).flowing && (await frameReport(consult.clinician)).flowing, { timeout: 15_000, interval: 0 }).toBe(true);
  await expectScreen(consult.patient, 'consult');
  expect((await audit(consult.appointmentId)).filter((a) => a === 'admission')).toHaveLength(1);
  expect(await audit(consult.appointmentId)).not.toContain('drop');
  expect(await visitState(consult.appointmentId)).toBe('in_consult');

  // The waiting patient still waits, on her screen and in the database.
  await expectScreen(waiting.patient, 'waiting');
  expect(await visitState(waiting.appointmentId)).toBe('waiting');

  // The chat message sent during the outage: refused clearly, or there exactly once (and on her screen).
  const texts = (await chatTexts(waiting.appointmentId)).filter((t) => t === o.chatText);
  if (o.chat.status === 201) {
    expect(texts).toHaveLength(1);
    await waiting.patient.locator('[data-testid="chat-message"][data-from="staff"]').filter({ hasText: o.chatText }).waitFor({ timeout: 20_000 });
  } else {
    expect(texts).toHaveLength(0);
  }
  // The admission sent during the outage: refused clearly (she still waits), or applied once.
  const lateAudit = await audit(late.appointmentId);
  if (o.admission.status === 200) {
    expect(lateAudit.filter((a) => a === 'admission')).toHaveLength(1);
    expect(await visitState(late.appointmentId)).toBe('in_consult');
    // Her page hears of it although the event was published while Redis was away.
    if (late.patient) await expectScreen(late.patient, 'consult', 30_000);
  } else {
    expect(lateAudit).not.toContain('admission');
    expect(await visitState(late.appointmentId)).toBe('waiting');
  }

  // The appointment the EHR created during the outage: refused clearly (maybe saved, then the EHR
  // repeats the request as told) or created; repeated now, there is exactly one.
  const rows = async () => (await stack.ds.query(`SELECT id FROM appointment WHERE external_id = $1`, [o.externalId])) as unknown[];
  if (o.created.status === 201) expect(await rows()).toHaveLength(1);
  // The EHR repeats as told (Retry-After) until the answer is 200/201.
  await expect.poll(async () => (await ehrCreate(o.externalId)).status, { timeout: 30_000, interval: 1_000 }).toSatisfy((st) => st === 200 || st === 201);
  expect(await rows()).toHaveLength(1);

  // The dashboard is live again and shows the waiting patient.
  await dashboard.waitForFunction(() => document.getElementById('conn')?.hidden === true, undefined, { timeout: 30_000 });
  await dashboard.locator(card(waiting.appointmentId)).waitFor({ timeout: 10_000 });
  // Signalling works again: a new chat message reaches her page and the dashboard live.
  const after = `Na de storing (${name}) ${randomBytes(3).toString('hex')}`;
  await expect.poll(async () => (await staffPost(`/staff/api/appointments/${waiting.appointmentId}/chat`, { text: after })).status, { timeout: 20_000, interval: 500 }).toBe(201);
  await waiting.patient.locator('[data-testid="chat-message"][data-from="staff"]').filter({ hasText: after }).waitFor({ timeout: 20_000 });
  expect((await chatTexts(waiting.appointmentId)).filter((t) => t === after)).toHaveLength(1);
  // No process died.
  expect(stack.control.child.exitCode).toBeNull();
  expect(worker.child.exitCode).toBeNull();
}

/** A patient who waits only in the database (no browser): the admission target during an outage. */
async function lateArrival(): Promise<{ appointmentId: string }> {
  const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
  await stack.ds.query(`UPDATE visit SET state = 'waiting', waiting_since = now() WHERE appointment_id = $1`, [a.id]);
  return { appointmentId: a.id };
}

describe('dependencies stopped for 10 s', () => {
  test('PostgreSQL', async () => {
    const late = await lateArrival();
    const o = await outage('postgresql', pg, late);
    // The test's own connection pool reconnects on its next query.
    await expect.poll(() => stack.ds.query('SELECT 1').then(() => true, () => false), { timeout: 20_000 }).toBe(true);
    await afterwards('postgresql', o, late);
  }, 120_000);

  test('Redis', async () => {
    // A patient in a browser this time: an admission made while Redis is away must reach her page.
    const w = await waitingPatient(stack, seeded, patients.browser);
    const late = { appointmentId: w.appointmentId, patient: w.patient };
    const before = await planned(waiting.appointmentId);
    const o = await outage('redis', redis, late);
    await afterwards('redis', o, late);
    // Queued jobs survive a Redis crash (AOF, as deployed): the waiting patient's are all still planned.
    expect(await planned(waiting.appointmentId)).toBeGreaterThanOrEqual(before);
  }, 120_000);

  test('after both: the consult still obeys the clinician (signalling recovered); no unhandled rejection logged', async () => {
    consult.clinician.on('dialog', (d) => void d.accept());
    await consult.clinician.getByTestId('end-consult').click();
    await consult.clinician.getByTestId('confirm-yes').click();
    await expectScreen(consult.patient, 'ended', 30_000);
    const log = readFileSync(join(ROOT, '.run', 'test', 'faults-deps', `control-${BASE}.log`), 'utf8');
    // No 500 (the error middleware logs those as 'unhandled error'), no unhandled rejection, no crash.
    expect(log.split('\n').filter((l) => /unhandled|uncaught|"level":60/i.test(l)).map((l) => l.slice(0, 400))).toEqual([]);
  }, 120_000);
});
