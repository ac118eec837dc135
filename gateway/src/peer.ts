/** One browser in one video room: its publisher and subscriber handles on one Janus server. */
import Janode, { type JanodeSession } from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle, type JanodePublisher } from 'janode/plugins/videoroom';
import type {
  FeedEvent,
  IceCandidate,
  JoinResult,
  Jsep,
  PeerEvent,
  PeerSession,
  PeerState,
  PublishOffer,
} from './types.js';
import { adoptHandle } from './resume.js';
import type { Log } from './janus-util.js';
import type { JanusServer } from './janus-server.js';

type Handle = VideoRoomHandle;
type Joined = Awaited<ReturnType<Handle['joinConfigurePublisher']>>;

const { EVENT } = Janode;
const VR = VideoRoomPlugin.EVENT;

/** One browser in one room. Every call after loss or leave() rejects. */
export class Peer implements PeerSession {
  private readonly subscribers = new Map<number, Handle>();
  /** Feeds announced to the browser, so a repeated publisher list is not announced twice. */
  private readonly feeds = new Set<number>();
  private me: number | null = null;
  private privateId: number | undefined;
  private closed: string | null = null;
  /**
   * A subscriber handle attached ahead of need (after the join), so that a subscription costs
   * one Janus round trip, not two: the other side's feed is announced on the admission's path.
   */
  private spare: Promise<Handle | null> | null = null;
  /**
   * The participant's screen (issue 18.5): a second publisher in the same room, with the
   * display the server chose for it. Its own feed is never announced back to this peer.
   */
  private screen: { handle: Handle; display: string; feed: number | null } | null = null;

