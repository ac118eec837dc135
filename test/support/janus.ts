/**
 * A real Janus for tests, run with the appliance's own hardened configuration
 * (scripts/janus-config.mjs). Call inside the test's network namespace (scripts/with-netns.sh).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface StartJanusOptions {
  /** Config folder; rendered when it holds no janus.jcfg yet. */
  dir: string;
  wsPort: number;
  adminPort: number;
  /** e.g. "v0", the namespace's veth, so libnice finds an address for ICE. */
  iceEnforceList?: string;
  /** Where Janus's event handler posts (the control plane's internal /janus/events). */
  eventsBackend?: string;
  /** RTP port range, e.g. "20000-24999" (several Janus servers in one namespace each get their own). */
  rtpPorts?: string;
  /** Janus's media loops (`--event-loops`; default the machine's cores): the cores Janus is given. */
  eventLoops?: number;
  /**
   * Run Janus as the deployment does (deploy/ansible/roles/janus: its own user, ProtectSystem=
   * strict, PrivateTmp, no writable directory): as `nobody` with no capabilities, in a mount
   * namespace of its own where every filesystem is read-only. The config folder is made
   * readable (not writable) for the group `nogroup`. Needs root (tests run as root).
   */
  unprivileged?: boolean;
  /** Called with the config folder after rendering, before Janus starts (e.g. a NAT section). */
  configure?: (dir: string) => void;
}

/** uid/gid of `nobody`/`nogroup` on Debian: the unprivileged Janus (opts.unprivileged). */
export const UNPRIVILEGED_ID = 65534;

// Every mount read-only (in the new mount namespace only), then drop to nobody and exec Janus:
// the pid stays the one spawned. /proc, /sys and cgroups are kernel interfaces, not storage.
const UNPRIVILEGED_SH = [
  'findmnt -rn -o TARGET,FSTYPE | while read -r t f; do',
  '  case "$f" in proc|sysfs|cgroup|cgroup2|securityfs|debugfs|tracefs|bpf|configfs|fusectl|pstore) continue;; esac',
  '  mount -o remount,bind,ro "$(printf "%b" "$t")" 2>/dev/null || true',
  'done',
  `exec setpriv --reuid=${UNPRIVILEGED_ID} --regid=${UNPRIVILEGED_ID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs janus -F "$1" -C "$2"`,
].join('\n');

export interface RunningJanus {
  readonly pid: number;
  readonly url: string;
  readonly adminUrl: string;
  readonly apiSecret: string;
  readonly adminSecret: string;
  readonly adminKey: string;
  /** Basic-auth credentials of Janus's event handler. */
  readonly eventsUser: string;
  readonly eventsPassword: string;
  /** Signal our own child only (by pid). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
  /** Stop (if running) and start again with the same config and ports. */
  restart(): Promise<void>;
  logTail(lines?: number): string;
}

/** Resolves when a Janus WebSocket answers `info` (proves the transport is up). */
async function waitForJanus(url: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`janus exited (${child.exitCode ?? child.signalCode})`);
    const ok = await new Promise<boolean>((done) => {
      const ws = new WebSocket(url, 'janus-protocol');
      const timer = setTimeout(() => (ws.terminate(), done(false)), 1000);
      ws.on('open', () => ws.send(JSON.stringify({ janus: 'info', transaction: 'ready' })));
      ws.on('message', () => (clearTimeout(timer), ws.close(), done(true)));
      ws.on('error', () => (clearTimeout(timer), done(false)));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`janus did not answer on ${url} within ${timeoutMs} ms`);
}

export async function startJanus(opts: StartJanusOptions): Promise<RunningJanus> {
  const dir = resolve(opts.dir);
  if (!existsSync(join(dir, 'janus.jcfg'))) {
    const args = ['scripts/janus-config.mjs', '--out', dir, '--ws-port', String(opts.wsPort), '--admin-port', String(opts.adminPort)];
    if (opts.iceEnforceList) args.push('--ice-enforce-list', opts.iceEnforceList);
    if (opts.eventsBackend) args.push('--events-backend', opts.eventsBackend);
    if (opts.rtpPorts) args.push('--rtp-ports', opts.rtpPorts);
    if (opts.eventLoops) args.push('--event-loops', String(opts.eventLoops));
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    opts.configure?.(dir);
  }
  const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as {
    apiSecret: string;
    adminSecret: string;
    adminKey: string;
    eventsUser: string;
    eventsPassword: string;
  };
  const logFile = join(dir, 'janus.log');
  const url = `ws://127.0.0.1:${opts.wsPort}`;
  let child: ChildProcess;

  const launch = async () => {
    const fd = openSync(logFile, 'a');
    if (opts.unprivileged) {
      // Readable by nogroup, writable by nobody but root.
      execFileSync('chgrp', ['-R', String(UNPRIVILEGED_ID), dir]);
      execFileSync('chmod', ['-R', 'g+rX,g-w,o-rwx', dir]);
      child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', UNPRIVILEGED_SH, 'janus-unprivileged', dir, join(dir, 'janus.jcfg')], {
        cwd: dir,
        stdio: ['ignore', fd, fd],
      });
    } else {
      child = spawn('janus', ['-F', dir, '-C', join(dir, 'janus.jcfg')], { cwd: dir, stdio: ['ignore', fd, fd] });
    }
    closeSync(fd);
    await waitForJanus(url, child);
  };
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (gone()) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => !gone() && child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    get pid() {
      return child.pid ?? -1;
    },
    url,
    adminUrl: `ws://127.0.0.1:${opts.adminPort}`,
    ...secrets,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => void (!gone() && child.kill(signal)),
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    logTail: (lines = 40) => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : ''),
  };
}

/**
 * A bare Janus WebSocket client for tests that must speak the API the way an attacker (or a
 * browser, if one could reach it) would: no janode, nothing filled in for the caller.
 */

type Msg = Record<string, any>;

export class RawJanus {
  private next = 0;
  private readonly pending = new Map<string, (m: Msg) => void>();
  readonly events: Msg[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      // Asynchronous plugin requests answer "ack" first, then an event with the same transaction.
      if (msg.janus === 'ack') return;
      const done = msg.transaction ? this.pending.get(msg.transaction) : undefined;
      if (done) {
        this.pending.delete(msg.transaction);
        done(msg);
      } else this.events.push(msg);
    });
  }

  static open(url: string, protocol = 'janus-protocol'): Promise<RawJanus> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocol);
      ws.once('open', () => resolve(new RawJanus(ws)));
      ws.once('error', reject);
    });
  }

  send(msg: Msg, timeoutMs = 5000): Promise<Msg> {
    const transaction = `t${++this.next}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${msg.janus}`)), timeoutMs);
      this.pending.set(transaction, (m) => (clearTimeout(timer), resolve(m)));
      this.ws.send(JSON.stringify({ ...msg, transaction }));
    });
  }

  /** Create a session and attach the VideoRoom; returns a function sending plugin messages. */
  async videoroom(apisecret: string): Promise<(body: Msg, jsep?: Msg) => Promise<Msg>> {
    const session = await this.send({ janus: 'create', apisecret });
    if (session.janus !== 'success') throw new Error(`create session: ${JSON.stringify(session.error)}`);
    const session_id = session.data.id;
    const handle = await this.send({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id, apisecret });
    const handle_id = handle.data.id;
    return async (body, jsep) => {
      const res = await this.send({ janus: 'message', session_id, handle_id, apisecret, body, ...(jsep ? { jsep } : {}) });
      return res.plugindata?.data ?? res;
    };
  }

  close(): void {
    this.ws.close();
  }
}
