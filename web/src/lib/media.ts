/**
 * Peer connections on top of our signalling protocol: join the consult room, publish our
 * camera and microphone, subscribe to every other participant, and rebuild everything when
 * the server says `renegotiate` (a Janus restart) or ICE fails. Browsers only ever talk to
 * the control plane; it forwards to Janus with parameters of its own.
 */
import type { FeedInfo, IceCandidate, Jsep, TrickleTarget } from '../../../control/src/realtime/protocol.js';
import { SignallingError, type Signalling } from './signalling.js';

// ---- ICE servers: the TURN server (short-lived credentials) from the hello reply, if any ----

let iceServers: RTCIceServer[] = [];

/** Hook for TURN: call with the servers the control plane hands over. */
export function setIceServers(servers: RTCIceServer[]): void {
  iceServers = servers;
}

/** Takes `iceServers` from a hello reply when the server sends them. */
export function takeIceServers(helloData: unknown): void {
  const s = (helloData as { iceServers?: unknown } | null)?.iceServers;
  if (Array.isArray(s)) setIceServers(s as RTCIceServer[]);
}

// ---- automated tests: window.spkDebug ----

const livePcs = new Set<RTCPeerConnection>();

export interface SpkDebug {
  pcs(): RTCPeerConnection[];
  state(): string;
  /** The last device-test outcome (patient page), null before one finished. */
  deviceTest?(): unknown;
  /** Counts of ICE restarts and full rebuilds of the consult's media (patient page). */
  recoveries?(): { iceRestarts: number; rebuilds: number };
  /** Sound and vibration cues given for new chat messages, and the unread count (patient page). */
  chatCues?(): { sound: number; vibrate: number; unread: number };
  /** The consult media's recent steps (join, publish, subscribe …) with their times, epoch ms. */
  steps?(): Array<{ step: string; at: number }>;
}

/** The consult media's recent steps, for the failover bench's trace (spkDebug.steps()). */
const recentSteps: Array<{ step: string; at: number }> = [];
function step(name: string): void {
  if (recentSteps.length >= 200) recentSteps.splice(0, 100);
  recentSteps.push({ step: name, at: Date.now() });
}

declare global {
  interface Window {
    spkDebug?: SpkDebug;
  }
}

/** `window.spkDebug.pcs()` lists our open peer connections; `state()` names the screen. */
export function installDebug(state: () => string, extra: Partial<SpkDebug> = {}): void {
  window.spkDebug = { pcs: () => Array.from(livePcs), state, steps: () => recentSteps.slice(), ...extra };
}

/** A peer connection with the ICE servers of the hello reply; `track` lists it in spkDebug.pcs(). */
export function newPeerConnection(track = true): RTCPeerConnection {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  if (track) livePcs.add(pc);
  return pc;
}

function newPc(): RTCPeerConnection {
  return newPeerConnection(true);
}

export function closePc(pc: RTCPeerConnection): void {
  livePcs.delete(pc);
  pc.onicecandidate = pc.ontrack = pc.oniceconnectionstatechange = null;
  try {
    pc.close();
  } catch {
    // already closed
  }
}

// ---- the consult's media ----

/**
 * A publisher connection made ahead of time (in the waiting room): the offer is created and
 * ICE gathering has started, so on admission only the signalling remains. Nothing is sent to
 * the server until `publish`; the server still decides who may join.
 */
export interface PreparedPublisher {
  pc: RTCPeerConnection;
  stream: MediaStream;
  offer: RTCSessionDescriptionInit;
  early: IceCandidate[];
  /**
   * An empty connection for the first subscription. Chromium's RTCPeerConnection constructor
   * blocks the page's main thread for 50-200 ms while its WebRTC threads are busy (the
   * publisher starting to send): made here, that wait is not between Janus announcing the
   * other side and our `subscribe`. Not listed in spkDebug.pcs() until used.
   */
  spare: RTCPeerConnection | null;
  /**
   * The patient's `join` + `publish` of this offer, sent from the waiting room (holdJoin): the
   * server keeps it and carries it out the moment the admission is committed; this resolves
   * with its reply then. Null when not sent (or failed, e.g. the socket dropped).
   */
  held?: Promise<unknown> | null;
  /** The held join's offer carries every candidate: only end-of-candidates is left to send. */
  heldGathered?: boolean;
  /** Withdraws the held join (a `leave`), when this publisher is discarded. */
  unhold?: () => void;
}

