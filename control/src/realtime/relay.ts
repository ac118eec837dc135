/**
 * The signalling relay: one WebSocket per browser (patients on the public listener at /ws,
 * staff on the internal one at /staff/ws), a short list of actions, each checked against the
 * participant's visit state and forwarded to Janus through the gateway with parameters the
 * server sets itself. Browsers never see a Janus room id, secret or handle.
 *
 * Read ACTIONS below first: each action and the module that carries it out. connection.ts
 * runs one socket (hello, the checks every action passes, state pushes, clean-up); README.md
 * lists the rest.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientTag } from '../http/limits.js';
import { relayLimits, SocketsPerAddress } from './limits.js';
import { Connection, type Actions } from './connection.js';
import { clientAddress } from './sign-in.js';
import { startVisit, patientChat, companion } from './waiting-room.js';
import { reportDeviceTest } from './device-test.js';
import { pause } from './pause.js';
import type { ConnectionDeps, RelayDeps } from './socket.js';

export type { RelayDeps } from './socket.js';
export { roomSpec } from './media.js';
export { ECHO_MAX_MS } from './echo.js';
export { DEFAULT_HELLO_TIMEOUT_MS } from './connection.js';

/**
 * Every action after `hello` (sign-in.ts) and `ping`, and what carries it out. Before any of
 * them runs, connection.ts has checked that hello succeeded, that a guest link asks only for
 * media (guests.ts), and the per-participant rate limit (limits.ts).
 */
const ACTIONS: Actions = {
  // The waiting room (waiting-room.ts; chat text in Redis only, chat.ts)
  'start-visit': (c, who) => startVisit(c.deps, who, () => c.pushState()),
  chat: (c, who, msg) => patientChat(c.deps, who, msg.text),
  companion: (c, who, msg) => companion(c.deps, who, msg.present),
  // The media room (media.ts)
  join: (c, who, msg) => c.media.join(who, msg),
  publish: (c, _who, msg) => c.media.publish(msg),
  subscribe: (c, _who, msg) => c.media.subscribe(msg.feed),
  answer: (c, _who, msg) => c.media.answer(msg.feed, msg.jsep),
  trickle: async (c, _who, msg) => c.media.trickle(msg.target, msg.candidate),
  mute: (c, _who, msg) => c.media.mute(msg.audio, msg.video),
  leave: (c) => c.leave(),
  'first-media': async (c, who) => c.media.firstMedia(who),
  // Screen sharing: a second feed in the same room (media.ts; who may: consult/screen-share.ts)
  'share-start': (c, who, msg) => c.media.shareScreen(who, msg.jsep),
  'share-stop': (c) => c.media.stopScreen(),
  // The clinician's privacy pause (pause.ts)
  pause: (c, who, msg) => pause(c, c.media, who, msg.paused),
  // The device test: the network test through Janus's echo (echo.ts), the outcome (device-test.ts)
  'echo-start': (c, who, msg) => c.echo.start(who, msg.jsep),
  'echo-trickle': (c, _who, msg) => c.echo.trickle(msg.candidate),
  'echo-stop': async (c) => {
    await c.echo.stop();
    return {};
  },
  'device-test-result': (c, who, msg) => reportDeviceTest(c.deps, who, msg.result),
};

const MAX_MESSAGE_BYTES = 128 * 1024;
const HEARTBEAT_MS = 15_000;
export const DEFAULT_MAX_SOCKETS_PER_ADDRESS = 200;

export class Relay {
  private publicWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private staffWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private connections = new Set<Connection>();
  private heartbeat: NodeJS.Timeout;
  private deps: ConnectionDeps;
  private perAddress: SocketsPerAddress;

  constructor(relayDeps: RelayDeps) {
    const deps: ConnectionDeps = { ...relayDeps, limits: relayLimits(relayDeps.hub.redis) };
    this.deps = deps;
    this.perAddress = new SocketsPerAddress(relayDeps.maxSocketsPerAddress ?? DEFAULT_MAX_SOCKETS_PER_ADDRESS);
    // A phone that lost its network leaves a socket that TCP keeps "open" for minutes.
    this.heartbeat = setInterval(() => {
      for (const c of this.connections) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    // Chat text of visits that are over goes by the worker's forget-chats sweep (worker.ts).
    deps.gateway.on('up', () => {
      // Janus (re)connected: every room is gone from its memory. Re-create ours and tell the
      // browsers that were in them to negotiate again; nobody is admitted again.
      for (const c of this.connections) void c.media.onMediaServerBack();
    });
  }

  /** Attach to the public listener: patients only, at /ws. */
  handlePublicUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req) !== '/ws' || !originAllowed(req, this.deps.publicOrigins)) return reject(socket);
    this.upgrade(this.publicWss, 'patient', req, socket, head);
  };

  /** Attach to the internal listener: staff only, at /staff/ws, with the session cookie. */
  handleStaffUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req) !== '/staff/ws' || !originAllowed(req, this.deps.staffOrigins)) return reject(socket);
    this.upgrade(this.staffWss, 'staff', req, socket, head);
  };

  private upgrade(wss: WebSocketServer, side: 'patient' | 'staff', req: IncomingMessage, socket: Duplex, head: Buffer) {
    const address = clientAddress(req, this.deps.trustProxy);
    if (!this.perAddress.take(address)) {
      this.deps.logger.warn({ ws: side, client: clientTag(address), max: this.perAddress.max }, 'too many sockets from one address');
      return reject(socket, '429 Too Many Requests');
    }
    let released = false;
    const release = () => {
      if (!released) this.perAddress.release(address);
      released = true;
    };
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', release);
      this.accept(ws, side, req);
    });
  }

  private accept(ws: WebSocket, side: 'patient' | 'staff', req: IncomingMessage) {
    const conn = new Connection(ws, side, req, this.deps, ACTIONS);
    this.connections.add(conn);
    ws.on('close', () => {
      this.connections.delete(conn);
      void conn.close();
    });
  }

  get size(): number {
    return this.connections.size;
  }

  /**
   * Close every socket. `handOver` (a restart): the Janus handles stay, so the consults' media
   * goes on while the browsers reconnect to the next process, which takes the handles over
   * (hand-over.ts); nobody counts as dropped. 1012 tells browsers to come straight back.
   */
  async close(opts: { handOver?: boolean } = {}): Promise<void> {
    clearInterval(this.heartbeat);
    for (const c of this.connections) {
      c.handingOver = !!opts.handOver;
      c.ws.close(opts.handOver ? 1012 : 1001, opts.handOver ? 'server restarting' : 'server shutting down');
    }
    this.publicWss.close();
    this.staffWss.close();
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}

function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin;
  // Non-browser clients send no Origin; browsers always do, and must be ours.
  if (!origin) return true;
  return allowed.includes(origin);
}

function reject(socket: Duplex, status = '404 Not Found') {
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}