  constructor(
    private readonly server: JanusServer,
    private readonly publisher: Handle,
    readonly roomId: number,
    private readonly display: string,
    private readonly onEvent: (ev: PeerEvent) => void,
    private readonly log: Log,
    private readonly onHandles: (handleIds: number[]) => void = () => {},
  ) {
    server.peers.add(this);
    this.tellHandles([publisher.id]);
    publisher.on(VR.VIDEOROOM_PUB_LIST, ({ publishers }: { publishers: JanodePublisher[] }) => {
      for (const p of publishers) this.feedJoined(p);
    });
    publisher.on(VR.VIDEOROOM_UNPUBLISHED, ({ feed }: { feed: number }) => this.feedLeft(feed));
    publisher.on(VR.VIDEOROOM_LEAVING, ({ feed }: { feed: number }) => this.feedLeft(feed));
    publisher.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up', target: 'publisher' }));
    publisher.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) =>
      this.emit({ type: 'webrtc-down', target: 'publisher', reason: reason ?? 'hangup' }),
    );
    publisher.on(VR.VIDEOROOM_KICKED, () => this.log.warn({ room: roomId, handle: publisher.id }, 'peer kicked by Janus'));
    publisher.on(VR.VIDEOROOM_DESTROYED, () => this.log.info({ room: roomId }, 'room destroyed under a peer'));
  }

  private emit(ev: PeerEvent): void {
    if (this.closed) return;
    try {
      this.onEvent(ev);
    } catch (err) {
      this.log.error({ room: this.roomId, err: (err as Error).message }, 'peer event handler threw');
    }
  }

  private tellHandles(ids: number[]): void {
    try {
      this.onHandles(ids);
    } catch (err) {
      this.log.error({ room: this.roomId, err: (err as Error).message }, 'peer handle listener threw');
    }
  }

  handleCount(): number {
    return 1 + this.subscribers.size + (this.screen ? 1 : 0);
  }

  private isOwnScreen(p: { feed: number; display?: string }): boolean {
    const sc = this.screen;
    return !!sc && (p.feed === sc.feed || (p.display ?? '') === sc.display);
  }

  private feedJoined(p: JanodePublisher): void {
    if (p.feed === this.me || this.feeds.has(p.feed) || this.isOwnScreen(p)) return;
    this.feeds.add(p.feed);
    this.emit({ type: 'feed-joined', feed: { feed: p.feed, display: p.display ?? '' } });
  }

  private feedLeft(feed: number): void {
    if (!this.feeds.delete(feed)) return;
    this.dropSubscriber(feed);
    this.emit({ type: 'feed-left', feed });
  }

  private dropSubscriber(feed: number): void {
    const handle = this.subscribers.get(feed);
    this.subscribers.delete(feed);
    // janode rejects a second detach ("already detached"): never an unhandled rejection.
    void handle?.detach().catch(() => undefined);
  }

  private check(): void {
    if (this.closed) throw new Error(`peer session in room ${this.roomId} is closed: ${this.closed}`);
  }

  /** Called by the server on loss (event: true) or stop (no event). */
  lost(reason: string, event = true): void {
    if (this.closed) return;
    if (event) this.emit({ type: 'lost' });
    this.closed = reason;
    this.server.peers.delete(this);
  }

  async join(publish?: PublishOffer): Promise<JoinResult> {
    this.check();
    const where = { room: this.roomId, display: this.display };
    // Only these fields: never record or filename, whatever the browser sent.
    const joined: Joined = publish
      ? await this.server.whileUp(
          this.publisher.joinConfigurePublisher({ ...where, ...publish.media, jsep: offerOf(publish.offer) }),
        )
      : await this.server.whileUp(this.publisher.joinPublisher(where));
    this.me = joined.feed;
    this.privateId = joined.private_id;
    const feeds: FeedEvent[] = [];
    for (const p of joined.publishers) {
      if (p.feed === this.me || this.isOwnScreen(p)) continue;
      this.feeds.add(p.feed);
      feeds.push({ feed: p.feed, display: p.display ?? '' });
    }
    this.log.debug({ room: this.roomId, feed: this.me, feeds: feeds.length }, 'peer joined');
    this.prepareSpare();
    if (!publish) return { me: this.me, feeds };
    const jsep = joined.jsep;
    if (jsep?.type !== 'answer') throw new Error('Janus sent no SDP answer to the publish');
    return { me: this.me, feeds, answer: { type: 'answer', sdp: jsep.sdp } };
  }

  async publish(offer: Jsep, media: { audio: boolean; video: boolean }): Promise<Jsep> {
    this.check();
    // Only these fields: never record or filename, whatever the browser sent.
    const res = await this.server.whileUp(this.publisher.configure({ audio: media.audio, video: media.video, jsep: offerOf(offer) }));
    if (res.jsep?.type !== 'answer') throw new Error('Janus sent no SDP answer to the publish');
    return { type: 'answer', sdp: res.jsep.sdp };
  }

  async subscribe(feed: number): Promise<Jsep> {
    this.check();
    if (this.me === null) throw new Error('join before subscribing');
    // A repeated subscribe (browser renegotiating) starts from a fresh handle.
    this.dropSubscriber(feed);
    // In the publisher's session: ours, or the one claimed from a process that died (resumePeer).
    if (!this.server.session) throw new Error(`Janus server ${this.server.cfg.name} is not connected`);
    const handle = await this.takeHandle();
    this.watchSubscriber(feed, handle);
    try {
      this.check();
      // Janus 1.x multistream: a subscription names the feed in `streams`; private_id ties it
      // to our publisher (rooms are created with require_pvtid).
      const res = await this.server.whileUp(handle.joinSubscriber({ room: this.roomId, streams: [{ feed }], private_id: this.privateId }));
      if (res.jsep?.type !== 'offer') throw new Error('Janus sent no SDP offer for the subscription');
      return { type: 'offer', sdp: res.jsep.sdp };
    } catch (err) {
      if (this.subscribers.get(feed) === handle) this.dropSubscriber(feed);
      throw err;
    }
  }

  /** The spare subscriber handle if one is ready (and another one attached behind it), else a new one. */
  private async takeHandle(): Promise<Handle> {
    const spare = this.spare;
    this.spare = null;
    const ready = spare ? await spare : null;
    if (this.closed) void ready?.detach().catch(() => undefined);
    this.check();
    this.prepareSpare();
    return ready ?? (await this.server.whileUp(this.publisher.session.attach(VideoRoomPlugin)));
  }

  private prepareSpare(): void {
    if (this.closed || this.spare || !this.server.session) return;
    this.spare = this.server.whileUp(this.publisher.session.attach(VideoRoomPlugin)).then(
      (h: Handle) => {
        // Left meanwhile: nobody will take it.
        if (!this.closed) return h;
        void h.detach().catch(() => undefined);
        return null;
      },
      () => null,
    );
  }

  private watchSubscriber(feed: number, handle: Handle): void {
    this.subscribers.set(feed, handle);
    this.tellHandles([handle.id]);
    handle.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up', target: feed }));
    handle.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) =>
      this.emit({ type: 'webrtc-down', target: feed, reason: reason ?? 'hangup' }),
    );
  }

  state(): PeerState | null {
    const session = this.server.session && this.publisher.session;
    if (this.closed || this.me === null || !session) return null;
    return {
      server: this.server.cfg.name,
      session: session.id,
      roomId: this.roomId,
      publisher: this.publisher.id,
      me: this.me,
      privateId: this.privateId,
      feeds: [...this.feeds],
      subscribers: [...this.subscribers].map(([feed, h]) => [feed, h.id] as [number, number]),
      ...(this.screen?.feed != null ? { screen: { feed: this.screen.feed, handle: this.screen.handle.id, display: this.screen.display } } : {}),
    };
  }

  /**
   * Take over what another process set up (resumePeer): our place in the room and the
   * subscriptions, then announce the feeds that came or went while nobody listened.
   */
  adopt(state: PeerState, session: JanodeSession, present: FeedEvent[]): void {
    this.me = state.me;
    this.privateId = state.privateId;
    for (const [feed, id] of state.subscribers) {
      this.watchSubscriber(feed, adoptHandle(session, VideoRoomPlugin, id, { room: state.roomId, feed }));
    }
    for (const feed of state.feeds) this.feeds.add(feed);
    if (state.screen) {
      const { feed, handle, display } = state.screen;
      this.screen = { handle: adoptHandle(session, VideoRoomPlugin, handle, { room: state.roomId, feed }), display, feed };
    }
    // After the caller has taken the peer: the feeds that came or went meanwhile.
    setTimeout(() => {
      const now = new Set(present.map((f) => f.feed));
      for (const feed of state.feeds) if (!now.has(feed)) this.feedLeft(feed);
      for (const f of present) if (f.feed !== state.screen?.feed) this.feedJoined({ feed: f.feed, display: f.display });
    }, 0);
  }

  private subscriber(feed: number): Handle {
    const handle = this.subscribers.get(feed);
    if (!handle) throw new Error(`no subscription to feed ${feed}`);
    return handle;
  }

  async answer(feed: number, answer: Jsep): Promise<void> {
    this.check();
    if (answer.type !== 'answer') throw new Error('answer needs an SDP answer');
    await this.server.whileUp(this.subscriber(feed).start({ jsep: { type: 'answer', sdp: answer.sdp } }));
  }

  async trickle(target: 'publisher' | 'screen' | number, candidate: IceCandidate): Promise<void> {
    this.check();
    const handle = target === 'publisher' ? this.publisher : target === 'screen' ? this.screenHandle() : this.subscriber(target);
    if (candidate === null) {
      await this.server.whileUp(handle.trickleComplete());
      return;
    }
    const c: Record<string, unknown> = { candidate: candidate.candidate };
    if (candidate.sdpMid != null) c.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex != null) c.sdpMLineIndex = candidate.sdpMLineIndex;
    await this.server.whileUp(handle.trickle(c));
  }

  private screenHandle(): Handle {
    if (!this.screen) throw new Error('no screen share');
    return this.screen.handle;
  }

  async shareScreen(offer: Jsep, display: string): Promise<{ feed: number; answer: Jsep }> {
    this.check();
    if (this.me === null) throw new Error('join before sharing a screen');
    if (!this.server.session) throw new Error(`Janus server ${this.server.cfg.name} is not connected`);
    const jsep = offerOf(offer);
    // One screen per participant: a new share replaces the one running.
    await this.stopScreen();
    const handle: Handle = await this.server.whileUp(this.publisher.session.attach(VideoRoomPlugin));
    const sc = { handle, display, feed: null as number | null };
    this.screen = sc;
    this.tellHandles([handle.id]);
    try {
      this.check();
      // Only these fields: never record or filename. Video only: a screen has no sound here.
      const joined: Joined = await this.server.whileUp(
        handle.joinConfigurePublisher({ room: this.roomId, display, audio: false, video: true, jsep }),
      );
      sc.feed = joined.feed;
      // Announced to us before we knew its number (it cannot be: the display says it is ours).
      this.feedLeft(joined.feed);
      if (joined.jsep?.type !== 'answer') throw new Error('Janus sent no SDP answer to the screen share');
      this.log.debug({ room: this.roomId, feed: joined.feed }, 'screen shared');
      return { feed: joined.feed, answer: { type: 'answer', sdp: joined.jsep.sdp } };
    } catch (err) {
      if (this.screen === sc) await this.stopScreen();
      throw err;
    }
  }

  /** Stop sharing: detaching the handle makes Janus tell the others the screen feed left. */
  async stopScreen(): Promise<boolean> {
    const sc = this.screen;
    this.screen = null;
    if (!sc) return false;
    await sc.handle.detach().catch(() => undefined);
    return true;
  }

  sharing(): boolean {
    return this.screen !== null;
  }

  async mute(media: { audio: boolean; video: boolean }): Promise<void> {
    this.check();
    // Janus 1.x still maps top-level audio/video to every stream of that kind.
    await this.server.whileUp(this.publisher.configure({ audio: media.audio, video: media.video }));
  }

  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = 'left';
    this.server.peers.delete(this);
    const handles = [...this.subscribers.values(), ...(this.screen ? [this.screen.handle] : []), this.publisher];
    this.subscribers.clear();
    this.screen = null;
    const spare = this.spare;
    this.spare = null;
    void spare?.then((h) => h?.detach().catch(() => undefined));
    // Detaching the publisher handle makes Janus tell the others this feed left.
    // allSettled: leave() resolves even when the server is gone.
    await Promise.allSettled(handles.map((h) => h.detach()));
  }
}

/** The browser's offer as Janus gets it: type and SDP, nothing else it might have sent. */
function offerOf(offer: Jsep): { type: 'offer'; sdp: string } {
  if (offer.type !== 'offer') throw new Error('publish needs an SDP offer');
  return { type: 'offer', sdp: offer.sdp };
}