/** A waiting patient waits minutes, not seconds: the held join's reply may take this long. */
const HELD_JOIN_MS = 6 * 3600_000;
/**
 * Once on the consult screen, the held join's answer is awaited this long before joining anew
 * (only for a page that learnt of the admission before its relay did; Janus on a loaded machine
 * can take seconds, and a second join would rebuild both sides).
 */
const HELD_ANSWER_MS = 20_000;
/** How long a prepared publisher may gather candidates before its offer is held at the server. */
const GATHER_MS = 3000;

/**
 * Sends the prepared publisher's `join` + `publish` now, to be kept by the server until the
 * admission (see PreparedPublisher.held). The server alone decides when it goes to Janus.
 */
export async function holdJoin(sig: Signalling, p: PreparedPublisher, stillWaiting: () => boolean): Promise<void> {
  if (p.held || p.pc.signalingState !== 'have-local-offer') return;
  // The offer with its candidates (as gathered by now): Janus needs no trickle round after it.
  await new Promise<void>((resolve) => {
    if (p.pc.iceGatheringState === 'complete') return resolve();
    const timer = window.setTimeout(resolve, GATHER_MS);
    p.pc.addEventListener('icegatheringstatechange', () => {
      if (p.pc.iceGatheringState !== 'complete') return;
      window.clearTimeout(timer);
      resolve();
    });
  });
  // Admitted meanwhile: the consult took this publisher and joins with it itself.
  if (p.held || p.pc.signalingState !== 'have-local-offer' || !stillWaiting()) return;
  const gathered = p.pc.iceGatheringState === 'complete';
  const sdp = (gathered ? p.pc.localDescription?.sdp : p.offer.sdp) ?? '';
  const stream = p.stream;
  const held = sig.request(
    {
      t: 'join',
      wait: true,
      publish: { jsep: { type: 'offer', sdp }, audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0 },
    },
    HELD_JOIN_MS,
  );
  p.held = held;
  p.heldGathered = gathered;
  p.unhold = () => void sig.request({ t: 'leave' }, 5000).catch(() => undefined);
  held.catch(() => {
    if (p.held === held) p.held = null;
  });
}

export async function preparePublisher(stream: MediaStream): Promise<PreparedPublisher> {
  const pc = newPc();
  const early: IceCandidate[] = [];
  pc.onicecandidate = (ev) => early.push(toCandidate(ev.candidate));
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return { pc, stream, offer, early, spare: newPeerConnection(false) };
}

export function discardPrepared(p: PreparedPublisher | null): void {
  if (!p) return;
  if (p.held) p.unhold?.();
  p.held = null;
  closePc(p.pc);
  if (p.spare) closePc(p.spare);
  p.spare = null;
}

function toCandidate(c: RTCIceCandidate | null): IceCandidate {
  // End of gathering: a null candidate (or an empty one, in older browsers).
  return c && c.candidate ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null;
}

export interface Joined {
  feeds: FeedInfo[];
  me: number;
}

function isJoined(v: unknown): v is Joined {
  return !!v && typeof v === 'object' && Array.isArray((v as Joined).feeds);
}

function hasJsep(v: unknown): v is { jsep: Jsep } {
  const j = (v as { jsep?: Jsep } | null)?.jsep;
  return !!j && typeof j.sdp === 'string';
}

export interface MediaHandlers {
  /** A participant's stream arrived (called again when a track is added). */
  remote(feed: FeedInfo, stream: MediaStream): void;
  /** A participant's stream is gone (left, or rebuilding). */
  remoteGone(feed: number, why: 'left' | 'rebuild'): void;
  /** Something failed that the user should know about. */
  problem(err: SignallingError): void;
  /** Connected (true) or rebuilding (false). */
  status?(connected: boolean): void;
}

interface Subscription {
  info: FeedInfo;
  pc: RTCPeerConnection;
  stream: MediaStream;
}

const RETRY_MS = [500, 1000, 1000, 2000, 2000, 3000];
/** ICE 'disconnected' this long (a network change, a weak signal) → try an ICE restart. */
const ICE_GRACE_MS = 2500;
/** An ICE restart that has not reconnected after this long → rebuild everything. */
const ICE_RESTART_MS = 6000;
/** Replaced connections are closed this long after a rebuild at the latest. */
const RETIRED_MS = 10_000;

