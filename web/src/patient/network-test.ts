/**
 * The network test through the hospital's own media server: camera and microphone go to
 * Janus's EchoTest (through our signalling relay: `echo-start`, `echo-trickle`, `echo-stop`)
 * and come back. For about ten seconds we sample getStats():
 *   - round-trip time from the selected candidate pair (`currentRoundTripTime`), median;
 *   - loss on the echoed inbound streams, packetsLost / (packetsLost + packetsReceived);
 *   - bitrate from the inbound bytes over time: the best 3-second window (the browser's
 *     sending rate ramps up during the first seconds), or the browser's own bandwidth
 *     estimate (`availableOutgoingBitrate`) at the end when that is higher.
 */
import type { IceCandidate, NetworkMeasurement } from '../../../control/src/realtime/protocol.js';
import { closePc, newPeerConnection } from '../lib/media.js';
import type { Signalling } from '../lib/signalling.js';

export const TEST_SECONDS = 10;
const CONNECT_TIMEOUT_MS = 10_000;
const WINDOW_S = 3;

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

export interface NetworkTestRun {
  result: Promise<NetworkMeasurement>;
  cancel(): void;
}

interface Sample {
  at: number;
  rttMs: number | null;
  lost: number;
  received: number;
  bytes: number;
  /** The browser's own estimate of the bandwidth upward (candidate pair), kbit/s. */
  availableKbps: number | null;
}

/**
 * The media server under the test may go away (a Janus server dies; the server says
 * `echo-ended`, reason `media_server`): the test starts again by itself on a new connection,
 * which the server places on a live Janus server, at most this many times.
 */
const MAX_MOVES = 2;

/** The echo's media server went away under this attempt. */
class Moved extends Error {
  constructor() {
    super('media server moved');
    this.name = 'Moved';
  }
}

/** `onTick(secondsLeft)` while measuring; `onConnecting()` before the media flows. */
export function runNetworkTest(
  sig: Signalling,
  stream: MediaStream,
  on: { connecting(): void; tick(secondsLeft: number): void },
): NetworkTestRun {
  let cancelled = false;
  /** Bumped when the server says the echo's media server went away. */
  let moves = 0;
  let wake: () => void = () => undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = window.setTimeout(resolve, ms);
      wake = () => {
        window.clearTimeout(timer);
        resolve();
      };
    });
  const offEnded = sig.on('echo-ended', (m) => {
    if (m.reason !== 'media_server') return;
    moves++;
    wake();
  });

  /** One echo connection: connect, then sample for TEST_SECONDS. */
  const attempt = async (): Promise<NetworkMeasurement> => {
    const movesAtStart = moves;
    const check = (): void => {
      if (cancelled) throw new Cancelled();
      if (moves !== movesAtStart) throw new Moved();
    };
    const pc = newPeerConnection(false);
    let started = false;
    try {
      on.connecting();
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      // Candidates wait until the offer is on its way (the server handles requests in order).
      const held: IceCandidate[] = [];
      let open = false;
      const send = (c: IceCandidate): void => {
        sig.request({ t: 'echo-trickle', candidate: c }).catch(() => undefined);
      };
      pc.onicecandidate = (ev) => {
        const c: IceCandidate = ev.candidate?.candidate
          ? { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }
          : null;
        if (open) send(c);
        else held.push(c);
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      check();
      started = true;
      const replied = sig.request<{ jsep?: { type: 'answer'; sdp: string } }>({
        t: 'echo-start',
        jsep: { type: 'offer', sdp: offer.sdp ?? '' },
      });
      open = true;
      for (const c of held.splice(0)) send(c);
      const reply = await replied;
      check();
      if (!reply?.jsep?.sdp) throw new Error('echo-start: no answer');
      await pc.setRemoteDescription(reply.jsep);
      await connected(pc, () => cancelled || moves !== movesAtStart, sleep);
      check();

      const samples: Sample[] = [];
      const t0 = performance.now();
      for (let s = TEST_SECONDS; s > 0; s--) {
        on.tick(s);
        samples.push(await sample(pc));
        await sleep(Math.max(0, t0 + (TEST_SECONDS - s + 1) * 1000 - performance.now()));
        check();
      }
      samples.push(await sample(pc));
      on.tick(0);
      return summarise(samples);
    } catch (err) {
      // The server dropped the echo (its media server went): whatever failed here failed for that.
      if (!cancelled && moves !== movesAtStart) throw new Moved();
      throw err;
    } finally {
      closePc(pc);
      // After a move the server has ended that echo already; a stop now could end the next one.
      if (started && moves === movesAtStart) sig.request({ t: 'echo-stop' }, 5000).catch(() => undefined);
    }
  };

  const result = (async (): Promise<NetworkMeasurement> => {
    try {
      for (;;) {
        const movesBefore = moves;
        try {
          return await attempt();
        } catch (err) {
          if (!(err instanceof Moved) || movesBefore >= MAX_MOVES) throw err;
        }
      }
    } finally {
      offEnded();
    }
  })();

  return {
    result,
    cancel() {
      cancelled = true;
      wake();
    },
  };
}

