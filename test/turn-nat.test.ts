/**
 * TURN and the clinician across the documented 1:1 NAT, with media (issue 12, defect 3 and the
 * proof "a patient outside the NAT gets media through TURN to Janus"). The multi-server
 * inventory's layout, in network namespaces this test makes:
 *
 *   internal zone (the test namespace, 10.77.0.0/24): Janus on 10.77.0.1 (v0), the control
 *   planes, the clinician's browser
 *        │ (a macvlan of v1: the router's inside leg, 10.77.0.254)
 *   router namespace: 1:1 NAT (nftables dnat/snat) and a forward filter
 *        │ 10.78.0.1                                  │ 203.0.113.1 ("the internet")
 *   DMZ namespace: coturn on 10.78.0.2             patient namespace: 203.0.113.50, her own
 *                                                  firewall passes UDP to the TURN server only
 *
 *   public 203.0.113.21 ⇄ Janus 10.77.0.1 · 203.0.113.30 ⇄ coturn 10.78.0.2 ·
 *   203.0.113.10 (the proxy's address) → the control plane's patient site on 10.77.0.1
 *
 * The router does not hairpin (its dnat applies to what comes in from the internet only), as a
 * strict hospital firewall does not: whoever inside needs a public address of Janus fails.
 *
 * Janus and coturn run with what the roles render for this layout (test/deploy/render-nat.yml
 * with the janus and coturn roles, an inventory of the test's addresses): Janus's nat section
 * as the janus role writes it (`nat_1_1_mapping` + `keep_private_host`), spliced into the test's
 * janus.jcfg; coturn's turnserver.conf from the role's template, as is but for `syslog` (its
 * log goes to the test instead). The rendered multi-server inventory is checked for the same
 * lines by scripts/test-deploy.sh.
 *
 * Proven: a TURN allocation gets a permission to Janus's private media address only (not its
 * public one, not coturn's own, not the control plane's other address, loopback, CGNAT or the
 * internet); a patient outside whose firewall passes only the TURN server gets into the consult,
 * both sides decode each other's video, her selected pairs relayed by coturn to Janus's private
 * address; Janus advertises both addresses; the clinician inside reaches Janus on its private
 * host candidate (no hairpin).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, spawnControlPlane, type ControlPlane, type Stack } from './support/stack.js';
import { CHROMIUM, launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, startConsult, type SeededClinic } from './support/scenario.js';
import { PHONE } from './support/patient-page.js';
import { launchChromium, type LaunchedChromium } from './support/patient-net.js';
import { tokenOf } from './support/relay-client.js';

const ROOT = resolve(import.meta.dirname, '..');
const BASE = 22600;
/** Janus-1's RTP ports in startStack. */
const JANUS_RTP = '20000-23999';

const JANUS_PRIVATE = '10.77.0.1';
const JANUS_PUBLIC = '203.0.113.21';
const CP_OTHER = '10.77.0.2';
const ROUTER_INSIDE = '10.77.0.254';
const ROUTER_DMZ = '10.78.0.1';
const TURN_PRIVATE = '10.78.0.2';
const TURN_PUBLIC = '203.0.113.30';
const ROUTER_PUBLIC = '203.0.113.1';
const PROXY_PUBLIC = '203.0.113.10';
const PATIENT = '203.0.113.50';
const TURN_PORT = 3478;
const SECRET = randomBytes(24).toString('hex');
const PATIENT_PORTS = { public: BASE + 10, internal: BASE + 11 };
const ORIGIN = `http://${PROXY_PUBLIC}:${PATIENT_PORTS.public}`;

let ns: { router: string; dmz: string; out: string };
let dir: string;
let rendered: { janusNat: string; turnserver: string };
let stack: Stack;
let seeded: SeededClinic;
let turn: ChildProcess;
let turnLog = '';
let patientControl: ControlPlane;
let patient: LaunchedChromium;
let clinician: TestBrowser;