/** How the consult's media recovered, for tests (window.spkDebug.recoveries()). */
export const recoveries = { iceRestarts: 0, rebuilds: 0 };

export class ConsultMedia {
  private publisher: RTCPeerConnection | null = null;
  private readonly subs = new Map<number, Subscription>();
  private me: number | null = null;
  /** Bumped by closeAll(): flows still running from before stop at their next step. */
  private generation = 0;
  private running = false;
  private retries = 0;
  private retryTimer = 0;
  private readonly off: Array<() => void> = [];
  /** The prepared publisher's spare connection, taken by the first subscription. */
  private spare: RTCPeerConnection | null = null;
  /** An ICE restart of the publisher is under way (its deadline timer). */
  private restartTimer = 0;
  private iceDownTimer = 0;
  private iceDown = false;
  /**
   * Connections replaced by a rebuild after `renegotiate` (their Janus is gone): make before
   * break. Closing a peer connection blocks the page's main thread while the browser tears it
   * down, which on a busy phone or PC delays the new connections by up to a second; so they
   * are closed once media flows on the new ones (or after RETIRED_MS), not first.
   */
  private retired: RTCPeerConnection[] = [];
  private retiredTimer = 0;
  /** Our screen share (issue 18.5): its own sendonly connection, a second feed at Janus. */
  private screen: { pc: RTCPeerConnection; track: MediaStreamTrack; ended: () => void } | null = null;
  audio = true;
  video = true;

  constructor(
    private readonly sig: Signalling,
    private local: MediaStream | null,
    private readonly on: MediaHandlers,
    private prepared: PreparedPublisher | null = null,
  ) {
    if (prepared) {
      this.spare = prepared.spare;
      prepared.spare = null;
    }
  }

  /** The spare connection if it is still unused, else a new one. */
  private subscriberPc(): RTCPeerConnection {
    const pc = this.spare;
    this.spare = null;
    if (pc && pc.signalingState === 'stable' && pc.connectionState === 'new') {
      livePcs.add(pc);
      return pc;
    }
    if (pc) closePc(pc);
    return newPc();
  }

  /** Joins the room, publishes `local` (if any) and subscribes to everyone else. */
  async start(): Promise<void> {
    if (!this.running) {
      this.running = true;
      this.off.push(
        this.sig.on('joined', (m) => this.subscribeAll(m, this.generation)),
        this.sig.on('feed-joined', (m) => {
          step('feed-joined');
          void this.subscribe(m.feed);
        }),
        this.sig.on('feed-left', (m) => this.dropFeed(m.feed, 'left')),
        this.sig.on('renegotiate', () => {
          step('renegotiate');
          this.rebuild(false);
        }),
      );
    }
    const gen = this.generation;
    this.on.status?.(false);
    if (await this.startHeld(gen)) return;
    if (gen !== this.generation) return;
    try {
      // Pipelined: the server handles one socket's requests in order, so the offer can be
      // made while `join` is under way and `publish` sent without waiting for its reply.
      const joined = this.sig.request({ t: 'join' });
      const pub = this.local ? this.publish(this.local) : Promise.resolve();
      pub.catch(() => undefined);
      const data = await joined;
      step('joined');
      if (gen !== this.generation) return;
      if (isJoined(data)) this.subscribeAll(data, gen);
      await pub;
      this.retries = 0;
      this.on.status?.(true);
    } catch (err) {
      if (gen !== this.generation) return;
      this.failed(err);
    }
  }

  /**
   * The patient's join + publish held at the server since the waiting room (holdJoin): its
   * reply is our place in the room and Janus's answer. False: none held, or it failed (the
   * ordinary join follows, with the same prepared publisher).
   */
  private async startHeld(gen: number): Promise<boolean> {
    const prep = this.prepared;
    const held = prep?.held;
    if (!prep || !held || prep.stream !== this.local) return false;
    prep.held = null;
    let data: unknown;
    let timer = 0;
    try {
      // The page may have learnt of the admission before the server's relay did (the state read
      // over HTTP, a lost push): then the ordinary join below, which replaces the held one.
      data = await Promise.race([
        held,
        new Promise((_, reject) => (timer = window.setTimeout(() => reject(new Error('held join: no answer')), HELD_ANSWER_MS))),
      ]);
    } catch {
      return false;
    } finally {
      window.clearTimeout(timer);
    }
    if (gen !== this.generation || this.prepared !== prep) return true;
    if (!isJoined(data) || !hasJsep(data) || prep.pc.signalingState !== 'have-local-offer') return false;
    step('joined');
    this.prepared = null;
    const pc = prep.pc;
    this.publisher = pc;
    this.watchIce(pc, 'publisher');
    // The offer carried what was gathered: the rest (or everything) follows now.
    this.trickler(pc, 'publisher', prep.heldGathered ? [null] : prep.early).flush();
    this.subscribeAll(data, gen);
    try {
      await pc.setRemoteDescription(data.jsep);
      step('publish-answer');
      this.retries = 0;
      this.on.status?.(true);
    } catch (err) {
      if (gen === this.generation) this.failed(err);
    }
    return true;
  }

