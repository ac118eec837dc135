/**
 * The gateway's contract with the control plane. The control plane imports only these
 * types and `createGateway` from gateway/src/index.ts; janode never leaks out.
 */
import type { EventEmitter } from 'node:events';

export type Jsep = { type: 'offer' | 'answer'; sdp: string };
export type IceCandidate = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null;

export interface JanusServerConfig {
  /** Stable name for logs and metrics, e.g. "janus-1". */
  name: string;
  /** Janus WebSocket API, e.g. ws://127.0.0.1:8188 (loopback or internal network only). */
  url: string;
  /** Janus `api_secret` (janus.jcfg general.api_secret). */
  apiSecret: string;
  /** VideoRoom plugin `admin_key`, needed to create rooms. */
  adminKey: string;
}

/**
 * Where the gateway keeps the id of its Janus session (and admin handle) per server, so that
 * the next control-plane process can claim the session instead of starting afresh (Redis in
 * production; see resume.ts).
 */
export interface SessionStore {
  load(server: string): Promise<{ session: number; admin: number } | null>;
  save(server: string, ids: { session: number; admin: number } | null): Promise<void>;
  /**
   * Marks session `id` on `server` as held by this process for `ttlMs` (refreshed every second
   * while it holds it). Another process claims a session only when no live process holds it:
   * a browser whose socket moved to another process while the first one still runs must not
   * take that process's session (and every consult in it) away.
   */
  hold?(server: string, id: number, ttlMs: number): Promise<void>;
  /** Whether another process holds session `id` on `server` (its mark has not run out). */
  heldElsewhere?(server: string, id: number): Promise<boolean>;
}

/**
 * Shared by every control-plane process (Redis in production): which server each room is
 * pinned to, and which servers an operator marked draining. Without it, placement is this
 * process's own and draining is local.
 */
export interface PlacementStore {
  /**
   * Pin `roomId` to `server` unless it is pinned already to a server not in `replace`
   * (servers this process knows are down); returns the server it is pinned to now.
   */
  pin(roomId: number, server: string, replace: string[]): Promise<string>;
  unpin(roomId: number): Promise<void>;
  /** Names of the servers marked draining. */
  draining(): Promise<string[]>;
  setDraining(server: string, draining: boolean): Promise<void>;
}

/** One Janus server as the gateway sees it (`status()`, `/status`, metrics). */
export interface JanusServerStatus {
  name: string;
  /** Connected (and answering the health check). */
  up: boolean;
  since: string | null;
  /** The Janus sessions and plugin handles this process holds there. */
  sessions: number;
  handles: number;
  /** Marked draining: no new rooms, network tests or waiting patients; running consults stay. */
  draining: boolean;
  /** Held back by the circuit breaker (lost repeatedly of late). */
  held: boolean;
  /** VideoRoom rooms and participants on the server, every process's (last health check). */
  rooms: number;
  participants: number;
}

/** What it takes to adopt a browser's handles after a control-plane restart (kept by the relay). */
export interface PeerState {
  server: string;
  session: number;
  roomId: number;
  publisher: number;
  me: number;
  privateId?: number;
  feeds: number[];
  /** [feed, subscriber handle id] */
  subscribers: Array<[number, number]>;
  /** The participant's screen share, when one runs (its second publisher handle). */
  screen?: { feed: number; handle: number; display: string };
}

export interface GatewayOptions {
  servers: JanusServerConfig[];
  /** Claim the previous process's Janus sessions on start (absent: always a new session). */
  sessions?: SessionStore;
  /** pino-compatible logger. */
  logger: { info: Function; warn: Function; error: Function; debug: Function; child?: Function };
  /** Reconnect back-off bounds in ms (defaults 250 → 2000). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Room pins and draining marks shared by all processes (absent: this process's own). */
  placements?: PlacementStore;
  /** Health check period in ms (default 3000): VideoRoom `list` on the admin handle. */
  healthIntervalMs?: number;
  /** A health check unanswered this long fails (default 2000); two failures in a row = lost. */
  healthTimeoutMs?: number;
  /** Circuit breaker: held back this long after returning when lost twice in 10 min (default 60 000). */
  breakerHoldMs?: number;
}

export interface RoomSpec {
  roomId: number;
  /** Room secret (so lock_record is enforced); never sent to browsers. */
  secret: string;
  /** Maximum publishers (patient, clinician, a third party, a spare). */
  publishers: number;
  description: string;
}

export interface FeedEvent {
  feed: number;
  /** The `display` the server set on join: JSON {"role","label","participantId"}. */
  display: string;
}

export type PeerEvent =
  | { type: 'feed-joined'; feed: FeedEvent }
  | { type: 'feed-left'; feed: number }
  /** The publisher's or a subscriber's PeerConnection went down at Janus (hangup / ICE failed). */
  | { type: 'webrtc-down'; target: 'publisher' | number; reason: string }
  | { type: 'webrtc-up'; target: 'publisher' | number }
  /** The Janus server under this peer is gone; every handle is invalid. */
  | { type: 'lost' };

export interface JoinResult {
  /** Our own publisher id in the room. */
  me: number;
  /** Feeds already publishing in the room. */
  feeds: FeedEvent[];
  /** Janus's answer when the join published an offer in the same request. */
  answer?: Jsep;
}

/** What a join publishes in the same request (`joinandconfigure`). */
export interface PublishOffer {
  offer: Jsep;
  media: { audio: boolean; video: boolean };
}

