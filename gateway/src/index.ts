/**
 * The gateway: janode connections to the Janus servers, room lifecycle and the per-browser
 * signalling relay. The control plane sees only the types in ./types.ts.
 */
import { EventEmitter } from 'node:events';
import Janode, { type JanodeConnection, type JanodeSession } from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle, type JanodePublisher } from 'janode/plugins/videoroom';
import EchoTestPlugin, { type EchoTestHandle } from 'janode/plugins/echotest';
import type {
  EchoEvent,
  EchoSession,
  FeedEvent,
  Gateway,
  GatewayOptions,
  IceCandidate,
  JanusServerConfig,
  JanusServerStatus,
  JoinResult,
  Jsep,
  PeerEvent,
  PeerSession,
  PeerState,
  PlacementStore,
  RoomSpec,
  SessionStore,
} from './types.js';
import { adoptHandle, claimSession } from './resume.js';
import { Breaker, choose } from './placement.js';

export type * from './types.js';

type Log = GatewayOptions['logger'];
type Handle = VideoRoomHandle;

const { EVENT } = Janode;
const VR = VideoRoomPlugin.EVENT;
/** Session keep-alive period; Janus drops sessions silent for session_timeout (60 s). */
const KEEPALIVE_SECS = 20;
/**
 * The mark that a live process holds a Janus session (SessionStore.hold): refreshed every
 * HOLD_REFRESH_MS, runs out HOLD_TTL_MS after the process stops. A process taking over a dead
 * one's browsers waits at most this long before claiming its session (the media goes on
 * meanwhile: Janus keeps the session for reclaim_session_timeout, 30 s).
 */
const HOLD_REFRESH_MS = 1000;
const HOLD_TTL_MS = 3000;
/** A claimed session none of whose browsers came back within this long is ended. */
const CLAIMED_IDLE_MS = 60_000;
const ERR_NO_SUCH_ROOM = 426;
const ERR_ROOM_EXISTS = 427;
/**
 * The network test's bitrate cap (bit/s), sent as the EchoTest `bitrate` (REMB). Enough to tell
 * a good line from a poor one (network-grade.ts calls 600 kbit/s good), small enough that the
 * echo is no free relay.
 */
const ECHO_BITRATE_CAP = 1_500_000;

/** What a Janus server tells when it goes: video-room peers and echo sessions alike. */
interface OnServer {
  lost(reason: string, event?: boolean): void;
  /** Janus handles it holds (for the handles gauge). */
  handleCount(): number;
}

/**
 * No Janus server can take the request (none connected, or it was lost meanwhile): a passing
 * condition, which the control plane answers with 503 and Retry-After (http/errors.ts knows
 * the name), never 500.
 */
function unavailable(message: string): Error {
  const err = new Error(message);
  err.name = 'JanusUnavailableError';
  return err;
}

/** janode errors carry the plugin's error code in `_code`. */
const codeOf = (err: unknown): number | undefined => (err as { _code?: number } | null)?._code;

/**
 * janode prints to the console and, at debug level, whole messages (with display names).
 * Send its warnings and errors to our logger with displays blanked; drop the chatter.
 */
