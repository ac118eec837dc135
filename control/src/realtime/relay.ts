/**
 * The signalling relay: one WebSocket per browser, a short list of actions, each checked
 * against the participant's visit state and forwarded to Janus through the gateway with
 * parameters the server sets itself. Browsers never see a Janus room id, secret or handle.
 */
import { turnIceServers, type TurnConfig } from './turn.js';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DataSource } from 'typeorm';
import type { Gateway, PeerSession, PeerEvent, PeerState, FeedEvent, EchoSession } from '../../../gateway/src/types.js';
import type { Logger } from '../logger.js';
import type { Hub, HubEvent } from './hub.js';
import type { ClientRequest, DeviceTestResult, ErrorCode, FeedInfo, ServerMessage } from './protocol.js';
import { parseClientMessage } from './messages.js';
import { chatHistory, pausedRoles, postChat, setPause, sweepClosedConsults } from './chat.js';
import { loadConsult, snapshot, OPEN_CONSULT, roomSecret, deviceTestAllowedFor, type ConsultContext } from '../consult/context.js';
import { gradeNetwork } from '../../../shared/network-grade.js';
import { isFinal } from '../domain/visit-state.js';
import { closedAmong } from '../jobs/housekeeping.js';
import { arrive, dropped, mediaUp } from '../consult/commands.js';
import { DomainError } from '../domain/errors.js';
import { socketError } from './error-codes.js';
import { staffMayAdmit, staffMaySee } from '../domain/admission.js';
import { findParticipantByToken } from '../domain/links.js';
import { loadSession, SESSION_COOKIE, type StaffSession } from '../staff/sessions.js';
import { windowsFor } from '../consult/windows.js';
import { clientTag, type FailureGate } from '../http/limits.js';
import { relayLimits, SocketsPerAddress, type RelayLimits } from './limits.js';
import { refuseUnknownLink } from '../patient/routes.js';
import { HttpError } from '../http/errors.js';
import { noteDeviceTest } from '../dashboard/cards.js';
import { rememberHandles } from '../quality/handles.js';
import { noteFirstMedia } from '../metrics/registry.js';
import { waitInfoFor } from '../consult/waiting-line.js';
import { WaitingLineWatch } from './waiting-line.js';

export interface RelayDeps {
  ds: DataSource;
  gateway: Gateway;
  hub: Hub;
  logger: Logger;
  roomKey: Buffer;
  /** TURN server for browsers behind strict firewalls (short-lived credentials per hello). */
  turn?: TurnConfig | null;
  /** Counts unknown link tokens per client address (shared with the patient API). */
  linkGuesses: FailureGate;
  trustProxy: boolean;
  /** Origins allowed to open the staff socket (the internal site). */
  staffOrigins: string[];
  /** Origins allowed to open the patient socket (the public site). */
  publicOrigins: string[];
  /** Open sockets per client address and process (a care home's NAT: be generous). */
  maxSocketsPerAddress?: number;
  /** A socket that has not sent hello by then is closed. */
  helloTimeoutMs?: number;
}

type ConnectionDeps = RelayDeps & { limits: RelayLimits };

export const DEFAULT_MAX_SOCKETS_PER_ADDRESS = 200;
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

type Who =
  /** A link holder: the patient, or a guest (third party) when `guestRole` is set. */
  | { kind: 'patient'; participantId: string; appointmentId: string; label: string; guestRole?: string }
  | { kind: 'staff'; participantId: string; appointmentId: string; label: string; staff: StaffSession };

class RelayError extends Error {
  constructor(public code: ErrorCode, message: string) {
    super(message);
  }
}

const MAX_MESSAGE_BYTES = 128 * 1024;
const HEARTBEAT_MS = 15_000;
/** A network test runs about 10 s; the server ends it after this, so the echo is no free relay. */
export const ECHO_MAX_MS = 30_000;
const CHAT_SWEEP_MS = 30_000;
/** A guest's link lets them into the consult's media, nothing else (no waiting room, chat, …). */
const GUEST_ALLOWED: ReadonlySet<string> = new Set([
  'join', 'publish', 'subscribe', 'answer', 'trickle', 'mute', 'leave',
]);

export class Relay {
  private publicWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private staffWss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private connections = new Set<Connection>();

