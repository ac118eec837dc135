/**
 * Every line the control plane writes is JSON through pino (issue 16, point 13): a browser
 * closing a live response (the console's event stream) is logged as a debug line, not as a raw
 * `Error [ERR_STREAM_PREMATURE_CLOSE]` stack trace between the JSON lines.
 *
 *   DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/logs-json.test.ts
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { staffSignIn } from './support/relay-client.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';

const PORT = 20660;
const LOG = join(resolve(import.meta.dirname, '..'), '.run', 'test', 'logs-json', `control-${PORT}.log`);

let stack: Stack;
let seeded: SeededClinic;

beforeAll(async () => {
  stack = await startStack({ name: 'logs-json', basePort: PORT, env: { LOG_LEVEL: 'debug' } });
  seeded = await seedClinic(stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Opens the console's event stream, waits for its first bytes, then hangs up like a closed tab. */
function openAndDrop(url: string, cookie: string): Promise<void> {
  return new Promise((done, fail) => {
    const req = http.get(`${url}/staff/api/console/events`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => {
        req.destroy();
        done();
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? done() : fail(err)));
  });
}

test('a browser that goes away mid-response leaves only JSON lines, at debug level', async () => {
  const { cookie } = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
  for (let i = 0; i < 3; i++) await openAndDrop(stack.control.internalUrl, cookie);
  const lines = (): string[] => readFileSync(LOG, 'utf8').split('\n').filter((l) => l.trim() !== '');
  // Positive signal: the going-away was logged (as JSON, at debug).
  await expect
    .poll(() => lines().filter((l) => l.includes('client went away')).length, { timeout: 15_000 })
    .toBeGreaterThanOrEqual(1);
  const notJson = lines().filter((l) => {
    try {
      JSON.parse(l);
      return false;
    } catch {
      return true;
    }
  });
  expect(notJson).toEqual([]);
  const errors = lines().map((l) => JSON.parse(l) as { level: number; msg?: string }).filter((l) => l.level >= 50);
  expect(errors).toEqual([]);
});
