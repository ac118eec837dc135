/**
 * The browser side of our signalling protocol (control/src/realtime/protocol.ts) over one
 * WebSocket: numbered requests answered by `reply` / `error`, server pushes as events,
 * reconnect with back-off (the server holds the state; we only say `hello` again) and a
 * keep-alive ping that also notices connections that died silently (a locked phone).
 */
import type {
  ClientRequest,
  ErrorCode,
  ServerMessage,
} from '../../../control/src/realtime/protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A request as the caller writes it; the client adds the `id`. */
export type Request = DistributiveOmit<ClientRequest, 'id'>;
export type Hello = Extract<Request, { t: 'hello' }>;

export type PushType = Exclude<ServerMessage['t'], 'reply'>;
export type Push<K extends PushType> = Extract<ServerMessage, { t: K }>;

export type FailureCode = ErrorCode | 'disconnected' | 'timeout';

export class SignallingError extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignallingError';
  }
}

export interface SignallingEvents {
  state: Push<'state'>;
  joined: Push<'joined'>;
  'feed-joined': Push<'feed-joined'>;
  'feed-left': Push<'feed-left'>;
  renegotiate: Push<'renegotiate'>;
  ended: Push<'ended'>;
  chat: Push<'chat'>;
  'chat-history': Push<'chat-history'>;
  'peer-paused': Push<'peer-paused'>;
  /** The network test's echo ended at the server (time limit, media server lost, not allowed). */
  'echo-ended': Push<'echo-ended'>;
  /** An error push without request id, or a refused `hello`. */
  error: Push<'error'>;
  /** `hello` was accepted again after the socket had dropped; carries the hello reply data. */
  reconnected: { data: unknown };
  /** The socket is usable (true) or gone (false); for a "no connection" banner. */
  connection: { up: boolean };
}
type EventName = keyof SignallingEvents;
type Listener<K extends EventName> = (ev: SignallingEvents[K]) => void;

/** Hello refusals after which reconnecting cannot help. */
const FATAL_HELLO: ReadonlySet<string> = new Set<FailureCode>([
  'not_authenticated',
  'not_allowed',
  'ended',
  'cancelled',
  'expired',
  'bad_request',
  'forbidden_parameter',
]);

export const PING_INTERVAL_MS = 15_000;
const PING_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 20_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5_000;

/** Back-off before reconnect attempt `n` (0-based): 0.5 s, 1 s, 2 s, 4 s, 5 s, 5 s … */
export function backoffDelay(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
}

/** 128 random bits, base64url: unique per page (crypto.getRandomValues works without https too). */
function pageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `ws(s)://<this host><path>`. */
export function sameOriginWsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

interface Pending {
  resolve: (data: unknown) => void;
  reject: (err: SignallingError) => void;
  timer: number;
  /** Put on the wire (as opposed to waiting in the queue for the socket). */
  sent: boolean;
}

export class Signalling {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Requests made while the socket was not ready: sent after the next accepted hello. */
  private queue: Array<{ id: number; text: string }> = [];
  private ready = false;
  private everReady = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer = 0;
  private pingTimer = 0;
  private readonly listeners = new Map<EventName, Set<(ev: never) => void>>();
  private firstHello: { resolve: (d: unknown) => void; reject: (e: SignallingError) => void } | null = null;
  /**
   * This page's id, said in every hello: a reconnect of this page takes its Janus handles over
   * after a control-plane restart; another page of the same link (a second tab) never does.
   */
  readonly page = pageId();

