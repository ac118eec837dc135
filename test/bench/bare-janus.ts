/**
 * Benchmark floor: a bare Janus VideoRoom join, no control plane.
 *
 * Two Chromium pages speak the Janus API themselves (test/bench/bare-janus-client.js, injected
 * into a blank page served from 127.0.0.1) — only here: the product never lets browsers reach
 * Janus. Per round a fresh VideoRoom is created from Node. Two floors:
 *  - `prepared` (the fair one): before t0 each page has what the product has before the click —
 *    WebSocket open, Janus session, publisher and subscriber handles attached, camera on, the
 *    publisher's offer made and its ICE gathering complete. At t0 both pages join as publisher,
 *    publish the prepared offer, subscribe to the other's feed as soon as it is announced and
 *    wait for the first presented remote frame;
 *  - `cold`: all of that inside the timed window (socket, session, handles, getUserMedia, offer).
 * Both timed like the product: t0 and the frames are Date.now() inside the pages (t0 = the
 * earlier page's start, as the product's t0 is the clinician's click), latency =
 * max(first frame A, first frame B) − t0.
 *
 * Run inside the test network namespace (scripts/with-netns.sh) with Janus's ice_enforce_list
 * set to the veth, so libnice has an address to gather.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';

const CLIENT_JS = readFileSync(new URL('./bare-janus-client.js', import.meta.url), 'utf8');

export interface BareJoinOptions {
  /** Janus WebSocket API (ws://127.0.0.1:PORT), its api_secret and the VideoRoom admin_key. */
  janus: { url: string; apiSecret: string; adminKey: string };
  pages: [Page, Page];
  rounds: number;
  /** Give up on a round after this long (default 20 s). */
  roundTimeoutMs?: number;
  /** `prepared` (default): session, handles, camera, offer and ICE done before t0; `cold`: all inside. */
  mode?: 'prepared' | 'cold';
}

type Msg = Record<string, any>;

interface JoinResult {
  startedAt: number;
  firstFrameAt: number;
  publisherId: number;
  feedId: number;
}

interface JoinConfig {
  url: string;
  apiSecret: string;
  room: number;
  display: string;
}

interface BareJanusWindow {
  bareJanus?: {
    prepare(cfg: JoinConfig): Promise<void>;
    go(): Promise<JoinResult>;
    join(cfg: JoinConfig): Promise<JoinResult>;
    hangup(): Promise<void>;
  };
}

