/**
 * `make bench`: the backbone's figures, measured in one run on the real stack.
 *
 *  - admit → first remote video frame on both sides (clinician clicks "admit"; both browsers
 *    render a frame of the other), over N consults;
 *  - the floor: a bare Janus VideoRoom join by two pages speaking the Janus API directly,
 *    interleaved with the consults (ABAB) so machine noise hits both alike;
 *  - the patient app's JavaScript, gzipped.
 *
 * Writes .run/bench/latest.json. Run inside the test namespace (scripts/bench.sh does).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { startStack } from '../support/stack.js';
import { launchBrowser } from '../support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician } from '../support/scenario.js';
import { admitClickAt, installFirstFrameProbe, resetFirstFrame, waitFirstFrame } from './first-frame.js';
import { measureBareJoin } from './bare-janus.js';
import { summary } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

async function main() {
  mkdirSync(join(ROOT, '.run', 'bench'), { recursive: true });
  const stack = await startStack({ name: 'bench', basePort: 18400 });
  const seeded = await seedClinic(stack);
  const [patient, clinician] = await Promise.all([launchBrowser(), launchBrowser()]);
  const consult: number[] = [];
  const bare: number[] = [];
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
    await measureBareJoin({
      janus: { url: stack.janus.url, apiSecret: stack.janus.apiSecret, adminKey: stack.janus.adminKey },
      pages: [barePages[0]!, barePages[1]!],
      rounds: 1,
    });
    for (let i = 0; i < ROUNDS; i++) {
      consult.push(await oneConsult());
      const [ms] = await measureBareJoin({
        janus: { url: stack.janus.url, apiSecret: stack.janus.apiSecret, adminKey: stack.janus.adminKey },
        pages: [barePages[0]!, barePages[1]!],
        rounds: 1,
      });
      bare.push(ms!);
      process.stdout.write(`round ${i + 1}/${ROUNDS}: admit→media ${consult[i]} ms, bare join ${bare[i]} ms\n`);
    }
  } finally {
    await patient.close();
    await clinician.close();
    await stack.stop();
  }

  async function oneConsult(): Promise<number> {
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
    await Promise.all([resetFirstFrame(patient.page), resetFirstFrame(clinician.page)]);
    await admit.click();
    const [p, c] = await Promise.all([waitFirstFrame(patient.page), waitFirstFrame(clinician.page)]).catch(async (err) => {
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
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await patient.page.waitForSelector('[data-testid="screen"][data-state="ended"]');
    return ms;
  }

  const patientJs = readFileSync(join(ROOT, 'web', 'dist', 'patient.js'));
  const s = summary(consult, 'ms');
  const b = summary(bare, 'ms');
  const result = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    at: new Date().toISOString(),
    admit_to_first_frame_both_sides: s,
    bare_janus_videoroom_join: b,
    ratio_p95: Math.round((s.p95 / b.p95) * 100) / 100,
    ratio_p50: Math.round((s.p50 / b.p50) * 100) / 100,
    patient_js_gzip: { value: gzipSync(patientJs, { level: 9 }).length, unit: "bytes" },
  };
  mkdirSync(join(ROOT, '.run', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, '.run', 'bench', 'latest.json'), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
