/**
 * What the relay and the time rules refuse, on the real stack: joining before the waiting
 * room opens, after the link expired, with a cancelled appointment, an unadmitted join or
 * publish, a relay message carrying `record` or another room; Janus listening on loopback
 * only; and no media file appearing anywhere Janus could write during a consult.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { cancelViaApi, createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { wsExchange } from './support/ws.js';

let stack: Stack;
let seeded: SeededClinic;

beforeAll(async () => {
  stack = await startStack({ name: 'e2e-refusals', basePort: 18200 });
  seeded = await seedClinic(stack);
});

afterAll(async () => {
  await stack?.stop();
});

const tokenOf = (link: string) => link.split('/p/')[1]!;

describe('the relay refuses', () => {
  test('start-visit before the waiting room opens; join before admission', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 60 });
    const r = await wsExchange(stack.control.publicUrl, [
      { id: 1, t: 'hello', token: tokenOf(a.patientLink) },
      { id: 2, t: 'start-visit' },
      { id: 3, t: 'join' },
      { id: 4, t: 'publish', jsep: { type: 'offer', sdp: 'v=0' } },
    ]);
    expect(r[0]).toMatchObject({ t: 'reply', id: 1 });
    expect(r[1]).toMatchObject({ t: 'error', id: 2, code: 'too_early' });
    expect(r[2]).toMatchObject({ t: 'error', id: 3, code: 'not_admitted' });
    expect(r[3]).toMatchObject({ t: 'error', id: 4, code: 'not_joined' });
  });

  test('a waiting but unadmitted patient cannot join or publish', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const r = await wsExchange(stack.control.publicUrl, [
      { id: 1, t: 'hello', token: tokenOf(a.patientLink) },
      { id: 2, t: 'start-visit' },
      { id: 3, t: 'join' },
      { id: 4, t: 'subscribe', feed: 1 },
    ]);
    expect(r[1]).toMatchObject({ t: 'reply', id: 2, data: { visitState: 'waiting' } });
    expect(r[2]).toMatchObject({ t: 'error', id: 3, code: 'not_admitted' });
    expect(r[3]).toMatchObject({ t: 'error', id: 4, code: 'not_joined' });
  });

  test('after the link expired', async () => {
    // Started 2 hours ago, 15 minutes long, 30 minutes grace: expired.
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: -120 });
    const r = await wsExchange(stack.control.publicUrl, [
      { id: 1, t: 'hello', token: tokenOf(a.patientLink) },
      { id: 2, t: 'start-visit' },
    ]);
    expect(r[0]).toMatchObject({ t: 'reply', id: 1, data: { state: { phase: 'expired' } } });
    expect(r[1]).toMatchObject({ t: 'error', id: 2, code: 'expired' });
  });

  test('with a cancelled appointment', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await cancelViaApi(stack, seeded, a.id);
    const r = await wsExchange(stack.control.publicUrl, [{ id: 1, t: 'hello', token: tokenOf(a.patientLink) }]);
    expect(r[0]).toMatchObject({ t: 'error', id: 1, code: 'not_authenticated' });
    // The page still tells the patient why.
    const page = await fetch(`${stack.control.publicUrl}/api/patient/appointment`, {
      headers: { authorization: `Bearer ${tokenOf(a.patientLink)}` },
    });
    expect(((await page.json()) as any).state.visitState).toBe('cancelled');
  });

  test('messages carrying record, filename or another room, and unknown actions', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const r = await wsExchange(stack.control.publicUrl, [
      { id: 1, t: 'hello', token: tokenOf(a.patientLink) },
      { id: 2, t: 'publish', jsep: { type: 'offer', sdp: 'v=0' }, record: true },
      { id: 3, t: 'publish', jsep: { type: 'offer', sdp: 'v=0' }, filename: '/tmp/x' },
      { id: 4, t: 'join', room: 1234 },
      { id: 5, t: 'enable_recording' },
      { id: 6, t: 'subscribe', feed: 1, extra: 1 },
    ]);
    expect(r[1]).toMatchObject({ t: 'error', id: 2, code: 'forbidden_parameter', message: expect.stringContaining('record') });
    expect(r[2]).toMatchObject({ t: 'error', id: 3, code: 'forbidden_parameter', message: expect.stringContaining('filename') });
    expect(r[3]).toMatchObject({ t: 'error', id: 4, code: 'forbidden_parameter', message: expect.stringContaining('room') });
    expect(r[4]).toMatchObject({ t: 'error', id: 5, code: 'unknown_action' });
    expect(r[5]).toMatchObject({ t: 'error', id: 6, code: 'bad_request', message: expect.stringContaining('extra') });
  });

  test('a staff socket on the public listener, and staff pages and the integration API there', async () => {
    for (const path of ['/staff/', '/staff/login', '/staff/api/me', '/api/v1/appointments', '/readyz']) {
      const res = await fetch(stack.control.publicUrl + path);
      expect(res.status, path).toBe(404);
    }
    await expect(wsExchange(stack.control.publicUrl, [{ id: 1, t: 'ping' }], '/staff/ws')).rejects.toThrow();
  });
});

describe('Janus is out of reach and records nothing', () => {
  test('the Janus API and Admin API listen on loopback only', () => {
    const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
    const mine = out.split('\n').filter((l) => l.includes(`pid=${stack.janus.pid},`));
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (const line of mine) {
      const local = line.trim().split(/\s+/)[3]!;
      expect(local, line).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+$/);
    }
  });

  test('no media file appears anywhere Janus could write during a consult', async () => {
    const janusCwd = `/proc/${stack.janus.pid}/cwd`;
    // Janus runs in its own config folder (test/support/janus.ts); its cwd is where a relative
    // recording path would land.
    const suspects = ['/tmp', '/var/tmp', '/var/lib/janus', '/usr/share/janus', '/var/lib/janus/recordings'];
    if (existsSync(janusCwd)) suspects.push(janusCwd);
    const before = snapshotFiles(suspects);

    const [patient, clinician] = await Promise.all([launchBrowser(), launchBrowser()]);
    try {
      clinician.page.on('dialog', (d) => void d.accept());
      await signInClinician(clinician.page, stack, seeded);
      const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
      await patient.page.goto(a.patientLink);
      await patient.page.getByTestId('start-visit').click();
      await patient.page.waitForSelector('[data-testid="screen"][data-state="waiting"]');
      await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
      await clinician.page
        .locator(`[data-testid="appointment-row"][data-appointment-id="${a.id}"] [data-testid="admit"]`)
        .click({ timeout: 15_000 });
      await Promise.all([waitForRemoteMedia(patient.page), waitForRemoteMedia(clinician.page)]);
      await new Promise((r) => setTimeout(r, 2000));
      await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
      await patient.page.waitForSelector('[data-testid="screen"][data-state="ended"]');
    } finally {
      await patient.close();
      await clinician.close();
    }

    const after = snapshotFiles(suspects);
    const fresh = [...after].filter((f) => !before.has(f) && /\.(mjr|webm|mkv|opus|ogg|wav|mp4|pcap|rtp|h264|vp8)$/i.test(f));
    const janusDirs = ['/var/lib/janus', '/usr/share/janus', existsSync(janusCwd) ? realpathSync(janusCwd) : '/nonexistent'];
    const janusFiles = [...after].filter(
      (f) => !before.has(f) && janusDirs.some((d) => f.startsWith(d + '/')) && !f.endsWith('.log'),
    );
    expect(fresh).toEqual([]);
    expect(janusFiles).toEqual([]);
  });
});

function snapshotFiles(dirs: string[]): Set<string> {
  const files = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 3 || !existsSync(dir)) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'node_modules' || e === '.git') continue;
      const p = join(dir, e);
      try {
        const st = statSync(p);
        if (st.isDirectory()) walk(p, depth + 1);
        else files.add(p);
      } catch {
        /* vanished */
      }
    }
  };
  for (const d of dirs) walk(d, 0);
  return files;
}

