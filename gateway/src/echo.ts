/** One browser's network test: an EchoTest handle on one Janus server. */
import Janode from 'janode';
import type { EchoTestHandle } from 'janode/plugins/echotest';
import type {
  EchoEvent,
  EchoSession,
  IceCandidate,
  Jsep,
} from './types.js';
import type { Log } from './janus-util.js';
import type { JanusServer } from './janus-server.js';

const { EVENT } = Janode;
/**
 * The network test's bitrate cap (bit/s), sent as the EchoTest `bitrate` (REMB). Enough to tell
 * a good line from a poor one (network-grade.ts calls 600 kbit/s good), small enough that the
 * echo is no free relay.
 */
const ECHO_BITRATE_CAP = 1_500_000;

/** One browser's network test on one Janus server. Every call after loss or stop() rejects. */
export class Echo implements EchoSession {
  private closed: string | null = null;

  constructor(
    private readonly server: JanusServer,
    private readonly handle: EchoTestHandle,
    private readonly onEvent: (ev: EchoEvent) => void,
    private readonly log: Log,
  ) {
    server.peers.add(this);
    handle.on(EVENT.HANDLE_WEBRTCUP, () => this.emit({ type: 'webrtc-up' }));
    handle.on(EVENT.HANDLE_HANGUP, ({ reason }: { reason?: string }) => this.emit({ type: 'webrtc-down', reason: reason ?? 'hangup' }));
  }

  private emit(ev: EchoEvent): void {
    if (this.closed) return;
    try {
      this.onEvent(ev);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'echo event handler threw');
    }
  }

  private check(): void {
    if (this.closed) throw new Error(`echo session is closed: ${this.closed}`);
  }

  lost(reason: string, event = true): void {
    if (this.closed) return;
    if (event) this.emit({ type: 'lost' });
    this.closed = reason;
    this.server.peers.delete(this);
  }

  handleCount(): number {
    return 1;
  }

  async start(offer: Jsep): Promise<Jsep> {
    this.check();
    if (offer.type !== 'offer') throw new Error('the network test needs an SDP offer');
    // handle.message, not janode's start(): only these three fields reach Janus.
    const res = await this.server.whileUp(
      this.handle.message({ audio: true, video: true, bitrate: ECHO_BITRATE_CAP }, { type: 'offer', sdp: offer.sdp }),
    );
    const jsep = res.jsep as Jsep | undefined;
    if (jsep?.type !== 'answer' || typeof jsep.sdp !== 'string') throw new Error('Janus sent no SDP answer to the echo test');
    return { type: 'answer', sdp: jsep.sdp };
  }

  async trickle(candidate: IceCandidate): Promise<void> {
    this.check();
    if (candidate === null) {
      await this.server.whileUp(this.handle.trickleComplete());
      return;
    }
    const c: Record<string, unknown> = { candidate: candidate.candidate };
    if (candidate.sdpMid != null) c.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex != null) c.sdpMLineIndex = candidate.sdpMLineIndex;
    await this.server.whileUp(this.handle.trickle(c));
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = 'stopped';
    this.server.peers.delete(this);
    // Detaching hangs the PeerConnection up too.
    await this.handle.detach().catch(() => undefined);
  }
}
