/**
 * The network test (device test): the browser's offer goes to a Janus EchoTest session that
 * sends its media straight back. One per socket, at most ECHO_MAX_MS long (the server ends it,
 * so the echo is no free relay), and a limited number per participant (limits.ts). While a
 * patient's test runs, the dashboard shows "testing".
 */
import type { EchoSession } from '../../../gateway/src/types.js';
import { noteDeviceTest } from '../dashboard/cards.js';
import type { IceCandidate, Jsep } from './protocol.js';
import { requireDeviceTest } from './device-test.js';
import { RelayError, type Socket, type Who } from './socket.js';

/** A network test runs about 10 s; the server ends it after this, so the echo is no free relay. */
export const ECHO_MAX_MS = 30_000;

export class NetworkTest {
  private echo: EchoSession | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly s: Socket) {}

  get running(): boolean {
    return this.echo !== null;
  }

  async start(who: Who, offer: Jsep) {
    const { deps } = this.s;
    await requireDeviceTest(deps, who);
    if (offer.type !== 'offer') throw new RelayError('bad_request', 'jsep: the network test needs an SDP offer');
    if ((await deps.limits.echoStarts.take(who.participantId)) > 0) {
      throw new RelayError('rate_limited', 'too many network tests; try again in a few minutes');
    }
    // One network test per socket: a new one replaces the old.
    await this.stop();
    const echo: EchoSession = await deps.gateway.openEcho({
      onEvent: (ev) => {
        if (this.echo !== echo || ev.type !== 'lost') return;
        this.echo = null;
        this.clearTimer();
        this.s.send({ t: 'echo-ended', reason: 'media_server' });
      },
    });
    this.echo = echo;
    // The dashboard shows "testing" while a patient's network test runs.
    if (who.kind === 'patient') void noteDeviceTest(deps.hub, who.appointmentId, true).catch(() => undefined);
    this.timer = setTimeout(() => {
      if (this.echo !== echo) return;
      this.s.send({ t: 'echo-ended', reason: 'time_limit' });
      void this.stop();
    }, ECHO_MAX_MS);
    this.timer.unref();
    try {
      const jsep = await echo.start(offer as { type: 'offer'; sdp: string });
      return { jsep, maxSeconds: ECHO_MAX_MS / 1000 };
    } catch (err) {
      if (this.echo === echo) await this.stop();
      throw err;
    }
  }

  async trickle(candidate: IceCandidate) {
    if (!this.echo) throw new RelayError('bad_request', 'start the network test first');
    await this.echo.trickle(candidate);
    return {};
  }

  async stop(): Promise<void> {
    const echo = this.echo;
    this.echo = null;
    this.clearTimer();
    if (echo) await echo.stop().catch(() => undefined);
    const who = this.s.who;
    if (echo && who?.kind === 'patient') await noteDeviceTest(this.s.deps.hub, who.appointmentId, false).catch(() => undefined);
  }

  private clearTimer() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
