#!/usr/bin/env node
// Render the hardened Janus configuration (deploy/janus/*.in) into a folder usable as
//   janus -F DIR -C DIR/janus.jcfg
// Secrets live in DIR/secrets.json (mode 0600), generated once and reused, never in git.
//
//   node scripts/janus-config.mjs --out DIR [--ws-port 8188] [--admin-port 7188]
//     [--ice-enforce-list v0] [--bind 127.0.0.1] [--rtp-ports 20000-40000] [--janus-lib DIR]
//     [--events-backend http://127.0.0.1:8081/janus/events] [--stats-period 3]
//     [--event-loops N (Janus's media loops; default: this machine's cores)]
//
// Prints the path of secrets.json. Plain Node, no dependencies.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'janus');
// The only modules Janus may load.
// The one event handler: janus_sampleevh posts WebRTC, media and core events to the control
// plane's internal /janus/events (live call quality, ICE metrics), with credentials of its own.
const ENABLED = {
  plugins: ['libjanus_videoroom.so', 'libjanus_echotest.so'],
  transports: ['libjanus_websockets.so'],
  events: ['libjanus_sampleevh.so'],
};
// Every module the Debian/upstream build ships, for the belt-and-braces disable lists.
const KNOWN = {
  plugins: ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'videoroom', 'voicemail'],
  transports: ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'],
  events: ['gelfevh', 'mqttevh', 'nanomsgevh', 'rabbitmqevh', 'sampleevh', 'wsevh'],
};
const LIB_CANDIDATES = ['/usr/lib/x86_64-linux-gnu/janus', '/usr/lib/aarch64-linux-gnu/janus', '/usr/lib/janus', '/opt/janus/lib/janus'];

function fail(message) {
  console.error(`janus-config: ${message}`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    'ws-port': { type: 'string', default: '8188' },
    'admin-port': { type: 'string', default: '7188' },
    'ice-enforce-list': { type: 'string' },
    bind: { type: 'string', default: '127.0.0.1' },
    // The Admin API's address (default: --bind); the Ansible role keeps it on loopback.
    'admin-bind': { type: 'string' },
    'rtp-ports': { type: 'string', default: '20000-40000' },
    'janus-lib': { type: 'string' },
    'events-backend': { type: 'string', default: 'http://127.0.0.1:8081/janus/events' },
    'stats-period': { type: 'string', default: '3' },
    'event-loops': { type: 'string', default: String(availableParallelism()) },
  },
});

const problems = [];
if (!args.out) problems.push('--out: required');
for (const name of ['ws-port', 'admin-port']) {
  const port = Number(args[name]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`--${name}: must be a port number`);
}
// The Janus and Admin APIs must never listen on every interface.
if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(args.bind) || args.bind.startsWith('0.')) {
  problems.push('--bind: must be one IPv4 address (loopback or internal), never 0.0.0.0');
}
if (!/^\d+-\d+$/.test(args['rtp-ports'])) problems.push('--rtp-ports: must look like 20000-40000');
if (args['ice-enforce-list'] !== undefined && !/^[\w.,:-]+$/.test(args['ice-enforce-list'])) {
  problems.push('--ice-enforce-list: interface names or addresses, comma separated');
}
// Events go to the control plane's internal listener only: plain http on loopback or the internal net.
if (!/^http:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/[\w./-]*$/.test(args['events-backend'])) {
  problems.push('--events-backend: must be an http:// URL of the internal listener, e.g. http://127.0.0.1:8081/janus/events');
}
const statsPeriod = Number(args['stats-period']);
if (!Number.isInteger(statsPeriod) || statsPeriod < 1 || statsPeriod > 60) problems.push('--stats-period: seconds between media stats, 1 to 60');
const eventLoops = Number(args['event-loops']);
if (!Number.isInteger(eventLoops) || eventLoops < 1 || eventLoops > 256) problems.push('--event-loops: Janus media loops, 1 to 256 (one per core)');
const lib = args['janus-lib'] ?? LIB_CANDIDATES.find((d) => existsSync(join(d, 'plugins', 'libjanus_videoroom.so')));
if (!lib) problems.push('--janus-lib: Janus plugin folder not found; pass the folder holding plugins/ and transports/');
if (problems.length) fail(problems.join('\n  '));

const out = resolve(args.out);
mkdirSync(out, { recursive: true, mode: 0o750 });

