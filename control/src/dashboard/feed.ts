/**
 * The dashboards' live feed: WebSocket /staff/ws/dashboard?clinic=CODE on the internal
 * listener, for assistants and admins of that clinic (session cookie + Origin check).
 *
 * Each process subscribes once per clinic to the hub's clinic channel (Redis pub/sub, so a
 * change made through any process arrives) and, on a visit change, builds the card ONCE and
 * sends the same JSON to every dashboard of that clinic on this process: 500 dashboards cost
 * one query, not 500 HTTP re-reads. Server → browser messages:
 *
 *   {t:'card', card, arrived?, chatFrom?}    a card to draw (status 'cancelled': remove it)
 *   {t:'quality', appointmentId, role, grade} live call quality of one participant
 *   {t:'callbacks-changed'}                  re-read the callback list
 *   {t:'clinician-notified', appointmentId}   an assistant asked the clinician to look
 *   {t:'clinic-changed'}                      re-read everything (delay message, settings)
 *
 * The browser sends nothing; ping/pong keeps dead sockets out. The session is checked again
 * every minute, so a revoked session loses its feed.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger.js';
import type { ClinicEvent, Hub } from '../realtime/hub.js';
import { SESSION_COOKIE, loadSession, type StaffSession } from '../staff/sessions.js';
import { cardOf, clinicianLine, type DashboardCard } from './cards.js';
import type { WaitInfo } from '../domain/waiting-line.js';
import { mayUseDashboard } from '../domain/admission.js';
import { CLINIC_CODE } from '../http/schemas.js';

export const DASHBOARD_WS_PATH = '/staff/ws/dashboard';
const HEARTBEAT_MS = 30_000;
const SESSION_CHECK_MS = 60_000;

interface Client {
  ws: WebSocket;
  clinicId: string;
  sessionToken: string;
  alive: boolean;
}

type QualityEvent = Extract<ClinicEvent, { kind: 'quality' }>;
/** What a card push adds: the patient has just arrived; a chat message came from this side. */
type CardNews = { arrived?: true; chatFrom?: Extract<ClinicEvent, { kind: 'visit-changed' }>['chatFrom'] };

/** Every message the feed sends (the dashboard page imports this type). */
export type DashboardPush =
  | { t: 'ready' }
  | ({ t: 'card'; card: DashboardCard } & CardNews)
  | { t: 'line'; clinicianId: string; waits: Record<string, WaitInfo> }
  | { t: 'quality'; appointmentId: string; role: QualityEvent['role']; grade: QualityEvent['grade'] }
  | { t: 'callbacks-changed'; appointmentId: string | null }
  | { t: 'clinician-notified'; appointmentId: string; clinicianId: string }
  | { t: 'clinic-changed' };

interface ClinicFeed {
  clients: Set<Client>;
  unsubscribe: Promise<() => Promise<void>>;
  /** Card builds under way, so a burst of changes to one visit costs one query at a time. */
  building: Map<string, { again: boolean; extra: CardNews }>;
}

export class DashboardFeed {
  private wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private clinics = new Map<string, ClinicFeed>();
  private heartbeat: NodeJS.Timeout;
  private sessionCheck: NodeJS.Timeout;

  constructor(
    private deps: { ds: DataSource; hub: Hub; logger: Logger; origins: string[] },
  ) {
    this.heartbeat = setInterval(() => {
      for (const feed of this.clinics.values()) {
        for (const c of feed.clients) {
          if (!c.alive) {
            c.ws.terminate();
            continue;
          }
          c.alive = false;
          c.ws.ping();
        }
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.sessionCheck = setInterval(() => void this.recheckSessions(), SESSION_CHECK_MS);
    this.sessionCheck.unref();
  }

  /** Number of connected dashboards on this process. */
  get size(): number {
    let n = 0;
    for (const f of this.clinics.values()) n += f.clients.size;
    return n;
  }

  handles(req: IncomingMessage): boolean {
    return (req.url ?? '').split('?')[0] === DASHBOARD_WS_PATH;
  }

  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.upgrade(req, socket, head).catch((err) => {
      this.deps.logger.warn({ err: String(err) }, 'dashboard socket refused after an error');
      refuse(socket, 500);
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const origin = req.headers.origin;
    // Browsers always send Origin, and it must be ours; non-browser clients send none.
    if (origin && !this.deps.origins.includes(origin)) return refuse(socket, 403);
    const token = cookie(req, SESSION_COOKIE);
    const staff = await loadSession(this.deps.ds, token);
    if (!staff || !token) return refuse(socket, 401);
    const code = new URL(req.url ?? '/', 'http://x').searchParams.get('clinic') ?? '';
    if (!CLINIC_CODE.test(code)) return refuse(socket, 400);
    const rows = (await this.deps.ds.query(`SELECT id FROM clinic WHERE code = $1`, [code])) as Array<{ id: string }>;
    const clinicId = rows[0]?.id;
    if (!clinicId) return refuse(socket, 404);
    if (!mayUseDashboard(staff, clinicId)) return refuse(socket, 403);
    // Subscribed before the browser is told it is ready, so it misses nothing after its first read.
    await this.feedOf(clinicId).unsubscribe;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, clinicId, token));
  }

  private accept(ws: WebSocket, clinicId: string, sessionToken: string): void {
    const feed = this.feedOf(clinicId);
    const client: Client = { ws, clinicId, sessionToken, alive: true };
    feed.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', () => undefined);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      feed.clients.delete(client);
      if (feed.clients.size === 0 && this.clinics.get(clinicId) === feed) {
        this.clinics.delete(clinicId);
        void feed.unsubscribe.then((u) => u()).catch(() => undefined);
      }
    });
    ws.send(JSON.stringify({ t: 'ready' } satisfies DashboardPush));
  }