describe('guessing patient links', () => {
  test('unknown links are counted per address and refused with 429 after 30 tries', async () => {
    const bogus = (i: number) => `${'x'.repeat(40)}${String(i).padStart(3, '0')}`;
    // The counter is shared across tests in this Redis: start from a clean slate for this address.
    const { createClient } = await import('redis');
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    for (const key of await redis.keys('spk:*:patient-link:*')) await redis.del(key);
    let status = 0;
    let tries = 0;
    while (tries < 40) {
      const res = await fetch(`${stack.control.publicUrl}/api/patient/appointment`, {
        headers: { authorization: `Bearer ${bogus(tries)}` },
      });
      tries++;
      status = res.status;
      if (status === 429) break;
      expect(status).toBe(404);
    }
    expect(status).toBe(429);
    expect(tries).toBe(31);
    // The socket shares the counter.
    const r = await wsExchange(stack.control.publicUrl, [{ id: 1, t: 'hello', token: bogus(99) }]);
    expect(r[0]).toMatchObject({ t: 'error', code: 'not_authenticated', message: expect.stringContaining('too many') });
    // A valid link from the same address (another resident behind the care home's NAT) still
    // works, on the API and on the socket (issue 14, defect 13).
    const valid = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const ok = await fetch(`${stack.control.publicUrl}/api/patient/appointment`, { headers: { authorization: `Bearer ${tokenOf(valid.patientLink)}` } });
    expect(ok.status).toBe(200);
    const hello = await wsExchange(stack.control.publicUrl, [{ id: 1, t: 'hello', token: tokenOf(valid.patientLink) }]);
    expect(hello[0]).toMatchObject({ t: 'reply', id: 1 });
    for (const key of await redis.keys('spk:*:patient-link:*')) await redis.del(key);
    await redis.quit();
  });
});
