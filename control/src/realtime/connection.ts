/**
 * One browser's socket: its messages one at a time, each answered with exactly one reply or
 * error; sign-in (hello) and presence; the visit state pushed whenever the hub says it changed;
 * and the clean-up when the socket goes. What each action does is relay.ts's table.
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import { loadConsult, snapshot, type ConsultContext } from '../consult/context.js';
import { dropped } from '../consult/commands.js';
import { guestLinkRevoked } from '../consult/guests.js';
import { waitInfoFor } from '../consult/waiting-line.js';
import { patientsMayShareScreen } from '../consult/screen-share.js';
import { DomainError } from '../domain/errors.js';
import { closedReason, isCancelled } from '../domain/visit-state.js';
import { staffMayAdmit } from '../domain/admission.js';
import type { HubEvent } from './hub.js';
import type { ClientRequest, ServerMessage, StateSnapshot } from './protocol.js';
import { parseClientMessage } from './messages.js';
import { socketError } from './error-codes.js';
import { chatHistory, pausedRoles } from './chat.js';
import { turnIceServers } from './turn.js';
import { WaitingLineWatch } from './waiting-line.js';
import { signIn, staffSessionEnded } from './sign-in.js';
import { MediaRoom } from './media.js';
import { NetworkTest } from './echo.js';
import { liftPause } from './pause.js';
import { takeOverPeer } from './hand-over.js';
import { guestMay } from './guests.js';
import { HELD, RelayError, viewOf, type ConnectionDeps, type Request, type Socket, type Who } from './socket.js';

/** What one action does, given the socket, who sent it and the (validated) request. */
export type Handler<T extends ClientRequest['t']> = (conn: Connection, who: Who, msg: Request<T>) => Promise<unknown>;
/** Every action after hello (ping and hello are the connection's own). */
export type Actions = { [T in Exclude<ClientRequest['t'], 'hello' | 'ping'>]: Handler<T> };

export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;
/** The presence (and the saved Janus handles) are refreshed this often. */
const PRESENCE_MS = 15_000;
/** How often a staff socket re-checks its session (revocation reaches open sockets this fast). */
const STAFF_SESSION_CHECK_MS = 5_000;

