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
import type { ChatMessage } from './protocol.js';

export type HubEvent =
  | { kind: 'changed' }
  | { kind: 'ended' }
  | { kind: 'renegotiate'; reason: string }
  | { kind: 'chat'; message: ChatMessage }
  /** `connection`: the socket that paused, which needs no telling. */
  | { kind: 'peer-paused'; role: string; paused: boolean; connection: string };

type Listener = (event: HubEvent) => void;

const PRESENCE_TTL_SECONDS = 45;

export class Hub {
  private pub: RedisClientType;
  private sub: RedisClientType;
  private listeners = new Map<string, Set<Listener>>();

  constructor(redisUrl: string, private logger: Logger) {
    this.pub = createClient({ url: redisUrl });
    this.sub = this.pub.duplicate();
    for (const c of [this.pub, this.sub]) {
      c.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'redis connection problem'));
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

  async publish(appointmentId: string, event: HubEvent): Promise<void> {
    await this.pub.publish(channel(appointmentId), JSON.stringify(event));
  }

  /** Listen to one appointment's events; returns the unsubscribe function. */
  async subscribe(appointmentId: string, listener: Listener): Promise<() => Promise<void>> {
    const ch = channel(appointmentId);
    let set = this.listeners.get(ch);
    if (!set) {
      set = new Set();
      this.listeners.set(ch, set);
      await this.sub.subscribe(ch, (message) => this.dispatch(ch, message));
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
    let event: HubEvent;
    try {
      event = JSON.parse(message) as HubEvent;
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

const channel = (appointmentId: string) => `spk:visit:${appointmentId}`;
const presenceKey = (participantId: string) => `spk:presence:${participantId}`;
