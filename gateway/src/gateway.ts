/** The gateway facade: the Janus servers, where each room lives, and the Gateway contract. */
import { EventEmitter } from 'node:events';
import VideoRoomPlugin from 'janode/plugins/videoroom';
import EchoTestPlugin from 'janode/plugins/echotest';
import type {
  EchoEvent,
  EchoSession,
  Gateway,
  GatewayOptions,
  JanusServerStatus,
  PeerEvent,
  PeerSession,
  PeerState,
  PlacementStore,
  RoomSpec,
} from './types.js';
import { adoptHandle } from './resume.js';
import { choose } from './placement.js';
import { codeOf, routeJanodeLogs, unavailable, type Log } from './janus-util.js';
import { JanusServer } from './janus-server.js';
import { Peer } from './peer.js';
import { Echo } from './echo.js';

const ERR_NO_SUCH_ROOM = 426;
const ERR_ROOM_EXISTS = 427;

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
