/**
 * A WebSocket tap between a Janus client (the gateway) and Janus: every frame is passed through
 * unchanged, and every request the client sends is kept (parsed), so a test can check what
 * reached Janus. Point the client at `tap.url` instead of Janus's own URL.
 *
 * The client's connection is accepted only once Janus has accepted the tap's own: a Janus that
 * is down refuses the client too, as it would without the tap. `pass` sees every request
 * before it goes on and may hold it back (return false): a fault test kills Janus at that
 * very request (test/faults-janus.test.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface JanusTap {
  url: string;
  /** Every message the client sent towards Janus, in order. */
  sent: Array<Record<string, unknown>>;
  /**
   * From now on the connections open at this moment go silent, like a host that hangs: nothing
   * is passed either way and nothing is closed or answered (not even a close or a ping).
   */
  freeze(): void;
  /** Resolves when the client next pings (janode pings every 10 s and gives up 5 s after one goes unanswered). */
  nextPing(): Promise<void>;
  close(): Promise<void>;
}

export interface JanusTapOptions {
  protocol?: string;
  /** Called with every request before it goes to Janus; false: it never does. */
  pass?: (msg: Record<string, unknown>) => boolean;
}

export async function startJanusTap(upstreamUrl: string, opts: JanusTapOptions = {}): Promise<JanusTap> {
  const protocol = opts.protocol ?? 'janus-protocol';
  const sent: Array<Record<string, unknown>> = [];
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(protocol) ? protocol : false),
  });
  const ups = new Set<WebSocket>();
  const frozen = new WeakSet<WebSocket>();
  const pingWaiters = new Set<() => void>();
  const http = createServer((_req, res) => res.writeHead(426).end());
  http.on('upgrade', (req, socket, head) => {
    const up = new WebSocket(upstreamUrl, protocol);
    ups.add(up);
    up.on('close', () => ups.delete(up));
    const refuse = () => {
      ups.delete(up);
      socket.destroy();
    };
    up.once('error', refuse);
    socket.once('close', () => up.readyState !== WebSocket.OPEN && up.terminate());
    up.once('open', () => {
      up.off('error', refuse);
      if (socket.destroyed) return void up.terminate();
      wss.handleUpgrade(req, socket, head, (down) => pair(down, up));
    });
  });
  const pair = (down: WebSocket, up: WebSocket) => {
    down.on('message', (data) => {
      const text = String(data);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        msg = { unparsable: text };
      }
      sent.push(msg);
      if (opts.pass && !opts.pass(msg)) return;
      if (up.readyState === WebSocket.OPEN && !frozen.has(down)) up.send(text);
    });
    // ws has answered the ping (pong) before it tells us.
    down.on('ping', () => {
      for (const w of [...pingWaiters]) w();
      pingWaiters.clear();
    });
    up.on('message', (data) => {
      if (down.readyState === WebSocket.OPEN && !frozen.has(down)) down.send(String(data));
    });
    const end = () => {
      if (frozen.has(down)) return;
      if (down.readyState === WebSocket.OPEN || down.readyState === WebSocket.CONNECTING) down.close();
      if (up.readyState === WebSocket.OPEN) up.close();
      else if (up.readyState === WebSocket.CONNECTING) up.terminate();
    };
    up.on('close', end);
    up.on('error', end);
    down.on('close', end);
    down.on('error', end);
  };
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    sent,
    freeze() {
      for (const down of wss.clients) {
        frozen.add(down);
        // Not even ws's automatic answers (pong, close): the socket is no longer read.
        down.pause();
      }
    },
    nextPing: () => new Promise<void>((resolve) => pingWaiters.add(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const up of ups) up.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