function run(cmd: string, args: string[], opts: { quiet?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    if (opts.quiet) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}
const inNs = (name: string, ...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);

/** What the janus and coturn roles render for this layout (test/deploy/render-nat.yml). */
function renderWithTheRoles(): { janusNat: string; turnserver: string } {
  const inventory = {
    all: {
      children: {
        janus: {
          hosts: {
            media: {
              ansible_host: JANUS_PRIVATE,
              janus_bind_address: '127.0.0.1',
              // The test namespace's Janus gathers on v0 only (as every test's Janus does).
              janus_ice_enforce_list: 'v0',
              janus_nat_1_1_mapping: JANUS_PUBLIC,
            },
          },
        },
        turn: {
          hosts: {
            turn: {
              ansible_host: TURN_PRIVATE,
              coturn_external_ip: TURN_PUBLIC,
              coturn_allowed_peer_ips: [JANUS_PRIVATE],
              coturn_realm: 'spreekkamer.test',
              coturn_tls_certificate: join(dir, 'turn.crt'),
              coturn_tls_key: join(dir, 'turn.key'),
            },
          },
        },
      },
    },
  };
  writeFileSync(join(dir, 'inventory.json'), JSON.stringify(inventory));
  const secrets = { janus_api_secret: 'unused', janus_admin_secret: 'unused', janus_admin_key: 'unused', janus_events_password: 'unused', turn_secret: SECRET };
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ spreekkamer_secrets: secrets }), { mode: 0o600 });
  const A = join(ROOT, 'deploy', 'ansible');
  execFileSync(
    'ansible-playbook',
    ['-i', join(dir, 'inventory.json'), join(ROOT, 'test', 'deploy', 'render-nat.yml'), '-e', `out=${join(dir, 'out')}`, '-e', `@${join(dir, 'secrets.json')}`],
    {
      cwd: ROOT,
      env: { ...process.env, ANSIBLE_CONFIG: join(A, 'ansible.cfg'), ANSIBLE_ROLES_PATH: join(A, 'roles'), ANSIBLE_NOCOLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const janusNat = /^nat: \{\n[\s\S]*?^\}$/m.exec(readFileSync(join(dir, 'out', 'media', 'janus.jcfg'), 'utf8'))?.[0];
  if (!janusNat) throw new Error('no nat section in the janus role\'s janus.jcfg');
  return { janusNat, turnserver: readFileSync(join(dir, 'out', 'turn', 'turnserver.conf'), 'utf8') };
}

/** The router, the DMZ with its TURN host, and the internet with the patient. */
function buildNetwork(parent: string): void {
  ns = { router: `${parent}-rt`, dmz: `${parent}-dmz`, out: `${parent}-out` };
  tearDownNetwork();
  for (const n of Object.values(ns)) {
    run('ip', ['netns', 'add', n]);
    inNs(n, 'ip', 'link', 'set', 'lo', 'up');
  }
  // Inside leg: on the test namespace's wire (libnice binds Janus's sockets to v0, so Janus
  // answers only hosts on v0's wire; see support/patient-net.ts).
  run('ip', ['link', 'add', 'link', 'v1', 'name', 'spkrtin', 'type', 'macvlan', 'mode', 'bridge']);
  run('ip', ['link', 'set', 'spkrtin', 'netns', ns.router]);
  inNs(ns.router, 'ip', 'addr', 'add', `${ROUTER_INSIDE}/24`, 'dev', 'spkrtin');
  inNs(ns.router, 'ip', 'link', 'set', 'spkrtin', 'up');
  // The internal zone reaches the DMZ and the internet through the router (no default route:
  // the test namespace never gets one).
  run('ip', ['route', 'add', '10.78.0.0/24', 'via', ROUTER_INSIDE, 'dev', 'v0']);
  run('ip', ['route', 'add', '203.0.113.0/24', 'via', ROUTER_INSIDE, 'dev', 'v0']);
  // DMZ leg.
  inNs(ns.router, 'ip', 'link', 'add', 'rtdmz', 'type', 'veth', 'peer', 'name', 'dmz0', 'netns', ns.dmz);
  inNs(ns.router, 'ip', 'addr', 'add', `${ROUTER_DMZ}/24`, 'dev', 'rtdmz');
  inNs(ns.router, 'ip', 'link', 'set', 'rtdmz', 'up');
  inNs(ns.dmz, 'ip', 'addr', 'add', `${TURN_PRIVATE}/24`, 'dev', 'dmz0');
  inNs(ns.dmz, 'ip', 'link', 'set', 'dmz0', 'up');
  inNs(ns.dmz, 'ip', 'route', 'add', 'default', 'via', ROUTER_DMZ);
  // Internet leg: the patient has one address and a default route (Chromium gathers no ICE
  // candidates without one); every public address is the router's to answer for.
  inNs(ns.router, 'ip', 'link', 'add', 'rtpub', 'type', 'veth', 'peer', 'name', 'pub0', 'netns', ns.out);
  inNs(ns.router, 'ip', 'addr', 'add', `${ROUTER_PUBLIC}/24`, 'dev', 'rtpub');
  inNs(ns.router, 'ip', 'link', 'set', 'rtpub', 'up');
  inNs(ns.out, 'ip', 'addr', 'add', `${PATIENT}/32`, 'dev', 'pub0');
  inNs(ns.out, 'ip', 'link', 'set', 'pub0', 'up');
  inNs(ns.out, 'ip', 'route', 'add', `${ROUTER_PUBLIC}/32`, 'dev', 'pub0');
  inNs(ns.out, 'ip', 'route', 'add', 'default', 'via', ROUTER_PUBLIC, 'dev', 'pub0');
  inNs(ns.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // The hospital's firewall: 1:1 NAT for Janus and TURN, the proxy's port, and the zoning
  // table's flows (internet → Janus media, internet → TURN, TURN → Janus media; inside → out).
  const ruleset = `
table ip spk_nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "rtpub" ip daddr ${JANUS_PUBLIC} dnat to ${JANUS_PRIVATE}
    iifname "rtpub" ip daddr ${TURN_PUBLIC} dnat to ${TURN_PRIVATE}
    iifname "rtpub" ip daddr ${PROXY_PUBLIC} tcp dport ${PATIENT_PORTS.public} dnat to ${JANUS_PRIVATE}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "rtpub" ip saddr ${JANUS_PRIVATE} snat to ${JANUS_PUBLIC}
    oifname "rtpub" ip saddr ${TURN_PRIVATE} snat to ${TURN_PUBLIC}
  }
  chain filter_forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "rtpub" ip daddr ${JANUS_PRIVATE} udp dport ${JANUS_RTP} accept
    iifname "rtpub" ip daddr ${JANUS_PRIVATE} tcp dport ${PATIENT_PORTS.public} accept
    iifname "rtpub" ip daddr ${TURN_PRIVATE} udp dport { ${TURN_PORT}, 49160-49999 } accept
    iifname "rtpub" ip daddr ${TURN_PRIVATE} tcp dport { ${TURN_PORT}, 443 } accept
    iifname "rtdmz" oifname "spkrtin" ip daddr ${JANUS_PRIVATE} udp dport ${JANUS_RTP} accept
    iifname "spkrtin" accept
  }
}
`;
  run('ip', ['netns', 'exec', ns.router, 'nft', '-f', '-'], { input: ruleset });
  // The patient's own firewall: web traffic as usual, UDP only to and from the TURN server.
  const patientFirewall = `
table inet spk_patient {
  chain out { type filter hook output priority 0; policy accept; meta l4proto udp ip daddr != ${TURN_PUBLIC} drop; }
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp ip saddr != ${TURN_PUBLIC} drop; }
}
`;
  run('ip', ['netns', 'exec', ns.out, 'nft', '-f', '-'], { input: patientFirewall });
}

function tearDownNetwork(): void {
  if (!ns) return;
  for (const n of Object.values(ns)) {
    for (const pid of run('ip', ['netns', 'pids', n], { quiet: true }).split('\n').filter(Boolean)) run('kill', ['-9', pid], { quiet: true });
    run('ip', ['netns', 'del', n], { quiet: true });
  }
  run('ip', ['route', 'del', '10.78.0.0/24'], { quiet: true });
  run('ip', ['route', 'del', '203.0.113.0/24'], { quiet: true });
}

beforeAll(async () => {
  const parent = process.env.SPK_NETNS;
  if (!parent) throw new Error('run inside scripts/with-netns.sh (SPK_NETNS is not set)');
  dir = mkdtempSync(join(tmpdir(), 'spk-turn-nat-'));
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=spreekkamer.test',
    '-keyout', join(dir, 'turn.key'), '-out', join(dir, 'turn.crt')]);
  rendered = renderWithTheRoles();
  buildNetwork(parent);

  // coturn in the DMZ with the role's turnserver.conf; its log to the test instead of syslog.
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, rendered.turnserver.replace(/^syslog$/m, '# (syslog: the test reads the log)'), { mode: 0o600 });
  turn = spawn('ip', ['netns', 'exec', ns.dmz, 'turnserver', '-c', conf, '--log-file', 'stdout', '--pidfile', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout!.on('data', (d) => (turnLog += String(d)));
  turn.stderr!.on('data', (d) => (turnLog += String(d)));

  stack = await startStack({
    name: 'turn-nat',
    basePort: BASE,
    env: { TURN_URLS: `turn:${TURN_PUBLIC}:${TURN_PORT}?transport=udp`, TURN_SECRET: SECRET, TURN_TTL_SECONDS: '600' },
    // Janus's nat section exactly as the janus role renders it for this server.
    janusConfigure: (janusDir) => {
      const file = join(janusDir, 'janus.jcfg');
      const text = readFileSync(file, 'utf8');
      const next = text.replace(/^nat: \{\n[\s\S]*?^\}$/m, rendered.janusNat);
      if (next === text) throw new Error('janus.jcfg: no nat section to replace');
      writeFileSync(file, next);
    },
  });
  seeded = await seedClinic(stack);

  // Where the patient's browser runs: the internet namespace.
  const chromiumPath = join(dir, 'chromium-outside');
  writeFileSync(chromiumPath, `#!/bin/sh\nexec ip netns exec '${ns.out}' '${CHROMIUM}' "$@"\n`);
  chmodSync(chromiumPath, 0o755);
  [patientControl, patient, clinician] = await Promise.all([
    // The patient site as the proxy publishes it: the router forwards 203.0.113.10 to it.
    spawnControlPlane(
      {
        ...stack.env,
        PUBLIC_HOST: JANUS_PRIVATE,
        PUBLIC_PORT: String(PATIENT_PORTS.public),
        PUBLIC_BASE_URL: ORIGIN,
        INTERNAL_PORT: String(PATIENT_PORTS.internal),
        INTERNAL_BASE_URL: `http://127.0.0.1:${PATIENT_PORTS.internal}`,
      },
      join(ROOT, '.run', 'test', 'turn-nat', 'control-patient.log'),
    ),
    launchChromium({ executablePath: chromiumPath, viewport: PHONE, args: [`--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`] }),
    launchBrowser(),
  ]);
  clinician.page.on('dialog', (d) => void d.accept());
  await signInClinician(clinician.page, stack, seeded);
}, 180_000);

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await patientControl?.stop();
  await stack?.stop();
  turn?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  tearDownNetwork();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface SelectedPair {
  local: { type: string; address: string };
  remote: { type: string; address: string };
}

/** The selected candidate pair of every connection of the page, and every remote candidate. */
async function icePairs(page: Page): Promise<{ selected: SelectedPair[]; remotes: Array<{ type: string; address: string }> }> {
  return page.evaluate(async () => {
    const selected: Array<{ local: { type: string; address: string }; remote: { type: string; address: string } }> = [];
    const remotes: Array<{ type: string; address: string }> = [];
    const pcs = (window as unknown as { spkDebug: { pcs(): RTCPeerConnection[] } }).spkDebug.pcs();
    for (const pc of pcs) {
      const stats = await pc.getStats();
      const cand = (id: string) => {
        const c = stats.get(id) as { candidateType: string; address?: string; ip?: string } | undefined;
        return { type: c?.candidateType ?? '?', address: c?.address ?? c?.ip ?? '?' };
      };
      stats.forEach((s: { type: string; id: string; selectedCandidatePairId?: string }) => {
        if (s.type === 'remote-candidate') remotes.push(cand(s.id));
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId) as { localCandidateId: string; remoteCandidateId: string };
        selected.push({ local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) });
      });
    }
    return { selected, remotes };
  });
}

