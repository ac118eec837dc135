/**
 * Media brokering for one socket: join, publish, subscribe, answer, trickle, mute and leave,
 * each forwarded to Janus through the gateway with parameters the server sets itself (room,
 * secret, display). Browsers never see a Janus room id, secret or handle. A patient's join
 * from the waiting room is held until the admission is committed; after a Janus restart or
 * failover the browser is told to negotiate again.
 */
import type { FeedEvent, PeerEvent, PeerSession, PeerState } from '../../../gateway/src/types.js';
import { loadConsult, roomSecret, type ConsultContext } from '../consult/context.js';
import { mediaUp } from '../consult/commands.js';
import { staffMayAdmit } from '../domain/admission.js';
import { isCancelled, isFinal, isOpenConsult } from '../domain/visit-state.js';
import { windowsFor } from '../consult/windows.js';
import { patientsMayShareScreen } from '../consult/screen-share.js';
import { rememberHandles } from '../quality/handles.js';
import { noteFirstMedia } from '../metrics/registry.js';
import type { ErrorCode, FeedInfo, IceCandidate, Jsep, StateSnapshot, TrickleTarget } from './protocol.js';
import { forgetPeerState, savePeerState } from './hand-over.js';
import { guestMediaUp } from './guests.js';
import { HELD, RelayError, type Request, type Socket, type Who } from './socket.js';

type JoinRequest = Request<'join'>;

/** One socket's place in its consult's media room. */
export class MediaRoom {
  private peer: PeerSession | null = null;
  /** True while the browser is (or should be) in the media room. */
  inRoom = false;
  /** Our publisher has sent media (a mute/pause must go to Janus). */
  published = false;
  /** Staff: privacy pause asked on this socket, applied to every publish until lifted (pause.ts). */
  paused = false;
  /**
   * The patient's `join` sent from the waiting room (`wait`), kept here until the admission is
   * committed: nothing of it reaches Janus before. Carried out by the state change that admits.
   */
  private held: JoinRequest | null = null;

  constructor(private readonly s: Socket) {}

  get hasPeer(): boolean {
    return this.peer !== null;
  }

  requirePeer(): PeerSession {
    if (!this.peer) throw new RelayError('not_joined', 'join the consult first');
    return this.peer;
  }

  /** `join`: a newer join replaces one still held; from the waiting room it is held (HELD). */
  async join(who: Who, msg: JoinRequest): Promise<unknown> {
    this.dropHeld('a newer join replaced this one');
    if (msg.wait && (await this.hold(who, msg))) return HELD;
    return this.joinAndPublish(who, msg);
  }

  async publish(p: { jsep: Jsep; audio?: boolean; video?: boolean }) {
    const peer = this.requirePeer();
    const jsep = await peer.publish(p.jsep, this.publishedMedia(p));
    this.published = true;
    return { jsep };
  }

  /** A paused clinician who renegotiates stays paused. */
  private publishedMedia(p: { audio?: boolean; video?: boolean }) {
    return this.paused ? { audio: false, video: false } : { audio: p.audio ?? true, video: p.video ?? true };
  }

  async subscribe(feed: number) {
    const peer = this.requirePeer();
    // Only a feed of this consult's room (the gateway keeps the list Janus announced): any
    // other number is someone probing, refused as such, not as a media-server failure.
    if (!peer.state()?.feeds.includes(feed)) {
      this.s.log.warn({ action: 'subscribe' }, 'subscribe to a feed outside this room refused');
      throw new RelayError('not_allowed', 'no such feed in this consult');
    }
    const jsep = await peer.subscribe(feed);
    void this.savePeer();
    return { feed, jsep };
  }

  async answer(feed: number, jsep: Jsep) {
    await this.requirePeer().answer(feed, jsep);
    return {};
  }

  trickle(target: TrickleTarget, candidate: IceCandidate) {
    // Not awaited: Janus acks a candidate at once and janode sends in call order, so the
    // next request on this socket (after a failover, the `subscribe` the picture waits
    // for) does not queue behind a round trip per candidate. A lost candidate is not fatal.
    this.requirePeer()
      .trickle(typeof target === 'string' ? target : target.feed, candidate)
      .catch((err: unknown) => this.s.log.debug({ err: String(err) }, 'trickle not delivered'));
    return {};
  }

  async mute(audio: boolean, video: boolean) {
    // Unmuting cannot lift a privacy pause; `pause` does that.
    await this.requirePeer().mute(this.paused ? { audio: false, video: false } : { audio, video });
    return {};
  }

  /**
   * `share-start`: the screen as a second feed in the room, marked a screen by the display the
   * server sets. Staff always; a patient or guest only where her clinic allows it
   * (consult/screen-share.ts). One per socket: a new share replaces the running one.
   */
  async shareScreen(who: Who, jsep: Jsep) {
    if (who.kind === 'patient' && !(await patientsMayShareScreen(this.s.deps.ds.manager, who.appointmentId))) {
      throw new RelayError('screen_share_off', 'this clinic does not let patients or guests share their screen');
    }
    const peer = this.requirePeer();
    const { answer } = await peer.shareScreen(jsep, JSON.stringify({ ...this.displayOf(who), screen: true }));
    void this.savePeer();
    this.s.log.info({ role: who.label }, 'screen share started');
    return { jsep: answer };
  }

