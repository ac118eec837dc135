/**
 * The appliance with two Janus servers (JANUS_URL lists both), real browsers: consults spread
 * over the servers by load; a drained server (internal API, CLI) gets no new consult; when one
 * server is SIGKILLed its consults renegotiate onto the other — both sides decode frames on new
 * connections — while the consult on the other server does not notice (frames keep coming on
 * the same connections). Nobody is dropped or admitted again; a waiting patient stays waiting.
 *   SPK_MULTI_JANUS_E2E=1 scripts/with-netns.sh npx vitest run test/janus-failover.test.ts
 *
 * Opt-in (SPK_MULTI_JANUS_E2E=1) for now: four Chromium pages encoding video are too much for the
 * shared 2-core test machine under load (page loads and subscriber ICE took 30–90 s there), so it
 * is not reliably green inside `make test` yet. test/janus-placement.test.ts (no browsers) is.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { buildStaff } from './support/factories.js';
import { expectScreen } from './support/patient-page.js';
import { admit, roomsOn, serverOfRoom, waitingPatient, type Consult } from './support/multi-janus.js';
import { frameReport, installFrameMeter, markFrames, waitFreshFrames } from './support/frames.js';
import { main as cli } from '../control/src/cli.js';

const BASE = 18700;
const PASSWORD = 'correct horse battery staple';
let stack: Stack;
let seeded: SeededClinic;
/** One Chromium for everyone (the machine is small): the clinician's context, one context per patient. */
let clinician: TestBrowser;
let admin: { cookie: string; csrf: string };
const consults: Consult[] = [];

