/**
 * Placement over three real Janus servers, by two gateways sharing the Redis placement store
 * (two control-plane processes): least-loaded first (the load as Janus itself reports it),
 * the same room on the same server in both processes, drain, failover of rooms when a server
 * is killed or stops answering, and the circuit breaker for a server that flaps.
 *   scripts/with-netns.sh npx vitest run test/janus-placement.test.ts
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGateway, type Gateway, type PeerEvent, type PeerSession } from '../gateway/src/index.js';
import { redisPlacements } from '../control/src/janus/placements.js';
import { RawJanus, startJanus, type RunningJanus } from './support/janus.js';

const BASE = 18600;
const dir = resolve('.run/test/janus-placement');
const quiet = () => undefined;
const logger = { info: quiet, warn: quiet, error: quiet, debug: quiet };

let januses: RunningJanus[];
let redis: RedisClientType;
let a: Gateway;
let b: Gateway;
const names = ['janus-1', 'janus-2', 'janus-3'];
const room = (roomId: number) => ({ roomId, secret: `secret-${roomId}-0123456789abcdef`, publishers: 4, description: `consult ${roomId}` });

function gateway(): Gateway {
  return createGateway({
    servers: januses.map((j, i) => ({ name: names[i]!, url: j.url, apiSecret: j.apiSecret, adminKey: j.adminKey })),
    logger,
    placements: redisPlacements(redis),
    reconnectMinMs: 100,
    reconnectMaxMs: 500,
    healthIntervalMs: 250,
    healthTimeoutMs: 500,
    breakerHoldMs: 10 * 60_000,
  });
}

/** Room ids on each server, asked of Janus directly. */
async function roomsOn(i: number): Promise<number[]> {
  const raw = await RawJanus.open(januses[i]!.url);
  try {
    const vr = await raw.videoroom(januses[i]!.apiSecret);
    const res = await vr({ request: 'list', admin_key: januses[i]!.adminKey });
    return (res.list as Array<{ room: number }>).map((r) => r.room);
  } finally {
    raw.close();
  }
}