function routeJanodeLogs(log: Log): void {
  const scrub = (args: unknown[]) =>
    args.map(String).join(' ').replace(/("display"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[redacted]"');
  const quiet = () => {};
  Object.assign(Janode.Logger, {
    debug: quiet,
    verbose: quiet,
    info: quiet,
    warning: (...args: unknown[]) => log.debug({ janode: 'warn' }, scrub(args)),
    error: (...args: unknown[]) => log.debug({ janode: 'error' }, scrub(args)),
  });
}

/** Resolves or rejects like `p`, or rejects after `ms`; `p` is never left unhandled. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (err: unknown) => (clearTimeout(timer), reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

/** One Janus server: a janode connection, one session, a long-lived admin handle. */
class JanusServer {
  up = false;
  since: Date | null = null;
  readonly peers = new Set<OnServer>();
  /** Flapping servers are held back from new rooms for a while. */
  readonly breaker: Breaker;
  /** Known to be down: lost, or a connect attempt failed (not merely "not connected yet"). */
  knownDown = false;
  /** From the last health check (every process's rooms): VideoRoom rooms and participants. */
  rooms = 0;
  participants = 0;
  /** Rooms this process put here since the last health check (not yet in `rooms`). */
  placedSince = 0;
  private healthFailures = 0;
  private probing = false;
  session: JanodeSession | null = null;
  admin: Handle | null = null;
  private connection: JanodeConnection | null = null;
  /** Bumped on every connect, so events of an old connection are ignored. */
  private generation = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Sessions of processes that died, claimed here for their browsers' handles (by id). */
  private readonly claimed = new Map<number, { session: Promise<JanodeSession | null>; since: number; peers: Set<OnServer> }>();
  private holdTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly cfg: JanusServerConfig,
    private readonly log: Log,
    private readonly backoff: { min: number; max: number },
    private readonly onChange: (server: JanusServer, up: boolean) => void,
    private readonly store?: SessionStore,
    breakerHoldMs?: number,
  ) {
    this.breaker = new Breaker({ holdMs: breakerHoldMs });
  }

  /** Load as placement weighs it: participants and rooms (all processes'), our network tests. */
  load(): number {
    let echoes = 0;
    for (const p of this.peers) if (p instanceof Echo) echoes++;
    return this.participants + this.rooms + this.placedSince + echoes;
  }

  /**
   * Health check: VideoRoom `list` on the admin handle (with the admin key, so our private
   * rooms are listed). Gives the load every process sees alike. Two failures in a row (no
   * answer: a host that went away without closing the socket) count as losing the server.
   */
  async probe(timeoutMs: number): Promise<void> {
    if (!this.up || !this.admin || this.probing) return;
    this.probing = true;
    const generation = this.generation;
    try {
      const res = await within(this.admin.message({ request: 'list', admin_key: this.cfg.adminKey }), timeoutMs, 'health check');
      const list = ((res.plugindata?.data as { list?: Array<{ num_participants?: number }> } | undefined)?.list) ?? [];
      this.rooms = list.length;
      this.participants = list.reduce((n, r) => n + (r.num_participants ?? 0), 0);
      this.placedSince = 0;
      this.healthFailures = 0;
    } catch (err) {
      if (generation !== this.generation || !this.up) return;
      this.healthFailures++;
      this.log.warn({ server: this.cfg.name, failures: this.healthFailures, err: (err as Error).message }, 'janus health check failed');
      if (this.healthFailures >= 2) this.lost(generation, 'health check failed');
    } finally {
      this.probing = false;
    }
  }

  /** Connected once already in this process: a later connect never adopts an old session. */
  private connectedBefore = false;
  /** Requests in flight (whileUp): failed at once when the server is lost or stopped. */
  private readonly inFlight = new Set<(err: Error) => void>();

  /**
   * `p`, or a rejection as soon as this server is lost or stopped. janode fails its requests
   * only when the socket closes, and the socket of a host that hangs closes only when janode's
   * ping gives up (up to 15 s): meanwhile a browser's signalling would wait on the dead server.
   */
  whileUp<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    if (!this.up) return Promise.reject(unavailable(`Janus server ${this.cfg.name} is not connected`));
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.inFlight.add(fail);
      p.then(
        (v) => (this.inFlight.delete(fail), resolve(v)),
        (err: unknown) => {
          this.inFlight.delete(fail);
          // janode's "connection closed" when the server went: say so.
          if (!this.up) reject(unavailable(`Janus server ${this.cfg.name} was lost`));
          else reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private failInFlight(reason: string): void {
    const err = unavailable(reason);
    for (const fail of [...this.inFlight]) fail(err);
    this.inFlight.clear();
  }

  /**
   * On this process's first connect, the previous process's session when it is still there
   * (claimed, with its admin handle), else a new one. Its ids go to the store for the next
   * process. On a reconnect within this process the browsers renegotiate on new handles, so
   * an old session Janus still keeps (only the socket dropped) is claimed and destroyed: its
   * handles would otherwise linger in the rooms for reclaim_session_timeout.
   */
  private async openSession(connection: JanodeConnection): Promise<{ session: JanodeSession; admin: Handle }> {
    let kept = await this.store?.load(this.cfg.name).catch(() => null);
    const adopt = !this.connectedBefore;
    this.connectedBefore = true;
    // Another process took it over meanwhile (our browsers moved there): it is theirs now.
    if (kept && (await this.store?.heldElsewhere?.(this.cfg.name, kept.session).catch(() => false))) kept = null;
    if (kept) {
      let claimed: JanodeSession | null = null;
      try {
        const session = (claimed = await claimSession(connection, kept.session, KEEPALIVE_SECS));
        if (adopt) {
          const admin = adoptHandle(session, VideoRoomPlugin, kept.admin);
          // The adopted admin handle must answer, or everything below would fail later.
          await admin.message({ request: 'list' });
          this.log.info({ server: this.cfg.name }, 'janus session taken over from the previous process');
          return { session, admin };
        }
        await session.destroy().catch(() => undefined);
      } catch (err) {
        // Claimed but not usable (its admin handle gone): end it, or its handles would linger.
        await claimed?.destroy().catch(() => undefined);
        if (adopt) this.log.info({ server: this.cfg.name, err: (err as Error).message }, 'previous janus session is gone; starting afresh');
      }
    }
    const session = await connection.create(KEEPALIVE_SECS);
    const admin = await session.attach(VideoRoomPlugin);
    await this.store?.save(this.cfg.name, { session: session.id, admin: admin.id }).catch(() => undefined);
    return { session, admin };
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    let connection: JanodeConnection | null = null;
    try {
      // max_retries 0: janode's own retry loop only covers the first connect; ours is below.
      connection = await Janode.connect({ address: { url: this.cfg.url, apisecret: this.cfg.apiSecret }, max_retries: 0 });
      const { session, admin } = await this.openSession(connection);
      if (this.stopped) {
        await connection.close().catch(() => {});
        return;
      }
      const generation = ++this.generation;
      const lost = (reason: string) => () => this.lost(generation, reason);
      connection.once(EVENT.CONNECTION_ERROR, lost('connection error'));
      connection.once(EVENT.CONNECTION_CLOSED, lost('connection closed'));
      session.once(EVENT.SESSION_DESTROYED, lost('session destroyed'));
      admin.once(EVENT.HANDLE_DETACHED, lost('admin handle detached'));
      this.connection = connection;
      this.session = session;
      this.admin = admin;
      this.up = true;
      this.knownDown = false;
      this.since = new Date();
      this.attempt = 0;
      this.healthFailures = 0;
      this.rooms = 0;
      this.participants = 0;
      this.placedSince = 0;
      this.breaker.back(Date.now());
      this.startHolding();
      this.log.info({ server: this.cfg.name }, 'janus connected');
      this.onChange(this, true);
    } catch (err) {
      connection?.close().catch(() => {});
      this.knownDown = true;
      this.log.warn({ server: this.cfg.name, attempt: this.attempt, err: (err as Error).message }, 'janus connect failed');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    const { min, max } = this.backoff;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt = Math.min(this.attempt + 1, 20);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private lost(generation: number, reason: string): void {
    if (generation !== this.generation || !this.up) return;
    this.log.warn({ server: this.cfg.name, reason }, 'janus connection lost');
    const connection = this.connection;
    this.forget();
    this.knownDown = true;
    this.breaker.lost(Date.now());
    // A destroyed session on a live socket (e.g. Janus timed it out): start afresh.
    connection?.close().catch(() => {});
    for (const peer of [...this.peers]) peer.lost(`Janus server ${this.cfg.name} was lost`);
    this.failInFlight(`Janus server ${this.cfg.name} was lost`);
    this.onChange(this, false);
    this.scheduleReconnect();
  }

  private forget(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = null;
    // Claimed sessions went with the connection (janode ends them when it closes).
    this.claimed.clear();
    this.connection = null;
    this.session = null;
    this.admin = null;
    if (this.up) this.since = new Date();
    this.up = false;
  }

  /**
   * Every second while connected: mark our session and the ones we claimed as held (so that no
   * other process claims them), and end claimed sessions whose browsers are all gone.
   */
  private startHolding(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    const store = this.store;
    const tick = () => {
      const now = Date.now();
      const ids: number[] = this.session ? [this.session.id] : [];
      for (const [id, c] of this.claimed) {
        const inUse = [...c.peers].some((p) => this.peers.has(p));
        if (!inUse && now - c.since > CLAIMED_IDLE_MS) {
          this.claimed.delete(id);
          void c.session.then((s) => s?.destroy()).catch(() => undefined);
          continue;
        }
        ids.push(id);
      }
      if (store?.hold) for (const id of ids) void store.hold(this.cfg.name, id, HOLD_TTL_MS).catch(() => undefined);
    };
    tick();
    this.holdTimer = setInterval(tick, HOLD_REFRESH_MS);
    this.holdTimer.unref();
  }

  /**
   * Session `id` on this server for taking a browser's handles over: our own, or one of a
   * process that is gone, claimed on our connection (once, whoever asks first). A session
   * another live process holds is waited for until its mark runs out (that process died) or
   * refused (null: it lives, and keeps its session).
   */
  async sessionFor(id: number): Promise<JanodeSession | null> {
    if (!this.up || !this.session) return null;
    if (this.session.id === id) return this.session;
    let c = this.claimed.get(id);
    if (!c) {
      c = { session: this.claim(id), since: Date.now(), peers: new Set() };
      this.claimed.set(id, c);
      const entry = c;
      void entry.session.then((s) => {
        if (!s && this.claimed.get(id) === entry) this.claimed.delete(id);
      });
    }
    return c.session;
  }

  /** Remember that `peer` lives in claimed session `id` (the session ends when none is left). */
  usesClaimed(id: number, peer: OnServer): void {
    this.claimed.get(id)?.peers.add(peer);
  }

  private async claim(id: number): Promise<JanodeSession | null> {
    const generation = this.generation;
    const deadline = Date.now() + HOLD_TTL_MS + HOLD_REFRESH_MS;
    try {
      while (this.store?.heldElsewhere && (await this.store.heldElsewhere(this.cfg.name, id))) {
        if (Date.now() > deadline) {
          this.log.info({ server: this.cfg.name }, 'janus session held by a live process; not taken over');
          return null;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const connection = this.connection;
      if (!connection || generation !== this.generation) return null;
      const session = await claimSession(connection, id, KEEPALIVE_SECS);
      if (generation !== this.generation) {
        await session.destroy().catch(() => undefined);
        return null;
      }
      await this.store?.hold?.(this.cfg.name, id, HOLD_TTL_MS).catch(() => undefined);
      this.log.info({ server: this.cfg.name }, 'janus session of a stopped process taken over');
      return session;
    } catch (err) {
      this.log.info({ server: this.cfg.name, err: (err as Error).message }, 'janus session of a stopped process is gone');
      return null;
    }
  }

  async stop(handOver = false): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.generation++; // what follows is not a loss
    for (const peer of [...this.peers]) peer.lost('the gateway was stopped', false);
    this.failInFlight('the gateway was stopped');
    const { connection, session } = this;
    this.forget();
    // Handing over: only the socket closes; Janus keeps the session (reclaim_session_timeout)
    // and the media flowing until the next process claims it.
    if (!handOver) {
      await session?.destroy().catch(() => {});
      await this.store?.save(this.cfg.name, null).catch(() => undefined);
    }
    await connection?.close().catch(() => {});
  }

  /** Send a VideoRoom request on the admin handle. */
  async request(body: Record<string, unknown>) {
    if (!this.admin) throw unavailable(`Janus server ${this.cfg.name} is not connected`);
    return this.whileUp(this.admin.message(body));
  }
}

/** One browser in one room. Every call after loss or leave() rejects. */
class Peer implements PeerSession {
  private readonly subscribers = new Map<number, Handle>();
  /** Feeds announced to the browser, so a repeated publisher list is not announced twice. */
  private readonly feeds = new Set<number>();
  private me: number | null = null;
  private privateId: number | undefined;
  private closed: string | null = null;

  constructor(
    private readonly server: JanusServer,
    private readonly publisher: Handle,
    readonly roomId: number,
    private readonly display: string,
    private readonly onEvent: (ev: PeerEvent) => void,
    private readonly log: Log,
    private readonly onHandles: (handleIds: number[]) => void = () => {},
  ) {
    server.peers.add(this);
    this.tellHandles([publisher.id]);
    publisher.on(VR.VIDEOROOM_PUB_LIST, ({ publishers }: { publishers: JanodePublisher[] }) => {
      for (const p of publishers) this.feedJoined(p);
    });
    publisher.on(VR.VIDEOROOM_UNPUBLISHED, ({ feed }: { feed: number }) => this.feedLeft(feed));
    publisher.on(VR.VIDEOROOM_LEAVING, ({ feed }: { feed: number }) => this.feedLeft(feed));
    publisher.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up', target: 'publisher' }));
    publisher.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) =>
      this.emit({ type: 'webrtc-down', target: 'publisher', reason: reason ?? 'hangup' }),
    );
    publisher.on(VR.VIDEOROOM_KICKED, () => this.log.warn({ room: roomId, handle: publisher.id }, 'peer kicked by Janus'));
    publisher.on(VR.VIDEOROOM_DESTROYED, () => this.log.info({ room: roomId }, 'room destroyed under a peer'));
  }

  private emit(ev: PeerEvent): void {
    if (this.closed) return;
    try {
      this.onEvent(ev);
    } catch (err) {
      this.log.error({ room: this.roomId, err: (err as Error).message }, 'peer event handler threw');
    }
  }

  private tellHandles(ids: number[]): void {
    try {
      this.onHandles(ids);
    } catch (err) {
      this.log.error({ room: this.roomId, err: (err as Error).message }, 'peer handle listener threw');
    }
  }

  handleCount(): number {
    return 1 + this.subscribers.size;
  }

  private feedJoined(p: JanodePublisher): void {
    if (p.feed === this.me || this.feeds.has(p.feed)) return;
    this.feeds.add(p.feed);
    this.emit({ type: 'feed-joined', feed: { feed: p.feed, display: p.display ?? '' } });
  }

  private feedLeft(feed: number): void {
    if (!this.feeds.delete(feed)) return;
    this.dropSubscriber(feed);
    this.emit({ type: 'feed-left', feed });
  }

  private dropSubscriber(feed: number): void {
    const handle = this.subscribers.get(feed);
    this.subscribers.delete(feed);
    // janode rejects a second detach ("already detached"): never an unhandled rejection.
    void handle?.detach().catch(() => undefined);
  }

  private check(): void {
    if (this.closed) throw new Error(`peer session in room ${this.roomId} is closed: ${this.closed}`);
  }

  /** Called by the server on loss (event: true) or stop (no event). */
  lost(reason: string, event = true): void {
    if (this.closed) return;
    if (event) this.emit({ type: 'lost' });
    this.closed = reason;
    this.server.peers.delete(this);
  }

  async join(): Promise<JoinResult> {
    this.check();
    const joined = await this.server.whileUp(this.publisher.joinPublisher({ room: this.roomId, display: this.display }));
    this.me = joined.feed;
    this.privateId = joined.private_id;
    const feeds: FeedEvent[] = [];
    for (const p of joined.publishers) {
      if (p.feed === this.me) continue;
      this.feeds.add(p.feed);
      feeds.push({ feed: p.feed, display: p.display ?? '' });
    }
    this.log.debug({ room: this.roomId, feed: this.me, feeds: feeds.length }, 'peer joined');
    return { me: this.me, feeds };
  }

  async publish(offer: Jsep, media: { audio: boolean; video: boolean }): Promise<Jsep> {
    this.check();
    if (offer.type !== 'offer') throw new Error('publish needs an SDP offer');
    // Only these fields: never record or filename, whatever the browser sent.
    const res = await this.server.whileUp(this.publisher.configure({ audio: media.audio, video: media.video, jsep: { type: 'offer', sdp: offer.sdp } }));
    if (res.jsep?.type !== 'answer') throw new Error('Janus sent no SDP answer to the publish');
    return { type: 'answer', sdp: res.jsep.sdp };
  }

  async subscribe(feed: number): Promise<Jsep> {
    this.check();
    if (this.me === null) throw new Error('join before subscribing');
    // A repeated subscribe (browser renegotiating) starts from a fresh handle.
    this.dropSubscriber(feed);
    // In the publisher's session: ours, or the one claimed from a process that died (resumePeer).
    if (!this.server.session) throw new Error(`Janus server ${this.server.cfg.name} is not connected`);
    const handle = await this.server.whileUp(this.publisher.session.attach(VideoRoomPlugin));
    this.watchSubscriber(feed, handle);
    try {
      this.check();
      // Janus 1.x multistream: a subscription names the feed in `streams`; private_id ties it
      // to our publisher (rooms are created with require_pvtid).
      const res = await this.server.whileUp(handle.joinSubscriber({ room: this.roomId, streams: [{ feed }], private_id: this.privateId }));
      if (res.jsep?.type !== 'offer') throw new Error('Janus sent no SDP offer for the subscription');
      return { type: 'offer', sdp: res.jsep.sdp };
    } catch (err) {
      if (this.subscribers.get(feed) === handle) this.dropSubscriber(feed);
      throw err;
    }
  }

  private watchSubscriber(feed: number, handle: Handle): void {
    this.subscribers.set(feed, handle);
    this.tellHandles([handle.id]);
    handle.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up', target: feed }));
    handle.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) =>
      this.emit({ type: 'webrtc-down', target: feed, reason: reason ?? 'hangup' }),
    );
  }

  state(): PeerState | null {
    const session = this.server.session && this.publisher.session;
    if (this.closed || this.me === null || !session) return null;
    return {
      server: this.server.cfg.name,
      session: session.id,
      roomId: this.roomId,
      publisher: this.publisher.id,
      me: this.me,
      privateId: this.privateId,
      feeds: [...this.feeds],
      subscribers: [...this.subscribers].map(([feed, h]) => [feed, h.id] as [number, number]),
    };
  }

  /**
   * Take over what another process set up (resumePeer): our place in the room and the
   * subscriptions, then announce the feeds that came or went while nobody listened.
   */
  adopt(state: PeerState, session: JanodeSession, present: FeedEvent[]): void {
    this.me = state.me;
    this.privateId = state.privateId;
    for (const [feed, id] of state.subscribers) {
      this.watchSubscriber(feed, adoptHandle(session, VideoRoomPlugin, id, { room: state.roomId, feed }));
    }
    for (const feed of state.feeds) this.feeds.add(feed);
    // After the caller has taken the peer: the feeds that came or went meanwhile.
    setTimeout(() => {
      const now = new Set(present.map((f) => f.feed));
      for (const feed of state.feeds) if (!now.has(feed)) this.feedLeft(feed);
      for (const f of present) this.feedJoined({ feed: f.feed, display: f.display });
    }, 0);
  }

  private subscriber(feed: number): Handle {
    const handle = this.subscribers.get(feed);
    if (!handle) throw new Error(`no subscription to feed ${feed}`);
    return handle;
  }

  async answer(feed: number, answer: Jsep): Promise<void> {
    this.check();
    if (answer.type !== 'answer') throw new Error('answer needs an SDP answer');
    await this.server.whileUp(this.subscriber(feed).start({ jsep: { type: 'answer', sdp: answer.sdp } }));
  }

  async trickle(target: 'publisher' | number, candidate: IceCandidate): Promise<void> {
    this.check();
    const handle = target === 'publisher' ? this.publisher : this.subscriber(target);
    if (candidate === null) {
      await this.server.whileUp(handle.trickleComplete());
      return;
    }
    const c: Record<string, unknown> = { candidate: candidate.candidate };
    if (candidate.sdpMid != null) c.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex != null) c.sdpMLineIndex = candidate.sdpMLineIndex;
    await this.server.whileUp(handle.trickle(c));
  }

  async mute(media: { audio: boolean; video: boolean }): Promise<void> {
    this.check();
    // Janus 1.x still maps top-level audio/video to every stream of that kind.
    await this.server.whileUp(this.publisher.configure({ audio: media.audio, video: media.video }));
  }

  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = 'left';
    this.server.peers.delete(this);
    const handles = [...this.subscribers.values(), this.publisher];
    this.subscribers.clear();
    // Detaching the publisher handle makes Janus tell the others this feed left.
    // allSettled: leave() resolves even when the server is gone.
    await Promise.allSettled(handles.map((h) => h.detach()));
  }
}