export class Connection implements Socket {
  who: Who | null = null;
  page: string | null = null;
  readonly id = randomUUID();
  readonly log: Logger;
  closed = false;
  /** Set by Relay.close({handOver}): leave the Janus handles to the next process. */
  handingOver = false;
  /** Answered our last ping (dead mobile connections are found this way, not by TCP). */
  alive = true;
  readonly media: MediaRoom = new MediaRoom(this);
  readonly echo: NetworkTest = new NetworkTest(this);
  /** A waiting patient's place in line, kept fresh while she waits (issue 18.4). */
  private line: WaitingLineWatch | null = null;
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => Promise<void>) | null = null;
  private helloTimer: NodeJS.Timeout;
  private presenceTimer: NodeJS.Timeout | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly ws: WebSocket,
    private readonly side: 'patient' | 'staff',
    private readonly req: IncomingMessage,
    readonly deps: ConnectionDeps,
    private readonly actions: Actions,
  ) {
    this.log = deps.logger.child({ ws: side });
    // A socket that never says who it is goes (one address could otherwise hold thousands).
    this.helloTimer = setTimeout(() => {
      if (this.who || this.closed) return;
      this.send({ t: 'error', code: 'not_authenticated', message: 'send hello first' });
      ws.close(4408, 'no hello');
    }, deps.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
    this.helloTimer.unref();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.send({ t: 'error', code: 'bad_request', message: 'binary messages are not accepted' });
      // One message at a time per socket: SDP before trickle, in order.
      this.queue = this.queue.then(() => this.onMessage(data.toString()));
    });
    ws.on('error', () => undefined);
    ws.on('pong', () => (this.alive = true));
  }

  send(msg: ServerMessage) {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private async onMessage(raw: string) {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.send({ t: 'error', id: parsed.id, code: parsed.code, message: parsed.message });
      return;
    }
    const msg = parsed.msg;
    await this.answer(msg, () => this.handle(msg));
  }

  /** Runs one request and sends its reply or error (HELD: the reply comes later). */
  private async answer(msg: ClientRequest, run: () => Promise<unknown>) {
    try {
      const data = await run();
      if (data === HELD) return;
      this.send({ t: 'reply', id: msg.id, data });
    } catch (err) {
      if (err instanceof RelayError) {
        this.send({ t: 'error', id: msg.id, code: err.code, message: err.message });
      } else if (err instanceof DomainError) {
        this.send({ t: 'error', id: msg.id, ...socketError(err) });
      } else {
        this.log.error({ err: String(err), action: msg.t }, 'relay action failed');
        this.send({ t: 'error', id: msg.id, code: 'media_unavailable', message: 'the media server did not answer; try again' });
      }
    }
  }

  private async handle(msg: ClientRequest): Promise<unknown> {
    if (msg.t === 'ping') {
      if (this.who) await this.deps.hub.markPresent(this.who.participantId, this.id).catch(() => undefined);
      return { serverTime: new Date().toISOString() };
    }
    if (msg.t === 'hello') return this.hello(msg);
    const who = this.who;
    if (!who) throw new RelayError('not_authenticated', 'send hello first');
    if (who.kind === 'patient' && who.guestRole && !guestMay(msg.t)) {
      throw new RelayError('not_allowed', 'a guest link only joins the consult');
    }
    if ((await this.deps.limits.message(msg.t, who.participantId)) > 0) {
      throw new RelayError('rate_limited', 'too many messages; wait a moment');
    }
    // The table is typed per action; a union of its entries cannot be called with the union of requests.
    const run = this.actions[msg.t] as Handler<ClientRequest['t']>;
    return run(this, who, msg);
  }

  private async hello(msg: Request<'hello'>): Promise<unknown> {
    if (this.who) throw new RelayError('bad_request', 'hello was already sent');
    const who = await signIn(this.side, this.req, this.deps, this.log, msg);
    this.who = who;
    this.page = msg.page ?? null;
    const [unsubscribe] = await Promise.all([
      this.deps.hub.subscribe(who.appointmentId, (e) => void this.onHub(e)),
      this.deps.hub.markPresent(who.participantId, this.id).catch(() => undefined),
    ]);
    this.unsubscribe = unsubscribe;
    // Dashboards show who is connected: a new connection is news for them only.
    void this.deps.hub.tellClinicOf(who.appointmentId).catch(() => undefined);
    // Closed while this hello ran: close() tears down what was set up; start no timers.
    if (this.closed) return { appointmentId: who.appointmentId };
    this.presenceTimer = setInterval(() => {
      void this.deps.hub.markPresent(who.participantId, this.id).catch(() => undefined);
      void this.media.savePeer();
    }, PRESENCE_MS);
    // A staff session signed out, revoked by an admin or deactivated ends its sockets too.
    if (who.kind === 'staff') this.sessionTimer = setInterval(() => void this.checkStaffSession(), STAFF_SESSION_CHECK_MS);
    const state = await this.pushState();
    // Then the chat so far and a pause in force, so a (re)connecting browser is up to date.
    const redis = this.deps.hub.redis;
    const [messages, paused] = await Promise.all([
      chatHistory(redis, who.appointmentId).catch(() => []),
      pausedRoles(redis, who.appointmentId).catch(() => [] as string[]),
    ]);
    this.send({ t: 'chat-history', messages });
    for (const role of paused) this.send({ t: 'peer-paused', role, paused: true });
    // A patient who comes back while the consult is open goes straight back in (no admission).
    // After a control-plane restart the media never stopped: take its Janus handles over.
    const media = (await takeOverPeer(this, this.media, who)) ? 'resumed' : undefined;
    // Whether this page offers screen sharing (issue 18.5): staff always, others where the clinic allows it.
    const screenShare = who.kind === 'staff' || (await patientsMayShareScreen(this.deps.ds.manager, who.appointmentId).catch(() => false));
    return {
      appointmentId: who.appointmentId,
      state,
      iceServers: turnIceServers(this.deps.turn ?? null, who.participantId),
      screenShare,
      ...(media ? { media } : {}),
    };
  }

  private async checkStaffSession(): Promise<void> {
    if (this.closed) return;
    if (!(await staffSessionEnded(this.req, this.deps)) || this.closed) return;
    this.send({ t: 'error', code: 'not_authenticated', message: 'your session has ended; sign in again' });
    this.ws.close(4401, 'session ended');
  }

  /** `leave`: out of the media room (a held join dropped, a pause lifted); the visit goes on. */
  async leave() {
    this.media.dropHeld('left');
    await this.media.exit();
    await liftPause(this, this.media);
    return {};
  }

  /** The visit as this participant sees it, pushed; and what a closed visit or revoked link ends. */
  async pushState(): Promise<StateSnapshot | null> {
    const who = this.who!;
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId);
    if (!c) return null;
    const state = snapshot(c, new Date(), viewOf(who));
    if (who.kind === 'patient') state.wait = await this.waitInfo(c);
    this.send({ t: 'state', state });
    if (closedReason(c.state, c.cancelledAt) !== null && this.echo.running && who.kind === 'patient') {
      await this.echo.stop();
      this.send({ t: 'echo-ended', reason: 'not_allowed' });
    }
    if (c.state === 'waiting' && (this.media.inRoom || this.media.hasPeer) && this.leavesOnWaiting(who, c)) {
      // Sent back to the waiting room (issue 18.2): her camera and microphone leave the room at
      // Janus, so the clinician's view of her ends; her page waits again (and holds a new join).
      // A clinician who handed her over to a colleague leaves too; one who may admit her again stays.
      await this.media.exit();
    } else if (c.state === 'ended' || isCancelled(c)) {
      if (this.media.inRoom || this.media.hasPeer) await this.media.exit();
      if (c.state === 'ended') this.send({ t: 'ended', reason: c.endedReason ?? 'clinician' });
    } else if (who.kind === 'patient' && who.guestRole && (await guestLinkRevoked(this.deps.ds, who.participantId))) {
      // The clinician took this guest's link back: out of the room, and the page says so.
      await this.media.exit();
      this.send({ t: 'ended' });
      this.ws.close(1000, 'link revoked');
    }
    return state;
  }

  /** In the room while the visit is waiting: the patient and her guests never; staff only while they may admit her. */
  private leavesOnWaiting(who: Who, c: ConsultContext): boolean {
    return who.kind === 'patient' || !staffMayAdmit(who.staff, c);
  }

  private async onHub(e: HubEvent) {
    if (this.closed) return;
    if (e.kind === 'renegotiate') {
      if (this.media.inRoom) this.send({ t: 'renegotiate', reason: e.reason });
      return;
    }
    if (e.kind === 'chat') {
      this.send({ t: 'chat', message: e.message });
      return;
    }
    if (e.kind === 'peer-paused') {
      if (e.connection !== this.id) this.send({ t: 'peer-paused', role: e.role, paused: e.paused });
      return;
    }
    this.rereadState();
  }

  /** Re-read the visit and push it, in turn with this socket's messages (an admission releases a held join). */
  private rereadState(): void {
    if (this.closed) return;
    this.queue = this.queue
      .then(() => this.pushState().then((state) => this.media.releaseHeld(state, (held, run) => this.answer(held, run))))
      .catch(() => undefined);
  }

  /** Place in line and estimate while waiting, and the watch that keeps them fresh. */
  private async waitInfo(c: ConsultContext) {
    if (c.state !== 'waiting' || c.waitDisplay === 'none' || this.closed) {
      if (this.line) void this.line.stop();
      return null;
    }
    this.line ??= new WaitingLineWatch(this.deps.hub, () => this.rereadState(), this.log);
    this.line.watch(c.clinicId);
    return waitInfoFor(this.deps.ds.manager, c).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, 'waiting line could not be read');
      return null;
    });
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.media.forgetHeld();
    await this.line?.stop();
    // A hello still being handled finishes first (it may start the timers), then all stops.
    await this.queue.catch(() => undefined);
    clearTimeout(this.helloTimer);
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    if (this.sessionTimer) clearInterval(this.sessionTimer);
    if (this.handingOver) {
      // The next process takes over: handles, presence and the visit state stay as they are.
      this.media.handOver();
      await this.echo.stop();
      await this.unsubscribe?.().catch(() => undefined);
      return;
    }
    const wasInRoom = this.media.inRoom;
    this.media.inRoom = false;
    await this.echo.stop();
    await this.media.exit();
    await liftPause(this, this.media);
    await this.unsubscribe?.().catch(() => undefined);
    const who = this.who;
    if (!who) return;
    const wasCurrent = await this.deps.hub.markGone(who.participantId, this.id).catch(() => true);
    // Only the patient's live connection going away is a drop; an old socket that the phone
    // left behind when it reconnected closes late and means nothing.
    if (who.kind === 'patient' && !who.guestRole && wasInRoom && wasCurrent) {
      const r = await dropped(this.deps.ds, who.appointmentId, who.participantId).catch(() => null);
      if (r?.changed) await this.deps.hub.publish(who.appointmentId, { kind: 'changed' }).catch(() => undefined);
    } else {
      await this.deps.hub.publish(who.appointmentId, { kind: 'changed' }).catch(() => undefined);
    }
  }
}
