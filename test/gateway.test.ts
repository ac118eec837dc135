/**
 * gateway/ against a real Janus running the appliance's hardened config (deploy/janus).
 * Run inside a network namespace:
 *   scripts/with-netns.sh npx vitest run test/gateway.test.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type PeerEvent } from '../gateway/src/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from './support/browser.js';
import { RawJanus, startJanus, type RunningJanus } from './support/janus.js';
import { startJanusTap, type JanusTap } from './support/janus-tap.js';

const WS_PORT = 18188;
const ADMIN_PORT = 17188;
const base = resolve('.run/test');
mkdirSync(base, { recursive: true });
const dir = mkdtempSync(join(base, 'gateway-'));

/** A pino-shaped logger that keeps lines, so tests can check nothing personal is logged. */
const lines: string[] = [];
const record = (level: string) => (...args: unknown[]) => void lines.push(`${level} ${JSON.stringify(args)}`);
const logger = { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') };

/** Resolves with the first value for which `pick` returns something, or rejects after `ms`. */
function waitFor<T>(what: string, ms: number, subscribe: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    subscribe((v) => (clearTimeout(timer), resolve(v)));
  });
}

let janus: RunningJanus;
let gateway: Gateway;
const room = (roomId: number) => ({ roomId, secret: `secret-${roomId}-0123456789abcdef`, publishers: 4, description: `consult ${roomId}` });