/** Index of the one live server holding the room (fails when none or several do). */
async function serverOf(roomId: number, live = [0, 1, 2]): Promise<number> {
  const on: number[] = [];
  for (const i of live) if ((await roomsOn(i)).includes(roomId)) on.push(i);
  expect(on, `room ${roomId} on exactly one server`).toHaveLength(1);
  return on[0]!;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A participant in a room (joined, no media): what a consult's browser is to Janus's load. */
async function participant(g: Gateway, roomId: number, events: PeerEvent[] = []): Promise<PeerSession> {
  await g.ensureRoom(room(roomId));
  const peer = await g.openPeer({ roomId, display: '{"role":"patient"}', onEvent: (ev) => events.push(ev) });
  await peer.join();
  return peer;
}

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  januses = await Promise.all(
    names.map((_, i) =>
      startJanus({
        dir: join(dir, names[i]!),
        wsPort: BASE + 10 * i,
        adminPort: BASE + 10 * i + 1,
        iceEnforceList: 'v0',
        rtpPorts: `${20000 + 4000 * i}-${23999 + 4000 * i}`,
      }),
    ),
  );
  redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  await redis.flushAll();
  a = gateway();
  b = gateway();
  await Promise.all([a.start(), b.start()]);
  await until('all servers connected in both processes', () => [a, b].every((g) => g.status().every((s) => s.up)));
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.quit().catch(() => undefined);
  for (const j of januses ?? []) await j.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('placement over several Janus servers', () => {
  test('new rooms go to the least-loaded servers, by the load Janus reports (another process\'s rooms count too)', async () => {
    // Load on janus-1 that neither gateway placed: four rooms with a participant each.
    const raw = await RawJanus.open(januses[0]!.url);
    const vr = await raw.videoroom(januses[0]!.apiSecret);
    for (let r = 900; r < 904; r++) {
      await vr({ request: 'create', room: r, admin_key: januses[0]!.adminKey, is_private: true, publishers: 2 });
      const other = await raw.videoroom(januses[0]!.apiSecret);
      await other({ request: 'join', ptype: 'publisher', room: r });
    }
    await until('both processes see the load on janus-1', () =>
      [a, b].every((g) => g.status().find((s) => s.name === 'janus-1')!.participants >= 4),
    );
    const peers: PeerSession[] = [];
    for (let r = 1; r <= 4; r++) peers.push(await participant(r % 2 ? a : b, r));
    const where = await Promise.all([1, 2, 3, 4].map((r) => serverOf(r)));
    // janus-1 carries 8 (rooms + participants); two rooms with a participant each on janus-2 and -3 make 4.
    expect(where).not.toContain(0);
    expect(where.filter((i) => i === 1)).toHaveLength(2);
    expect(where.filter((i) => i === 2)).toHaveLength(2);
    for (const p of peers) await p.leave();
    for (let r = 1; r <= 4; r++) await a.destroyRoom(r, room(r).secret);
    for (let r = 900; r < 904; r++) await vr({ request: 'destroy', room: r, admin_key: januses[0]!.adminKey });
    raw.close();
  });

  test('two processes place the same room on the same server, even asking at the same moment', async () => {
    for (let r = 10; r < 20; r++) {
      await Promise.all([a.ensureRoom(room(r)), b.ensureRoom(room(r))]);
      await serverOf(r);
    }
    for (let r = 10; r < 20; r++) await a.destroyRoom(r, room(r).secret);
  });
});

describe('drain', () => {
  test('a draining server gets no new room in any process; its running rooms stay; undrain brings it back', async () => {
    const peers: PeerSession[] = [];
    // A running consult on janus-2 before the drain.
    let running = 0;
    for (let r = 30; running === 0 && r < 60; r++) {
      peers.push(await participant(a, r));
      if ((await serverOf(r)) === 1) running = r;
    }
    expect(running).toBeGreaterThan(0);
    await a.setDraining('janus-2', true);
    expect(a.status().find((s) => s.name === 'janus-2')!.draining).toBe(true);
    await until('the other process sees the drain', () => b.status().find((s) => s.name === 'janus-2')!.draining);
    const fresh: number[] = [];
    for (let r = 100; r < 108; r++) {
      peers.push(await participant(r % 2 ? a : b, r));
      fresh.push(await serverOf(r));
    }
    expect(fresh).not.toContain(1);
    // The running consult stays where it is, for both processes (a second participant joins it there).
    peers.push(await participant(b, running));
    expect(await serverOf(running)).toBe(1);
    // The network test does not go there either.
    const handles = b.status().find((s) => s.name === 'janus-2')!.handles;
    const echoes = await Promise.all(Array.from({ length: 6 }, () => b.openEcho({ onEvent: () => undefined })));
    expect(b.status().find((s) => s.name === 'janus-2')!.handles).toBe(handles);
    for (const e of echoes) await e.stop();

    await b.setDraining('janus-2', false);
    await until('the other process sees the undrain', () => !a.status().find((s) => s.name === 'janus-2')!.draining);
    for (const p of peers) await p.leave();
    for (const r of [...new Set([running, ...Array.from({ length: 30 }, (_, i) => 30 + i), ...Array.from({ length: 8 }, (_, i) => 100 + i)])]) {
      await a.destroyRoom(r, room(r).secret);
    }
  });
});

describe('failover', () => {
  test('a killed server: its peers are told, its rooms go to a live server, the same one in both processes', async () => {
    const events = new Map<number, PeerEvent[]>();
    const peers: PeerSession[] = [];
    for (let r = 200; r < 206; r++) {
      events.set(r, []);
      peers.push(await participant(r % 2 ? a : b, r, events.get(r)));
    }
    const where = new Map<number, number>();
    for (let r = 200; r < 206; r++) where.set(r, await serverOf(r));
    const victim = where.get(200)!;
    const moved = [...where].filter(([, i]) => i === victim).map(([r]) => r);
    januses[victim]!.kill('SIGKILL');
    await until('both processes lose the killed server', () => [a, b].every((g) => !g.status()[victim]!.up));
    for (const r of moved) expect(events.get(r)).toContainEqual({ type: 'lost' });
    for (const [r, i] of where) if (i !== victim) expect(events.get(r)).not.toContainEqual({ type: 'lost' });
    const live = [0, 1, 2].filter((i) => i !== victim);
    for (const r of moved) {
      // Both processes re-create the room (each has a browser in it) and must agree.
      await Promise.all([a.ensureRoom(room(r)), b.ensureRoom(room(r))]);
      const now = await serverOf(r, live);
      expect(live).toContain(now);
      peers.push(await participant(a, r));
    }
    for (const p of peers) await p.leave();
    for (let r = 200; r < 206; r++) await a.destroyRoom(r, room(r).secret);
    await januses[victim]!.restart();
    await until('the server is back in both processes', () => [a, b].every((g) => g.status()[victim]!.up));
  });

  test('a server that stops answering (a hung host, the socket still open) is lost after two failed health checks', async () => {
    let events: PeerEvent[] = [];
    let r = 300;
    let peer = await participant(a, r, events);
    while ((await serverOf(r)) !== 2) {
      await peer.leave();
      events = [];
      peer = await participant(a, ++r, events);
    }
    januses[2]!.kill('SIGSTOP');
    try {
      await until('the hung server counts as lost', () => !a.status()[2]!.up);
      expect(events).toContainEqual({ type: 'lost' });
      await a.ensureRoom(room(r));
      expect(await serverOf(r, [0, 1])).toBeGreaterThanOrEqual(0);
    } finally {
      januses[2]!.kill('SIGCONT');
    }
    await until('the server is back', () => a.status()[2]!.up);
    for (let x = 300; x <= r; x++) await a.destroyRoom(x, room(x).secret);
  });

  test('a server that flaps is held back from new rooms (circuit breaker)', async () => {
    // janus-3 was lost once just now (the hung host); lose it once more and let it return.
    januses[2]!.kill('SIGKILL');
    await until('lost', () => [a, b].every((g) => !g.status()[2]!.up));
    await januses[2]!.restart();
    await until('back', () => [a, b].every((g) => g.status()[2]!.up));
    expect(a.status()[2]!.held).toBe(true);
    const where: number[] = [];
    for (let r = 400; r < 406; r++) {
      await a.ensureRoom(room(r));
      where.push(await serverOf(r));
    }
    expect(where).not.toContain(2);
    for (let r = 400; r < 406; r++) await a.destroyRoom(r, room(r).secret);
  });
});
