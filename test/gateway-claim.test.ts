/**
 * gateway/src/resume.ts against a real Janus with the shipped configuration: a session whose
 * connection went away is claimed on a new connection, and its handles are adopted by id and
 * answer requests, with the publisher still in its room. This is what lets a control-plane
 * process take over the consults of one that stopped.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Janode from 'janode';
import VideoRoomPlugin from 'janode/plugins/videoroom';
import { adoptHandle, claimSession } from '../gateway/src/resume.js';
import { startJanus, type RunningJanus } from './support/janus.js';

Janode.Logger.setLevel('warning');

const base = resolve('.run/test');
mkdirSync(base, { recursive: true });
const dir = mkdtempSync(join(base, 'gateway-claim-'));
let janus: RunningJanus;

beforeAll(async () => {
  janus = await startJanus({ dir, wsPort: 18288, adminPort: 17288, iceEnforceList: 'v0' });
});

afterAll(async () => {
  await janus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = () => Janode.connect({ address: { url: janus.url, apisecret: janus.apiSecret }, max_retries: 0 });

describe('claiming a Janus session', () => {
  it('a new connection claims the old session; adopted handles still work; the publisher never left', async () => {
    const first = await connect();
    const session = await first.create(20);
    const admin = await session.attach(VideoRoomPlugin);
    const room = 7301;
    await admin.message({ request: 'create', admin_key: janus.adminKey, room, secret: 'room-secret-0123456789', record: false, lock_record: true, publishers: 4 });
    const publisher = await session.attach(VideoRoomPlugin);
    const joined = await publisher.joinPublisher({ room, display: 'p' });
    const ids = { session: session.id, admin: admin.id, publisher: publisher.id };
    await first.close();
    await new Promise((r) => setTimeout(r, 300));

    const second = await connect();
    const claimed = await claimSession(second, ids.session, 20);
    expect(claimed.id).toBe(ids.session);
    const admin2 = adoptHandle(claimed, VideoRoomPlugin, ids.admin);
    const list = await admin2.message({ request: 'listparticipants', room });
    const participants = (list.plugindata!.data as { participants: Array<{ id: number }> }).participants;
    expect(participants.map((p) => p.id)).toContain(joined.feed);
    // The adopted publisher handle answers a request of its own (configure, no media change).
    const pub2 = adoptHandle(claimed, VideoRoomPlugin, ids.publisher, { room, feed: joined.feed });
    // Janus's own answer to it, for this feed: configured "ok" (janode rejects anything else).
    await expect(pub2.configure({ audio: true, video: true })).resolves.toMatchObject({ configured: 'ok', feed: joined.feed });
    // New handles can be attached to the claimed session too.
    const extra = await claimed.attach(VideoRoomPlugin);
    expect(extra.id).toBeGreaterThan(0);
    await claimed.destroy();
    await second.close();
  });

  it('claiming a session Janus does not have fails cleanly', async () => {
    const c = await connect();
    await expect(claimSession(c, 123456789, 20)).rejects.toThrow();
    // The connection is still usable.
    const s = await c.create(20);
    expect(s.id).toBeGreaterThan(0);
    await s.destroy();
    await c.close();
  });
});