  constructor(
    private readonly url: string,
    /** The hello to send on every (re)connect. */
    private readonly hello: () => Hello,
  ) {
    window.addEventListener('online', this.wake);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** Opens the socket; resolves with the data of the first accepted `hello`. */
  connect(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.firstHello = { resolve, reject };
      this.open();
    });
  }

  get connected(): boolean {
    return this.ready;
  }

  on<K extends EventName>(name: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as (ev: never) => void);
    return () => set.delete(fn as (ev: never) => void);
  }

  /** Sends a request; resolves with the reply's `data`, rejects with a SignallingError. */
  request<T = unknown>(msg: Request, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    if (this.stopped) return Promise.reject(new SignallingError('disconnected', 'connection closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ ...msg, id });
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        this.queue = this.queue.filter((q) => q.id !== id);
        reject(new SignallingError('timeout', `${msg.t}: no answer`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (d: unknown) => void, reject, timer, sent: false });
      if (this.ready || msg.t === 'hello') this.transmit(id, text);
      else this.queue.push({ id, text });
    });
  }

  /** Closes for good: no reconnect, pending requests fail. */
  close(): void {
    this.stopped = true;
    window.removeEventListener('online', this.wake);
    document.removeEventListener('visibilitychange', this.onVisible);
    window.clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.dropSocket();
    ws?.close(1000);
    for (const [id, p] of this.pending) this.fail(id, p, 'disconnected');
    this.queue = [];
  }

  private emit<K extends EventName>(name: K, ev: SignallingEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of Array.from(set)) {
      try {
        (fn as Listener<K>)(ev);
      } catch (err) {
        // A listener's bug must not break the socket.
        console.error(err);
      }
    }
  }

  private transmit(id: number, text: string): void {
    const p = this.pending.get(id);
    if (!p || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    p.sent = true;
    this.ws.send(text);
  }

  private fail(id: number, p: Pending, code: FailureCode, message = code): void {
    window.clearTimeout(p.timer);
    this.pending.delete(id);
    p.reject(new SignallingError(code, message));
  }

  private open(): void {
    if (this.stopped || this.ws) return;
    window.clearTimeout(this.retryTimer);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => void this.sayHello(ws);
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
  }

  private async sayHello(ws: WebSocket): Promise<void> {
    try {
      const data = await this.request({ ...this.hello(), page: this.page }, PING_TIMEOUT_MS);
      if (this.ws !== ws) return;
      this.ready = true;
      this.attempt = 0;
      const queued = this.queue;
      this.queue = [];
      for (const q of queued) this.transmit(q.id, q.text);
      this.startPing();
      this.emit('connection', { up: true });
      if (this.firstHello) {
        this.firstHello.resolve(data);
        this.firstHello = null;
      } else if (this.everReady) {
        this.emit('reconnected', { data });
      }
      this.everReady = true;
    } catch (err) {
      if (this.ws !== ws) return;
      const e = err instanceof SignallingError ? err : new SignallingError('internal', String(err));
      if (FATAL_HELLO.has(e.code)) {
        this.emit('error', { t: 'error', code: e.code as ErrorCode, message: e.message });
        this.firstHello?.reject(e);
        this.firstHello = null;
        this.close();
      } else {
        // Timeout or a passing server problem: start over.
        this.lost();
      }
    }
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(raw) as ServerMessage;
    } catch {
      return;
    }
    if (msg.t === 'reply' || (msg.t === 'error' && typeof msg.id === 'number')) {
      const id = msg.id as number;
      const p = this.pending.get(id);
      if (!p) return;
      window.clearTimeout(p.timer);
      this.pending.delete(id);
      if (msg.t === 'reply') p.resolve(msg.data);
      else p.reject(new SignallingError(msg.code, msg.message));
      return;
    }
    switch (msg.t) {
      case 'state':
      case 'joined':
      case 'feed-joined':
      case 'feed-left':
      case 'renegotiate':
      case 'ended':
      case 'chat':
      case 'chat-history':
      case 'peer-paused':
      case 'echo-ended':
      case 'error':
        this.emit(msg.t, msg as never);
        break;
      default:
        break; // unknown push from a newer server: ignore
    }
  }

  /** The socket is gone (closed, or dead by ping): fail what was on the wire, retry later. */
  private lost(): void {
    const wasReady = this.ready;
    const ws = this.ws;
    this.dropSocket();
    try {
      ws?.close();
    } catch {
      // already closed
    }
    for (const [id, p] of this.pending) if (p.sent) this.fail(id, p, 'disconnected');
    if (wasReady) this.emit('connection', { up: false });
    this.scheduleReconnect();
  }

  private dropSocket(): void {
    window.clearInterval(this.pingTimer);
    this.ready = false;
    if (this.ws) {
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
      this.ws = null;
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.open(), backoffDelay(this.attempt++));
  }

  private startPing(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => this.ping(), PING_INTERVAL_MS);
  }

  private ping(): void {
    if (!this.ready) return;
    const ws = this.ws;
    this.request({ t: 'ping' }, PING_TIMEOUT_MS).catch((err: SignallingError) => {
      if (err.code === 'timeout' && this.ws === ws) this.lost();
    });
  }

  /** Back online or back on screen: reconnect now instead of waiting for the back-off. */
  private readonly wake = (): void => {
    if (this.stopped) return;
    if (!this.ws) {
      this.attempt = 0;
      this.open();
    } else if (this.ready) {
      this.ping();
    }
  };

  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') this.wake();
  };
}

/** The plain-language i18n key for a failure code. */
export function errorKey(code: string):
  | 'err.not_admitted'
  | 'err.too_early'
  | 'err.expired'
  | 'err.ended'
  | 'err.cancelled'
  | 'err.not_allowed'
  | 'err.not_authenticated'
  | 'err.media_unavailable'
  | 'err.disconnected'
  | 'err.timeout'
  | 'err.generic' {
  switch (code) {
    case 'not_admitted':
    case 'too_early':
    case 'expired':
    case 'ended':
    case 'cancelled':
    case 'not_allowed':
    case 'not_authenticated':
    case 'media_unavailable':
    case 'disconnected':
    case 'timeout':
      return `err.${code}`;
    default:
      return 'err.generic';
  }
}