/** One browser's network test on one Janus server. Every call after loss or stop() rejects. */
class Echo implements EchoSession {
  private closed: string | null = null;

  constructor(
    private readonly server: JanusServer,
    private readonly handle: EchoTestHandle,
    private readonly onEvent: (ev: EchoEvent) => void,
    private readonly log: Log,
  ) {
    server.peers.add(this);
    handle.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up' }));
    handle.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) => this.emit({ type: 'webrtc-down', reason: reason ?? 'hangup' }));
  }

  private emit(ev: EchoEvent): void {
    if (this.closed) return;
    try {
      this.onEvent(ev);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'echo event handler threw');
    }
  }

  private check(): void {
    if (this.closed) throw new Error(`echo session is closed: ${this.closed}`);
  }

  lost(reason: string, event = true): void {
    if (this.closed) return;
    if (event) this.emit({ type: 'lost' });
    this.closed = reason;
    this.server.peers.delete(this);
  }

  handleCount(): number {
    return 1;
  }

  async start(offer: Jsep): Promise<Jsep> {
    this.check();
    if (offer.type !== 'offer') throw new Error('the network test needs an SDP offer');
    // handle.message, not janode's start(): only these three fields reach Janus.
    const res = await this.server.whileUp(
      this.handle.message({ audio: true, video: true, bitrate: ECHO_BITRATE_CAP }, { type: 'offer', sdp: offer.sdp }),
    );
    const jsep = res.jsep as Jsep | undefined;
    if (jsep?.type !== 'answer' || typeof jsep.sdp !== 'string') throw new Error('Janus sent no SDP answer to the echo test');
    return { type: 'answer', sdp: jsep.sdp };
  }

  async trickle(candidate: IceCandidate): Promise<void> {
    this.check();
    if (candidate === null) {
      await this.server.whileUp(this.handle.trickleComplete());
      return;
    }
    const c: Record<string, unknown> = { candidate: candidate.candidate };
    if (candidate.sdpMid != null) c.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex != null) c.sdpMLineIndex = candidate.sdpMLineIndex;
    await this.server.whileUp(this.handle.trickle(c));
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = 'stopped';
    this.server.peers.delete(this);
    // Detaching hangs the PeerConnection up too.
    await this.handle.detach().catch(() => undefined);
  }
}

