/**
 * The Janus capacity bench's load generator: synthetic consults in rooms our own gateway
 * creates (gateway/src `ensureRoom` with the product's RoomSpec, `openPeer`, `publish`,
 * `subscribe` — the calls the control plane's relay makes for a browser).
 *
 * Each consult: two participants; each publishes Opus + VP8 and subscribes to the other. The
 * WebRTC side is werift (pure TypeScript: ICE, DTLS, SRTP) fed with RTP packets cut from
 * media encoded once beforehand (./capacity-media.ts): nothing is encoded or decoded here.
 * Receivers count what Janus forwarded: packets, bytes, loss (RTP sequence gaps left after
 * NACK retransmission) and RFC 3550 interarrival jitter.
 */
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  MediaStreamTrack,
  RtpHeader,
  RtpPacket,
  SrtpAuthenticationError,
  useSdesMid,
  type RTCSessionDescription,
} from 'werift';
import type { Gateway, Jsep, PeerEvent, PeerSession } from '../../gateway/src/index.js';
import { roomSpec } from '../../control/src/realtime/relay.js';
import type { ConsultContext } from '../../control/src/consult/context.js';
import type { EncodedMedia } from './capacity-media.js';

const AUDIO_MS = 20;
const VIDEO_MS = 1000 / 30;

/** What one receiver (one subscription, one kind) saw. Counters only grow. */
export class RxStats {
  packets = 0;
  bytes = 0;
  /** Highest extended sequence number and the first one seen. */
  private base = -1;
  private highest = -1;
  private readonly seen = new Int32Array(2048).fill(-1);
  private lastTransit: number | null = null;
  /** RFC 3550 interarrival jitter, in RTP clock units. */
  jitter = 0;

  constructor(readonly clockRate: number) {}

  /** Packets the sender numbered so far (expected) — received, less duplicates. */
  get expected(): number {
    return this.base < 0 ? 0 : this.highest - this.base + 1;
  }
  unique = 0;

  get jitterMs(): number {
    return (this.jitter / this.clockRate) * 1000;
  }

  add(seq: number, timestamp: number, size: number, nowMs: number): void {
    this.packets++;
    this.bytes += size;
    let ext: number;
    if (this.highest < 0) {
      ext = seq;
      this.base = seq;
    } else {
      // Extend the 16-bit number around the highest one seen.
      const cycle = this.highest - (this.highest & 0xffff);
      ext = cycle + seq;
      if (ext - this.highest > 0x8000) ext -= 0x10000;
      else if (this.highest - ext > 0x8000) ext += 0x10000;
    }
    if (ext < this.base) return; // older than the first packet: ignore
    const slot = ext & 2047;
    if (this.seen[slot] === ext) return; // a retransmitted duplicate
    this.seen[slot] = ext;
    this.unique++;
    if (ext > this.highest) this.highest = ext;
    const transit = (nowMs * this.clockRate) / 1000 - timestamp;
    if (this.lastTransit !== null) {
      let d = Math.abs(transit - this.lastTransit);
      // A wrapped or rewritten RTP timestamp (the sender looping its recording): not jitter.
      if (d > this.clockRate) d = 0;
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }
}

export interface ParticipantRx {
  audio: RxStats;
  video: RxStats;
  /** Counted before SRTP (BENCH_CAPACITY_LIGHT_RX) once the subscription's DTLS was up. */
  beforeSrtp?: boolean;
}

interface Sending {
  audio: MediaStreamTrack;
  video: MediaStreamTrack;
  /** When this participant's stream (re)started, and the next frame index of each kind. */
  t0: number;
  nextAudio: number;
  nextVideo: number;
  audioSeq: number;
  videoSeq: number;
}

const codecs = () => ({
  audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 111 })],
  video: [
    new RTCRtpCodecParameters({
      mimeType: 'video/VP8',
      clockRate: 90_000,
      payloadType: 96,
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
    }),
  ],
});

function newPc(): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: codecs(),
    headerExtensions: { audio: [useSdesMid()], video: [useSdesMid()] },
    // Only the namespace's own addresses; no STUN (nothing outside the namespace is reachable).
    iceServers: [],
    iceUseIpv6: false,
  });
}

/** The local description once ICE gathering is complete (Janus is told our candidates in the SDP). */
async function gathered(pc: RTCPeerConnection): Promise<RTCSessionDescription> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((done) => {
      const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          unSubscribe();
          done();
        }
      });
    });
  }
  const desc = pc.localDescription;
  if (!desc) throw new Error('no local description');
  return desc;
}

/**
 * BENCH_CAPACITY_LIGHT_RX (default on): receivers count each packet from its RTP header, which
 * SRTP leaves in the clear, and drop it before werift decrypts, authenticates, parses and
 * dispatches it. What the bench measures of a received packet is its sequence number,
 * timestamp and size; decrypting it was half the generator's CPU, spent only to starve it.
 * Off (=0): every packet goes through werift's receiver (NACKs for gaps, receiver reports).
 */