/** One browser's presence in one room: a publisher handle and one subscriber handle per feed. */
export interface PeerSession {
  readonly roomId: number;
  /**
   * Join the room as publisher with the server-chosen display; with `publish`, publish the
   * browser's offer in the same Janus request (one round trip fewer on the admission's path).
   */
  join(publish?: PublishOffer): Promise<JoinResult>;
  /** Publish: send the browser's offer, get Janus's answer. Recording is never requested. */
  publish(offer: Jsep, media: { audio: boolean; video: boolean }): Promise<Jsep>;
  /** Subscribe to a feed; returns Janus's offer for the browser to answer. */
  subscribe(feed: number): Promise<Jsep>;
  /** The browser's answer to a subscription offer. */
  answer(feed: number, answer: Jsep): Promise<void>;
  trickle(target: 'publisher' | 'screen' | number, candidate: IceCandidate): Promise<void>;
  /**
   * Share a screen (issue 18.5): a second publisher handle joins the room with `display`
   * (server-set, marking it a screen) and publishes the browser's video-only offer; the others
   * get it as a feed like any other. One per peer: a second call replaces the first.
   * Recording is never requested.
   */
  shareScreen(offer: Jsep, display: string): Promise<{ feed: number; answer: Jsep }>;
  /** Stop the screen share (the others are told its feed left); false when none ran. */
  stopScreen(): Promise<boolean>;
  sharing(): boolean;
  /** Mute/unmute the published audio/video at Janus (configure). */
  mute(media: { audio: boolean; video: boolean }): Promise<void>;
  /** Leave the room and detach every handle. Safe to call twice. */
  leave(): Promise<void>;
  /** The handles and feeds, for another process to adopt (null before join). */
  state(): PeerState | null;
}

export type EchoEvent =
  /** Janus reports the echo PeerConnection up (ICE and DTLS done). */
  | { type: 'webrtc-up' }
  /** The echo PeerConnection went down at Janus (hangup / ICE failed). */
  | { type: 'webrtc-down'; reason: string }
  /** The Janus server under this echo is gone; the session is dead. */
  | { type: 'lost' };

/**
 * One browser's network test: an EchoTest handle on a Janus server. The body sent to Janus
 * is always `{audio: true, video: true, bitrate}` with the gateway's own bitrate cap; never
 * `record` or `filename`.
 */
export interface EchoSession {
  /** Send the browser's offer; resolves with Janus's answer. */
  start(offer: Jsep): Promise<Jsep>;
  trickle(candidate: IceCandidate): Promise<void>;
  /** Hang up and detach. Safe to call twice. */
  stop(): Promise<void>;
}

export interface Gateway extends EventEmitter {
  /** Connect to every server; resolves once at least one is up, keeps retrying in the background. */
  start(): Promise<void>;
  /**
   * Disconnect. `handOver`: leave the Janus sessions (and every consult's media) running for
   * the next control-plane process to claim, instead of destroying them.
   */
  stop(opts?: { handOver?: boolean }): Promise<void>;
  /** True when at least one Janus server is connected. */
  isUp(): boolean;
  /** Per server: connected, since when, the sessions and handles this process holds there, load, draining. */
  status(): JanusServerStatus[];
  /**
   * Mark a server draining (or not) for every process (through the placement store): no new
   * rooms or network tests go there; rooms already there stay until their consult ends.
   * Throws on an unknown server name.
   */
  setDraining(server: string, draining: boolean): Promise<void>;
  /**
   * Create the room if it does not exist (idempotent). Always `record: false`, `lock_record: true`.
   * A room this process already placed on a live server is not asked about again unless
   * `verify` is set (e.g. after a join found it missing).
   */
  ensureRoom(room: RoomSpec, opts?: { verify?: boolean }): Promise<void>;
  /** Destroy the room; a room that does not exist is not an error. */
  destroyRoom(roomId: number, secret: string): Promise<void>;
  /** Open a peer session in a room; events arrive through onEvent. */
  openPeer(opts: {
    roomId: number;
    /** Server-set display: JSON {"role","label","participantId"}. */
    display: string;
    onEvent: (ev: PeerEvent) => void;
    /** Told the Janus handle ids this peer attaches (publisher, then each subscriber), e.g. to map Janus events to people. */
    onHandles?: (handleIds: number[]) => void;
  }): Promise<PeerSession>;
  /**
   * Take over a peer from a stopped process: its handles in a session this process claimed
   * (its own previous process's on start, or, for a browser whose socket moved here from a
   * process that died, that process's session, claimed once no live process holds it).
   * Null when that is not possible (the session or the publisher gone, the session held by a
   * live process); the browser then renegotiates. Feeds that came or went meanwhile are announced as events.
   */
  resumePeer(opts: {
    state: PeerState;
    display: string;
    onEvent: (ev: PeerEvent) => void;
    onHandles?: (handleIds: number[]) => void;
  }): Promise<PeerSession | null>;
  /** Open a network-test (EchoTest) session on a connected Janus server. */
  openEcho(opts: { onEvent: (ev: EchoEvent) => void }): Promise<EchoSession>;
  /**
   * Events:
   *  'up'   (serverName) — connected or reconnected; callers re-create their rooms and tell
   *                        browsers to renegotiate.
   *  'down' (serverName) — connection lost (or two health checks failed); reconnect is under
   *                        way. Its peers got `lost` first; they may rejoin at once (their
   *                        rooms are placed on another server).
   */
}
