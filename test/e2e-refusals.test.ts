/**
 * What the relay and the time rules refuse, on the real stack: joining before the waiting
 * room opens, after the link expired, with a cancelled appointment, an unadmitted join or
 * publish, a relay message carrying `record` or another room; Janus listening on loopback
 * only; and nothing written anywhere Janus could write during a consult — Janus run as the
 * deployment runs it (unprivileged, every filesystem read-only), checked from its own view.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { cancelViaApi, createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { wsExchange } from './support/ws.js';

let stack: Stack;
let seeded: SeededClinic;

beforeAll(async () => {
  // Janus as deployed: its own unprivileged user, no capabilities, no writable directory.
  stack = await startStack({ name: 'e2e-refusals', basePort: 18200, janusUnprivileged: true });
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

  test('a join held in the waiting room: kept unanswered, dropped by leave, refused when the appointment is cancelled', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(stack.control.publicUrl.replace(/^http/, 'ws') + '/ws');
    const got: any[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    const answerTo = async (id: number) => {
      await expect.poll(() => got.find((m) => m.id === id && (m.t === 'reply' || m.t === 'error')), { timeout: 10_000 }).toBeTruthy();
      return got.find((m) => m.id === id && (m.t === 'reply' || m.t === 'error'));
    };
    const offer = { type: 'offer', sdp: 'v=0' };
    try {
      ws.send(JSON.stringify({ id: 1, t: 'hello', token: tokenOf(a.patientLink) }));
      ws.send(JSON.stringify({ id: 2, t: 'start-visit' }));
      expect(await answerTo(2)).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
      // Held: no answer, and the socket's later requests are not stuck behind it.
      ws.send(JSON.stringify({ id: 3, t: 'join', wait: true, publish: { jsep: offer } }));
      ws.send(JSON.stringify({ id: 4, t: 'ping' }));
      expect(await answerTo(4)).toMatchObject({ t: 'reply' });
      expect(got.find((m) => m.id === 3)).toBeUndefined();
      // `leave` withdraws it.
      ws.send(JSON.stringify({ id: 5, t: 'leave' }));
      expect(await answerTo(3)).toMatchObject({ t: 'error', code: 'not_joined' });
      expect(await answerTo(5)).toMatchObject({ t: 'reply' });
      // Held again, then the EHR cancels: refused as such, never carried out.
      ws.send(JSON.stringify({ id: 6, t: 'join', wait: true, publish: { jsep: offer } }));
      ws.send(JSON.stringify({ id: 7, t: 'ping' }));
      await answerTo(7);
      expect(got.find((m) => m.id === 6)).toBeUndefined();
      await cancelViaApi(stack, seeded, a.id);
      expect(await answerTo(6)).toMatchObject({ t: 'error', code: 'cancelled' });
      // Without `wait` (or not a waiting patient) a join is refused at once, as before.
      ws.send(JSON.stringify({ id: 8, t: 'join', publish: { jsep: offer } }));
      expect(await answerTo(8)).toMatchObject({ t: 'error' });
    } finally {
      ws.close();
    }
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

  test('nothing is written anywhere Janus could write during a consult (its own view: user, mounts, open files)', async () => {
    const pid = stack.janus.pid;
    // Who Janus is: nobody, with no capabilities (it cannot override file permissions).
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1)).toEqual(['65534', '65534', '65534', '65534']);
    expect(/^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1)).toEqual(['65534', '65534', '65534', '65534']);
    expect(/^CapEff:\s+(\w+)/m.exec(status)![1]).toMatch(/^0+$/);
    // Where it could write: every filesystem it sees is mounted read-only.
    expect(writableMounts(pid)).toEqual([]);
    // What it has open for writing: only the log (stdout/stderr) the test gave it.
    const log = realpathSync(readlinkSync(`/proc/${pid}/fd/1`));
    expect(log.endsWith('/janus.log')).toBe(true);
    expect(openForWriting(pid, log)).toEqual([]);

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
      // Mid-consult, media flowing through it: still nothing open for writing, still read-only.
      for (let i = 0; i < 4; i++) {
        expect(openForWriting(pid, log)).toEqual([]);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(writableMounts(pid)).toEqual([]);
      expect(stack.janus.pid).toBe(pid);
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
    expect(openForWriting(pid, log)).toEqual([]);
  });
});

/** Kernel interfaces, not storage. */
const KERNEL_FS = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'bpf', 'configfs', 'fusectl', 'pstore']);

/**
 * Mounts the process sees read-write (from /proc/<pid>/mountinfo), storage only. Of several
 * mounts on one mount point only the last (the one on top, the one reachable) counts.
 */
function writableMounts(pid: number): string[] {
  const top = new Map<string, { options: string[]; fstype: string }>();
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean)) {
    const [left, right] = line.split(' - ');
    const f = left!.split(' ');
    top.set(f[4]!, { options: f[5]!.split(','), fstype: right!.split(' ')[0]! });
  }
  return [...top]
    .filter(([, m]) => !KERNEL_FS.has(m.fstype) && !m.options.includes('ro'))
    .map(([mountPoint, m]) => `${mountPoint} (${m.fstype})`);
}

/** Files (not devices, sockets or pipes) the process holds open for writing, other than `except`. */
function openForWriting(pid: number, except: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    let flags: number;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      flags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    } catch {
      continue; // closed meanwhile
    }
    if (!target.startsWith('/') || target.startsWith('/dev/')) continue;
    if ((flags & 3) === 0) continue; // O_RDONLY
    if (target === except) continue;
    found.push(`fd ${fd} → ${target}`);
  }
  return found;
}

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