  /** `share-stop`: the others are told the screen feed left. */
  async stopScreen() {
    const stopped = await this.requirePeer().stopScreen();
    if (stopped) {
      void this.savePeer();
      this.s.log.info({}, 'screen share stopped');
    }
    return { stopped };
  }

  /** The page shows the clinician: admission → media, once per consult (metrics/). */
  firstMedia(who: Who) {
    if (this.inRoom && who.label === 'patient') noteFirstMedia(this.s.deps.hub.redis, who.appointmentId);
    return {};
  }

  /** Out of the room (leave, the visit over, the socket gone); the visit itself goes on. */
  async exit(): Promise<void> {
    this.inRoom = false;
    await this.leaveRoom();
  }

  /** A restart: the next process takes the Janus handles over; let go of them without leaving. */
  handOver(): void {
    this.peer = null;
  }

  /**
   * A patient's `join` + `publish` from the waiting room: kept (true) while she waits, so that it
   * goes to Janus the moment the admission is committed instead of after the state push has
   * reached her page and the page has asked. Not admitted yet means nothing goes to Janus.
   */
  private async hold(who: Who, msg: JoinRequest): Promise<boolean> {
    if (who.kind !== 'patient' || who.guestRole) return false;
    const c = await loadConsult(this.s.deps.ds.manager, who.appointmentId);
    if (!c || c.state !== 'waiting' || isCancelled(c)) return false;
    this.held = msg;
    return true;
  }

  /** After a state push: an admission carries out the held join; a closed visit refuses it. */
  async releaseHeld(state: StateSnapshot | null, answer: (msg: JoinRequest, run: () => Promise<unknown>) => Promise<void>) {
    const held = this.held;
    const who = this.s.who;
    if (!held || !state || !who) return;
    if (isOpenConsult(state.visitState)) {
      this.held = null;
      await answer(held, () => this.joinAndPublish(who, held));
    } else if (isFinal(state.visitState)) {
      this.held = null;
      const code: ErrorCode = state.visitState === 'ended' || state.visitState === 'cancelled' || state.visitState === 'expired' ? state.visitState : 'not_admitted';
      this.s.send({ t: 'error', id: held.id, code, message: `the visit is ${state.visitState}` });
    }
  }

  /** The socket is gone: a held join is not answered any more. */
  forgetHeld() {
    this.held = null;
  }

  dropHeld(why: string) {
    const held = this.held;
    this.held = null;
    if (held) this.s.send({ t: 'error', id: held.id, code: 'not_joined', message: `the waiting join was dropped: ${why}` });
  }

  /**
   * `join`, and with `publish` the publish in the same Janus request (`joinandconfigure`): one
   * round trip fewer on the admission's path, and no second request from the page.
   */
  private async joinAndPublish(who: Who, msg: JoinRequest) {
    const { answer, ...r } = await this.enter(who, msg.publish);
    void this.savePeer();
    return msg.publish ? { ...r, jsep: answer } : r;
  }

  private async enter(who: Who, publish?: { jsep: Jsep; audio?: boolean; video?: boolean }) {
    const { deps } = this.s;
    const c = await loadConsult(deps.ds.manager, who.appointmentId);
    if (!c) throw new RelayError('not_allowed', 'no such appointment');
    if (c.state === 'ended') throw new RelayError('ended', 'the consult has ended');
    if (isCancelled(c)) throw new RelayError('cancelled', 'the appointment was cancelled');
    // Staff who may admit can take their place in the room while the patient waits, so the
    // clinician's picture is already there when the patient comes in. The patient only ever
    // enters after admission.
    const early = who.kind === 'staff' && c.state === 'waiting' && staffMayAdmit(who.staff, c);
    if (!isOpenConsult(c.state) && !early) throw new RelayError('not_admitted', 'you have not been let in yet');
    if (who.kind === 'patient' && windowsFor(c).phase(new Date()) === 'expired') {
      throw new RelayError('expired', 'the link has expired');
    }
    await this.leaveRoom();
    await deps.gateway.ensureRoom(roomSpec(c, deps.roomKey));
    this.published = false;
    const peer = await deps.gateway.openPeer(this.peerOptions(who, c, () => peer));
    this.peer = peer;
    this.inRoom = true;
    const offer = publish && { offer: publish.jsep, media: this.publishedMedia(publish) };
    let joined;
    try {
      joined = await peer.join(offer);
    } catch (err) {
      // The room may have gone from Janus behind this process's back: make sure, and retry once.
      await deps.gateway.ensureRoom(roomSpec(c, deps.roomKey), { verify: true });
      joined = await peer.join(offer).catch(() => {
        throw err;
      });
    }
    if (offer) this.published = true;
    const feeds = joined.feeds.map(feedInfo);
    this.s.send({ t: 'joined', feeds, me: joined.me });
    return { me: joined.me, feeds, answer: joined.answer };
  }

