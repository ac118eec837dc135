/**
 * A Redis of the test's own (a child redis-server on another port, nothing persisted), for tests
 * that stop Redis: the namespace's shared Redis (scripts/with-netns.sh) keeps running.
 * `stop()` kills it with SIGKILL (a crash, not a clean shutdown). Without `keepData` whatever
 * Redis held is gone; with it Redis keeps an append-only file (fsynced at every write here; the
 * deployment fsyncs every second) and loads it on start, as the deployed Redis does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Resolves once something accepts connections on 127.0.0.1:port (or rejects after the timeout). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kill it (SIGKILL); resolves once it is gone. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateRedis(port: number, opts: { keepData?: boolean } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'spk-private-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    const persist = opts.keepData ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'] : ['--save', '', '--appendonly', 'no'];
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persist, '--dir', dir], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
