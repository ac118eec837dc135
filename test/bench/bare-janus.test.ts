/**
 * The bare-Janus benchmark floor against a real Janus and two real Chromiums. Run inside a
 * network namespace:
 *   scripts/with-netns.sh npx vitest run test/bench/bare-janus.test.ts
 */
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { RawJanus, startJanus, type RunningJanus } from '../support/janus.js';
import { measureBareJoin } from './bare-janus.js';

const dir = resolve('.run/test/bare-janus');
let janus: RunningJanus | undefined;
let browsers: TestBrowser[] = [];

beforeAll(async () => {
  // Fresh config each run (secrets included); nothing here outlives the test.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  janus = await startJanus({ dir, wsPort: 19188, adminPort: 19189, iceEnforceList: 'v0' });
  browsers = await Promise.all([launchBrowser(), launchBrowser()]);
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await janus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('bare Janus VideoRoom join (benchmark floor)', () => {
  it('measures join → first remote frame on both pages, prepared and cold, 2 rounds each', async () => {
    const [a, b] = browsers as [TestBrowser, TestBrowser];
    for (const mode of ['prepared', 'cold'] as const) {
      const latencies = await measureBareJoin({ janus: janus!, pages: [a.page, b.page], rounds: 2, mode });
      console.log(`bare Janus ${mode} join latency (ms): ${latencies.join(', ')}`);
      expect(latencies).toHaveLength(2);
      for (const ms of latencies) {
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThan(10_000);
      }
    }

    // Everything was hung up: no room left, and no Janus session but the one asking.
    const api = await RawJanus.open(janus!.url);
    try {
      const videoroom = await api.videoroom(janus!.apiSecret);
      const list = await videoroom({ request: 'list' });
      expect(list.list).toEqual([]);
    } finally {
      api.close();
    }
    const admin = await RawJanus.open(janus!.adminUrl, 'janus-admin-protocol');
    try {
      const sessions = await admin.send({ janus: 'list_sessions', admin_secret: janus!.adminSecret });
      expect(sessions.sessions?.length ?? 0).toBeLessThanOrEqual(1);
    } finally {
      admin.close();
    }
  });
});