/** Node-side Janus session with one VideoRoom handle, for creating and destroying rooms. */
export class RoomAdmin {
  private next = 0;
  private readonly pending = new Map<string, (m: Msg) => void>();
  private sessionId = 0;
  private handleId = 0;
  private keepalive: NodeJS.Timeout | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly apiSecret: string,
  ) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      if (msg.janus === 'ack' && !String(msg.transaction).startsWith('k')) return; // wait for the event
      const done = msg.transaction ? this.pending.get(msg.transaction) : undefined;
      if (done) {
        this.pending.delete(msg.transaction);
        done(msg);
      }
    });
    ws.on('close', () => {
      for (const done of this.pending.values()) done({ janus: 'error', error: { code: 0, reason: 'WebSocket closed' } });
      this.pending.clear();
    });
  }

  static async open(url: string, apiSecret: string): Promise<RoomAdmin> {
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url, 'janus-protocol');
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
    const admin = new RoomAdmin(ws, apiSecret);
    try {
      const session = await admin.send({ janus: 'create' });
      admin.sessionId = session.data.id;
      // Janus drops sessions idle for session_timeout (60 s in our config).
      admin.keepalive = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ janus: 'keepalive', session_id: admin.sessionId, transaction: `k${++admin.next}`, apisecret: apiSecret }));
        }
      }, 20_000);
      const handle = await admin.send({ janus: 'attach', plugin: 'janus.plugin.videoroom' });
      admin.handleId = handle.data.id;
      return admin;
    } catch (err) {
      await admin.close();
      throw err;
    }
  }

  private send(msg: Msg, timeoutMs = 5000): Promise<Msg> {
    const transaction = `a${++this.next}`;
    const body: Msg = { ...msg, transaction, apisecret: this.apiSecret };
    if (this.sessionId) body.session_id = this.sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new Error(`Janus: no answer to ${msg.janus} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(transaction, (m) => {
        clearTimeout(timer);
        if (m.janus === 'error') reject(new Error(`Janus ${msg.janus}: ${m.error?.code} ${m.error?.reason}`));
        else resolve(m);
      });
      this.ws.send(JSON.stringify(body));
    });
  }

  /** A VideoRoom request; resolves with plugindata.data, rejects on a plugin error. */
  async videoroom(body: Msg): Promise<Msg> {
    const res = await this.send({ janus: 'message', handle_id: this.handleId, body });
    const data = (res.plugindata?.data ?? {}) as Msg;
    if (data.error) throw new Error(`VideoRoom ${body.request}: ${data.error_code} ${data.error}`);
    return data;
  }

  async close(): Promise<void> {
    clearInterval(this.keepalive);
    if (this.sessionId && this.ws.readyState === WebSocket.OPEN) {
      await this.send({ janus: 'destroy' }, 2000).catch(() => undefined);
    }
    this.ws.close();
  }
}

/** A blank page on 127.0.0.1 (a secure context, so getUserMedia works). */
async function serveBlankPage(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end('<!doctype html><html><head><meta charset="utf-8"><title>bare janus</title></head><body></body></html>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const hangup = (page: Page) =>
  withTimeout(
    page.evaluate(() => (window as unknown as BareJanusWindow).bareJanus?.hangup()),
    10_000,
    'hangup',
  ).catch(() => undefined);

/**
 * Bare Janus VideoRoom join latency, one figure (ms) per round: from the earlier page's start of
 * the join (in-page Date.now()) until both pages have presented their first remote video frame.
 */
export async function measureBareJoin(opts: BareJoinOptions): Promise<number[]> {
  const { janus, pages, rounds } = opts;
  const mode = opts.mode ?? 'prepared';
  const roundTimeoutMs = opts.roundTimeoutMs ?? 20_000;
  const { server, url } = await serveBlankPage();
  let admin: RoomAdmin | undefined;
  try {
    for (const page of pages) {
      await page.goto(url);
      await page.addScriptTag({ content: CLIENT_JS });
    }
    admin = await RoomAdmin.open(janus.url, janus.apiSecret);
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const secret = `bare-${process.pid}-${round}-${Math.random().toString(36).slice(2)}`;
      const created = await admin.videoroom({
        request: 'create',
        admin_key: janus.adminKey,
        secret,
        record: false,
        permanent: false,
        publishers: 2,
        description: `bare janus bench ${round}`,
      });
      const room = created.room as number;
      try {
        const cfgs = pages.map((_, i): JoinConfig => ({ url: janus.url, apiSecret: janus.apiSecret, room, display: `page-${i}` }));
        if (mode === 'prepared') {
          await withTimeout(
            Promise.all(
              pages.map((page, i) =>
                page.evaluate((cfg) => {
                  const client = (window as unknown as BareJanusWindow).bareJanus;
                  if (!client) throw new Error('bare Janus client not injected');
                  return client.prepare(cfg);
                }, cfgs[i]!),
              ),
            ),
            roundTimeoutMs,
            `bare prepare round ${round + 1}`,
          );
        }
        const joins = pages.map((page, i) =>
          page.evaluate(
            ({ cfg, prepared }) => {
              const client = (window as unknown as BareJanusWindow).bareJanus;
              if (!client) throw new Error('bare Janus client not injected');
              return prepared ? client.go() : client.join(cfg);
            },
            { cfg: cfgs[i]!, prepared: mode === 'prepared' },
          ),
        );
        const results = await withTimeout(Promise.all(joins), roundTimeoutMs, `bare join round ${round + 1}`);
        const [a, b] = results as [JoinResult, JoinResult];
        if (a.feedId !== b.publisherId || b.feedId !== a.publisherId) {
          throw new Error(`round ${round + 1}: pages subscribed to the wrong feeds (${JSON.stringify(results)})`);
        }
        latencies.push(Math.max(a.firstFrameAt, b.firstFrameAt) - Math.min(a.startedAt, b.startedAt));
      } finally {
        await Promise.all(pages.map(hangup));
        // Janus 1.1.2 can crash destroying a room whose handles are still detaching.
        await new Promise((r) => setTimeout(r, 1000));
        await admin.videoroom({ request: 'destroy', room, secret }).catch(() => undefined);
      }
    }
    return latencies;
  } finally {
    await admin?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
