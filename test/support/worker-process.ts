/**
 * The worker as its own process (control/src/worker.ts, as systemd runs it), so that a test can
 * kill it with SIGKILL mid-job. Resolves once the worker says it is ready.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** SIGKILL (a crash) or SIGTERM (a graceful stop); resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(env: Record<string, string>, logFile: string): Promise<WorkerProcess> {
  const out = openSync(logFile, 'a');
  const child = fork(join(ROOT, 'control', 'src', 'worker.ts'), [], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', out, out, 'ipc'],
  });
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 90 s; see ${logFile}`)), 90_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolveReady();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code ?? signal}; see ${logFile}`));
    });
  });
  return {
    child,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Workers started one after another with the same environment (on top of this process's and the
 * test defaults), their output kept in memory: for tests that SIGKILL a worker mid-job, start
 * the next, and then read what all of them logged. Each child is also pushed onto `started`
 * so the test's afterAll can kill what is left.
 */
export function workerPool(env: Record<string, string>, started: ChildProcess[]): { start(): Promise<ChildProcess>; logs: string[] } {
  const childEnv = {
    ...process.env,
    NODE_ENV: 'test',
    JANUS_API_SECRET: 'test-janus-api-secret',
    JANUS_ADMIN_KEY: 'test-janus-admin-key',
    PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
    ...env,
  };
  const logs: string[] = [];
  const start = () =>
    new Promise<ChildProcess>((resolveStarted, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'control/src/worker.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        logs.push(d.toString());
        if (out.includes('"worker started"')) resolveStarted(child);
      });
      child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
      child.on('exit', (code, signal) => {
        if (!out.includes('"worker started"')) reject(new Error(`worker exited early (${code ?? signal}): ${logs.join('')}`));
      });
    });
  return { start, logs };
}