class JanusGateway extends EventEmitter implements Gateway {
  private readonly servers: JanusServer[];
  /** Where this process put each room, so peers follow their room. */
  private readonly placement = new Map<number, JanusServer>();
  private readonly log: Log;
  private started: Promise<void> | null = null;
  private firstUp: (() => void) | null = null;
  private readonly store: PlacementStore | undefined;
  /** Servers marked draining (refreshed from the store with every health check). */
  private draining = new Set<string>();
  private health: NodeJS.Timeout | null = null;
  private readonly healthIntervalMs: number;
  private readonly healthTimeoutMs: number;

  constructor(opts: GatewayOptions) {
    super();
    if (opts.servers.length === 0) throw new Error('gateway: at least one Janus server is required');
    this.log = (opts.logger.child?.({ component: 'gateway' }) as Log | undefined) ?? opts.logger;
    routeJanodeLogs(this.log);
    const backoff = { min: opts.reconnectMinMs ?? 250, max: opts.reconnectMaxMs ?? 2000 };
    this.servers = opts.servers.map(
      (cfg) => new JanusServer(cfg, this.log, backoff, (s, up) => this.changed(s, up), opts.sessions, opts.breakerHoldMs),
    );
    this.store = opts.placements;
    this.healthIntervalMs = opts.healthIntervalMs ?? 3000;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2000;
  }

