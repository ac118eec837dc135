/**
 * The realtime hub: tells every control-plane process that something about a visit changed,
 * over Redis pub/sub, so a patient connected to one process and a clinician connected to
 * another see the same thing. Most messages carry a kind only; each process re-reads the
 * truth from PostgreSQL. Two carry what they are about: a chat message (its text lives in
 * Redis only, see chat.ts) and the clinician's privacy pause. Presence (who has a live
 * socket) is kept in Redis with a TTL.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from '../logger.js';
import { isDependencyUnavailable } from '../http/errors.js';
import type { ChatMessage } from './protocol.js';

export type HubEvent =
  | { kind: 'changed' }
  | { kind: 'ended' }
  | { kind: 'renegotiate'; reason: string }
  | { kind: 'chat'; message: ChatMessage }
  /** `connection`: the socket that paused, which needs no telling. */
  | { kind: 'peer-paused'; role: string; paused: boolean; connection: string };

/**
 * Events about a clinic as a whole, for the staff dashboards of that clinic. They carry ids
 * and grades only, never names, contact data or chat text: a dashboard re-reads what it shows.
 */
export type ClinicEvent =
  /** Something about this appointment's visit changed (arrival, admission, drop, end, …). */
  | { kind: 'visit-changed'; appointmentId: string; arrived?: boolean; chatFrom?: ChatMessage['from'] }
  /** Live call quality of one participant, graded like the device test. */
  | {
      kind: 'quality';
      appointmentId: string;
      participantId: string;
      role: string;
      grade: 'good' | 'fair' | 'poor';
      rttMs?: number;
      lossRatio?: number;
      jitterMs?: number;
    }
  /** The callback list changed (a task was created, done or undone). */
  | { kind: 'callbacks-changed'; appointmentId?: string }
  /** An assistant asks the clinician to look at this appointment (shown on the console). */
  | { kind: 'clinician-notified'; appointmentId: string; clinicianId: string; fromStaffId: string }
  /** Anything else a dashboard should re-read (delay message, settings). */
  | { kind: 'clinic-changed' };

type Listener = (event: HubEvent) => void;
/** The clinic of an appointment, and whether the visit has just arrived in the waiting room. */
export type ClinicResolver = (appointmentId: string) => Promise<{ clinicId: string; arrived: boolean } | null>;
type AnyListener = (event: any) => void;

const PRESENCE_TTL_SECONDS = 45;

export class Hub {
  private pub: RedisClientType;
  private sub: RedisClientType;
  private listeners = new Map<string, Set<AnyListener>>();
  /** SUBSCRIBE commands on their way, per channel. */
  private subscribing = new Map<string, Promise<unknown>>();
  private clinicOf: ClinicResolver | null = null;

