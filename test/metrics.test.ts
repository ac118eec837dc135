/**
 * Observability on the real stack (issue 6, "Proof"):
 *  - a real Prometheus (Debian's /usr/bin/prometheus, a child process with a temporary config
 *    and TSDB) scrapes the control plane's internal /metrics every second during an end-to-end
 *    consult; its query API returns the waiting, consult, wait-time, outcome and call-quality
 *    series with plausible values, and no label of any series carries a name, e-mail address,
 *    phone number, link token or id of the test's data;
 *  - Janus's event handler (the shipped deploy/janus configuration) posts media stats to the
 *    control plane; the patient's live grade is "good" on a clean link and turns "fair"/"poor"
 *    when 25 % of the patient's UDP is dropped (nftables in the patient's namespace), in the
 *    quality store (latestQuality) and as a 'quality' event on the clinic's hub channel;
 *  - the event intake refuses unauthenticated and malformed posts (401/400, counted), skips a
 *    malformed event inside a good list, and keeps working; /metrics and the intake are not on
 *    the public listener.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/metrics.test.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient, type RedisClientType } from 'redis';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { DESKTOP, PHONE, expectScreen } from './support/patient-page.js';
import { createPatientNet, launchChromium, SERVER_ADDR, startPatientControlPlane, type LaunchedChromium, type PatientNet } from './support/patient-net.js';
import { tokenOf } from './support/relay-client.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { startStack, type ControlPlane, type Stack } from './support/stack.js';
import { openDashboard, seedAssistant } from './support/dashboard.js';
import type { Page } from 'playwright-core';
import { latestQuality, type ParticipantQuality } from '../control/src/quality/store.js';
import { Hub, type ClinicEvent } from '../control/src/realtime/hub.js';
import { createLogger } from '../control/src/logger.js';

const BASE = 20100;
const PATIENT_PORTS = { public: 20110, internal: 20111 };
const PROMETHEUS_PORT = 20190;
const ORIGIN = `http://${SERVER_ADDR}:${PATIENT_PORTS.public}`;
const PROM = `http://127.0.0.1:${PROMETHEUS_PORT}`;

let stack: Stack;
let seeded: SeededClinic;
let net: PatientNet;
let patientControl: ControlPlane;
let patient: LaunchedChromium;
let clinician: TestBrowser;
/** The poli assistant's dashboard, in a second context of the clinician's browser. */
let dashboard: Page;
let prometheus: ChildProcess | null = null;
let promDir: string;
let redis: RedisClientType;
let hub: Hub;
const clinicEvents: ClinicEvent[] = [];