/** The bench's variants mode switches it per run (`generator.light_rx=false`). */
export const generatorOptions = { lightRx: process.env.BENCH_CAPACITY_LIGHT_RX !== '0' };
/** Thrown by the counting hook: werift's receive loop drops a packet that fails SRTP silently. */
const COUNTED = new SrtpAuthenticationError('counted by the capacity bench, not decrypted');

/** First payload type of each m-line of kind `kind` in an SDP. */
function payloadTypes(sdp: string, kind: 'audio' | 'video'): number[] {
  return [...sdp.matchAll(new RegExp(`^m=${kind} \\d+ [\\w/]+ (\\d+)`, 'gm'))].map((m) => Number(m[1]));
}

/** Once the subscription's DTLS is up, count its RTP packets before SRTP (see generatorOptions). */
function countBeforeDecrypt(pc: RTCPeerConnection, offer: string, rx: ParticipantRx): void {
  const audio = new Set(payloadTypes(offer, 'audio'));
  const hook = () => {
    const transport = pc.getTransceivers()[0]?.dtlsTransport as unknown as { srtp?: { decrypt: (b: Buffer) => Buffer } } | undefined;
    if (!transport?.srtp) return false;
    // AES-CM profiles carry a 10-byte tag, AEAD-GCM a 16-byte one; the difference is immaterial here.
    rx.beforeSrtp = true;
    transport.srtp.decrypt = (b: Buffer) => {
      const cc = b[0]! & 0x0f;
      let off = 12 + 4 * cc;
      if (b[0]! & 0x10) off += 4 + 4 * b.readUInt16BE(off + 2);
      const stats = audio.has(b[1]! & 0x7f) ? rx.audio : rx.video;
      stats.add(b.readUInt16BE(2), b.readUInt32BE(4), b.length - off - 10 + 12, performance.now());
      throw COUNTED;
    };
    return true;
  };
  // SRTP keys exist once DTLS is done; until then packets take werift's own path.
  let tries = 0;
  const poll = () => {
    if (!hook() && ++tries < 600 && pc.connectionState !== 'closed') setTimeout(poll, 100).unref();
  };
  poll();
}

/** One side of a consult: a publisher PeerConnection and one subscription to the other side. */
export class Participant {
  readonly rx: ParticipantRx = { audio: new RxStats(48_000), video: new RxStats(90_000) };
  /** Each send: bytes and packets given to werift (what Janus receives). */
  sentPackets = 0;
  sentBytes = 0;
  private peer: PeerSession | null = null;
  private pub: RTCPeerConnection | null = null;
  private sub: RTCPeerConnection | null = null;
  private sending: Sending | null = null;
  private feedWaiter: ((feed: number) => void) | null = null;
  private otherFeed: number | null = null;
  readonly events: PeerEvent[] = [];

  constructor(
    private readonly gateway: Gateway,
    private readonly media: EncodedMedia,
    readonly roomId: number,
    private readonly role: 'patient' | 'clinician',
    private readonly id: string,
  ) {}