  /** Tells the server once when the first remote picture arrives (its admission-to-media metric). */
  private firstMediaReported = false;
  private reportFirstMedia(track: MediaStreamTrack): void {
    const send = () => {
      if (this.firstMediaReported) return;
      this.firstMediaReported = true;
      void this.sig.request({ t: 'first-media' }).catch(() => undefined);
    };
    // A remote track is muted until its first packets arrive.
    if (!track.muted) send();
    else track.addEventListener('unmute', send, { once: true });
  }

  /** Replaces the camera/microphone (e.g. after permission was given late). */
  setLocal(stream: MediaStream | null): void {
    this.local = stream;
  }

  /** Publishes own camera and microphone: sendonly offer → `publish` → Janus's answer. */
  async publish(stream: MediaStream): Promise<void> {
    const gen = this.generation;
    if (this.publisher) closePc(this.publisher);
    const prep = this.prepared;
    this.prepared = null;
    let pc: RTCPeerConnection;
    let offer: RTCSessionDescriptionInit;
    let trickle: { flush(): void };
    if (prep && prep.stream === stream && prep.pc.signalingState === 'have-local-offer') {
      ({ pc, offer } = prep);
      this.publisher = pc;
      trickle = this.trickler(pc, 'publisher', prep.early);
    } else {
      discardPrepared(prep);
      pc = newPc();
      this.publisher = pc;
      for (const track of stream.getTracks()) {
        pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      }
      trickle = this.trickler(pc, 'publisher');
      step('publisher-pc');
      offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      step('publisher-offer');
    }
    this.watchIce(pc, 'publisher');
    if (gen !== this.generation) return closePc(pc);
    const replied = this.sig.request({
      t: 'publish',
      jsep: { type: 'offer', sdp: offer.sdp ?? '' },
      audio: this.audio && stream.getAudioTracks().length > 0,
      video: this.video && stream.getVideoTracks().length > 0,
    });
    // Requests are handled in order: candidates sent now reach Janus after the offer.
    trickle.flush();
    const reply = await replied;
    if (gen !== this.generation) return closePc(pc);
    if (!hasJsep(reply)) throw new SignallingError('internal', 'publish: no answer');
    step('publish-answer');
    await pc.setRemoteDescription(reply.jsep);
  }

