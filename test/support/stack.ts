/**
 * The whole appliance for end-to-end tests: a real Janus with the shipped configuration, a
 * fresh PostgreSQL database, the namespace's Redis, and the control plane as a child process
 * (exactly as `make run` starts it). Call inside the test namespace (scripts/with-netns.sh).
 */
import { createClient } from 'redis';
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startJanus, type RunningJanus } from './janus.js';
import { createTestDatabase } from './db.js';
import type { DataSource } from 'typeorm';
import { loadConfig, type Config } from '../../control/src/config.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ControlPlane {
  child: ChildProcess;
  publicUrl: string;
  internalUrl: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface Stack {
  /** The first Janus server (janus-1). */
  janus: RunningJanus;
  /** Every Janus server, janus-1 first (`janusCount` of them; JANUS_URL lists them in order). */
  januses: RunningJanus[];
  ds: DataSource;
  config: Config;
  env: Record<string, string>;
  control: ControlPlane;
  /** Start another control-plane process on other ports (same database, Redis, Janus). */
  startControlPlane(ports: { public: number; internal: number }): Promise<ControlPlane>;
  stop(): Promise<void>;
}

/**
 * `env`: extra configuration for the control plane (e.g. TURN_URLS). `janusCount`: how many
 * Janus servers (default 1); server i (0-based) listens on basePort+88+10i (admin +89+10i) with
 * its own config folder and RTP ports. `janusUnprivileged`: Janus as the deployment runs it,
 * unprivileged with nothing writable (test/support/janus.ts).
 */
export async function startStack(opts: {
  name: string;
  basePort: number;
  env?: Record<string, string>;
  janusCount?: number;
  janusUnprivileged?: boolean;
  /** Another PostgreSQL server for the test database (test/support/private-postgres.ts). */
  databaseUrl?: string;
  /** Edits a Janus server's rendered config folder before it starts (test/support/janus.ts). */
  janusConfigure?: (dir: string, index: number) => void;
}): Promise<Stack> {
  const dir = join(ROOT, '.run', 'test', opts.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const startOne = (i: number) => {
    const jdir = join(dir, i === 0 ? 'janus' : `janus-${i + 1}`);
    // One API secret and admin key for all servers (JANUS_API_SECRET, JANUS_ADMIN_KEY): the
    // renderer reuses the secrets it finds.
    if (i > 0) {
      mkdirSync(jdir, { recursive: true });
      copyFileSync(join(dir, 'janus', 'secrets.json'), join(jdir, 'secrets.json'));
    }
    return startJanus({
      dir: jdir,
      wsPort: opts.basePort + 88 + 10 * i,
      adminPort: opts.basePort + 89 + 10 * i,
      iceEnforceList: 'v0',
      rtpPorts: `${20000 + 4000 * i}-${23999 + 4000 * i}`,
      // Janus's events (live call quality) go to the first control plane's internal listener.
      eventsBackend: `http://127.0.0.1:${opts.basePort + 1}/janus/events`,
      unprivileged: opts.janusUnprivileged,
      configure: opts.janusConfigure ? (d) => opts.janusConfigure?.(d, i) : undefined,
    });
  };
  const janus = await startOne(0);
  const januses = [janus, ...(await Promise.all(Array.from({ length: (opts.janusCount ?? 1) - 1 }, (_, i) => startOne(i + 1))))];
  const db = await createTestDatabase(opts.databaseUrl);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.SPK_TEST_LOG_LEVEL ?? 'warn',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    JANUS_URL: januses.map((j) => j.url).join(','),
    JANUS_API_SECRET: janus.apiSecret,
    JANUS_ADMIN_KEY: janus.adminKey,
    JANUS_EVENTS_USER: janus.eventsUser,
    JANUS_EVENTS_PASSWORD: janus.eventsPassword,
    SECRET_KEY: randomBytes(32).toString('hex'),
    PUBLIC_HOST: '127.0.0.1',
    PUBLIC_PORT: String(opts.basePort),
    INTERNAL_HOST: '127.0.0.1',
    INTERNAL_PORT: String(opts.basePort + 1),
    PUBLIC_BASE_URL: `http://127.0.0.1:${opts.basePort}`,
    INTERNAL_BASE_URL: `http://127.0.0.1:${opts.basePort + 1}`,
    COOKIE_SECURE: 'false',
    ...opts.env,
  };
  const config = loadConfig(env);
  await forgetRoomPlacements(env.REDIS_URL!);
  const controls: ControlPlane[] = [];
  const startControlPlane = async (ports: { public: number; internal: number }) => {
    const cp = await spawnControlPlane({
      ...env,
      PUBLIC_PORT: String(ports.public),
      INTERNAL_PORT: String(ports.internal),
      // Behind a proxy (the caller set INTERNAL_BASE_URL to it): every process keeps the proxy's.
      INTERNAL_BASE_URL: opts.env?.INTERNAL_BASE_URL ?? `http://127.0.0.1:${ports.internal}`,
    }, join(dir, `control-${ports.public}.log`));
    controls.push(cp);
    return cp;
  };
  const control = await startControlPlane({ public: opts.basePort, internal: opts.basePort + 1 });
  return {
    janus,
    januses,
    ds: db.ds,
    config,
    env,
    control,
    startControlPlane,
    async stop() {
      for (const c of controls) await c.stop().catch(() => undefined);
      for (const j of januses) await j.stop().catch(() => undefined);
      await db.drop().catch(() => undefined);
    },
  };
}

export async function spawnControlPlane(env: Record<string, string>, logFile: string): Promise<ControlPlane> {
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const child = fork(join(ROOT, 'control', 'src', 'main.ts'), [], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', out, out, 'ipc'],
  });
  const ready = await new Promise<{ publicUrl: string; internalUrl: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane did not start within 90 s; see ${logFile}`)), 90_000);
    child.once('message', (m: any) => {
      clearTimeout(timer);
      resolveReady(m);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`control plane exited with ${code}; see ${logFile}`));
    });
  });
  return {
    child,
    publicUrl: env.PUBLIC_BASE_URL!,
    internalUrl: env.INTERNAL_BASE_URL!,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 8000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  void ready;
}

/**
 * A fresh database numbers its rooms from the start again, so room pins (and a draining mark)
 * that an earlier test file left in the shared test Redis would place this stack's new rooms on
 * the server an old room was on, whatever its load or drain. Forget them before the stack starts.
 */
async function forgetRoomPlacements(url: string): Promise<void> {
  const redis = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 5000 } });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: 'spk:janus-room:*', COUNT: 500 })) keys.push(...(Array.isArray(batch) ? batch : [batch]));
    if (keys.length) await redis.del(keys);
    await redis.del('spk:janus-draining');
  } catch {
    // No Redis yet (a test that starts its own later): nothing to forget.
  } finally {
    if (redis.isOpen) await redis.quit().catch(() => undefined);
  }
}