describe('TURN and the clinician across the 1:1 NAT', () => {
  test('coturn (the role\'s configuration) relays to Janus\'s private media address only', () => {
    // The role's configuration is what runs: deny all, allow Janus, no TCP relay, public/private.
    expect(rendered.turnserver).toMatch(/^denied-peer-ip=0\.0\.0\.0-255\.255\.255\.255$/m);
    expect(rendered.turnserver).toMatch(/^denied-peer-ip=::-ffff(:ffff){7}$/m);
    expect(rendered.turnserver.match(/^allowed-peer-ip=.*$/gm)).toEqual([`allowed-peer-ip=${JANUS_PRIVATE}`]);
    expect(rendered.turnserver).toMatch(/^no-tcp-relay$/m);
    // Behind the NAT: one relay address, the private one, announced as the public one. (Not
    // external-ip=public/private: coturn then whitelists its own private address as a peer.)
    expect(rendered.turnserver).toMatch(new RegExp(`^relay-ip=${TURN_PRIVATE}\nexternal-ip=${TURN_PUBLIC}$`, 'm'));
    expect(rendered.janusNat).toContain(`\tnat_1_1_mapping = "${JANUS_PUBLIC}"\n\tkeep_private_host = true\n`);

    // From the internet, through the NAT, with the control plane's kind of credentials.
    const peers = [JANUS_PRIVATE, JANUS_PUBLIC, TURN_PRIVATE, TURN_PUBLIC, CP_OTHER, ROUTER_INSIDE, '127.0.0.1', '100.64.0.1', PATIENT, '192.0.2.1'];
    const out = run('ip', ['netns', 'exec', ns.out, process.execPath, join(ROOT, 'test', 'deploy', 'turn-permission.mjs'), TURN_PUBLIC, String(TURN_PORT), SECRET, ...peers]);
    const status = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    expect(status).toEqual(Object.fromEntries(peers.map((p) => [p, p === JANUS_PRIVATE ? '200' : '403'])));
  });

  test('a patient outside (UDP to TURN only) and a clinician inside: media both ways, relayed to Janus\'s private address, the clinician direct', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const { patient: p, clinician: c } = await startConsult(stack, { patient: patient.page, clinician: clinician.page }, a, { patientUrl: `${ORIGIN}/p/${tokenOf(a.patientLink)}`, timeoutMs: 30_000 });
    expect(p.framesDecoded).toBeGreaterThan(5);
    expect(c.framesDecoded).toBeGreaterThan(5);

    // Janus advertised both its public and its private address (keep_private_host).
    const outside = await icePairs(patient.page);
    const advertised = new Set(outside.remotes.filter((r) => r.type === 'host').map((r) => r.address));
    expect(advertised).toEqual(new Set([JANUS_PUBLIC, JANUS_PRIVATE]));
    // The patient: every connection relayed by coturn to Janus's private address — the one
    // address coturn may relay to. Her side of the pair is coturn's relay address: as coturn
    // announces it (203.0.113.30, relay) or as Janus answers it (the private relay address
    // 10.78.0.2 it sees the checks come from: a peer-reflexive candidate on the relay).
    expect(outside.selected.length).toBeGreaterThan(0);
    for (const pair of outside.selected) {
      expect([`relay ${TURN_PUBLIC}`, `prflx ${TURN_PRIVATE}`]).toContain(`${pair.local.type} ${pair.local.address}`);
      expect(pair.remote).toEqual({ type: 'host', address: JANUS_PRIVATE });
    }
    // The clinician inside: straight to the private host candidate Janus advertised (not the
    // public one through the NAT, not a peer-reflexive address learnt on the way). Without
    // keep_private_host the clinician still connected here, but only because Janus's own checks
    // reached her browser: the selected remote was prflx (seen when this test was run red).
    const inside = await icePairs(clinician.page);
    expect(inside.selected.length).toBeGreaterThan(0);
    for (const pair of inside.selected) expect(pair.remote).toEqual({ type: 'host', address: JANUS_PRIVATE });
    // …and coturn refused the patient's browser the public address of Janus it also tried.
    expect(turnLog).toContain(`A peer IP ${JANUS_PUBLIC} denied`);
  });
});