  /**
   * Shares a screen (a getDisplayMedia track) as a second feed: `share-start` with a video-only
   * offer → Janus's answer. `ended` is called once when the share stops for any reason (our
   * stopScreen, a rebuild, a refusal); the track is stopped then. Rejects with the server's refusal.
   */
  async shareScreen(track: MediaStreamTrack, ended: () => void): Promise<void> {
    this.endScreen();
    const pc = newPc();
    const mine = { pc, track, ended };
    this.screen = mine;
    pc.addTransceiver(track, { direction: 'sendonly' });
    const trickle = this.trickler(pc, 'screen');
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (this.screen !== mine) return;
      const replied = this.sig.request({ t: 'share-start', jsep: { type: 'offer', sdp: offer.sdp ?? '' } });
      trickle.flush();
      const reply = await replied;
      if (this.screen !== mine) return;
      if (!hasJsep(reply)) throw new SignallingError('internal', 'share-start: no answer');
      step('share-answer');
      await pc.setRemoteDescription(reply.jsep);
    } catch (err) {
      if (this.screen === mine) this.endScreen();
      throw asSignallingError(err);
    }
  }

  get sharing(): boolean {
    return this.screen !== null;
  }

  /** Stops our screen share; the others are told its feed left. */
  async stopScreen(): Promise<void> {
    if (!this.screen) return;
    this.endScreen();
    await this.sig.request({ t: 'share-stop' }, 5000).catch(() => undefined);
  }

  private endScreen(): void {
    const sc = this.screen;
    this.screen = null;
    if (!sc) return;
    closePc(sc.pc);
    sc.track.stop();
    sc.ended();
  }

  /** Receives a participant: `subscribe` → Janus's offer → our answer → `answer`. */
  async subscribe(info: FeedInfo): Promise<void> {
    const gen = this.generation;
    if (info.feed === this.me || this.subs.has(info.feed)) return;
    const pc = this.subscriberPc();
    const sub: Subscription = { info, pc, stream: new MediaStream() };
    this.subs.set(info.feed, sub);
    pc.ontrack = (ev) => {
      const stream = ev.streams[0];
      if (stream && stream !== sub.stream && sub.stream.getTracks().length === 0) sub.stream = stream;
      else if (!sub.stream.getTracks().includes(ev.track)) sub.stream.addTrack(ev.track);
      this.on.remote(info, sub.stream);
      if (ev.track.kind === 'video') {
        this.reportFirstMedia(ev.track);
        if (!ev.track.muted) this.closeRetired();
        else ev.track.addEventListener('unmute', () => this.closeRetired(), { once: true });
      }
    };
    const trickle = this.trickler(pc, { feed: info.feed });
    this.watchIce(pc, info.feed);
    try {
      const reply = await this.sig.request({ t: 'subscribe', feed: info.feed });
      if (gen !== this.generation) return;
      if (!hasJsep(reply)) throw new SignallingError('internal', 'subscribe: no offer');
      step('subscribe-offer');
      await pc.setRemoteDescription(reply.jsep);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      step('subscribe-answer');
      if (gen !== this.generation) return;
      const answered = this.sig.request({ t: 'answer', feed: info.feed, jsep: { type: 'answer', sdp: answer.sdp ?? '' } });
      trickle.flush();
      await answered;
    } catch (err) {
      if (gen !== this.generation) return;
      this.dropFeed(info.feed, 'rebuild');
      this.on.problem(asSignallingError(err));
    }
  }

  /**
   * Sends another camera (front/back, or a picked one) without renegotiating: the
   * publisher's video sender swaps its track. The old track is the caller's to stop.
   */
  async replaceVideoTrack(track: MediaStreamTrack): Promise<void> {
    track.enabled = this.video;
    for (const pc of [this.publisher, this.prepared?.pc]) {
      const tr = pc?.getTransceivers().find((x) => x.receiver.track.kind === 'video');
      if (tr) await tr.sender.replaceTrack(track);
    }
  }

  /** Own sound / picture on or off: the track here, and at the media server. */
  async mute(audio: boolean, video: boolean): Promise<void> {
    this.audio = audio;
    this.video = video;
    for (const tr of this.local?.getAudioTracks() ?? []) tr.enabled = audio;
    for (const tr of this.local?.getVideoTracks() ?? []) tr.enabled = video;
    if (!this.publisher) return;
    try {
      await this.sig.request({ t: 'mute', audio, video });
    } catch (err) {
      this.on.problem(asSignallingError(err));
    }
  }

  /** Leaves the media room (the visit goes on) and closes everything. */
  async leave(): Promise<void> {
    this.stop();
    try {
      await this.sig.request({ t: 'leave' }, 5000);
    } catch {
      // The server drops us anyway when the socket goes.
    }
  }

  /**
   * Closes every peer connection; running flows stop at their next step. `retire`: they are
   * out of use at once but closed later (closeRetired), after the new ones are made.
   */
  closeAll(retire = false): void {
    this.generation++;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.restartTimer);
    window.clearTimeout(this.iceDownTimer);
    this.restartTimer = this.iceDownTimer = 0;
    if (!retire) this.closeRetired();
    if (this.publisher) {
      if (retire) {
        // The camera is not encoded twice meanwhile.
        for (const tr of this.publisher.getTransceivers()) void tr.sender.replaceTrack(null).catch(() => undefined);
        this.retire(this.publisher);
      } else closePc(this.publisher);
    }
    this.publisher = null;
    // The server dropped (or drops, on our leave) the screen with the room: shared again by hand.
    this.endScreen();
    for (const feed of Array.from(this.subs.keys())) this.dropFeed(feed, 'rebuild', retire);
  }

  private retire(pc: RTCPeerConnection): void {
    livePcs.delete(pc);
    pc.onicecandidate = pc.ontrack = pc.oniceconnectionstatechange = null;
    this.retired.push(pc);
    if (!this.retiredTimer) this.retiredTimer = window.setTimeout(() => this.closeRetired(), RETIRED_MS);
  }

  private closeRetired(): void {
    window.clearTimeout(this.retiredTimer);
    this.retiredTimer = 0;
    if (this.retired.length === 0) return;
    for (const pc of this.retired.splice(0)) closePc(pc);
    step('retired-closed');
  }

  /** closeAll() and stop listening: this object is done. */
  stop(): void {
    discardPrepared(this.prepared);
    this.prepared = null;
    if (this.spare) closePc(this.spare);
    this.spare = null;
    this.closeAll();
    this.running = false;
    for (const off of this.off.splice(0)) off();
  }

  /**
   * Drop every connection and join, publish and subscribe again. After `renegotiate` the
   * server has already dropped us; after our own failure we say `leave` first so the
   * server's picture matches ours.
   */
  rebuild(leaveFirst = true): void {
    if (!this.running) return;
    recoveries.rebuilds++;
    // After `renegotiate` the old connections lead to a Janus that is gone: new ones first.
    this.closeAll(!leaveFirst);
    const gen = this.generation;
    const left = leaveFirst ? this.sig.request({ t: 'leave' }, 5000).catch(() => undefined) : Promise.resolve();
    void left.then(() => {
      if (gen === this.generation && this.running) void this.start();
    });
  }

  private subscribeAll(j: Joined, gen: number): void {
    if (gen !== this.generation) return;
    if (typeof j.me === 'number') this.me = j.me;
    for (const f of j.feeds) void this.subscribe(f);
  }

  private dropFeed(feed: number, why: 'left' | 'rebuild', retire = false): void {
    const sub = this.subs.get(feed);
    if (!sub) return;
    this.subs.delete(feed);
    if (retire) this.retire(sub.pc);
    else closePc(sub.pc);
    this.on.remoteGone(feed, why);
  }

  private failed(err: unknown): void {
    const e = asSignallingError(err);
    // Terminal answers: the page's state handling takes over; retrying cannot help.
    if (['ended', 'cancelled', 'expired', 'not_admitted', 'not_allowed', 'not_authenticated'].includes(e.code)) {
      this.on.problem(e);
      return;
    }
    this.on.problem(e);
    const delay = RETRY_MS[Math.min(this.retries++, RETRY_MS.length - 1)] ?? 3000;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.rebuild(), delay);
  }

  /**
   * Connection trouble, mildest cure first. ICE 'disconnected' for a moment (a network
   * change, a weak signal) or 'failed': the publisher restarts ICE (a new offer with fresh
   * credentials through `publish`, which Janus takes as a renegotiation); a subscription is
   * asked for again. When that does not bring the media back, everything is rebuilt (leave,
   * join, publish, subscribe) — no new admission: the server lets an admitted patient rejoin.
   */
  private watchIce(pc: RTCPeerConnection, target: 'publisher' | number): void {
    pc.oniceconnectionstatechange = () => {
      if (!this.running) return;
      const s = pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') {
        if (target === 'publisher') {
          window.clearTimeout(this.restartTimer);
          this.restartTimer = 0;
        }
        window.clearTimeout(this.iceDownTimer);
        this.iceDownTimer = 0;
        if (this.iceDown) {
          this.iceDown = false;
          this.on.status?.(true);
        }
        return;
      }
      if (s !== 'disconnected' && s !== 'failed') return;
      if (!this.iceDown) {
        this.iceDown = true;
        this.on.status?.(false);
      }
      window.clearTimeout(this.iceDownTimer);
      this.iceDownTimer = window.setTimeout(() => this.recover(pc, target), s === 'failed' ? 0 : ICE_GRACE_MS);
    };
  }

  private recover(pc: RTCPeerConnection, target: 'publisher' | number): void {
    if (!this.running) return;
    if (target !== 'publisher') {
      // Janus offers afresh for a repeated subscription.
      const sub = this.subs.get(target);
      if (!sub || sub.pc !== pc) return;
      this.dropFeed(target, 'rebuild');
      void this.subscribe(sub.info);
      return;
    }
    if (pc !== this.publisher || this.restartTimer) return;
    void this.restartIce(pc);
  }

  private async restartIce(pc: RTCPeerConnection): Promise<void> {
    const gen = this.generation;
    recoveries.iceRestarts++;
    this.restartTimer = window.setTimeout(() => {
      this.restartTimer = 0;
      if (gen === this.generation) this.rebuild();
    }, ICE_RESTART_MS);
    try {
      const trickle = this.trickler(pc, 'publisher');
      pc.restartIce?.();
      const offer = await pc.createOffer({ iceRestart: true });
      await pc.setLocalDescription(offer);
      const replied = this.sig.request({
        t: 'publish',
        jsep: { type: 'offer', sdp: offer.sdp ?? '' },
        audio: this.audio && !!this.local?.getAudioTracks().length,
        video: this.video && !!this.local?.getVideoTracks().length,
      });
      trickle.flush();
      const reply = await replied;
      if (gen !== this.generation || pc !== this.publisher) return;
      if (!hasJsep(reply)) throw new SignallingError('internal', 'publish: no answer');
      await pc.setRemoteDescription(reply.jsep);
    } catch {
      if (gen !== this.generation) return;
      window.clearTimeout(this.restartTimer);
      this.restartTimer = 0;
      this.rebuild();
    }
  }

  /**
   * Local candidates for `target`, held back until our SDP for that connection has been sent
   * (the server handles a socket's requests in order), then sent as they come.
   * `null` tells the server gathering is complete.
   */
  private trickler(pc: RTCPeerConnection, target: TrickleTarget, early: IceCandidate[] = []): { flush(): void } {
    const held: IceCandidate[] = [...early];
    let open = false;
    let done = early.includes(null);
    const send = (candidate: IceCandidate): void => {
      this.sig.request({ t: 'trickle', target, candidate }).catch(() => {
        // A lost candidate is not fatal; ICE uses the others or fails and we rebuild.
      });
    };
    pc.onicecandidate = (ev) => {
      if (done) return;
      const cand = toCandidate(ev.candidate);
      if (cand === null) done = true;
      if (open) send(cand);
      else held.push(cand);
    };
    return {
      flush: () => {
        open = true;
        for (const c of held.splice(0)) send(c);
      },
    };
  }
}

