/**
 * TURN for patients behind strict firewalls, against a real coturn (Debian's `turnserver`) with
 * the shared-secret scheme the appliance deploys (use-auth-secret). The control plane hands each
 * browser short-lived credentials in the hello reply.
 *
 * The network: coturn runs in a namespace of its own on the test's wire (a macvlan of v1,
 * 10.77.0.4, like the patient's namespace of support/patient-net.ts), so its relay address is a
 * real other host for Janus — with coturn in the test namespace itself, Janus's libnice drops the
 * relayed candidates ("Failed to add some remote candidates"): the address is one of its own.
 *
 *   test namespace: Janus, control planes, the clinician (v0 10.77.0.1) ── wire ──┬─ patient ns 10.77.0.3
 *                                                                                  └─ TURN ns 10.77.0.4
 *
 * Proven: the credentials are what coturn checks (a forged password gets no allocation); and a
 * patient whose firewall lets no UDP through but to the TURN server (nftables in the patient's
 * namespace) still gets into the consult, both sides decoding each other's video, the patient's
 * media relayed by coturn.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type ControlPlane, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, startConsult, type SeededClinic } from './support/scenario.js';
import { PHONE } from './support/patient-page.js';
import { RelayClient, tokenOf } from './support/relay-client.js';
import {
  createPatientNet,
  launchChromium,
  startPatientControlPlane,
  SERVER_ADDR,
  type LaunchedChromium,
  type PatientNet,
} from './support/patient-net.js';

const TURN_ADDR = '10.77.0.4';
const TURN_DEV = 'spkturn';
const TURN_PORT = 3478;
const SECRET = randomBytes(24).toString('hex');
const PATIENT_PORTS = { public: 19710, internal: 19711 };
const ORIGIN = `http://${SERVER_ADDR}:${PATIENT_PORTS.public}`;
const FIREWALL = 'spk_test_firewall';

let stack: Stack;
let seeded: SeededClinic;
let turnNs: string;
let turn: ChildProcess;
let turnLog = '';
let net: PatientNet;
let patientControl: ControlPlane;
let patient: LaunchedChromium;
let clinician: TestBrowser;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    /* already gone */
  }
};

beforeAll(async () => {
  const parent = process.env.SPK_NETNS;
  if (!parent) throw new Error('run inside scripts/with-netns.sh (SPK_NETNS is not set)');
  turnNs = `${parent}-turn`;
  quietly(() => ip('netns', 'del', turnNs));
  quietly(() => ip('route', 'del', `${TURN_ADDR}/32`));
  ip('netns', 'add', turnNs);
  ip('link', 'add', 'link', 'v1', 'name', TURN_DEV, 'type', 'macvlan', 'mode', 'bridge');
  ip('link', 'set', TURN_DEV, 'netns', turnNs);
  // The test namespace reaches the TURN host through v0, as it does the patient.
  ip('route', 'add', `${TURN_ADDR}/32`, 'dev', 'v0');
  ip('netns', 'exec', turnNs, 'ip', 'link', 'set', 'lo', 'up');
  ip('netns', 'exec', turnNs, 'ip', 'addr', 'add', `${TURN_ADDR}/24`, 'dev', TURN_DEV);
  ip('netns', 'exec', turnNs, 'ip', 'link', 'set', TURN_DEV, 'up');
  turn = spawn('ip', [
    'netns', 'exec', turnNs, 'turnserver',
    '-n', '-v', '--no-cli', '--no-tls', '--no-dtls', '--simple-log', '--log-file', 'stdout',
    '--listening-ip', TURN_ADDR, '--relay-ip', TURN_ADDR, '--listening-port', String(TURN_PORT),
    '--min-port', '49160', '--max-port', '49200',
    '--use-auth-secret', '--static-auth-secret', SECRET, '--realm', 'spreekkamer.test',
    '--fingerprint', '--no-multicast-peers', '--pidfile', '',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout!.on('data', (d) => (turnLog += String(d)));
  turn.stderr!.on('data', (d) => (turnLog += String(d)));

  stack = await startStack({
    name: 'turn',
    basePort: 19700,
    env: { TURN_URLS: `turn:${TURN_ADDR}:${TURN_PORT}?transport=udp`, TURN_SECRET: SECRET, TURN_TTL_SECONDS: '600' },
  });
  seeded = await seedClinic(stack);
  net = createPatientNet();
  [patientControl, patient, clinician] = await Promise.all([
    startPatientControlPlane(stack, PATIENT_PORTS),
    launchChromium({
      executablePath: net.chromiumPath,
      viewport: PHONE,
      args: [`--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`],
    }),
    launchBrowser(),
  ]);
  clinician.page.on('dialog', (d) => void d.accept());
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  quietly(() => ip('netns', 'exec', net.ns, 'nft', 'delete', 'table', 'inet', FIREWALL));
  await patient?.close();
  await clinician?.close();
  await patientControl?.stop();
  net?.destroy();
  await stack?.stop();
  turn?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  quietly(() => ip('netns', 'del', turnNs));
  quietly(() => ip('route', 'del', `${TURN_ADDR}/32`));
});

/** ICE candidates a relay-only peer connection gathers in the page with these servers. */
function gatherRelay(iceServers: RTCIceServer[]): Promise<string[]> {
  return clinician.page.evaluate(async (iceServers) => {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    pc.addTransceiver('audio');
    const found: string[] = [];
    pc.onicecandidate = (e) => {
      if (e.candidate?.candidate) found.push(e.candidate.candidate);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 4000);
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      };
    });
    pc.close();
    return found;
  }, iceServers);
}