beforeAll(async () => {
  if (!process.env.SPK_MULTI_JANUS_E2E) return;
  stack = await startStack({ name: 'janus-failover', basePort: BASE, janusCount: 2 });
  seeded = await seedClinic(stack);
  const a = await buildStaff(stack.ds, { role: 'admin', password: PASSWORD, name: 'Beheerder Test' });
  const res = await fetch(`${stack.control.internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: a.email, password: PASSWORD }),
  });
  admin = { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  clinician = await launchBrowser();
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await clinician?.close();
  await stack?.stop();
});

async function drain(name: string, draining: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.control.internalUrl}/staff/api/admin/janus/${name}/draining`, {
    method: 'PUT',
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ draining }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function statusOf(name: string): Promise<{ up: boolean; draining: boolean }> {
  const body = (await (await fetch(`${stack.control.internalUrl}/status`)).json()) as { janus: Array<{ name: string; up: boolean; draining: boolean }> };
  return body.janus.find((s) => s.name === name)!;
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const pages = (c: Consult): Page[] => [c.patient, c.clinician];

describe.skipIf(!process.env.SPK_MULTI_JANUS_E2E)('two Janus servers', { timeout: 300_000 }, () => {
  test('a drained server (internal API) gets no new consult; /status and the metric show it; the CLI undrains it', async () => {
    expect((await drain('janus-9', true)).status).toBe(404);
    const bad = await drain('janus-1', 'yes');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('draining');
    const ok = await drain('janus-1', true);
    expect(ok.status).toBe(200);
    expect(ok.body.server).toMatchObject({ name: 'janus-1', draining: true });
    expect(await statusOf('janus-1')).toMatchObject({ up: true, draining: true });
    const metrics = await (await fetch(`${stack.control.internalUrl}/metrics`)).text();
    expect(metrics).toContain('spreekkamer_janus_server_draining{janus="janus-1"} 1');
    expect(metrics).toContain('spreekkamer_janus_server_draining{janus="janus-2"} 0');

    const out: string[] = [];
    try {
      // Whatever the rendezvous hash would say, the consult goes to janus-2.
      consults.push(await admit(stack, clinician.page, await waitingPatient(stack, seeded, clinician.browser as Browser)));
      expect(await roomsOn(stack.januses[0]!)).not.toContain(consults[0]!.roomId);
      expect(await roomsOn(stack.januses[1]!)).toContain(consults[0]!.roomId);
    } finally {
      const code = await cli(['janus', 'undrain', 'janus-1'], { out: (t) => out.push(t), err: (t) => out.push(t), env: stack.env });
      expect(code, out.join('\n')).toBe(0);
    }
    await until('the control plane sees the undrain', async () => !(await statusOf('janus-1')).draining);
    expect(await cli(['janus', 'drain', 'janus-7'], { out: () => undefined, err: () => undefined, env: stack.env })).toBe(2);
  });

  test('the next consult goes to the less-loaded server', async () => {
    consults.push(await admit(stack, clinician.page, await waitingPatient(stack, seeded, clinician.browser as Browser)));
    expect(await serverOfRoom(stack, consults[1]!.roomId, [0, 1])).toBe(0);
    expect(await serverOfRoom(stack, consults[0]!.roomId, [0, 1])).toBe(1);
  });

  test('SIGKILL of a Janus server: its consult renegotiates onto the other (frames on both sides); the other consult goes on untouched; nobody dropped, a waiting patient stays waiting', async () => {
    const [moved, untouched] = [consults[1]!, consults[0]!];
    const waiting = await waitingPatient(stack, seeded, clinician.browser as Browser);
    for (const p of [...pages(moved), ...pages(untouched)]) await installFrameMeter(p);
    await new Promise((r) => setTimeout(r, 500));
    for (const p of [...pages(moved), ...pages(untouched)]) await markFrames(p);
    const before = await Promise.all(pages(untouched).map((p) => frameReport(p)));
    const killedAt = Date.now();
    stack.januses[0]!.kill('SIGKILL');
    const fresh = await Promise.all(pages(moved).map((p) => waitFreshFrames(p, 90_000)));
    console.log(`janus SIGKILL → frames on new connections: patient ${fresh[0]! - killedAt} ms, clinician ${fresh[1]! - killedAt} ms`);
    expect(await roomsOn(stack.januses[1]!)).toContain(moved.roomId);

    const after = await Promise.all(pages(untouched).map((p) => frameReport(p)));
    for (const [i, r] of after.entries()) {
      expect(r.flowing).toBe(true);
      expect(r.fresh, 'no new connection in the untouched consult').toBe(false);
      expect(r.connections).toBe(before[i]!.connections);
      // A sanity bound only (a busy 2-core machine stalls frames now and then); the proof is
      // above: same connections, frames still coming.
      expect(r.maxGapMs).toBeLessThan(5000);
    }
    // The moved consult keeps getting frames (checked until it does: the machine may stall a moment).
    for (const p of pages(moved)) await until('frames keep coming in the moved consult', async () => (await frameReport(p)).flowing, 30_000);

    // No drop, no second admission, no fallback: the visits are simply still in consult.
    const rows = (await stack.ds.query(
      `SELECT appointment_id, state, dropped_at FROM visit WHERE appointment_id = ANY($1::uuid[])`,
      [[moved.appointmentId, untouched.appointmentId, waiting.appointmentId]],
    )) as Array<{ appointment_id: string; state: string; dropped_at: Date | null }>;
    const state = new Map(rows.map((r) => [r.appointment_id, r]));
    expect(state.get(moved.appointmentId)).toMatchObject({ state: 'in_consult', dropped_at: null });
    expect(state.get(untouched.appointmentId)).toMatchObject({ state: 'in_consult', dropped_at: null });
    expect(state.get(waiting.appointmentId)).toMatchObject({ state: 'waiting' });
    const drops = (await stack.ds.query(
      `SELECT count(*)::int AS n FROM audit_event WHERE appointment_id = ANY($1::uuid[]) AND action LIKE '%drop%'`,
      [[moved.appointmentId, untouched.appointmentId]],
    )) as Array<{ n: number }>;
    expect(drops[0]!.n).toBe(0);
    await expectScreen(moved.patient, 'consult', 60_000);
    await expectScreen(waiting.patient, 'waiting', 60_000);
  });
});