  /** Every few seconds: each server's health and load, and the draining marks. */
  private async checkHealth(): Promise<void> {
    const draining = this.store?.draining().catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'could not read the draining marks; keeping the last ones');
      return null;
    });
    await Promise.all(this.servers.map((s) => s.probe(this.healthTimeoutMs)));
    const names = await draining;
    if (names) this.draining = new Set(names);
  }

  private server(name: string): JanusServer | undefined {
    return this.servers.find((s) => s.cfg.name === name);
  }

  /**
   * The server for a room: where this process has it, else the least-loaded healthy server
   * (placement.ts), agreed with the other processes through the store's pin.
   */
  private async place(roomId: number): Promise<JanusServer> {
    const placed = this.placement.get(roomId);
    if (placed?.up) return placed;
    const now = Date.now();
    const choice = choose(
      this.servers.map((s) => ({
        name: s.cfg.name,
        up: s.up,
        draining: this.draining.has(s.cfg.name),
        avoided: s.breaker.open(now),
        load: s.load(),
      })),
      roomId,
    );
    if (!choice) throw unavailable('no Janus server is connected');
    if (!this.store) return this.server(choice)!;
    const down = this.servers.filter((s) => s.knownDown).map((s) => s.cfg.name);
    const pinned = await this.store.pin(roomId, choice, down).catch((err: unknown) => {
      // Redis away: our own choice (the other processes choose alike from the same loads).
      this.log.warn({ room: roomId, err: (err as Error).message }, 'could not pin the room; placing it ourselves');
      return choice;
    });
    const server = this.server(pinned);
    if (!server?.up) throw unavailable(`Janus server ${pinned} of room ${roomId} is not connected here yet`);
    return server;
  }

  private changed(server: JanusServer, up: boolean): void {
    if (up) {
      this.firstUp?.();
      this.emit('up', server.cfg.name);
      return;
    }
    // Rooms lived in that server's memory only.
    for (const [room, s] of this.placement) if (s === server) this.placement.delete(room);
    this.emit('down', server.cfg.name);
  }

  start(): Promise<void> {
    this.started ??= new Promise<void>((resolve) => {
      this.firstUp = resolve;
      for (const s of this.servers) s.start();
      this.health = setInterval(() => void this.checkHealth(), this.healthIntervalMs);
      this.health.unref();
      void this.checkHealth();
    });
    return this.started;
  }

  async stop(opts: { handOver?: boolean } = {}): Promise<void> {
    this.started = null;
    if (this.health) clearInterval(this.health);
    this.health = null;
    this.placement.clear();
    await Promise.all(this.servers.map((s) => s.stop(opts.handOver)));
  }

  isUp(): boolean {
    return this.servers.some((s) => s.up);
  }

  status(): JanusServerStatus[] {
    const now = Date.now();
    return this.servers.map((s) => ({
      name: s.cfg.name,
      up: s.up,
      since: s.since?.toISOString() ?? null,
      sessions: s.up ? 1 : 0,
      // The long-lived admin handle, plus every peer's and echo test's.
      handles: s.up ? 1 + [...s.peers].reduce((n, p) => n + p.handleCount(), 0) : 0,
      draining: this.draining.has(s.cfg.name),
      held: s.breaker.open(now),
      rooms: s.up ? s.rooms : 0,
      participants: s.up ? s.participants : 0,
    }));
  }

  async setDraining(name: string, draining: boolean): Promise<void> {
    if (!this.server(name)) throw new Error(`no Janus server named ${name}`);
    await this.store?.setDraining(name, draining);
    if (draining) this.draining.add(name);
    else this.draining.delete(name);
    this.log.info({ server: name, draining }, draining ? 'janus server draining' : 'janus server no longer draining');
  }

  async ensureRoom(room: RoomSpec, opts: { verify?: boolean } = {}): Promise<void> {
    // Created or confirmed on a server that has not gone down since: no round trip. (Janus
    // loses rooms only by restarting, which clears the placement.)
    if (!opts.verify && this.placement.get(room.roomId)?.up) return;
    const server = await this.place(room.roomId);
    try {
      // handle.message, not janode's create(): that one cannot send lock_record.
      await server.request({
        request: 'create',
        admin_key: server.cfg.adminKey,
        room: room.roomId,
        secret: room.secret,
        description: room.description,
        publishers: room.publishers,
        record: false,
        lock_record: true,
        permanent: false,
        is_private: true,
        require_pvtid: true,
        audiocodec: 'opus',
        videocodec: 'vp8,h264',
      });
      this.log.info({ server: server.cfg.name, room: room.roomId }, 'room created');
      server.placedSince++;
    } catch (err) {
      if (codeOf(err) !== ERR_ROOM_EXISTS) throw err;
    }
    this.placement.set(room.roomId, server);
  }

  async destroyRoom(roomId: number, secret: string): Promise<void> {
    // Another process may have placed it: ask every connected server.
    const results = await Promise.allSettled(
      this.servers
        .filter((s) => s.up)
        .map((s) => s.request({ request: 'destroy', room: roomId, secret, permanent: false })),
    );
    this.placement.delete(roomId);
    await this.store?.unpin(roomId).catch(() => undefined);
    const failed = results.find(
      (r): r is PromiseRejectedResult => r.status === 'rejected' && codeOf(r.reason) !== ERR_NO_SUCH_ROOM,
    );
    if (failed) throw failed.reason;
    this.log.info({ room: roomId }, 'room destroyed');
  }

  async openPeer(opts: {
    roomId: number;
    display: string;
    onEvent: (ev: PeerEvent) => void;
    onHandles?: (handleIds: number[]) => void;
  }): Promise<PeerSession> {
    const server = await this.place(opts.roomId);
    if (!server.session) throw new Error(`Janus server ${server.cfg.name} is not connected`);
    const publisher = await server.whileUp(server.session.attach(VideoRoomPlugin));
    if (!server.up) {
      void publisher.detach().catch(() => undefined);
      throw new Error(`Janus server ${server.cfg.name} was lost`);
    }
    return new Peer(server, publisher, opts.roomId, opts.display, opts.onEvent, this.log, opts.onHandles);
  }

  async resumePeer(opts: {
    state: PeerState;
    display: string;
    onEvent: (ev: PeerEvent) => void;
    onHandles?: (handleIds: number[]) => void;
  }): Promise<PeerSession | null> {
    const { state } = opts;
    const server = this.servers.find((s) => s.cfg.name === state.server);
    const session = server?.up ? await server.sessionFor(state.session) : null;
    if (!server?.up || !session) return null;
    // Who is in the room now, according to Janus; we must still be among them.
    let participants: Array<{ id: number; display?: string; publisher?: boolean }>;
    try {
      const res = await server.request({ request: 'listparticipants', room: state.roomId });
      participants = ((res.plugindata?.data as { participants?: typeof participants } | undefined)?.participants) ?? [];
    } catch {
      return null;
    }
    if (!participants.some((p) => p.id === state.me)) return null;
    const publisher = adoptHandle(session, VideoRoomPlugin, state.publisher, { room: state.roomId, feed: state.me });
    this.placement.set(state.roomId, server);
    const peer = new Peer(server, publisher, state.roomId, opts.display, opts.onEvent, this.log, opts.onHandles);
    server.usesClaimed(state.session, peer);
    const present = participants
      .filter((p) => p.id !== state.me && p.publisher)
      .map((p) => ({ feed: p.id, display: p.display ?? '' }));
    peer.adopt(state, session, present);
    return peer;
  }

  async openEcho(opts: { onEvent: (ev: EchoEvent) => void }): Promise<EchoSession> {
    // Any healthy server will do (the test measures the patient's line to the hospital): the
    // least-loaded one that is not draining, random among equals.
    const now = Date.now();
    const choice = choose(
      this.servers.map((s) => ({
        name: s.cfg.name,
        up: s.up && s.session !== null,
        draining: this.draining.has(s.cfg.name),
        avoided: s.breaker.open(now),
        load: s.load(),
      })),
      Math.floor(Math.random() * 2 ** 31),
    );
    const server = choice ? this.server(choice) : undefined;
    if (!server?.session) throw unavailable('no Janus server is connected');
    const handle = await server.whileUp(server.session.attach(EchoTestPlugin));
    if (!server.up) {
      void handle.detach().catch(() => undefined);
      throw new Error(`Janus server ${server.cfg.name} was lost`);
    }
    return new Echo(server, handle, opts.onEvent, this.log);
  }
}

export function createGateway(opts: GatewayOptions): Gateway {
  return new JanusGateway(opts);
}