  constructor(redisUrl: string, private logger: Logger) {
    // While Redis is away a command fails at once (ClientOfflineError: the API answers 503 with
    // Retry-After) instead of waiting in the client's offline queue for its 5-s timeout: requests
    // that touch Redis several times hung for 10 s and more (test/faults-dependencies.test.ts).
    // Subscriptions are renewed by the client itself when it reconnects.
    this.pub = createClient({ url: redisUrl, disableOfflineQueue: true });
    this.sub = this.pub.duplicate();
    for (const c of [this.pub, this.sub]) {
      c.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'redis connection problem'));
    }
    // Events published while Redis was away are lost: once the subscriber is back (the client
    // renews the subscriptions first), every local listener re-reads as if told of a change.
    let lost = false;
    this.sub.on('reconnecting', () => (lost = true));
    this.sub.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.logger.info({ channels: this.listeners.size }, 'redis back; listeners re-read');
      this.resync();
    });
  }

  private resync(): void {
    for (const ch of [...this.listeners.keys()]) {
      const events = ch.startsWith('spk:clinic:') ? [{ kind: 'clinic-changed' }, { kind: 'callbacks-changed' }] : [{ kind: 'changed' }];
      for (const e of events) this.dispatch(ch, JSON.stringify(e));
    }
  }

  async start(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
  }

  get redis(): RedisClientType {
    return this.pub;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.pub.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * Tell every listener of this appointment (in every process). Callers publish after their
   * change is committed: with Redis away the event is lost (logged, not thrown — the change
   * stands, and the request that made it must not answer 503 as if it had failed); listeners
   * re-read once Redis is back (resync).
   */
  async publish(appointmentId: string, event: HubEvent): Promise<void> {
    if (!(await this.send(channel(appointmentId), event))) return;
    // Every visit change (and chat message) also reaches the clinic's dashboards, so no call
    // site has to remember to tell them. Without a resolver (tests, CLI) only the visit hears.
    if (event.kind === 'changed' || event.kind === 'ended' || event.kind === 'chat') await this.tellClinicOf(appointmentId, event);
  }

  /** A `visit-changed` for the clinic of this appointment (also for changes only dashboards show). */
  async tellClinicOf(appointmentId: string, event: HubEvent = { kind: 'changed' }): Promise<void> {
    if (!this.clinicOf) return;
    const found = await this.clinicOf(appointmentId).catch((err: unknown) => {
      this.logger.warn({ err: String(err) }, 'could not find the clinic of a visit');
      return null;
    });
    if (!found) return;
    await this.publishClinic(found.clinicId, {
      kind: 'visit-changed',
      appointmentId,
      ...(found.arrived && event.kind === 'changed' ? { arrived: true } : {}),
      ...(event.kind === 'chat' ? { chatFrom: event.message.from } : {}),
    });
  }

  /** How publish() finds the clinic of an appointment (the dashboard module sets it). */
  setClinicResolver(resolver: ClinicResolver): void {
    this.clinicOf = resolver;
  }

  /** Listen to one appointment's events; returns the unsubscribe function. */
  subscribe(appointmentId: string, listener: Listener): Promise<() => Promise<void>> {
    return this.listen(channel(appointmentId), listener);
  }

  async publishClinic(clinicId: string, event: ClinicEvent): Promise<void> {
    await this.send(clinicChannel(clinicId), event);
  }

  /** PUBLISH; false (logged) when Redis is away. Other errors are thrown. */
  private async send(ch: string, event: HubEvent | ClinicEvent): Promise<boolean> {
    try {
      await this.pub.publish(ch, JSON.stringify(event));
      return true;
    } catch (err) {
      if (!isDependencyUnavailable(err)) throw err;
      this.logger.warn({ err: String(err), kind: event.kind }, 'event not published (Redis away); listeners re-read when it is back');
      return false;
    }
  }

  /** Listen to one clinic's events; returns the unsubscribe function. */
  subscribeClinic(clinicId: string, listener: (event: ClinicEvent) => void): Promise<() => Promise<void>> {
    return this.listen(clinicChannel(clinicId), listener);
  }

  private async listen(ch: string, listener: AnyListener): Promise<() => Promise<void>> {
    let set = this.listeners.get(ch);
    if (!set) {
      set = new Set();
      this.listeners.set(ch, set);
      const subscribing = this.sub.subscribe(ch, (message) => this.dispatch(ch, message));
      this.subscribing.set(ch, subscribing);
      try {
        await subscribing;
      } catch (err) {
        // Leave nothing behind: the next subscriber to this channel subscribes afresh
        // (an empty set left here would make every later listener hear nothing).
        if (this.listeners.get(ch) === set && set.size === 0) this.listeners.delete(ch);
        throw err;
      } finally {
        if (this.subscribing.get(ch) === subscribing) this.subscribing.delete(ch);
      }
    } else {
      // Someone else's SUBSCRIBE for this channel may still be on its way: wait for it (and
      // fail with it) rather than return a listener that does not hear anything yet.
      await this.subscribing.get(ch);
    }
    set.add(listener);
    return async () => {
      const s = this.listeners.get(ch);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) {
        this.listeners.delete(ch);
        await this.sub.unsubscribe(ch).catch(() => undefined);
      }
    };
  }

  private dispatch(ch: string, message: string): void {
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch {
      return;
    }
    for (const l of this.listeners.get(ch) ?? []) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, 'hub listener failed');
      }
    }
  }

  /** This connection is the participant's live one (the last to say so wins). */
  async markPresent(participantId: string, connectionId: string): Promise<void> {
    await this.pub.set(presenceKey(participantId), connectionId, { EX: PRESENCE_TTL_SECONDS });
  }

  /**
   * The connection went away. True when it was still the participant's live one: a patient
   * whose phone already reconnected on a new socket has not gone anywhere.
   */
  async markGone(participantId: string, connectionId: string): Promise<boolean> {
    const removed = await this.pub.eval(COMPARE_AND_DELETE, { keys: [presenceKey(participantId)], arguments: [connectionId] });
    return removed === 1;
  }

  /** Is this connection the participant's live one? */
  async isCurrent(participantId: string, connectionId: string): Promise<boolean> {
    return (await this.pub.get(presenceKey(participantId))) === connectionId;
  }

  async presentOf(participantIds: string[]): Promise<Set<string>> {
    if (participantIds.length === 0) return new Set();
    const values = await this.pub.mGet(participantIds.map(presenceKey));
    return new Set(participantIds.filter((_, i) => values[i] != null));
  }
}

const COMPARE_AND_DELETE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

// Ids name channels and keys in lower case (http/validate.ts parseId), whatever case they came in.
const channel = (appointmentId: string) => `spk:visit:${appointmentId.toLowerCase()}`;
const clinicChannel = (clinicId: string) => `spk:clinic:${clinicId.toLowerCase()}`;
const presenceKey = (participantId: string) => `spk:presence:${participantId.toLowerCase()}`;
