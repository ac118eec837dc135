/**
 * A WebSocket tap between a Janus client (the gateway) and Janus: every frame is passed through
 * unchanged, and every request the client sends is kept (parsed), so a test can check what
 * reached Janus. Point the client at `tap.url` instead of Janus's own URL.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface JanusTap {
  url: string;
  /** Every message the client sent towards Janus, in order. */
  sent: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startJanusTap(upstreamUrl: string, protocol = 'janus-protocol'): Promise<JanusTap> {
  const sent: Array<Record<string, unknown>> = [];
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => (protocols.has(protocol) ? protocol : false),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.on('connection', (down) => {
    const up = new WebSocket(upstreamUrl, protocol);
    const queue: string[] = [];
    down.on('message', (data) => {
      const text = String(data);
      try {
        sent.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        sent.push({ unparsable: text });
      }
      if (up.readyState === WebSocket.OPEN) up.send(text);
      else queue.push(text);
    });
    up.on('open', () => {
      for (const text of queue.splice(0)) up.send(text);
    });
    up.on('message', (data) => {
      if (down.readyState === WebSocket.OPEN) down.send(String(data));
    });
    const end = () => {
      if (down.readyState === WebSocket.OPEN || down.readyState === WebSocket.CONNECTING) down.close();
      if (up.readyState === WebSocket.OPEN) up.close();
      else if (up.readyState === WebSocket.CONNECTING) up.terminate();
    };
    up.on('close', end);
    up.on('error', end);
    down.on('close', end);
    down.on('error', end);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
