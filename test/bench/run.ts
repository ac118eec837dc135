/**
 * `make bench`: the backbone's figures, measured in one run on the real stack.
 *
 *  - admit → first remote video frame on both sides (clinician clicks "admit"; both browsers
 *    render a frame of the other), over N consults;
 *  - two floors, bare Janus VideoRoom joins by two pages speaking the Janus API directly,
 *    interleaved with the consults (consult, prepared, cold, consult, …) so machine noise hits
 *    all alike: `prepared` (the fair floor: socket, session, handles, camera, offer and ICE
 *    gathering done before t0, as the product has them before the click) and `cold` (all of
 *    that inside the timed window); all three timed from an in-page instant to in-page frames;
 *  - the patient app's JavaScript, gzipped;
 *  - patient arrival → card on 500 connected dashboards with 200 waiting (./dashboard.ts);
 *  - consults one Janus server carries, CPU per consult and per packet (./capacity.ts).
 *
 * Writes .run/bench/latest.json. Run inside the test namespace (scripts/bench.sh does).
 * `BENCH_ONLY=section,section make bench` runs only those sections (names in SECTIONS below)
 * and keeps the other figures of latest.json as they were.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { startStack } from '../support/stack.js';
import { launchBrowser } from '../support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician } from '../support/scenario.js';
import { admitClickAt, installFirstFrameProbe, resetFirstFrame, waitFirstFrame } from './first-frame.js';
import { measureBareJoin } from './bare-janus.js';
import { summary } from './stats.js';
import { benchImport } from './import.js';
import { benchDashboard } from './dashboard.js';
import { benchCapacity } from './capacity.js';
import { benchSlowPhone } from './slow-phone.js';
import { benchReport } from './report.js';
import { benchFailover } from './failover.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 5);

/** The sections of `make bench`, in the order they run; each returns its figures. */
const SECTIONS: [string, () => Promise<Record<string, unknown>>][] = [
  ['backbone', backbone],
  // Arrival → card on 500 dashboards with 200 waiting (its own stack).
  ['dashboard', benchDashboard],
  // Consults one Janus server carries: stepped load from a werift generator (./capacity.ts).
  ['capacity', benchCapacity],
  // The patient page on a cheap phone on a weak mobile line (Lighthouse's mobile profile).
  ['slow-phone', benchSlowPhone],
  // The managers' report of a 20,000-consult month (its own database, no browsers).
  ['report', benchReport],
  // SIGKILL of a Janus server → frames again on both sides, 5 kills × 3 consults (two Janus servers).
  ['failover', benchFailover],
];

