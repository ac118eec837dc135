/**
 * The worker as its own process (control/src/worker.ts, as systemd runs it), so that a test can
 * kill it with SIGKILL mid-job. Resolves once the worker says it is ready.
 */
import { fork, type ChildProcess } from 'node:child_process';
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