  private heartbeat: NodeJS.Timeout;
  private sweep: NodeJS.Timeout;

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
    // Chat text of consults cancelled by the EHR or expired goes within a minute or so.
    this.sweep = setInterval(() => {
      sweepClosedConsults(deps.hub.redis, (ids) => closedAmong(deps.ds, ids)).catch((err) => deps.logger.warn({ err: String(err) }, 'chat sweep failed'));
    }, CHAT_SWEEP_MS);
    this.sweep.unref();
    deps.gateway.on('up', () => {
      // Janus (re)connected: every room is gone from its memory. Re-create ours and tell the
      // browsers that were in them to negotiate again; nobody is admitted again.
      for (const c of this.connections) void c.onMediaServerBack();
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
    const conn = new Connection(ws, side, req, this.deps);
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
   * (hello → resumePeer); nobody counts as dropped. 1012 tells browsers to come straight back.
   */
  async close(opts: { handOver?: boolean } = {}): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.sweep);
    for (const c of this.connections) {
      c.handingOver = !!opts.handOver;
      c.ws.close(opts.handOver ? 1012 : 1001, opts.handOver ? 'server restarting' : 'server shutting down');
    }
    this.publicWss.close();
    this.staffWss.close();
  }
}

class Connection {
  private who: Who | null = null;
  private peer: PeerSession | null = null;
  /** Set by Relay.close({handOver}): leave the Janus handles to the next process. */
  handingOver = false;
  /** True while the browser is (or should be) in the media room. */
  private inRoom = false;
  private unsubscribe: (() => Promise<void>) | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;
  private presenceTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout;
  private closed = false;
  /** This socket's network test, if one runs, and its time limit. */
  private echo: EchoSession | null = null;
  private echoTimer: NodeJS.Timeout | null = null;
  /** Staff: privacy pause asked on this socket (applied to every publish until lifted). */
  private paused = false;
  /** Our publisher has sent media (a mute/pause must go to Janus). */
  private published = false;
  private queue: Promise<void> = Promise.resolve();
  private log: Logger;
  /** A waiting patient's place in line, kept fresh while she waits (issue 18.4). */
  private line: WaitingLineWatch | null = null;
  readonly id = randomUUID();
  /** Answered our last ping (dead mobile connections are found this way, not by TCP). */
  alive = true;