async function backbone(): Promise<Record<string, unknown>> {
  mkdirSync(join(ROOT, '.run', 'bench'), { recursive: true });
  const stack = await startStack({ name: 'bench', basePort: 18400 });
  const seeded = await seedClinic(stack);
  const [patient, clinician] = await Promise.all([launchBrowser(), launchBrowser()]);
  const consult: number[] = [];
  const bare: number[] = [];
  const cold: number[] = [];
  const restart: number[] = [];
  let imported: Awaited<ReturnType<typeof benchImport>> | Record<string, never> = {};
  try {
    clinician.page.on('dialog', (d) => void d.accept());
    await installFirstFrameProbe(patient.page);
    await installFirstFrameProbe(clinician.page);
    if (process.env.BENCH_TRACE) {
      const { installTrace } = await import('./trace.js');
      await installTrace(patient.page);
      await installTrace(clinician.page);
    }
    await signInClinician(clinician.page, stack, seeded);
    const barePages = await Promise.all([patient.browser.newPage(), clinician.browser.newPage()]);

    // One unmeasured round of each first: the first camera capture and codec start-up in a
    // fresh browser take about 3x longer, and would only measure Chromium's cold start.
    await oneConsult();
    const bareJoin = (mode: 'prepared' | 'cold') =>
      measureBareJoin({
        janus: { url: stack.janus.url, apiSecret: stack.janus.apiSecret, adminKey: stack.janus.adminKey },
        pages: [barePages[0]!, barePages[1]!],
        rounds: 1,
        mode,
      }).then(([ms]) => ms!);
    await bareJoin('prepared');
    await bareJoin('cold');
    for (let i = 0; i < ROUNDS; i++) {
      consult.push(await oneConsult());
      bare.push(await bareJoin('prepared'));
      cold.push(await bareJoin('cold'));
      process.stdout.write(`round ${i + 1}/${ROUNDS}: admit→media ${consult[i]} ms, bare join prepared ${bare[i]} ms, cold ${cold[i]} ms\n`);
    }
    // Janus restart mid-consult → media back on both sides (no admission).
    await oneConsult({ keepOpen: true });
    for (let i = 0; i < RESTARTS; i++) {
      await Promise.all([resetFirstFrame(patient.page), resetFirstFrame(clinician.page)]);
      const t0 = Date.now();
      await stack.janus.restart();
      const [p, c] = await Promise.all([waitFirstFrame(patient.page, 20_000), waitFirstFrame(clinician.page, 20_000)]);
      restart.push(Math.max(p, c) - t0);
      process.stdout.write(`janus restart ${i + 1}/${RESTARTS}: media back after ${restart[i]} ms\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await endConsult();
    // Issue 5: the EHR imports 10,000 appointments; all their jobs are scheduled (test/bench/import.ts).
    imported = await benchImport(
      { apiBase: stack.control.internalUrl, apiKey: seeded.apiKey, clinicCode: seeded.clinicCode, clinicianEmail: seeded.clinician.email, redisUrl: stack.env.REDIS_URL!, queuePrefix: stack.env.QUEUE_PREFIX },
      Number(process.env.BENCH_IMPORT_N ?? 10_000),
      Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 8),
    );
    process.stdout.write(`import: ${JSON.stringify(imported.import_api_throughput ?? {})}\n`);
  } finally {
    await patient.close();
    await clinician.close();
    await stack.stop();
  }

  async function endConsult(): Promise<void> {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await patient.page.waitForSelector('[data-testid="screen"][data-state="ended"]');
  }

  async function oneConsult(opts: { keepOpen?: boolean } = {}): Promise<number> {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await patient.page.goto(a.patientLink);
    await patient.page.getByTestId('start-visit').click();
    await patient.page.waitForSelector('[data-testid="screen"][data-state="waiting"]');
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const admit = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${a.id}"] [data-testid="admit"]`);
    await admit.waitFor({ timeout: 15_000 }).catch(async (err) => {
      await clinician.page.screenshot({ path: join(ROOT, '.run', 'bench', 'clinician-failure.png') });
      await patient.page.screenshot({ path: join(ROOT, '.run', 'bench', 'patient-failure.png') });
      throw err;
    });
    // A person takes longer than this to click: the console's camera preview (on while one of
    // the clinician's patients waits) is live before the admission, as it would be.
    await clinician.page.waitForSelector('[data-testid="camera-preview"]:not([hidden])', { timeout: 15_000 });
    await Promise.all([resetFirstFrame(patient.page), resetFirstFrame(clinician.page)]);
    const frames = async () => {
      await admit.click();
      return Promise.all([waitFirstFrame(patient.page), waitFirstFrame(clinician.page)]);
    };
    const [p, c] = await (process.env.BENCH_PROFILE ? (await import('./trace.js')).profileAround(clinician.page, 'clinician', frames) : frames()).catch(async (err) => {
      for (const [name, pg] of [['patient', patient.page], ['clinician', clinician.page]] as const) {
        const info = await pg.evaluate(() => ({
          ff: (window as any).__spkFirstFrame,
          videos: [...document.querySelectorAll('video')].map((v) => `${v.dataset.testid ?? '-'} ${v.videoWidth}x${v.videoHeight} rs=${v.readyState} paused=${v.paused}`),
          pcs: (window as any).spkDebug?.pcs().length,
          url: location.href,
        }));
        console.error(name, JSON.stringify(info));
      }
      await clinician.page.screenshot({ path: join(ROOT, '.run', 'bench', 'clinician-failure.png') });
      throw err;
    });
    const t0 = await admitClickAt(clinician.page);
    const ms = Math.max(p, c) - t0;
    if (process.env.BENCH_TRACE) {
      for (const [name, pg] of [['patient', patient.page], ['clinician', clinician.page]] as const) {
        const tr = (await pg.evaluate(() => (window as any).__trace)) as [number, string][];
        console.log(name, tr.filter(([t]) => t >= t0 - 5).map(([t, e]) => `${t - t0}:${e}`).join(' '));
      }
      console.log('first frames', p - t0, c - t0);
    }
    if (!opts.keepOpen) await endConsult();
    return ms;
  }

  // The patient page's script in two parts: patient.js (inline in the page, the first screen)
  // and patient-later.js (fetched once that screen is on); the budget is for both.
  const gz = (name: string) => gzipSync(readFileSync(join(ROOT, 'web', 'dist', name)), { level: 9 }).length;
  const firstJs = gz('patient.js');
  const laterJs = gz('patient-later.js');
  const s = summary(consult, 'ms');
  const b = summary(bare, 'ms');
  const c = summary(cold, 'ms');
  const js = firstJs + laterJs;
  // Every key a figure: {p50, p95, unit, …}; the machine is in meta.json beside it.
  return {
    admit_to_first_frame_both_sides: s,
    bare_janus_videoroom_join: { ...b, note: 'prepared floor: socket, session, handles, camera, offer and ICE gathered before t0' },
    bare_janus_videoroom_join_cold: { ...c, note: 'cold reference: socket, session, handles, getUserMedia and offer inside the timed window' },
    janus_restart_to_media_both_sides: { ...summary(restart, 'ms'), target_max: 10_000 },
    admit_vs_prepared_bare_ratio: { p50: ratio(s.p50, b.p50), p95: ratio(s.p95, b.p95), unit: 'x', target_p50: 1.2, target_p95: 1.2 },
    admit_vs_cold_bare_ratio: { p50: ratio(s.p50, c.p50), p95: ratio(s.p95, c.p95), unit: 'x', note: 'reference only: the cold floor does inside the window what the product does before the click' },
    patient_js_gzip: { value: js, first_screen: firstJs, later: laterJs, unit: 'bytes', target: 100 * 1024, note: 'both parts; first_screen is inline in the page' },
    ...imported,
  };
}

async function main() {
  const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = only?.filter((name) => !SECTIONS.some(([n]) => n === name)) ?? [];
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map(([n]) => n).join(', ')}`);
  const dir = join(ROOT, '.run', 'bench');
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, 'latest.json');
  const result: Record<string, unknown> = only && existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')) : {};
  const ran: string[] = [];
  for (const [name, run] of SECTIONS) {
    if (only && !only.includes(name)) continue;
    process.stdout.write(`== bench section ${name}\n`);
    Object.assign(result, await run());
    ran.push(name);
    // Written after every section, so a later failure keeps what was measured.
    writeFileSync(latest, JSON.stringify(result, null, 2));
  }
  const meta = {
    at: new Date().toISOString(),
    sections: ran,
    rounds: ROUNDS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  console.log(JSON.stringify({ ...result, meta }, null, 2));
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
