/**
 * TURN for patients behind strict firewalls, against a real coturn (Debian's `turnserver`)
 * started inside the test's namespace with the shared-secret scheme the appliance deploys
 * (use-auth-secret). The control plane hands each browser short-lived credentials in the
 * hello reply; Chromium, limited to relayed candidates, gets a relay allocation with them and
 * none with a forged password.
 *
 * Not proven here: media from a relay-only browser all the way to Janus. In this one-namespace
 * set-up (coturn's relay address is also a local address of Janus's host) Janus's libnice
 * drops the relayed remote candidates ("Failed to add some remote candidates") and the checks
 * go unanswered; a second namespace for coturn would model a real network better.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { RelayClient, tokenOf } from './support/relay-client.js';

const TURN_IP = '10.77.0.2';
const TURN_PORT = 3478;
const SECRET = randomBytes(24).toString('hex');

let stack: Stack;
let seeded: SeededClinic;
let turn: ChildProcess;
let turnLog = '';
let patient: TestBrowser;

beforeAll(async () => {
  turn = spawn('turnserver', [
    '-n', '-v', '--no-cli', '--no-tls', '--no-dtls', '--simple-log', '--log-file', 'stdout',
    '--listening-ip', TURN_IP, '--relay-ip', TURN_IP, '--listening-port', String(TURN_PORT),
    '--min-port', '49160', '--max-port', '49200',
    '--use-auth-secret', '--static-auth-secret', SECRET, '--realm', 'spreekkamer.test',
    '--fingerprint', '--no-multicast-peers', '--pidfile', '',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout!.on('data', (d) => (turnLog += String(d)));
  turn.stderr!.on('data', (d) => (turnLog += String(d)));
  stack = await startStack({
    name: 'turn',
    basePort: 19700,
    env: { TURN_URLS: `turn:${TURN_IP}:${TURN_PORT}?transport=udp`, TURN_SECRET: SECRET, TURN_TTL_SECONDS: '600' },
  });
  seeded = await seedClinic(stack);
  patient = await launchBrowser({ viewport: { width: 390, height: 844 } });
});

afterAll(async () => {
  await patient?.close();
  await stack?.stop();
  turn?.kill('SIGTERM');
});

describe('TURN', () => {
  test('the hello reply carries short-lived coturn credentials', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const ws = await RelayClient.open(stack.control.publicUrl);
    const hello = await ws.request({ t: 'hello', token: tokenOf(a.patientLink) });
    await ws.close();
    const [server] = hello.data.iceServers;
    expect(server.urls).toEqual([`turn:${TURN_IP}:${TURN_PORT}?transport=udp`]);
    const expiry = Number(server.username.split(':')[0]);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(590);
    expect(expiry - Date.now() / 1000).toBeLessThan(610);
    // Nothing of the patient in what the TURN server gets to see and log.
    expect(server.username).not.toContain(a.id);
  });

  test('real coturn accepts the handed-out credentials and relays for the browser; a forged password is refused', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const ws = await RelayClient.open(stack.control.publicUrl);
    const hello = await ws.request({ t: 'hello', token: tokenOf(a.patientLink) });
    await ws.close();
    const servers = hello.data.iceServers as RTCIceServer[];
    await patient.page.goto(`${stack.control.publicUrl}/livez`);
    const gather = (iceServers: RTCIceServer[]) =>
      patient.page.evaluate(async (iceServers) => {
        // Relay-only, as a browser behind a firewall that lets nothing but TURN through.
        const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
        pc.addTransceiver('audio');
        const found: string[] = [];
        pc.onicecandidate = (e) => {
          if (e.candidate?.candidate) found.push(e.candidate.candidate);
        };
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 8000);
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

    const good = await gather(servers);
    expect(good.length).toBeGreaterThan(0);
    expect(good.every((c) => / typ relay /.test(c) && c.includes(TURN_IP))).toBe(true);

    const forged = await gather([{ ...servers[0]!, credential: 'bm90IHRoZSByaWdodCBvbmU=' }]);
    expect(forged).toEqual([]);
    // coturn saw an authenticated allocation for our user name.
    expect(turnLog).toContain(`user <${servers[0]!.username}>: incoming packet ALLOCATE processed, success`);
  });
});