beforeAll(async () => {
  janus = await startJanus({ dir, wsPort: WS_PORT, adminPort: ADMIN_PORT, iceEnforceList: 'v0' });
  gateway = createGateway({
    servers: [{ name: 'janus-test', url: janus.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey }],
    logger,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
  });
  await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  await janus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('rendered Janus configuration', () => {
  const config = () =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.jcfg'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');

  it('has no package defaults, no demo rooms, and the hardening settings', () => {
    const text = config();
    expect(text).not.toMatch(/janusoverlord|adminpwd|room-1234|room-5678|0\.0\.0\.0/);
    expect(text).not.toMatch(/^\s*room-/m);
    expect(text).not.toMatch(/log_to_file/);
    expect(text).toMatch(/lock_rtp_forward = true/);
    expect(text).toMatch(/protected_folders = \[/);
    // Events: only the HTTP handler, only webrtc/media/core, only with credentials (docs/monitoring.md).
    expect(text).toMatch(/broadcast = true/);
    expect(text).toMatch(/events = "webrtc,media,core"/);
    expect(text).toMatch(/backend = "http:\/\/127\.0\.0\.1:\d+\/janus\/events"/);
    expect(text).toContain(`backend_pwd = "${janus.eventsPassword}"`);
    expect(text).toContain(`admin_key = "${janus.adminKey}"`);
    expect(text).toContain(`api_secret = "${janus.apiSecret}"`);
    expect(text).toContain(`admin_secret = "${janus.adminSecret}"`);
    expect(text).toMatch(/ice_enforce_list = "v0"/);
  });

  it('enables only videoroom, echotest and websockets', () => {
    expect(readdirSync(join(dir, 'enabled/plugins')).sort()).toEqual(['libjanus_echotest.so', 'libjanus_videoroom.so']);
    expect(readdirSync(join(dir, 'enabled/transports'))).toEqual(['libjanus_websockets.so']);
    expect(readdirSync(join(dir, 'enabled/events'))).toEqual(['libjanus_sampleevh.so']);
    expect(readdirSync(join(dir, 'enabled/none'))).toEqual([]);
    const files = readdirSync(dir).filter((f) => f.endsWith('.jcfg')).sort();
    expect(files).toEqual([
      'janus.eventhandler.sampleevh.jcfg',
      'janus.jcfg',
      'janus.plugin.echotest.jcfg',
      'janus.plugin.videoroom.jcfg',
      'janus.transport.websockets.jcfg',
    ]);
  });

  it('keeps secrets private and reuses them on a second render', () => {
    const path = join(dir, 'secrets.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const before = readFileSync(path, 'utf8');
    const secrets = JSON.parse(before) as Record<string, string>;
    for (const key of ['apiSecret', 'adminSecret', 'adminKey', 'eventsPassword']) expect(secrets[key]!.length).toBeGreaterThanOrEqual(32);
    const other = mkdtempSync(join(base, 'render-'));
    try {
      const out = execFileSync(process.execPath, ['scripts/janus-config.mjs', '--out', other], { encoding: 'utf8' });
      expect(out.trim()).toBe(join(other, 'secrets.json'));
      const first = readFileSync(join(other, 'secrets.json'), 'utf8');
      expect(first).not.toBe(before); // fresh secrets per install
      execFileSync(process.execPath, ['scripts/janus-config.mjs', '--out', other]);
      expect(readFileSync(join(other, 'secrets.json'), 'utf8')).toBe(first);
      expect(() => execFileSync(process.execPath, ['scripts/janus-config.mjs', '--out', other, '--bind', '0.0.0.0'], { stdio: 'pipe' })).toThrow();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('running Janus loaded only those modules', async () => {
    const raw = await RawJanus.open(janus.url);
    try {
      const info = await raw.send({ janus: 'info', apisecret: janus.apiSecret });
      expect(Object.keys(info.plugins).sort()).toEqual(['janus.plugin.echotest', 'janus.plugin.videoroom']);
      expect(Object.keys(info.transports)).toEqual(['janus.transport.websockets']);
      expect(Object.keys(info.events ?? {})).toEqual(['janus.eventhandler.sampleevh']);
      expect(Object.keys(info.loggers ?? {})).toEqual([]);
    } finally {
      raw.close();
    }
  });

  it('listens (Janus API and Admin API) on 127.0.0.1 only', () => {
    const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
    const mine = out.split('\n').filter((l) => l.includes(`pid=${janus.pid},`));
    const local = mine.map((l) => l.trim().split(/\s+/)[3]).sort();
    expect(local).toEqual([`127.0.0.1:${ADMIN_PORT}`, `127.0.0.1:${WS_PORT}`]);
  });

  it('refuses the Janus API without api_secret and the Admin API without admin_secret', async () => {
    const raw = await RawJanus.open(janus.url);
    const admin = await RawJanus.open(janus.adminUrl, 'janus-admin-protocol');
    try {
      expect((await raw.send({ janus: 'create' })).error?.code).toBe(403);
      expect((await raw.send({ janus: 'create', apisecret: 'janusrocks' })).error?.code).toBe(403);
      expect((await admin.send({ janus: 'list_sessions', admin_secret: 'janusoverlord' })).error?.code).toBe(403);
      expect((await admin.send({ janus: 'list_sessions', admin_secret: janus.adminSecret })).janus).toBe('success');
    } finally {
      raw.close();
      admin.close();
    }
  });
});

describe('rooms', () => {
  it('creates a room (twice is fine) and destroys it (twice is fine)', async () => {
    const raw = await RawJanus.open(janus.url);
    try {
      const vr = await raw.videoroom(janus.apiSecret);
      await gateway.ensureRoom(room(4101));
      await gateway.ensureRoom(room(4101));
      expect((await vr({ request: 'exists', room: 4101 })).exists).toBe(true);
      // is_private: the room list does not give it away.
      const list = (await vr({ request: 'list' })).list as Array<{ room: number }>;
      expect(list.map((r) => r.room)).not.toContain(4101);
      await gateway.destroyRoom(4101, room(4101).secret);
      expect((await vr({ request: 'exists', room: 4101 })).exists).toBe(false);
      await gateway.destroyRoom(4101, room(4101).secret);
    } finally {
      raw.close();
    }
  });

  it('refuses create without the admin_key', async () => {
    const raw = await RawJanus.open(janus.url);
    try {
      const vr = await raw.videoroom(janus.apiSecret);
      const res = await vr({ request: 'create', room: 4102, secret: 'x', record: true });
      expect(res).toMatchObject({ error_code: 429, error: expect.stringMatching(/admin_key/) }); // missing
      const guessed = await vr({ request: 'create', room: 4102, admin_key: 'supersecret' });
      expect(guessed.error_code).toBe(433); // JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
      expect((await vr({ request: 'exists', room: 4102 })).exists).toBe(false);
    } finally {
      raw.close();
    }
  });

  it('refuses to turn recording on without the room secret (lock_record)', async () => {
    await gateway.ensureRoom(room(4103));
    const raw = await RawJanus.open(janus.url);
    try {
      const vr = await raw.videoroom(janus.apiSecret);
      const res = await vr({ request: 'enable_recording', room: 4103, record: true });
      expect(res).toMatchObject({ error_code: 429, error: expect.stringMatching(/secret/) });
      const wrong = await vr({ request: 'enable_recording', room: 4103, record: true, secret: 'guess' });
      expect(wrong.error_code).toBe(433);
      // The room's own settings say so too.
      const rooms = (await vr({ request: 'list', admin_key: janus.adminKey })).list as Array<Record<string, unknown>>;
      expect(rooms.find((r) => r.room === 4103)).toMatchObject({ record: false, lock_record: true });
    } finally {
      raw.close();
      await gateway.destroyRoom(4103, room(4103).secret);
    }
  });

  it('lock_rtp_forward: RTP forwarding needs the admin_key as well as the secret', async () => {
    await gateway.ensureRoom(room(4104));
    const raw = await RawJanus.open(janus.url);
    try {
      const vr = await raw.videoroom(janus.apiSecret);
      const res = await vr({ request: 'rtp_forward', room: 4104, publisher_id: 1, host: '127.0.0.1', secret: room(4104).secret });
      expect(res).toMatchObject({ error_code: 429, error: expect.stringMatching(/admin_key/) });
      const guessed = await vr({ request: 'rtp_forward', room: 4104, publisher_id: 1, host: '127.0.0.1', secret: room(4104).secret, admin_key: 'x' });
      expect(guessed.error_code).toBe(433);
    } finally {
      raw.close();
      await gateway.destroyRoom(4104, room(4104).secret);
    }
  });
});

describe('peers', () => {
  it('join lists feeds, tells the peer its id, and leave is idempotent', async () => {
    await gateway.ensureRoom(room(4201));
    const display = JSON.stringify({ role: 'patient', label: 'Jansen', participantId: 'p-1' });
    const events: PeerEvent[] = [];
    const a = await gateway.openPeer({ roomId: 4201, display, onEvent: (e) => events.push(e) });
    const joined = await a.join();
    expect(joined.me).toBeGreaterThan(0);
    expect(joined.feeds).toEqual([]);
    const b = await gateway.openPeer({ roomId: 4201, display: '{"role":"clinician"}', onEvent: () => {} });
    const joinedB = await b.join();
    expect(joinedB.me).not.toBe(joined.me);
    // Without a PeerConnection nobody is a publishing feed yet (see gateway/README.md).
    expect(joinedB.feeds).toEqual([]);
    // A subscription to a feed that publishes nothing is refused by Janus, and cleaned up.
    await expect(a.subscribe(joinedB.me)).rejects.toThrow();
    await expect(a.answer(joinedB.me, { type: 'answer', sdp: '' })).rejects.toThrow(/no subscription/);
    await a.leave();
    await a.leave();
    await b.leave();
    await expect(a.join()).rejects.toThrow(/closed/);
    expect(events).toEqual([]);
    expect(lines.join('\n')).not.toContain('Jansen');
    await gateway.destroyRoom(4201, room(4201).secret);
  });
});

/** What browserPage() puts on the page's window (a bare WebRTC client, no app). */
interface BarePage {
  publish(): Promise<{ type: 'offer'; sdp: string }>;
  published(answer: RTCSessionDescriptionInit): Promise<void>;
  subscribe(offer: RTCSessionDescriptionInit): Promise<{ type: 'answer'; sdp: string }>;
  received(): Promise<{ frames: number; audio: number }>;
  pub: RTCPeerConnection;
  sub: RTCPeerConnection;
  frames: number;
}

/**
 * A headless Chromium page as the browser side of a PeerConnection: synthetic media (canvas and
 * oscillator, no devices), non-trickle (waits for ICE gathering, so no candidates are relayed).
 */
async function browserPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluate(() => {
    const w = window as unknown as BarePage;
    const waitGathered = (pc: RTCPeerConnection) =>
      new Promise<void>((done) => {
        if (pc.iceGatheringState === 'complete') return done();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
      });
    w.publish = async () => {
      const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
      const ctx = canvas.getContext('2d')!;
      setInterval(() => ctx.fillRect(Math.random() * 300, Math.random() * 200, 20, 20), 50);
      const audio = new AudioContext();
      const osc = audio.createOscillator();
      const dest = audio.createMediaStreamDestination();
      osc.connect(dest);
      osc.start();
      const pc = new RTCPeerConnection();
      for (const track of [...canvas.captureStream(20).getTracks(), ...dest.stream.getTracks()]) pc.addTrack(track);
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathered(pc);
      w.pub = pc;
      return { type: 'offer', sdp: pc.localDescription!.sdp };
    };
    w.published = (answer: RTCSessionDescriptionInit) => w.pub.setRemoteDescription(answer);
    w.subscribe = async (offer: RTCSessionDescriptionInit) => {
      const pc = new RTCPeerConnection();
      w.sub = pc;
      w.frames = 0;
      pc.ontrack = (ev) => {
        if (ev.track.kind !== 'video') return;
        const video = document.createElement('video');
        Object.assign(video, { muted: true, autoplay: true, srcObject: new MediaStream([ev.track]) });
        const count = () => (w.frames++, video.requestVideoFrameCallback(count));
        video.requestVideoFrameCallback(count);
        document.body.append(video);
      };
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await waitGathered(pc);
      return { type: 'answer', sdp: pc.localDescription!.sdp };
    };
    // What the subscription has received so far: presented video frames, audio RTP packets.
    w.received = async () => {
      let audio = 0;
      (await (w.sub as RTCPeerConnection).getStats()).forEach((r: any) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') audio += r.packetsReceived ?? 0;
      });
      return { frames: w.frames as number, audio };
    };
  });
  return page;
}

type Received = { frames: number; audio: number };
const received = (page: Page) => page.evaluate(() => (window as unknown as BarePage).received() as Promise<Received>);

/** Waits until a page's received frames and audio packets have both stood still for `quietMs`. */
async function mediaStops(page: Page, quietMs = 1500, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await received(page);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await received(page);
    if (now.frames !== last.frames || now.audio !== last.audio) (last = now), (since = Date.now());
    else if (Date.now() - since >= quietMs) return;
  }
  throw new Error(`media never stopped: ${JSON.stringify(last)}`);
}

/** Waits until a page has received more than `frames` new frames and `audio` new audio packets. */
async function mediaFlows(page: Page, from: Received, more = { frames: 5, audio: 10 }, timeoutMs = 20_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await received(page);
    if (now.frames - from.frames > more.frames && now.audio - from.audio > more.audio) return now;
    if (Date.now() > deadline) throw new Error(`media did not flow: from ${JSON.stringify(from)} to ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every object (at any depth) in a Janus request, with the key path that leads to it. */
function* walk(v: unknown, path = ''): Generator<[string, string, unknown]> {
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    yield [`${path}${k}`, k, x];
    yield* walk(x, `${path}${k}.`);
  }
}

describe('media through Janus (headless Chromium)', () => {
  let browser: Browser | undefined;
  afterAll(() => browser?.close());

  it('a publishing peer becomes feed-joined for the other, which subscribes and gets frames', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    await gateway.ensureRoom(room(4401));
    const eventsA: PeerEvent[] = [];
    const eventsB: PeerEvent[] = [];
    const wait = (events: PeerEvent[], what: (e: PeerEvent) => boolean, label: string) =>
      waitFor<void>(label, 15_000, (done) => {
        const t = setInterval(() => events.some(what) && (clearInterval(t), done()), 50);
      });
    const clinician = await gateway.openPeer({ roomId: 4401, display: '{"role":"clinician"}', onEvent: (e) => eventsA.push(e) });
    await clinician.join();
    const patient = await gateway.openPeer({ roomId: 4401, display: '{"role":"patient"}', onEvent: (e) => eventsB.push(e) });
    const { me: patientFeed } = await patient.join();

    const pageB = await browserPage(browser);
    const answer = await patient.publish(await pageB.evaluate(() => (window as unknown as BarePage).publish()), { audio: true, video: true });
    expect(answer.type).toBe('answer');
    await pageB.evaluate((a) => (window as unknown as BarePage).published(a), answer);
    await wait(eventsB, (e) => e.type === 'webrtc-up' && e.target === 'publisher', 'publisher webrtc-up');
    await wait(eventsA, (e) => e.type === 'feed-joined' && e.feed.feed === patientFeed, 'feed-joined');
    expect(eventsA.find((e) => e.type === 'feed-joined')).toEqual({
      type: 'feed-joined',
      feed: { feed: patientFeed, display: '{"role":"patient"}' },
    });

    const pageA = await browserPage(browser);
    const offer = await clinician.subscribe(patientFeed);
    expect(offer.type).toBe('offer');
    await clinician.answer(patientFeed, await pageA.evaluate((o) => (window as unknown as BarePage).subscribe(o), offer));
    await clinician.trickle(patientFeed, null);
    await wait(eventsA, (e) => e.type === 'webrtc-up' && e.target === patientFeed, 'subscriber webrtc-up');
    await pageA.waitForFunction(() => (window as unknown as BarePage).frames > 5, null, { timeout: 10_000 });

    await patient.mute({ audio: false, video: false });
    await patient.mute({ audio: true, video: true });
    await patient.leave();
    await wait(eventsA, (e) => e.type === 'feed-left' && e.feed === patientFeed, 'feed-left');
    await clinician.leave();
    await gateway.destroyRoom(4401, room(4401).secret);
  });

  it('a screen share is a second publisher: a feed for the others, never for the sharer; stop takes it away', async () => {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    await gateway.ensureRoom(room(4402));
    const eventsA: PeerEvent[] = [];
    const eventsB: PeerEvent[] = [];
    const wait = (events: PeerEvent[], what: (e: PeerEvent) => boolean, label: string) =>
      waitFor<void>(label, 15_000, (done) => {
        const t = setInterval(() => events.some(what) && (clearInterval(t), done()), 50);
      });
    const clinician = await gateway.openPeer({ roomId: 4402, display: '{"role":"clinician"}', onEvent: (e) => eventsA.push(e) });
    await clinician.join();
    const patient = await gateway.openPeer({ roomId: 4402, display: '{"role":"patient"}', onEvent: (e) => eventsB.push(e) });
    await patient.join();
    await expect(patient.shareScreen({ type: 'answer', sdp: 'v=0' }, '{}')).rejects.toThrow(/offer/);
    expect(patient.sharing()).toBe(false);

    const display = '{"role":"clinician","screen":true}';
    const sharer = await browserPage(browser);
    const shared = await clinician.shareScreen(await sharer.evaluate(() => (window as unknown as BarePage).publish()), display);
    expect(shared.answer.type).toBe('answer');
    await sharer.evaluate((a) => (window as unknown as BarePage).published(a), shared.answer);
    await wait(eventsB, (e) => e.type === 'feed-joined' && e.feed.feed === shared.feed, 'screen feed-joined');
    expect(eventsB.find((e) => e.type === 'feed-joined' && e.feed.feed === shared.feed)).toEqual({ type: 'feed-joined', feed: { feed: shared.feed, display } });
    expect(clinician.sharing()).toBe(true);
    expect(clinician.state()?.screen).toMatchObject({ feed: shared.feed, display });

    const viewer = await browserPage(browser);
    const offer = await patient.subscribe(shared.feed);
    await patient.answer(shared.feed, await viewer.evaluate((o) => (window as unknown as BarePage).subscribe(o), offer));
    await patient.trickle(shared.feed, null);
    await viewer.waitForFunction(() => (window as unknown as BarePage).frames > 5, null, { timeout: 10_000 });

    expect(await clinician.stopScreen()).toBe(true);
    await wait(eventsB, (e) => e.type === 'feed-left' && e.feed === shared.feed, 'screen feed-left');
    expect(await clinician.stopScreen()).toBe(false);
    expect(clinician.state()?.screen).toBeUndefined();
    // The sharer was never told of its own screen.
    expect(eventsA.filter((e) => e.type === 'feed-joined')).toEqual([]);
    await patient.leave();
    await clinician.leave();
    await gateway.destroyRoom(4402, room(4402).secret);
  });
});

describe('nothing recorded: every request the gateway sends to Janus', () => {
  let browser: Browser | undefined;
  let tap: JanusTap | undefined;
  let tapped: Gateway | undefined;
  afterAll(async () => {
    await tapped?.stop();
    await tap?.close();
    await browser?.close();
  });

  it('never asks Janus to record across a consult with a device test and a third party; mute is applied at Janus', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // A gateway of its own, talking to Janus through a tap that keeps every request it sends.
    tap = await startJanusTap(janus.url);
    tapped = createGateway({
      servers: [{ name: 'janus-tapped', url: tap.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey }],
      logger,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
    });
    await tapped.start();
    const gw = tapped;
    const events = new Map<string, PeerEvent[]>();
    const on = (who: string) => (e: PeerEvent) => void (events.get(who) ?? events.set(who, []).get(who)!).push(e);
    const wait = (who: string, what: (e: PeerEvent) => boolean, label: string) =>
      waitFor<void>(label, 15_000, (done) => {
        const t = setInterval(() => (events.get(who) ?? []).some(what) && (clearInterval(t), done()), 50);
      });

    // The patient's device test: an EchoTest round trip with real media.
    const echoPage = await browserPage(browser);
    let echoUp = false;
    const echo = await gw.openEcho({ onEvent: (e) => void (e.type === 'webrtc-up' && (echoUp = true)) });
    const echoAnswer = await echo.start(await echoPage.evaluate(() => (window as unknown as BarePage).publish()));
    await echoPage.evaluate((a) => (window as unknown as BarePage).published(a), echoAnswer);
    await waitFor<void>('echo webrtc-up', 15_000, (done) => {
      const t = setInterval(() => echoUp && (clearInterval(t), done()), 50);
    });
    await echo.stop();

    // The consult: clinician, patient and a third party (an interpreter) all publish; the
    // clinician watches the patient and the third party.
    const r = room(4202);
    await gw.ensureRoom(r);
    const peers = {
      clinician: await gw.openPeer({ roomId: r.roomId, display: '{"role":"clinician"}', onEvent: on('clinician') }),
      patient: await gw.openPeer({ roomId: r.roomId, display: '{"role":"patient"}', onEvent: on('patient') }),
      third: await gw.openPeer({ roomId: r.roomId, display: '{"role":"guest"}', onEvent: on('third') }),
    };
    const feeds: Record<string, number> = {};
    for (const [who, peer] of Object.entries(peers)) {
      feeds[who] = (await peer.join()).me;
      const page = await browserPage(browser);
      const offer = (await page.evaluate(() => (window as unknown as BarePage).publish())) as { type: string; sdp: string };
      // Whatever a caller adds to the offer, none of it may reach Janus.
      const sneaky = { ...offer, record: true, filename: '/tmp/x', rec_dir: '/tmp' } as never;
      await page.evaluate((a) => (window as unknown as BarePage).published(a), await peer.publish(sneaky, { audio: true, video: true }));
      await wait(who, (e) => e.type === 'webrtc-up' && e.target === 'publisher', `${who} publisher webrtc-up`);
    }
    const watch = async (feed: number) => {
      const page = await browserPage(browser!);
      const offer = await peers.clinician.subscribe(feed);
      await peers.clinician.answer(feed, await page.evaluate((o) => (window as unknown as BarePage).subscribe(o), offer));
      await peers.clinician.trickle(feed, null);
      return page;
    };
    const seesPatient = await watch(feeds.patient!);
    const seesThird = await watch(feeds.third!);
    const flowing = await mediaFlows(seesPatient, { frames: 0, audio: 0 });
    await mediaFlows(seesThird, { frames: 0, audio: 0 });

    // Mute at Janus: the clinician stops receiving the patient's frames and audio packets, and
    // gets them again after unmuting.
    await peers.patient.mute({ audio: false, video: false });
    await mediaStops(seesPatient);
    const muted = await received(seesPatient);
    await peers.patient.mute({ audio: true, video: true });
    await mediaFlows(seesPatient, muted);

    for (const peer of Object.values(peers)) await peer.leave();
    await gw.destroyRoom(r.roomId, r.secret);

    // The tap saw the whole consult (so its silence below means something) …
    const sent = tap.sent;
    const bodies = sent.map((m) => (m.body ?? {}) as Record<string, unknown>);
    expect(sent.some((m) => m.janus === 'attach' && m.plugin === 'janus.plugin.echotest')).toBe(true);
    expect(sent.some((m) => m.janus === 'message' && m.jsep && (m.body as Record<string, unknown>)?.audio === true && !('request' in (m.body as object)))).toBe(true);
    expect(bodies.filter((b) => b.request === 'join' && b.ptype === 'publisher')).toHaveLength(3);
    expect(bodies.filter((b) => b.request === 'join' && b.ptype === 'subscriber')).toHaveLength(2);
    expect(sent.filter((m) => m.janus === 'message' && (m.body as Record<string, unknown>)?.request === 'configure' && m.jsep)).toHaveLength(3);
    expect(bodies.filter((b) => b.request === 'start')).toHaveLength(2);
    expect(bodies.some((b) => b.request === 'configure' && b.audio === false && b.video === false)).toBe(true);
    expect(bodies.some((b) => b.request === 'create' && b.record === false && b.lock_record === true)).toBe(true);
    // … and no request asked for a recording, a recording's file or folder, or a packet capture.
    const offending: string[] = [];
    for (const m of sent) {
      for (const [path, key, value] of walk(m)) {
        const bad =
          (key === 'record' && value !== false) ||
          (key === 'lock_record' && value !== true) ||
          /filename|rec_dir|recording|pcap/i.test(key) ||
          (typeof value === 'string' && key !== 'sdp' && key !== 'candidate' && /record|pcap/i.test(value));
        if (bad) offending.push(`${path}=${JSON.stringify(value)} in ${String(m.janus)} ${JSON.stringify(m.body ?? {})}`);
      }
    }
    expect(offending).toEqual([]);
  }, 240_000);
});

describe('reconnect', () => {
  it('emits down then up by itself after Janus dies, and peers get lost', async () => {
    await gateway.ensureRoom(room(4301));
    const events: PeerEvent[] = [];
    const peer = await gateway.openPeer({ roomId: 4301, display: '{}', onEvent: (e) => events.push(e) });
    await peer.join();

    const order: string[] = [];
    gateway.on('down', (name: string) => order.push(`down:${name}`));
    gateway.on('up', (name: string) => order.push(`up:${name}`));
    const down = waitFor<void>('down', 5000, (done) => gateway.once('down', () => done()));
    janus.kill('SIGKILL');
    await down;
    expect(gateway.isUp()).toBe(false);
    expect(gateway.status()[0]).toMatchObject({ name: 'janus-test', up: false });
    expect(events).toEqual([{ type: 'lost' }]);
    await expect(peer.mute({ audio: false, video: false })).rejects.toThrow(/lost/);
    await expect(gateway.ensureRoom(room(4301))).rejects.toThrow(/no Janus server/);
    await peer.leave();

    const up = waitFor<void>('up', 10_000, (done) => gateway.once('up', () => done()));
    const t0 = Date.now();
    await janus.restart();
    await up;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(order).toEqual(['down:janus-test', 'up:janus-test']);
    expect(gateway.isUp()).toBe(true);
    expect(gateway.status()[0]).toMatchObject({ name: 'janus-test', up: true });
    await gateway.ensureRoom(room(4301));
    const again = await gateway.openPeer({ roomId: 4301, display: '{}', onEvent: () => {} });
    expect((await again.join()).feeds).toEqual([]);
    await again.leave();
    await gateway.destroyRoom(4301, room(4301).secret);
  });
});
