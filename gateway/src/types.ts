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

export interface GatewayOptions {
  servers: JanusServerConfig[];
  /** pino-compatible logger. */
  logger: { info: Function; warn: Function; error: Function; debug: Function; child?: Function };
  /** Reconnect back-off bounds in ms (defaults 250 → 2000). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
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
}

/** One browser's presence in one room: a publisher handle and one subscriber handle per feed. */
export interface PeerSession {
  readonly roomId: number;
  /** Join the room as publisher with the server-chosen display. */
  join(): Promise<JoinResult>;
  /** Publish: send the browser's offer, get Janus's answer. Recording is never requested. */
  publish(offer: Jsep, media: { audio: boolean; video: boolean }): Promise<Jsep>;
  /** Subscribe to a feed; returns Janus's offer for the browser to answer. */
  subscribe(feed: number): Promise<Jsep>;
  /** The browser's answer to a subscription offer. */
  answer(feed: number, answer: Jsep): Promise<void>;
  trickle(target: 'publisher' | number, candidate: IceCandidate): Promise<void>;
  /** Mute/unmute the published audio/video at Janus (configure). */
  mute(media: { audio: boolean; video: boolean }): Promise<void>;
  /** Leave the room and detach every handle. Safe to call twice. */
  leave(): Promise<void>;
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
  stop(): Promise<void>;
  /** True when at least one Janus server is connected. */
  isUp(): boolean;
  status(): Array<{ name: string; up: boolean; since: string | null }>;
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
  }): Promise<PeerSession>;
  /** Open a network-test (EchoTest) session on a connected Janus server. */
  openEcho(opts: { onEvent: (ev: EchoEvent) => void }): Promise<EchoSession>;
  /**
   * Events:
   *  'up'   (serverName) — connected or reconnected; callers re-create their rooms and tell
   *                        browsers to renegotiate.
   *  'down' (serverName) — connection lost; reconnect is under way.
   */
}