  /** Join the room and publish; media starts flowing at Janus once ICE and DTLS are done. */
  async publish(): Promise<void> {
    this.peer = await this.gateway.openPeer({
      roomId: this.roomId,
      display: JSON.stringify({ role: this.role, label: this.role, participantId: this.id }),
      onEvent: (ev) => this.onEvent(ev),
    });
    const joined = await this.peer.join();
    if (joined.feeds[0]) this.otherFeed = joined.feeds[0].feed;
    const pc = newPc();
    this.pub = pc;
    const audio = new MediaStreamTrack({ kind: 'audio' });
    const video = new MediaStreamTrack({ kind: 'video' });
    pc.addTransceiver(audio, { direction: 'sendonly' });
    pc.addTransceiver(video, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await gathered(pc);
    const answer = await this.peer.publish({ type: 'offer', sdp: offer.sdp }, { audio: true, video: true });
    await pc.setRemoteDescription(answer);
    // Loops do not all start together: a random phase, as browsers' clocks would have.
    this.sending = { audio, video, t0: performance.now() - Math.random() * 1000, nextAudio: 0, nextVideo: 0, audioSeq: 0, videoSeq: 0 };
  }

  private onEvent(ev: PeerEvent): void {
    this.events.push(ev);
    if (ev.type === 'feed-joined') {
      this.otherFeed = ev.feed.feed;
      this.feedWaiter?.(ev.feed.feed);
    }
  }

  /** Subscribe to the other participant's feed (waits for it to be published). */
  async subscribe(): Promise<void> {
    if (!this.peer) throw new Error('publish first');
    const feed = this.otherFeed ?? (await new Promise<number>((done) => (this.feedWaiter = done)));
    const offer: Jsep = await this.peer.subscribe(feed);
    const pc = newPc();
    this.sub = pc;
    pc.onTrack.subscribe((track) => {
      const stats = track.kind === 'audio' ? this.rx.audio : this.rx.video;
      track.onReceiveRtp.subscribe((rtp) => stats.add(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload.length + 12, performance.now()));
    });
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = await gathered(pc);
    await this.peer.answer(feed, { type: 'answer', sdp: answer.sdp });
    if (generatorOptions.lightRx) countBeforeDecrypt(pc, offer.sdp ?? '', this.rx);
  }

  /** Send every packet due by `now` (called by the generator's clock; catches up after a late tick). */
  pump(now: number): void {
    const s = this.sending;
    if (!s || this.pub?.connectionState !== 'connected') return;
    const elapsed = now - s.t0;
    const { audio, videoPackets } = this.media;
    // After a long stall, skip ahead rather than burst seconds of media at once.
    if (elapsed / AUDIO_MS - s.nextAudio > 25) s.nextAudio = Math.floor(elapsed / AUDIO_MS);
    if (elapsed / VIDEO_MS - s.nextVideo > 15) s.nextVideo = Math.floor(elapsed / VIDEO_MS);
    while (s.nextAudio * AUDIO_MS <= elapsed) {
      const i = s.nextAudio++;
      const payload = audio[i % audio.length]!;
      this.write(s.audio, payload, (s.audioSeq = (s.audioSeq + 1) & 0xffff), (i * 960) >>> 0, i === 0);
    }
    while (s.nextVideo * VIDEO_MS <= elapsed) {
      const i = s.nextVideo++;
      const parts = videoPackets[i % videoPackets.length]!;
      parts.forEach((p, k) => this.write(s.video, p, (s.videoSeq = (s.videoSeq + 1) & 0xffff), (i * 3000) >>> 0, k === parts.length - 1));
    }
  }

  private write(track: MediaStreamTrack, payload: Buffer, seq: number, timestamp: number, marker: boolean): void {
    track.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp, marker, payloadType: 96 }), payload));
    this.sentPackets++;
    this.sentBytes += payload.length + 12;
  }

  /** Round-trip time Janus ↔ this publisher from Janus's RTCP receiver reports (seconds), if any yet. */
  async rtt(): Promise<number | null> {
    if (!this.pub) return null;
    const report = await this.pub.getStats();
    let best: number | null = null;
    for (const s of report.values()) {
      const v = (s as { type?: string; roundTripTime?: number }).roundTripTime;
      if ((s as { type?: string }).type === 'remote-inbound-rtp' && typeof v === 'number') best = best === null ? v : Math.max(best, v);
    }
    return best;
  }

  async close(): Promise<void> {
    this.sending = null;
    await this.peer?.leave().catch(() => undefined);
    await Promise.all([this.pub?.close(), this.sub?.close()].map((p) => p?.catch(() => undefined)));
  }
}

/** Two participants in one room, created by the gateway with the product's room parameters. */
export class Consult {
  readonly participants: [Participant, Participant];

  constructor(
    private readonly gateway: Gateway,
    media: EncodedMedia,
    readonly roomId: number,
    private readonly roomKey: Buffer,
  ) {
    this.participants = [
      new Participant(gateway, media, roomId, 'patient', `p${roomId}`),
      new Participant(gateway, media, roomId, 'clinician', `c${roomId}`),
    ];
  }

  private spec() {
    // The relay's own roomSpec (4 publishers, a secret per room); it reads only the room id.
    return roomSpec({ roomId: this.roomId } as ConsultContext, this.roomKey);
  }

  async start(): Promise<void> {
    await this.gateway.ensureRoom(this.spec());
    await Promise.all(this.participants.map((p) => p.publish()));
    await Promise.all(this.participants.map((p) => p.subscribe()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.participants.map((p) => p.close()));
    await this.gateway.destroyRoom(this.roomId, this.spec().secret).catch(() => undefined);
  }
}

/** The generator's clock: every 5 ms, each publisher sends what is due. */
export class Generator {
  readonly consults: Consult[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Ticks later than 20 ms (the generator falling behind), and all ticks. */
  lateTicks = 0;
  ticks = 0;
  failedSetups = 0;
  private last = performance.now();

  constructor(
    private readonly gateway: Gateway,
    private readonly media: EncodedMedia,
    private readonly roomKey: Buffer,
    private readonly firstRoomId = 900_000_000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      const now = performance.now();
      this.ticks++;
      if (now - this.last > 20) this.lateTicks++;
      this.last = now;
      for (const c of this.consults) for (const p of c.participants) p.pump(now);
    }, 5);
  }

  /** Add consults until there are `n`, `parallel` set up at a time. */
  async grow(n: number, parallel = 4): Promise<void> {
    const todo: Consult[] = [];
    while (this.consults.length + todo.length < n) {
      todo.push(new Consult(this.gateway, this.media, this.firstRoomId + this.consults.length + todo.length, this.roomKey));
    }
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const c = todo[next++]!;
        this.consults.push(c);
        // A consult that cannot be set up (Janus or the generator too slow) counts as without
        // media; the bench records that as the step's limit instead of failing.
        await c.start().catch(() => {
          this.failedSetups++;
        });
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  participants(): Participant[] {
    return this.consults.flatMap((c) => c.participants);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.consults.map((c) => c.stop()));
  }
}
