/**
 * Benchmark (issue 11): Janus failover. Two Janus servers, three consults in real Chromium
 * pages (fake camera), all on one server; SIGKILL that server and time, per consult, from the
 * kill to the first remote video frame decoded on a new connection in BOTH browsers (the
 * slower of the two). Restart the killed server, kill the other one (the consults are all there
 * now), and so on: BENCH_FAILOVER_KILLS kills (default 5), each moving every consult.
 * Figure `janus_failover` (ms, p50/p95/max over kills × consults); target p95 ≤ 5000 ms.
 *
 *   BENCH_ONLY=failover make bench
 */
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from '../support/stack.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { seedClinic, signInClinician } from '../support/scenario.js';
import { admit, roomsOn, waitingPatient, type Consult } from '../support/multi-janus.js';
import { installFrameMeter, markFrames, waitFreshFrames } from '../support/frames.js';
import { summary } from './stats.js';

const KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 5);
const CONSULTS = Number(process.env.BENCH_FAILOVER_CONSULTS ?? 3);

async function janusStatus(stack: Stack): Promise<Array<{ name: string; up: boolean; draining: boolean }>> {
  const res = await fetch(`${stack.control.internalUrl}/status`);
  return ((await res.json()) as { janus: Array<{ name: string; up: boolean; draining: boolean }> }).janus;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function benchFailover(): Promise<Record<string, unknown>> {
  const stack = await startStack({ name: 'bench-failover', basePort: 18900, janusCount: 2 });
  let patients: TestBrowser | null = null;
  let clinician: TestBrowser | null = null;
  try {
    const seeded = await seedClinic(stack);
    [patients, clinician] = await Promise.all([launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser()]);
    await signInClinician(clinician.page, stack, seeded);
    // All consults on janus-1 to start with: janus-2 drained while they are admitted (the CLI's
    // and admin page's drain, through Redis), so that every kill moves all of them.
    const { createClient } = await import('redis');
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    await redis.sAdd('spk:janus-draining', 'janus-2');
    await until('janus-2 draining', async () => (await janusStatus(stack)).find((s) => s.name === 'janus-2')!.draining);
    const consults: Consult[] = [];
    for (let i = 0; i < CONSULTS; i++) {
      consults.push(await admit(stack, clinician.page, await waitingPatient(stack, seeded, patients.browser as Browser)));
    }
    await redis.sRem('spk:janus-draining', 'janus-2');
    await redis.quit();
    const pages: Page[] = consults.flatMap((c) => [c.patient, c.clinician]);
    for (const p of pages) await installFrameMeter(p);

    const perConsult: number[] = [];
    const perSide: number[] = [];
    let victim = 0;
    for (let k = 0; k < KILLS; k++) {
      const rooms = await roomsOn(stack.januses[victim]!);
      const on = consults.filter((c) => rooms.includes(c.roomId)).length;
      if (on !== consults.length) throw new Error(`kill ${k + 1}: ${on} of ${consults.length} consults on janus-${victim + 1}`);
      for (const p of pages) await markFrames(p);
      const killedAt = Date.now();
      stack.januses[victim]!.kill('SIGKILL');
      for (const c of consults) {
        const [p, s] = await Promise.all([waitFreshFrames(c.patient, 60_000), waitFreshFrames(c.clinician, 60_000)]);
        perSide.push(p - killedAt, s - killedAt);
        perConsult.push(Math.max(p, s) - killedAt);
      }
      process.stdout.write(`kill ${k + 1}: ${perConsult.slice(-consults.length).join(', ')} ms\n`);
      // Bring the killed server back; the next kill takes the other one, where the consults are now.
      await stack.januses[victim]!.restart();
      await until('the restarted Janus is connected', async () => (await janusStatus(stack))[victim]!.up);
      victim = 1 - victim;
      // Let the moved consults settle (bandwidth estimation ramps up) before the next kill.
      await new Promise((r) => setTimeout(r, 3000));
    }
    return {
      janus_failover: { ...summary(perConsult, 'ms'), kills: KILLS, consults: consults.length, target_p95: 5000, note: 'SIGKILL of the Janus server → first remote frame on a new connection in both browsers (the slower), per consult' },
      janus_failover_per_side: { ...summary(perSide, 'ms'), note: 'the same, each browser on its own' },
    };
  } finally {
    await patients?.close();
    await clinician?.close();
    await stack.stop();
  }
}