  /** Adopt the handles a previous process left (hand-over.ts); false when Janus has them no more. */
  async adopt(who: Who, c: ConsultContext, state: PeerState): Promise<boolean> {
    let peer: PeerSession | null = null;
    peer = await this.s.deps.gateway.resumePeer({ state, ...this.peerOptions(who, c, () => peer) });
    if (!peer) return false;
    this.peer = peer;
    this.inRoom = true;
    this.published = true;
    return true;
  }

  /** The display Janus shows the others, and what this socket does with the peer's events. */
  private peerOptions(who: Who, c: ConsultContext, current: () => PeerSession | null) {
    const { deps } = this.s;
    return {
      roomId: c.roomId,
      display: JSON.stringify(this.displayOf(who)),
      // Janus's events name handles only: remember whose they are (live call quality, quality/).
      onHandles: (ids: number[]) => void rememberHandles(deps.hub.redis, ids, { appointmentId: c.appointmentId, participantId: who.participantId, role: who.label, clinicId: c.clinicId }).catch(() => undefined),
      onEvent: (ev: PeerEvent) => {
        if (this.peer === null || this.peer !== current()) return;
        switch (ev.type) {
          case 'feed-joined':
            this.s.send({ t: 'feed-joined', feed: feedInfo(ev.feed) });
            break;
          case 'feed-left':
            this.s.send({ t: 'feed-left', feed: ev.feed });
            break;
          case 'webrtc-up':
            if (ev.target === 'publisher' && who.kind === 'patient') {
              if (who.guestRole) void guestMediaUp(this.s, who);
              else void this.patientMediaUp(who);
            }
            break;
          case 'lost':
            // Janus went away. Another server up: move there at once (the gateway places the
            // room anew); else wait for the gateway's 'up'. Either way the browser renegotiates.
            this.peer = null;
            if (deps.gateway.isUp()) void this.onMediaServerBack();
            break;
        }
      },
    };
  }

  /** What Janus shows the others of this participant (never a name). */
  private displayOf(who: Who) {
    return {
      role: who.label,
      label: who.kind === 'patient' && who.guestRole ? who.guestRole : who.label,
      participantId: who.participantId,
    };
  }

  private async patientMediaUp(who: Who) {
    try {
      const r = await mediaUp(this.s.deps.ds, who.appointmentId, who.participantId);
      if (r.changed) await this.s.deps.hub.publish(who.appointmentId, { kind: 'changed' });
    } catch (err) {
      this.s.log.warn({ err: String(err) }, 'could not record media up');
    }
  }

  /**
   * Called when the gateway reports a (re)connected Janus, and when this socket's Janus
   * server was lost while another is up (failover). A socket whose peer is alive (on
   * another server) has nothing to do. The browser is told at once: its `join` places and
   * creates the room (ensureRoom) like any join, and the room is made meanwhile here too, so
   * that the join usually finds it ready. Nobody is admitted again (join lets an admitted
   * participant back in).
   */
  async onMediaServerBack() {
    const who = this.s.who;
    if (!this.inRoom || !who || this.s.closed || this.peer) return;
    this.s.send({ t: 'renegotiate', reason: 'media server restarted' });
    // The failover bench's trace reads this line (room, role, time).
    this.s.log.info({ appointment: who.appointmentId, role: who.label }, 'browser told to renegotiate');
    const c = await loadConsult(this.s.deps.ds.manager, who.appointmentId).catch(() => null);
    if (!c || !isOpenConsult(c.state)) return;
    try {
      await this.s.deps.gateway.ensureRoom(roomSpec(c, this.s.deps.roomKey));
    } catch (err) {
      this.s.log.warn({ err: String(err) }, 'room re-creation failed; the browser will retry on join');
    }
  }

  /** Keep the handles' state for a next process (hand-over.ts). */
  savePeer(): Promise<void> {
    return savePeerState(this.s, this.peer?.state());
  }

  private async leaveRoom() {
    const peer = this.peer;
    this.peer = null;
    if (peer) await peer.leave().catch(() => undefined);
    if (peer && this.s.who) await forgetPeerState(this.s, this.s.who);
  }
}

export function roomSpec(c: ConsultContext, roomKey: Buffer) {
  return {
    roomId: c.roomId,
    secret: roomSecret(roomKey, c.roomId),
    // patient, clinician, a third party, one spare for a reconnect overlap, and two screens
    publishers: 6,
    description: `consult ${c.roomId}`,
  };
}

function feedInfo(f: FeedEvent): FeedInfo {
  let role = 'participant';
  let label = '';
  let screen = false;
  try {
    const d = JSON.parse(f.display) as { role?: string; label?: string; screen?: boolean };
    if (typeof d.role === 'string') role = d.role;
    if (typeof d.label === 'string') label = d.label;
    screen = d.screen === true;
  } catch {
    /* display set by us; ignore anything else */
  }
  return { feed: f.feed, role, label: label || role, ...(screen ? { screen } : {}) };
}
