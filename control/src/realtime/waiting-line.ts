/**
 * Keeps a waiting patient's "how long still" fresh (issue 18.4). While her socket waits in a
 * clinic that shows the line, it listens to the clinic's visit changes (an arrival, an
 * admission, an end: her place or her clinician's pace may have moved) and re-reads her state,
 * at most once a second; and once a minute anyway, because the estimate runs down with the
 * clinician's current consult. One per socket; stop() when she is no longer waiting or leaves.
 */
import type { Logger } from 'pino';
import type { Hub } from './hub.js';

/** Changes closer together than this are read once. */
const SETTLE_MS = 1_000;
/** The estimate is re-read this often without any change. */
const REFRESH_MS = 60_000;

export class WaitingLineWatch {
  private clinicId: string | null = null;
  private unsubscribe: Promise<(() => Promise<void>) | null> | null = null;
  private settle: NodeJS.Timeout | null = null;
  private refresh: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly reread: () => void,
    private readonly log: Logger,
  ) {}

  /** Watch this clinic (idempotent for the same clinic). */
  watch(clinicId: string): void {
    if (this.clinicId === clinicId) return;
    void this.stop();
    this.clinicId = clinicId;
    this.unsubscribe = this.hub
      .subscribeClinic(clinicId, (e) => {
        if (e.kind === 'visit-changed') this.soon();
      })
      .catch((err: unknown) => {
        // Redis away: the minute's refresh still runs; the hub re-reads when Redis is back.
        this.log.warn({ err: String(err) }, 'waiting line: clinic events not followed');
        return null;
      });
    this.refresh = setInterval(() => this.reread(), REFRESH_MS);
  }

  private soon(): void {
    if (this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = null;
      this.reread();
    }, SETTLE_MS);
  }

  async stop(): Promise<void> {
    if (this.settle) clearTimeout(this.settle);
    if (this.refresh) clearInterval(this.refresh);
    this.settle = this.refresh = null;
    this.clinicId = null;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    const off = await unsubscribe;
    await off?.().catch(() => undefined);
  }
}