export function asSignallingError(err: unknown): SignallingError {
  if (err instanceof SignallingError) return err;
  return new SignallingError('internal', err instanceof Error ? err.message : String(err));
}

// ---- camera and microphone ----

export type MediaProblem = 'denied' | 'notFound' | 'inUse' | 'unsupported' | 'failed';

export interface LocalMedia {
  stream: MediaStream | null;
  problem: MediaProblem | null;
}

const VIDEO: MediaTrackConstraints = {
  facingMode: 'user',
  width: { ideal: 640 },
  height: { ideal: 480 },
  frameRate: { ideal: 24, max: 30 },
};

/** Camera and microphone, falling back to the microphone alone when there is no camera. */
export async function getLocalMedia(): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) return { stream: null, problem: 'unsupported' };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO }), problem: null };
  } catch (err) {
    const problem = mediaProblem(err);
    if (problem === 'notFound') {
      try {
        return { stream: await navigator.mediaDevices.getUserMedia({ audio: true }), problem: null };
      } catch (err2) {
        return { stream: null, problem: mediaProblem(err2) };
      }
    }
    return { stream: null, problem };
  }
}

export function mediaProblem(err: unknown): MediaProblem {
  const name = (err as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'notFound';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'inUse';
  if (name === 'TypeError') return 'unsupported';
  return 'failed';
}

/** The cameras of this device; labels are empty until camera permission was given. */
export async function listCameras(): Promise<MediaDeviceInfo[]> {
  try {
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === 'videoinput');
  } catch {
    return [];
  }
}

/** One camera track, by device (a picker) or by side (front/back on a phone). */
export async function getCameraTrack(want: { deviceId?: string; facingMode?: 'user' | 'environment' }): Promise<MediaStreamTrack> {
  const video: MediaTrackConstraints = { ...VIDEO };
  if (want.deviceId) {
    delete video.facingMode;
    video.deviceId = { exact: want.deviceId };
  } else if (want.facingMode) {
    video.facingMode = { ideal: want.facingMode };
  }
  const s = await navigator.mediaDevices.getUserMedia({ video });
  const track = s.getVideoTracks()[0];
  if (!track) throw new DOMException('no camera', 'NotFoundError');
  return track;
}

export function stopStream(stream: MediaStream | null): void {
  for (const tr of stream?.getTracks() ?? []) tr.stop();
}