// Secrets: reuse when present so a re-render never locks the control plane out.
const secretsPath = join(out, 'secrets.json');
const token = () => randomBytes(32).toString('base64url'); // 43 chars, 256 bits
let secrets;
if (existsSync(secretsPath)) {
  secrets = JSON.parse(readFileSync(secretsPath, 'utf8'));
  for (const key of ['apiSecret', 'adminSecret', 'adminKey']) {
    if (typeof secrets[key] !== 'string' || secrets[key].length < 32) fail(`${secretsPath}: ${key} missing or shorter than 32 characters`);
  }
  // Added after the first release: a folder rendered before gets its event credentials now.
  if (typeof secrets.eventsPassword !== 'string' || secrets.eventsPassword.length < 32) {
    secrets = { ...secrets, eventsUser: 'janus', eventsPassword: token() };
    writeFileSync(secretsPath, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  }
} else {
  secrets = { apiSecret: token(), adminSecret: token(), adminKey: token(), eventsUser: 'janus', eventsPassword: token() };
  writeFileSync(secretsPath, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
}
chmodSync(secretsPath, 0o600);

// Allow-list folders: symlinks to exactly the modules we use.
const enabled = join(out, 'enabled');
rmSync(enabled, { recursive: true, force: true });
for (const kind of ['plugins', 'transports', 'events']) {
  mkdirSync(join(enabled, kind), { recursive: true });
  for (const file of ENABLED[kind]) {
    const target = join(lib, kind, file);
    if (!existsSync(target)) fail(`${target}: missing`);
    symlinkSync(target, join(enabled, kind, file));
  }
}
mkdirSync(join(enabled, 'none'), { recursive: true });

const disabled = (kind, suffix = '') =>
  KNOWN[kind]
    .map((name) => `libjanus_${name}${suffix}.so`)
    .filter((file) => !(ENABLED[kind] ?? []).includes(file))
    .join(',');

const loopback = args.bind.startsWith('127.');
const adminBind = args['admin-bind'] ?? args.bind;
if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(adminBind) || adminBind.startsWith('0.')) fail('--admin-bind: one IPv4 address, never 0.0.0.0');
const vars = {
  CONFIG_DIR: out,
  API_SECRET: secrets.apiSecret,
  ADMIN_SECRET: secrets.adminSecret,
  ADMIN_KEY: secrets.adminKey,
  WS_PORT: String(Number(args['ws-port'])),
  ADMIN_PORT: String(Number(args['admin-port'])),
  BIND: args.bind,
  ADMIN_BIND: adminBind,
  RTP_PORT_RANGE: args['rtp-ports'],
  // Janus ignores the ignore list once an enforce list is set, so write one or the other.
  ICE_LINE: args['ice-enforce-list'] ? `\tice_enforce_list = "${args['ice-enforce-list']}"` : '\tice_ignore_list = "vmnet"',
  // On loopback, also refuse any peer that is not local (libwebsockets-level ACL).
  WS_ACL_LINE: loopback ? '\tws_acl = "127."' : '',
  ADMIN_WS_ACL_LINE: adminBind.startsWith('127.') ? '\tadmin_ws_acl = "127."' : '',
  DISABLED_PLUGINS: disabled('plugins'),
  DISABLED_TRANSPORTS: disabled('transports'),
  DISABLED_EVENTS: disabled('events'),
  EVENTS_BACKEND: args['events-backend'],
  EVENTS_USER: secrets.eventsUser ?? 'janus',
  EVENTS_PASSWORD: secrets.eventsPassword,
  STATS_PERIOD: String(statsPeriod),
  EVENT_LOOPS: String(eventLoops),
};

// Remove configs of modules we do not load, left by an older render or copied in by hand.
for (const file of readdirSync(out)) {
  if (file.endsWith('.jcfg') || file.endsWith('.cfg')) rmSync(join(out, file));
}
for (const template of readdirSync(TEMPLATES).filter((f) => f.endsWith('.jcfg.in'))) {
  const text = readFileSync(join(TEMPLATES, template), 'utf8').replace(/@([A-Z_]+)@/g, (m, name) => {
    if (!(name in vars)) fail(`${template}: unknown placeholder ${m}`);
    return vars[name];
  });
  // Rendered files hold secrets: readable by the owner (and the janus group via the folder) only.
  writeFileSync(join(out, template.slice(0, -3)), text, { mode: 0o600 });
}

console.log(secretsPath);
