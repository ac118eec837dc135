/**
 * Health on the real stack (issue 6, "Proof"): /readyz answers 503 when Redis is stopped and 200
 * again when it is back, without restarting the control plane; /livez stays 200 throughout;
 * the same checks show in /status and as spreekkamer_ready in /metrics. The test runs a Redis
 * of its own (a child redis-server on another port) so that it can stop it.
 *
 *   DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/readyz.test.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const BASE = 20200;
const REDIS_PORT = 20290;

let stack: Stack;
let redis: ChildProcess | null = null;
const redisDir = mkdtempSync(join(tmpdir(), 'spk-readyz-redis-'));

/** Resolves once something accepts connections on the port (or rejects after the timeout). */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
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

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], {
    stdio: 'ignore',
  });
  await waitForPort(REDIS_PORT);
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

beforeAll(async () => {
  await startRedis();
  stack = await startStack({ name: 'readyz', basePort: BASE, env: { REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}` } });
});

afterAll(async () => {
  await stack?.stop();
  await stopRedis();
  rmSync(redisDir, { recursive: true, force: true });
});

const readyz = async () => {
  const res = await fetch(`${stack.control.internalUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as { ready: boolean; checks: Record<string, boolean> } };
};
const readyMetric = async (check: string) => {
  const text = await (await fetch(`${stack.control.internalUrl}/metrics`)).text();
  return Number(new RegExp(`^spreekkamer_ready\\{check="${check}"\\} (\\d)`, 'm').exec(text)?.[1] ?? Number.NaN);
};

describe('/readyz follows Redis', () => {
  test('all up: 200, every check true', async () => {
    const r = await readyz();
    expect(r).toEqual({ status: 200, body: { ready: true, checks: { postgresql: true, schema: true, redis: true, janus: true } } });
    expect(await readyMetric('redis')).toBe(1);
  });

  test('Redis stopped: 503 naming redis (quickly, not hanging); /livez still 200; /status and the metric agree', async () => {
    await stopRedis();
    const stoppedAt = Date.now();
    await expect.poll(async () => (await readyz()).status, { timeout: 15_000, interval: 250 }).toBe(503);
    const failedAfter = Date.now() - stoppedAt;
    const started = Date.now();
    const r = await readyz();
    const answeredIn = Date.now() - started;
    console.log(`readyz: 503 ${failedAfter} ms after Redis stopped; answered in ${answeredIn} ms`);
    expect(r.body).toEqual({ ready: false, checks: { postgresql: true, schema: true, redis: false, janus: true } });
    // A stopped Redis must not make the check hang (the client queues commands while offline).
    expect(answeredIn).toBeLessThan(3_000);
    expect((await fetch(`${stack.control.internalUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${stack.control.publicUrl}/livez`)).status).toBe(200);
    expect(await readyMetric('redis')).toBe(0);
    expect(await readyMetric('postgresql')).toBe(1);
    const status = (await (await fetch(`${stack.control.internalUrl}/status`)).json()) as any;
    expect(status).toMatchObject({ ready: false, checks: { redis: false } });
  });

  test('Redis back: 200 again, without restarting the control plane', async () => {
    const pid = stack.control.child.pid;
    await startRedis();
    const backAt = Date.now();
    await expect.poll(async () => (await readyz()).status, { timeout: 20_000, interval: 250 }).toBe(200);
    console.log(`readyz: 200 again ${Date.now() - backAt} ms after Redis came back`);
    expect((await readyz()).body.checks).toEqual({ postgresql: true, schema: true, redis: true, janus: true });
    expect(stack.control.child.pid).toBe(pid);
    expect(stack.control.child.exitCode).toBeNull();
    expect(await readyMetric('redis')).toBe(1);
  });
});