async function connected(pc: RTCPeerConnection, isCancelled: () => boolean, sleep: (ms: number) => Promise<void>): Promise<void> {
  const deadline = performance.now() + CONNECT_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') return;
    if (s === 'failed' || s === 'closed') break;
    if (isCancelled()) return;
    await sleep(100);
  }
  throw new Error('no connection to the media server');
}

async function sample(pc: RTCPeerConnection): Promise<Sample> {
  const stats = await pc.getStats();
  let rttMs: number | null = null;
  let availableKbps: number | null = null;
  let lost = 0;
  let received = 0;
  let bytes = 0;
  let selectedPair: string | undefined;
  stats.forEach((r: any) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) selectedPair = r.selectedCandidatePairId;
  });
  stats.forEach((r: any) => {
    if (r.type === 'candidate-pair') {
      const chosen = selectedPair ? r.id === selectedPair : r.nominated && r.state === 'succeeded';
      if (chosen && typeof r.currentRoundTripTime === 'number') rttMs = r.currentRoundTripTime * 1000;
      if (chosen && typeof r.availableOutgoingBitrate === 'number') availableKbps = r.availableOutgoingBitrate / 1000;
    } else if (r.type === 'inbound-rtp') {
      lost += Math.max(0, r.packetsLost ?? 0);
      received += r.packetsReceived ?? 0;
      bytes += r.bytesReceived ?? 0;
    }
  });
  return { at: performance.now(), rttMs, lost, received, bytes, availableKbps };
}

/** The measurement from the samples (exported for unit tests). */
export function summarise(samples: ReadonlyArray<Sample>): NetworkMeasurement {
  const rtts = samples.map((s) => s.rttMs).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const rttMs = rtts.length ? (rtts[Math.floor(rtts.length / 2)] ?? 0) : 0;
  const last = samples[samples.length - 1];
  const first = samples[0];
  let lossPct = 100;
  if (last && first) {
    const lost = last.lost - first.lost;
    const total = lost + (last.received - first.received);
    lossPct = total > 0 ? (100 * lost) / total : 100;
  }
  let bitrateKbps = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = samples[i];
    const b = samples[i + WINDOW_S];
    if (!a || !b || b.at <= a.at) continue;
    bitrateKbps = Math.max(bitrateKbps, ((b.bytes - a.bytes) * 8) / (b.at - a.at));
  }
  // The camera's encoder sends only what the picture needs (a still room: little), so the
  // echoed bytes understate what the line can carry. The browser's bandwidth estimate at
  // the end of the test (it probes upward, and falls with loss and queueing) says what is
  // achievable; the echo is the floor that was really carried both ways.
  const estimate = last?.availableKbps;
  if (typeof estimate === 'number' && estimate > bitrateKbps) bitrateKbps = estimate;
  const round1 = (n: number): number => Math.round(n * 10) / 10;
  return { rttMs: Math.round(rttMs), lossPct: round1(lossPct), bitrateKbps: Math.round(bitrateKbps) };
}