  constructor(
    public ws: WebSocket,
    private side: 'patient' | 'staff',
    private req: IncomingMessage,
    private deps: ConnectionDeps,
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

  private send(msg: ServerMessage) {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private async onMessage(raw: string) {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.send({ t: 'error', id: parsed.id, code: parsed.code, message: parsed.message });
      return;
    }
    const msg = parsed.msg;
    try {
      const data = await this.handle(msg);
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
    if (msg.t === 'hello') return this.hello(msg.token, msg.appointmentId);
    const who = this.who;
    if (!who) throw new RelayError('not_authenticated', 'send hello first');
    if (who.kind === 'patient' && who.guestRole && !GUEST_ALLOWED.has(msg.t)) {
      throw new RelayError('not_allowed', 'a guest link only joins the consult');
    }
    if ((await this.deps.limits.message(msg.t, who.participantId)) > 0) {
      throw new RelayError('rate_limited', 'too many messages; wait a moment');
    }

    switch (msg.t) {
      case 'start-visit': {
        if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient starts the visit');
        const r = await arrive(this.deps.ds, who.appointmentId, who.participantId);
        if (r.changed) await this.deps.hub.publish(who.appointmentId, { kind: 'changed' });
        await this.pushState();
        return { visitState: r.state };
      }
      case 'join': {
        const r = await this.join(who);
        void this.savePeer();
        return r;
      }
      case 'publish': {
        const peer = this.requirePeer();
        // A paused clinician who renegotiates stays paused.
        const media = this.paused ? { audio: false, video: false } : { audio: msg.audio ?? true, video: msg.video ?? true };
        const jsep = await peer.publish(msg.jsep, media);
        this.published = true;
        return { jsep };
      }
      case 'subscribe': {
        const peer = this.requirePeer();
        // Only a feed of this consult's room (the gateway keeps the list Janus announced): any
        // other number is someone probing, refused as such, not as a media-server failure.
        if (!peer.state()?.feeds.includes(msg.feed)) {
          this.log.warn({ action: 'subscribe' }, 'subscribe to a feed outside this room refused');
          throw new RelayError('not_allowed', 'no such feed in this consult');
        }
        const jsep = await peer.subscribe(msg.feed);
        void this.savePeer();
        return { feed: msg.feed, jsep };
      }
      case 'answer':
        await this.requirePeer().answer(msg.feed, msg.jsep);
        return {};
      case 'trickle':
        // Not awaited: Janus acks a candidate at once and janode sends in call order, so the
        // next request on this socket (after a failover, the `subscribe` the picture waits
        // for) does not queue behind a round trip per candidate. A lost candidate is not fatal.
        this.requirePeer()
          .trickle(msg.target === 'publisher' ? 'publisher' : msg.target.feed, msg.candidate)
          .catch((err: unknown) => this.log.debug({ err: String(err) }, 'trickle not delivered'));
        return {};
      case 'mute':
        // Unmuting cannot lift a privacy pause; `pause` does that.
        await this.requirePeer().mute(this.paused ? { audio: false, video: false } : { audio: msg.audio, video: msg.video });
        return {};
      case 'leave':
        this.inRoom = false;
        await this.leaveRoom();
        await this.liftPause();
        return {};
      case 'echo-start':
        return this.echoStart(who, msg.jsep);
      case 'echo-trickle':
        if (!this.echo) throw new RelayError('bad_request', 'start the network test first');
        await this.echo.trickle(msg.candidate);
        return {};
      case 'echo-stop':
        await this.stopEcho();
        return {};
      case 'device-test-result':
        return this.deviceTestResult(who, msg.result);
      case 'chat': {
        if (who.kind !== 'patient') throw new RelayError('not_allowed', 'staff chat through the staff API');
        await this.requireOpenVisit(who);
        const message = await postChat(this.deps.hub.redis, this.deps.hub, who.appointmentId, 'patient', msg.text);
        return { message };
      }
      case 'companion': {
        if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient says who is with them');
        await this.requireOpenVisit(who);
        const [, changed] = (await this.deps.ds.query(
          `UPDATE visit SET companion = $2, updated_at = now() WHERE appointment_id = $1 AND companion IS DISTINCT FROM $2`,
          [who.appointmentId, msg.present],
        )) as [unknown, number];
        if (changed) await this.deps.hub.publish(who.appointmentId, { kind: 'changed' });
        return { companion: msg.present };
      }
      case 'pause':
        return this.pause(who, msg.paused);
      case 'first-media':
        // The patient's page shows the clinician: admission → media, once per consult (metrics/).
        if (this.inRoom && who.label === 'patient') noteFirstMedia(this.deps.hub.redis, who.appointmentId);
        return {};
    }
  }

  /** The visit still lives: not ended, cancelled or expired. */
  private async requireOpenVisit(who: Who): Promise<ConsultContext> {
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId);
    if (!c) throw new RelayError('not_allowed', 'no such appointment');
    if (c.state === 'ended') throw new RelayError('ended', 'the consult has ended');
    if (c.state === 'cancelled' || c.cancelledAt) throw new RelayError('cancelled', 'the appointment was cancelled');
    if (c.state === 'expired') throw new RelayError('expired', 'the link has expired');
    if (isFinal(c.state)) throw new RelayError('not_allowed', `the visit is ${c.state}`);
    return c;
  }

  /** Patients: from the invitation until the appointment ends (server clock). Staff: always. */
  private async requireDeviceTest(who: Who): Promise<void> {
    if (who.kind === 'staff') return;
    const c = await this.requireOpenVisit(who);
    if (!deviceTestAllowedFor(c, new Date())) {
      throw new RelayError('device_test_closed', 'the device test is available until the end of the appointment');
    }
  }

  private async echoStart(who: Who, offer: { type: 'offer' | 'answer'; sdp: string }) {
    await this.requireDeviceTest(who);
    if (offer.type !== 'offer') throw new RelayError('bad_request', 'jsep: the network test needs an SDP offer');
    if ((await this.deps.limits.echoStarts.take(who.participantId)) > 0) {
      throw new RelayError('rate_limited', 'too many network tests; try again in a few minutes');
    }
    // One network test per socket: a new one replaces the old.
    await this.stopEcho();
    const echo: EchoSession = await this.deps.gateway.openEcho({
      onEvent: (ev) => {
        if (this.echo !== echo || ev.type !== 'lost') return;
        this.echo = null;
        this.clearEchoTimer();
        this.send({ t: 'echo-ended', reason: 'media_server' });
      },
    });
    this.echo = echo;
    // The dashboard shows "testing" while a patient's network test runs.
    if (who.kind === 'patient') void noteDeviceTest(this.deps.hub, who.appointmentId, true).catch(() => undefined);
    this.echoTimer = setTimeout(() => {
      if (this.echo !== echo) return;
      this.send({ t: 'echo-ended', reason: 'time_limit' });
      void this.stopEcho();
    }, ECHO_MAX_MS);
    this.echoTimer.unref();
    try {
      const jsep = await echo.start(offer as { type: 'offer'; sdp: string });
      return { jsep, maxSeconds: ECHO_MAX_MS / 1000 };
    } catch (err) {
      if (this.echo === echo) await this.stopEcho();
      throw err;
    }
  }

  private clearEchoTimer() {
    if (this.echoTimer) clearTimeout(this.echoTimer);
    this.echoTimer = null;
  }

  private async stopEcho() {
    const echo = this.echo;
    this.echo = null;
    this.clearEchoTimer();
    if (echo) await echo.stop().catch(() => undefined);
    if (echo && this.who?.kind === 'patient') await noteDeviceTest(this.deps.hub, this.who.appointmentId, false).catch(() => undefined);
  }

  private async deviceTestResult(who: Who, result: DeviceTestResult) {
    if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient reports a device test');
    await this.requireDeviceTest(who);
    // The browser's grade is a claim; the server grades the numbers itself and keeps its own.
    const network = result.network
      ? {
          rttMs: result.network.rttMs,
          lossPct: result.network.lossPct,
          bitrateKbps: result.network.bitrateKbps,
          grade: gradeNetwork(result.network),
        }
      : null;
    const stored: DeviceTestResult = { camera: result.camera, microphone: result.microphone, speaker: result.speaker, network };
    await this.deps.ds.query(
      `UPDATE visit SET device_test = $2::jsonb, device_tested_at = now(), updated_at = now() WHERE appointment_id = $1`,
      [who.appointmentId, JSON.stringify(stored)],
    );
    await this.deps.hub.publish(who.appointmentId, { kind: 'changed' });
    return { result: stored, corrected: network !== null && network.grade !== result.network?.grade };
  }

  private async pause(who: Who, paused: boolean) {
    if (who.kind !== 'staff') throw new RelayError('not_allowed', 'only the clinician pauses');
    const peer = this.requirePeer();
    // Not yet publishing: the pause applies when the publish comes.
    if (this.published) await peer.mute({ audio: !paused, video: !paused });
    this.paused = paused;
    await setPause(this.deps.hub.redis, who.appointmentId, who.label, paused);
    await this.deps.hub.publish(who.appointmentId, { kind: 'peer-paused', role: who.label, paused, connection: this.id });
    return { paused };
  }

  /** The pausing clinician left the room or went away: nobody is paused any more. */
  private async liftPause() {
    const who = this.who;
    if (!this.paused || !who) return;
    this.paused = false;
    await setPause(this.deps.hub.redis, who.appointmentId, who.label, false).catch(() => undefined);
    await this.deps.hub
      .publish(who.appointmentId, { kind: 'peer-paused', role: who.label, paused: false, connection: this.id })
      .catch(() => undefined);
  }

  private async hello(token?: string, appointmentId?: string): Promise<unknown> {
    if (this.who) throw new RelayError('bad_request', 'hello was already sent');
    if (this.side === 'patient') {
      if (!token) throw new RelayError('not_authenticated', 'token missing');
      const found = await findParticipantByToken(this.deps.ds, token, { includeRevoked: true });
      if (!found) {
        // Counted with the patient API's; a valid link is never refused (patient/routes.ts).
        const client = clientAddress(this.req, this.deps.trustProxy);
        const refusal: unknown = await refuseUnknownLink({ linkGuesses: this.deps.linkGuesses, logger: this.log }, client).catch((err: unknown) => err);
        if (!(refusal instanceof HttpError)) throw refusal;
        throw new RelayError('not_authenticated', refusal.status === 429 ? 'too many invalid links from this address; try again later' : 'this link is not valid');
      }
      // A dead link (consult ended, appointment cancelled) was real once: refused, not counted.
      if (found.participant.revokedAt) throw new RelayError('not_authenticated', 'this link is no longer valid');
      const p = found.participant;
      this.who = {
        kind: 'patient',
        participantId: p.id,
        appointmentId: p.appointmentId,
        label: p.kind === 'patient' ? 'patient' : 'guest',
        ...(p.kind === 'guest' ? { guestRole: p.guestRole ?? 'colleague' } : {}),
      };
    } else {
      const staff = await loadSession(this.deps.ds, cookie(this.req, SESSION_COOKIE));
      if (!staff) throw new RelayError('not_authenticated', 'sign in first');
      if (!appointmentId) throw new RelayError('bad_request', 'appointmentId missing');
      const c = await loadConsult(this.deps.ds.manager, appointmentId);
      if (!c || !staffMaySee(staff, c)) throw new RelayError('not_allowed', 'no such appointment');
      this.who = {
        kind: 'staff',
        participantId: `staff:${staff.id}`,
        appointmentId,
        label: staff.role === 'clinician' ? 'clinician' : staff.role,
        staff,
      };
    }
    const who = this.who;
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
      void this.savePeer();
    }, 15_000);
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
    const media = (await this.resume(who)) ? 'resumed' : undefined;
    return { appointmentId: who.appointmentId, state, iceServers: turnIceServers(this.deps.turn ?? null, who.participantId), ...(media ? { media } : {}) };
  }

  private async pushState() {
    const who = this.who!;
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId);
    if (!c) return null;
    const state = snapshot(c, new Date(), who.kind === 'staff' ? 'staff' : who.guestRole ? 'guest' : 'patient');
    if (who.kind === 'patient') state.wait = await this.waitInfo(c);
    this.send({ t: 'state', state });
    if (isFinal(c.state)) {
      if (this.echo && who.kind === 'patient') {
        await this.stopEcho();
        this.send({ t: 'echo-ended', reason: 'not_allowed' });
      }
    }
    if (c.state === 'ended' || c.state === 'cancelled') {
      if (this.inRoom || this.peer) {
        this.inRoom = false;
        await this.leaveRoom();
      }
      if (c.state === 'ended') this.send({ t: 'ended', reason: c.endedReason ?? 'clinician' });
    } else if (who.kind === 'patient' && who.guestRole && (await this.guestRevoked(who.participantId))) {
      // The clinician took this guest's link back: out of the room, and the page says so.
      this.inRoom = false;
      await this.leaveRoom();
      this.send({ t: 'ended' });
      this.ws.close(1000, 'link revoked');
    }
    return state;
  }

  private async guestRevoked(participantId: string): Promise<boolean> {
    const rows = (await this.deps.ds.query(`SELECT revoked_at FROM participant WHERE id = $1`, [participantId])) as Array<{
      revoked_at: Date | null;
    }>;
    return !rows[0] || rows[0].revoked_at !== null;
  }

  private async onHub(e: HubEvent) {
    if (this.closed) return;
    if (e.kind === 'renegotiate') {
      if (this.inRoom) this.send({ t: 'renegotiate', reason: e.reason });
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

  /** Re-read the visit and push it, in turn with this socket's messages. */
  private rereadState(): void {
    if (this.closed) return;
    this.queue = this.queue.then(() => this.pushState().then(() => undefined)).catch(() => undefined);
  }

  private async join(who: Who) {
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId);
    if (!c) throw new RelayError('not_allowed', 'no such appointment');
    if (c.state === 'ended') throw new RelayError('ended', 'the consult has ended');
    if (c.state === 'cancelled') throw new RelayError('cancelled', 'the appointment was cancelled');
    // Staff who may admit can take their place in the room while the patient waits, so the
    // clinician's picture is already there when the patient comes in. The patient only ever
    // enters after admission.
    const early = who.kind === 'staff' && c.state === 'waiting' && staffMayAdmit(who.staff, c);
    if (!OPEN_CONSULT.has(c.state) && !early) throw new RelayError('not_admitted', 'you have not been let in yet');
    if (who.kind === 'patient' && windowsFor(c).phase(new Date()) === 'expired') {
      throw new RelayError('expired', 'the link has expired');
    }
    await this.leaveRoom();
    await this.deps.gateway.ensureRoom(roomSpec(c, this.deps.roomKey));
    this.published = false;
    const peer = await this.deps.gateway.openPeer(this.peerOptions(who, c, () => peer));
    this.peer = peer;
    this.inRoom = true;
    let joined;
    try {
      joined = await peer.join();
    } catch (err) {
      // The room may have gone from Janus behind this process's back: make sure, and retry once.
      await this.deps.gateway.ensureRoom(roomSpec(c, this.deps.roomKey), { verify: true });
      joined = await peer.join().catch(() => {
        throw err;
      });
    }
    const feeds = joined.feeds.map(feedInfo);
    this.send({ t: 'joined', feeds, me: joined.me });
    return { me: joined.me, feeds };
  }

  /** The display Janus shows the others, and what this connection does with the peer's events. */
  private peerOptions(who: Who, c: ConsultContext, current: () => PeerSession | null) {
    return {
      roomId: c.roomId,
      display: JSON.stringify({
        role: who.label,
        label: who.kind === 'patient' && who.guestRole ? who.guestRole : who.label,
        participantId: who.participantId,
      }),
      // Janus's events name handles only: remember whose they are (live call quality, quality/).
      onHandles: (ids: number[]) => void rememberHandles(this.deps.hub.redis, ids, { appointmentId: c.appointmentId, participantId: who.participantId, role: who.label, clinicId: c.clinicId }).catch(() => undefined),
      onEvent: (ev: PeerEvent) => {
        if (this.peer === null || this.peer !== current()) return;
        switch (ev.type) {
          case 'feed-joined':
            this.send({ t: 'feed-joined', feed: feedInfo(ev.feed) });
            break;
          case 'feed-left':
            this.send({ t: 'feed-left', feed: ev.feed });
            break;
          case 'webrtc-up':
            if (ev.target === 'publisher' && who.kind === 'patient') {
              if (who.guestRole) void this.onGuestMediaUp(who);
              else void this.onPatientMediaUp(who);
            }
            break;
          case 'lost':
            // Janus went away. Another server up: move there at once (the gateway places the
            // room anew); else wait for the gateway's 'up'. Either way the browser renegotiates.
            this.peer = null;
            if (this.deps.gateway.isUp()) void this.onMediaServerBack();
            break;
        }
      },
    };
  }

  private async checkStaffSession(): Promise<void> {
    if (this.closed) return;
    const staff = await loadSession(this.deps.ds, cookie(this.req, SESSION_COOKIE)).catch(() => undefined);
    // undefined: the database did not answer; try again next time rather than throw anyone out.
    if (staff !== null || this.closed) return;
    this.send({ t: 'error', code: 'not_authenticated', message: 'your session has ended; sign in again' });
    this.ws.close(4401, 'session ended');
  }

  /** Remember this connection's Janus handles (Redis), for the next process after a restart. */
  private async savePeer(): Promise<void> {
    const state = this.peer?.state();
    if (!state || !this.who || this.closed) return;
    await this.deps.hub.redis.set(peerKey(this.who), JSON.stringify(state), { EX: PEER_STATE_TTL_SECONDS }).catch(() => undefined);
  }

  /**
   * The previous process left this participant's handles in Janus (handed over, or crashed):
   * adopt them, so the browser keeps its connections and the media never stops.
   */
  private async resume(who: Who): Promise<boolean> {
    const redis = this.deps.hub.redis;
    // The key of the release before (per participant) during an upgrade; the room check below guards it.
    const saved = (await redis.get(peerKey(who)).catch(() => null)) ?? (await redis.get(`spk:peer:${who.participantId}`).catch(() => null));
    if (!saved) return false;
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId);
    if (!c || !OPEN_CONSULT.has(c.state) || this.peer) return false;
    const state = JSON.parse(saved) as PeerState;
    // Handles of another room are never this consult's (a key from before keys named the consult).
    if (state.roomId !== c.roomId) return false;
    let peer: PeerSession | null = null;
    try {
      peer = await this.deps.gateway.resumePeer({ state, ...this.peerOptions(who, c, () => peer) });
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not take the peer over');
    }
    if (!peer) {
      await redis.del(peerKey(who)).catch(() => undefined);
      return false;
    }
    this.peer = peer;
    this.inRoom = true;
    this.published = true;
    this.log.info({ room: c.roomId }, 'peer taken over from the previous process');
    return true;
  }

  private async onPatientMediaUp(who: Who) {
    try {
      const r = await mediaUp(this.deps.ds, who.appointmentId, who.participantId);
      if (r.changed) await this.deps.hub.publish(who.appointmentId, { kind: 'changed' });
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not record media up');
    }
  }

  /** A guest's media is up: on record once (the consult report lists who joined). */
  private async onGuestMediaUp(who: Who) {
    try {
      await this.deps.ds.query(
        `INSERT INTO audit_event (actor_kind, actor_id, action, appointment_id, data)
         SELECT 'patient', $2, 'guest.joined', $1, jsonb_build_object('participantId', $2::text, 'role', $3::text)
          WHERE NOT EXISTS (SELECT 1 FROM audit_event WHERE appointment_id = $1 AND action = 'guest.joined' AND actor_id = $2)`,
        [who.appointmentId, who.participantId, who.kind === 'patient' ? (who.guestRole ?? 'colleague') : 'guest'],
      );
      await this.deps.hub.publish(who.appointmentId, { kind: 'changed' });
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not record guest join');
    }
  }

  /**
   * Called when the gateway reports a (re)connected Janus, and when this connection's Janus
   * server was lost while another is up (failover). A connection whose peer is alive (on
   * another server) has nothing to do. The browser is told at once: its `join` places and
   * creates the room (ensureRoom) like any join, and the room is made meanwhile here too, so
   * that the join usually finds it ready. Nobody is admitted again (join lets an admitted
   * participant back in).
   */
  async onMediaServerBack() {
    if (!this.inRoom || !this.who || this.closed || this.peer) return;
    const who = this.who;
    this.send({ t: 'renegotiate', reason: 'media server restarted' });
    // The failover bench's trace reads this line (room, role, time).
    this.log.info({ appointment: who.appointmentId, role: who.label }, 'browser told to renegotiate');
    const c = await loadConsult(this.deps.ds.manager, who.appointmentId).catch(() => null);
    if (!c || !OPEN_CONSULT.has(c.state)) return;
    try {
      await this.deps.gateway.ensureRoom(roomSpec(c, this.deps.roomKey));
    } catch (err) {
      this.log.warn({ err: String(err) }, 'room re-creation failed; the browser will retry on join');
    }
  }

  private requirePeer(): PeerSession {
    if (!this.peer) throw new RelayError('not_joined', 'join the consult first');
    return this.peer;
  }

  private async leaveRoom() {
    const peer = this.peer;
    this.peer = null;
    if (peer) await peer.leave().catch(() => undefined);
    if (peer && this.who) await this.deps.hub.redis.del(peerKey(this.who)).catch(() => undefined);
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
    await this.line?.stop();
    // A hello still being handled finishes first (it may start the timers), then all stops.
    await this.queue.catch(() => undefined);
    clearTimeout(this.helloTimer);
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    if (this.sessionTimer) clearInterval(this.sessionTimer);
    if (this.handingOver) {
      // The next process takes over: handles, presence and the visit state stay as they are.
      this.peer = null;
      await this.stopEcho();
      await this.unsubscribe?.().catch(() => undefined);
      return;
    }
    const wasInRoom = this.inRoom;
    this.inRoom = false;
    await this.stopEcho();
    await this.leaveRoom();
    await this.liftPause();
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

const PEER_STATE_TTL_SECONDS = 120;
/** How often a staff socket re-checks its session (revocation reaches open sockets this fast). */
const STAFF_SESSION_CHECK_MS = 5_000;
/**
 * A participant's Janus handles in one consult. Per consult, not per participant alone: a
 * clinician (`staff:<id>`) is in several consults, and the hello of her second consult must
 * not take the first one's handles over.
 */
const peerKey = (who: Pick<Who, 'appointmentId' | 'participantId'>) => `spk:peer:${who.appointmentId}:${who.participantId}`;

export function roomSpec(c: ConsultContext, roomKey: Buffer) {
  return {
    roomId: c.roomId,
    secret: roomSecret(roomKey, c.roomId),
    // patient, clinician, a third party, and one spare for a reconnect overlap
    publishers: 4,
    description: `consult ${c.roomId}`,
  };
}

function feedInfo(f: FeedEvent): FeedInfo {
  let role = 'participant';
  let label = '';
  try {
    const d = JSON.parse(f.display) as { role?: string; label?: string };
    if (typeof d.role === 'string') role = d.role;
    if (typeof d.label === 'string') label = d.label;
  } catch {
    /* display set by us; ignore anything else */
  }
  return { feed: f.feed, role, label: label || role };
}

/**
 * The client's address. Behind the reverse proxy: the last X-Forwarded-For entry, the one the
 * proxy itself appended — entries before it are whatever the client sent, and would let anyone
 * step around the link-guess limit by making one up.
 */
function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',').pop()?.trim() : '';
  return forwarded || req.socket.remoteAddress || 'unknown';
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

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