  private feedOf(clinicId: string): ClinicFeed {
    let feed = this.clinics.get(clinicId);
    if (!feed) {
      const f: ClinicFeed = { clients: new Set(), building: new Map(), unsubscribe: Promise.resolve(async () => undefined) };
      f.unsubscribe = this.deps.hub.subscribeClinic(clinicId, (e) => this.onClinicEvent(f, e));
      this.clinics.set(clinicId, f);
      feed = f;
    }
    return feed;
  }

  private onClinicEvent(feed: ClinicFeed, e: ClinicEvent): void {
    switch (e.kind) {
      case 'visit-changed': {
        const extra: CardNews = {};
        if (e.arrived) extra.arrived = true;
        if (e.chatFrom) extra.chatFrom = e.chatFrom;
        void this.pushCard(feed, e.appointmentId, extra);
        return;
      }
      case 'quality':
        // Ids and a grade only; the numbers stay on the server.
        return broadcast(feed, { t: 'quality', appointmentId: e.appointmentId, role: e.role, grade: e.grade });
      case 'callbacks-changed':
        return broadcast(feed, { t: 'callbacks-changed', appointmentId: e.appointmentId ?? null });
      case 'clinician-notified':
        return broadcast(feed, { t: 'clinician-notified', appointmentId: e.appointmentId, clinicianId: e.clinicianId });
      case 'clinic-changed':
        return broadcast(feed, { t: 'clinic-changed' });
    }
  }

  private async pushCard(feed: ClinicFeed, appointmentId: string, extra: CardNews): Promise<void> {
    const running = feed.building.get(appointmentId);
    if (running) {
      // A build is under way: one more afterwards picks up this change too.
      running.again = true;
      Object.assign(running.extra, extra);
      return;
    }
    const state = { again: false, extra };
    feed.building.set(appointmentId, state);
    try {
      do {
        state.again = false;
        const sending = state.extra;
        state.extra = {};
        const card = await cardOf(this.deps.ds, this.deps.hub, appointmentId);
        if (card) broadcast(feed, { t: 'card', card, ...sending });
        // The other waiting patients of this clinician may have moved up (issue 18.4).
        const line = card ? await clinicianLine(this.deps.ds, card.clinicId, card.clinicianId) : null;
        if (card && line) broadcast(feed, { t: 'line', clinicianId: card.clinicianId, waits: line });
      } while (state.again);
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, 'dashboard card could not be built');
    } finally {
      feed.building.delete(appointmentId);
    }
  }

  private async recheckSessions(): Promise<void> {
    const tokens = new Map<string, Client[]>();
    for (const feed of this.clinics.values()) {
      for (const c of feed.clients) tokens.set(c.sessionToken, [...(tokens.get(c.sessionToken) ?? []), c]);
    }
    for (const [token, clients] of tokens) {
      const staff: StaffSession | null = await loadSession(this.deps.ds, token).catch(() => null);
      for (const c of clients) {
        if (!staff || !mayUseDashboard(staff, c.clinicId)) c.ws.close(4401, 'session ended');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.sessionCheck);
    for (const feed of this.clinics.values()) {
      for (const c of feed.clients) c.ws.close(1001, 'server shutting down');
      await feed.unsubscribe.then((u) => u()).catch(() => undefined);
    }
    this.clinics.clear();
    this.wss.close();
  }
}

function broadcast(feed: ClinicFeed, message: DashboardPush): void {
  const json = JSON.stringify(message);
  for (const c of feed.clients) if (c.ws.readyState === c.ws.OPEN) c.ws.send(json);
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.write(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
