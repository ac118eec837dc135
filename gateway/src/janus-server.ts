/** One Janus server: its janode connection, session, admin handle, health, and the peers on it. */
import Janode, { type JanodeConnection, type JanodeSession } from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import type { JanusServerConfig, SessionStore } from './types.js';
import { adoptHandle, claimSession } from './resume.js';
import { Breaker } from './placement.js';
import { unavailable, within, type Log, type OnServer } from './janus-util.js';
import { Echo } from './echo.js';

type Handle = VideoRoomHandle;

const { EVENT } = Janode;
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

/** One Janus server: a janode connection, one session, a long-lived admin handle. */
export class JanusServer {
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