describe('TURN', () => {
  test('the hello reply carries short-lived credentials coturn accepts; a forged password gets nothing', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const ws = await RelayClient.open(stack.control.publicUrl);
    const hello = await ws.request({ t: 'hello', token: tokenOf(a.patientLink) });
    await ws.close();
    const [server] = hello.data.iceServers;
    expect(server.urls).toEqual([`turn:${TURN_ADDR}:${TURN_PORT}?transport=udp`]);
    const expiry = Number(server.username.split(':')[0]);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(590);
    expect(expiry - Date.now() / 1000).toBeLessThan(610);
    // Nothing of the patient in what the TURN server gets to see and log.
    expect(server.username).not.toContain(a.id);

    const good = await gatherRelay([server]);
    expect(good.length).toBeGreaterThan(0);
    expect(good.every((c) => / typ relay /.test(c) && c.includes(TURN_ADDR))).toBe(true);
    expect(await gatherRelay([{ ...server, credential: 'bm90IHRoZSByaWdodCBvbmU=' }])).toEqual([]);
    expect(turnLog).toContain(`user <${server.username}>: incoming packet ALLOCATE processed, success`);
  });

  test('a patient whose firewall passes no UDP but to the TURN server gets into the consult: media both ways, relayed', async () => {
    // The patient's firewall: web traffic (TCP) to the hospital as usual; UDP only to and from
    // the TURN server. Direct media to Janus is impossible.
    const ruleset = [
      `table inet ${FIREWALL} {`,
      `  chain out { type filter hook output priority 0; policy accept; meta l4proto udp ip daddr != ${TURN_ADDR} drop; }`,
      `  chain in { type filter hook input priority 0; policy accept; meta l4proto udp ip saddr != ${TURN_ADDR} drop; }`,
      `}`,
    ].join('\n');
    execFileSync('ip', ['netns', 'exec', net.ns, 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] });

    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const { patient: p, clinician: c } = await startConsult(stack, { patient: patient.page, clinician: clinician.page }, a, { patientUrl: `${ORIGIN}/p/${tokenOf(a.patientLink)}`, timeoutMs: 25_000 });
    expect(p.framesDecoded).toBeGreaterThan(5);
    expect(c.framesDecoded).toBeGreaterThan(5);

    // Every connection the patient's browser uses goes through coturn.
    const types = await patient.page.evaluate(async () => {
      const out: string[] = [];
      for (const pc of (window as any).spkDebug.pcs() as RTCPeerConnection[]) {
        const stats = await pc.getStats();
        stats.forEach((s: any) => {
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') out.push(stats.get(s.localCandidateId)?.candidateType);
        });
      }
      return out;
    });
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['relay']));
  });
});