beforeAll(async () => {
  stack = await startStack({ name: 'metrics', basePort: BASE });
  seeded = await seedClinic(stack);
  net = createPatientNet();
  promDir = mkdtempSync(join(tmpdir(), 'spk-prometheus-'));
  writeFileSync(
    join(promDir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: spreekkamer-control',
      '    static_configs:',
      `      - targets: ['${new URL(stack.control.internalUrl).host}', '127.0.0.1:${PATIENT_PORTS.internal}']`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(promDir, 'prometheus.log'), 'a');
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
  hub = new Hub(stack.env.REDIS_URL!, createLogger('silent'));
  await hub.start();
  await hub.subscribeClinic(seeded.clinicId, (e) => void clinicEvents.push(e));
  [patientControl, patient, clinician] = await Promise.all([
    startPatientControlPlane(stack, PATIENT_PORTS),
    launchChromium({
      executablePath: net.chromiumPath,
      viewport: PHONE,
      args: [`--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`],
    }),
    launchBrowser({ viewport: DESKTOP }),
  ]);
  clinician.page.on('dialog', (d) => void d.accept());
  await signInClinician(clinician.page, stack, seeded);
  const assistant = await seedAssistant(stack, [seeded.clinicId], 'metrics');
  dashboard = await (await clinician.browser.newContext({ viewport: DESKTOP })).newPage();
  await openDashboard(dashboard, stack.control.internalUrl, assistant, seeded.clinicCode);
  const deadline = Date.now() + 30_000;
  while ((await fetch(`${PROM}/-/ready`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline || prometheus.exitCode !== null) throw new Error(`Prometheus did not start; see ${promDir}/prometheus.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  net?.removeLoss();
  await patient?.close();
  await clinician?.close();
  await patientControl?.stop();
  net?.destroy();
  if (prometheus && prometheus.exitCode === null) {
    const gone = new Promise((r) => prometheus!.once('exit', r));
    prometheus.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
  }
  await hub?.stop();
  await redis?.quit().catch(() => undefined);
  await stack?.stop();
  if (promDir) rmSync(promDir, { recursive: true, force: true });
});

/** An instant query; the vector's samples as {labels, value}. */
async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const res = await fetch(`${PROM}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** The single value of a query (NaN when empty). */
const value = async (expr: string) => (await query(expr))[0]?.value ?? Number.NaN;

const visitState = async (id: string) => (await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [id]))[0]?.state;

const patientGrade = async (appointmentId: string): Promise<ParticipantQuality | undefined> =>
  (await latestQuality(redis, [appointmentId])).get(appointmentId)?.find((q) => q.role === 'patient');

describe('a consult seen by Prometheus, with live call quality', () => {
  let appointmentId: string;
  let link: string;
  const clinic = () => seeded.clinicCode;

  test('waiting: Prometheus sees one patient waiting in the clinic', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    link = a.patientLink;
    await patient.page.goto(`${ORIGIN}/p/${tokenOf(link)}`);
    await expectScreen(patient.page, 'ready');
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient.page, 'waiting');
    await expect.poll(() => value(`max(spreekkamer_patients_waiting{clinic="${clinic()}"})`), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => value(`max(spreekkamer_longest_wait_seconds{clinic="${clinic()}"})`), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await value(`max(spreekkamer_consults_active{clinic="${clinic()}"})`)).toBe(0);
    // The invitation is queued (this stack runs no worker): queue depth per queue and state.
    await expect.poll(() => value('max(spreekkamer_queue_jobs{queue="notifications", state="waiting"})'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  });

  test('in consult: consults active, wait and admission-to-media observed, Janus up, a "good" grade on a clean link', async () => {
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.getByTestId('admit').click({ timeout: 15_000 });
    await expectScreen(patient.page, 'consult');
    await Promise.all([waitForRemoteMedia(patient.page), waitForRemoteMedia(clinician.page)]);
    await expect.poll(() => visitState(appointmentId), { timeout: 10_000 }).toBe('in_consult');

    await expect.poll(() => value(`max(spreekkamer_consults_active{clinic="${clinic()}"})`), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => value(`max(spreekkamer_patients_waiting{clinic="${clinic()}"})`), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => value(`sum(spreekkamer_wait_to_admission_seconds_count{clinic="${clinic()}"})`), { timeout: 10_000 }).toBe(1);
    // The wait was seconds, not hours.
    const waited = await value(`sum(spreekkamer_wait_to_admission_seconds_sum{clinic="${clinic()}"})`);
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(120);
    await expect.poll(() => value(`sum(spreekkamer_admission_to_media_seconds_count{clinic="${clinic()}"})`), { timeout: 10_000 }).toBe(1);
    const toMedia = await value(`sum(spreekkamer_admission_to_media_seconds_sum{clinic="${clinic()}"})`);
    expect(toMedia).toBeGreaterThan(0);
    expect(toMedia).toBeLessThan(30);
    expect(await value('min(spreekkamer_janus_up)')).toBe(1);
    expect(await value('max(spreekkamer_janus_handles)')).toBeGreaterThan(1);
    expect(await value('min(spreekkamer_ready)')).toBe(1);

    // Janus's media stats: graded per participant, in the store and on the clinic's channel.
    await expect.poll(async () => (await patientGrade(appointmentId))?.grade, { timeout: 20_000 }).toBe('good');
    const q = (await patientGrade(appointmentId))!;
    console.log('clean link, patient:', JSON.stringify(q));
    expect(q.lossRatio ?? 0).toBeLessThan(0.05);
    // Both people in the consult are graded (the clinician's handles were attached by the other process).
    await expect
      .poll(async () => ((await latestQuality(redis, [appointmentId])).get(appointmentId) ?? []).map((p) => p.role).sort(), { timeout: 15_000 })
      .toEqual(['clinician', 'patient']);
    expect(clinicEvents.some((e) => e.kind === 'quality' && e.appointmentId === appointmentId && e.role === 'patient' && e.grade === 'good')).toBe(true);

    // …and in Prometheus: round-trip times, loss ratios and jitter with plausible values.
    await expect.poll(() => value('sum(spreekkamer_media_rtt_seconds_count)'), { timeout: 15_000 }).toBeGreaterThan(0);
    const rttMean = (await value('sum(spreekkamer_media_rtt_seconds_sum)')) / (await value('sum(spreekkamer_media_rtt_seconds_count)'));
    expect(rttMean).toBeGreaterThanOrEqual(0);
    expect(rttMean).toBeLessThan(0.3); // inside one machine
    expect(await value('sum(spreekkamer_media_loss_ratio_count)')).toBeGreaterThan(0);
    expect(await value('sum(spreekkamer_media_quality_grades_total{grade="good"})')).toBeGreaterThan(0);
    expect(await value('sum(spreekkamer_webrtc_up_total)')).toBeGreaterThanOrEqual(2);
    expect(await value('sum(spreekkamer_janus_events_total{kind="media"})')).toBeGreaterThan(0);
  });

  test('25 % of the patient’s UDP dropped: the patient’s grade turns fair or poor (store and hub event)', async () => {
    const since = clinicEvents.length;
    net.addLoss(25);
    try {
      await expect
        .poll(async () => (await patientGrade(appointmentId))?.grade, { timeout: 30_000, interval: 500 })
        .toMatch(/^(fair|poor)$/);
      const q = (await patientGrade(appointmentId))!;
      console.log('25 % UDP loss, patient:', JSON.stringify(q));
      expect(q.lossRatio).toBeGreaterThanOrEqual(0.05);
      const event = clinicEvents.slice(since).find((e) => e.kind === 'quality' && e.role === 'patient' && e.grade !== 'good');
      expect(event).toMatchObject({ kind: 'quality', appointmentId, participantId: q.participantId });
      await expect.poll(() => value('sum(spreekkamer_media_quality_grades_total{grade=~"fair|poor"})'), { timeout: 10_000 }).toBeGreaterThan(0);
      // …and on the assistant's dashboard card of this appointment.
      const card = dashboard.locator(`[data-appointment-id="${appointmentId}"] [data-testid="quality"]`);
      await expect.poll(() => card.getAttribute('data-grade', { timeout: 1_000 }).catch(() => null), { timeout: 15_000, interval: 250 }).toMatch(/^(fair|poor)$/);
    } finally {
      net.removeLoss();
    }
    // The link healed: good again.
    await expect.poll(async () => (await patientGrade(appointmentId))?.grade, { timeout: 30_000, interval: 500 }).toBe('good');
  });

  test('ended: the outcome is counted; no label anywhere carries the test’s people, contact data, tokens or ids', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'ended');
    await expect.poll(() => value(`max(spreekkamer_consults_total{clinic="${clinic()}", outcome="completed"})`), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => value(`max(spreekkamer_consults_active{clinic="${clinic()}"})`), { timeout: 10_000 }).toBe(0);
    // HTTP by route pattern: the patient link as /p/:token, never the token.
    expect(await value('sum(spreekkamer_http_request_duration_seconds_count{route="/p/:token"})')).toBeGreaterThan(0);

    const participants = (await stack.ds.query(`SELECT id FROM participant WHERE appointment_id = $1`, [appointmentId])) as Array<{ id: string }>;
    const secrets = [
      'Vries', 'de Vries', '1948', '0612345678', '612345678', 'Dr. T. Test', seeded.clinician.email, 'test.invalid',
      tokenOf(link), appointmentId, seeded.clinician.id, seeded.clinicId, seeded.apiKey,
      ...participants.map((p) => p.id),
    ];
    const res = await fetch(`${PROM}/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~"spreekkamer_.+"}' })}`);
    const series = ((await res.json()) as { data: Array<Record<string, string>> }).data;
    expect(series.length).toBeGreaterThan(50);
    const labelValues = new Set(series.flatMap((s) => Object.entries(s).filter(([k]) => k !== '__name__').map(([, v]) => v)));
    for (const v of labelValues) {
      for (const s of secrets) expect(v.toLowerCase().includes(s.toLowerCase()), `label value "${v}" contains "${s}"`).toBe(false);
    }
    // The same for the raw /metrics text of both control-plane processes (what any scraper gets).
    for (const url of [stack.control.internalUrl, `http://127.0.0.1:${PATIENT_PORTS.internal}`]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      // Names, labels and help texts: a sample's value is a number that may be anything (a
      // process's 1948 open handles is not a birth year; a full run once failed on that).
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const described = lines.map((l) => (l.startsWith('#') ? l : l.slice(0, l.lastIndexOf(' ')))).join('\n');
      expect(lines.length).toBeGreaterThan(50);
      for (const s of secrets) expect(described.toLowerCase().includes(s.toLowerCase()), `${url}/metrics contains "${s}"`).toBe(false);
    }
    console.log(`${series.length} series, ${labelValues.size} distinct label values: ${[...labelValues].sort().join(', ').slice(0, 600)}`);
  });
});

describe('the Janus event intake and the status endpoints', () => {
  const intake = () => `${stack.control.internalUrl}/janus/events`;
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const good = () => basic(stack.env.JANUS_EVENTS_USER!, stack.env.JANUS_EVENTS_PASSWORD!);
  const refused = async (reason: string) => {
    const text = await (await fetch(`${stack.control.internalUrl}/metrics`)).text();
    const m = new RegExp(`^spreekkamer_janus_events_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const post = (body: string, auth?: string) =>
    fetch(intake(), { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body });

  test('without the right credentials: 401, counted, nothing processed', async () => {
    const before = await refused('unauthenticated');
    expect((await post('[]')).status).toBe(401);
    expect((await post('[]', basic('janus', 'wrong-password-123456'))).status).toBe(401);
    expect((await post('[]', 'Bearer x')).status).toBe(401);
    expect(await refused('unauthenticated')).toBe(before + 3);
  });

  test('malformed bodies: 400 and counted; a malformed event in a good list is skipped; the process lives on', async () => {
    const before = await refused('malformed');
    expect((await post('{not json', good())).status).toBe(400);
    expect((await post('"a string"', good())).status).toBe(400);
    expect((await post(JSON.stringify(Array.from({ length: 1001 }, () => ({ type: 1 }))), good())).status).toBe(400);
    const mixed = [
      { type: 32, handle_id: 'x', event: [] },
      { type: 32, handle_id: 123, event: [{ media: 'audio', rtt: -1 }] },
      { emitter: 'spreekkamer', type: 16, handle_id: 424242, event: { ice: 'failed', stream_id: 1, component_id: 1 } },
      { emitter: 'spreekkamer', type: 32, handle_id: 424242, event: [{ media: 'audio', rtt: 20, lost: 1, 'packets-received': 100 }] },
    ];
    expect((await post(JSON.stringify(mixed), good())).status).toBe(204);
    expect(await refused('malformed')).toBe(before + 3 + 2);
    const big = 'x'.repeat(2 * 1024 * 1024);
    expect((await post(JSON.stringify([{ type: 1, big }]), good())).status).toBe(413);
    expect(await refused('too_large')).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${stack.control.internalUrl}/metrics`)).text();
    expect(text).toMatch(/^spreekkamer_ice_failures_total\{janus="spreekkamer"\} [1-9]/m);
    expect((await fetch(`${stack.control.internalUrl}/readyz`)).status).toBe(200);
  });

  test('the public listener has neither /metrics, /status nor the event intake', async () => {
    for (const path of ['/metrics', '/status', '/janus/events']) {
      expect((await fetch(`${stack.control.publicUrl}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${stack.control.publicUrl}/janus/events`, { method: 'POST', headers: { authorization: good() }, body: '[]' })).status).toBe(404);
  });

  test('GET /status: readiness, Janus servers and the clinic’s counts, no personal data', async () => {
    const res = await fetch(`${stack.control.internalUrl}/status`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ service: 'spreekkamer', ready: true, checks: { postgresql: true, redis: true, janus: true } });
    expect(body.janus[0]).toMatchObject({ name: 'janus-1', up: true, sessions: 1 });
    expect(body.clinics).toEqual(expect.arrayContaining([expect.objectContaining({ clinic: seeded.clinicCode, waiting: 0, active: 0 })]));
    expect(JSON.stringify(body)).not.toMatch(/Vries|0612345678|test\.invalid/);
  });
});

