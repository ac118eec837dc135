/**
 * The capacity bench's load generator (test/bench/capacity-generator.ts) really puts media
 * through Janus: one synthetic consult in a room our gateway creates, and each side receives
 * the other's audio and video packets as Janus forwards them — so `make bench`'s capacity
 * figures can never be measured on nothing. No video is decoded: packets and sequence
 * numbers are enough. Run inside a network namespace:
 *   scripts/with-netns.sh npx vitest run test/capacity-generator.test.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway/src/index.js';
import { startJanus, type RunningJanus } from './support/janus.js';
import { loadMedia, type EncodedMedia } from './bench/capacity-media.js';
import { Generator, type Participant } from './bench/capacity-generator.js';

const base = resolve('.run/test');
mkdirSync(base, { recursive: true });
const dir = mkdtempSync(join(base, 'capacity-'));
const quiet = () => undefined;
const logger = { info: quiet, warn: quiet, error: quiet, debug: quiet };

let janus: RunningJanus;
let gateway: Gateway;
let media: EncodedMedia;
let generator: Generator | undefined;

beforeAll(async () => {
  media = await loadMedia();
  janus = await startJanus({ dir, wsPort: 19388, adminPort: 19389, iceEnforceList: 'v0', eventsBackend: 'http://127.0.0.1:19387/janus/events' });
  gateway = createGateway({ servers: [{ name: 'janus-capacity', url: janus.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey }], logger });
  await gateway.start();
}, 180_000);

afterAll(async () => {
  await generator?.stop();
  await gateway?.stop();
  await janus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves once `ok()` holds; polls, so a slow machine only makes it later. */
async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('each side of a synthetic consult receives the other side\'s audio and video through Janus', async () => {
  expect(media.videoKbps).toBeGreaterThanOrEqual(700);
  expect(media.videoKbps).toBeLessThanOrEqual(1500);
  generator = new Generator(gateway, media, randomBytes(32));
  generator.start();
  await generator.grow(1);
  const [a, b] = generator.participants() as [Participant, Participant];
  // Three seconds of media at 30 frames/s and 50 audio packets/s, each way.
  const enough = (p: Participant) => p.rx.video.unique >= 200 && p.rx.audio.unique >= 150;
  await until('media both ways', () => enough(a) && enough(b), 90_000);
  for (const p of [a, b]) {
    // Full-size VP8 packets and Opus frames, as cut from the recording (no loss figure here:
    // on a busy machine the generator itself falls behind; make bench measures that).
    expect(p.rx.video.bytes / p.rx.video.packets).toBeGreaterThan(500);
    expect(p.rx.audio.bytes / p.rx.audio.packets).toBeGreaterThan(60);
    expect(p.rx.video.expected).toBeGreaterThanOrEqual(p.rx.video.unique);
  }
  // Nothing arrives that was not sent: the receivers' packets are at most what the other side sent.
  expect(a.rx.video.unique + a.rx.audio.unique).toBeLessThanOrEqual(b.sentPackets);
  expect(b.rx.video.unique + b.rx.audio.unique).toBeLessThanOrEqual(a.sentPackets);
}, 180_000);
