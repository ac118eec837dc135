/**
 * What one stranger can make the relay do (issue 14, defects 11 and 12): every message kind
 * that writes to PostgreSQL or Redis, fans out to dashboards or costs a Janus round trip has a
 * limit per participant (kept in Redis: a reconnect does not reset it), and one address holds
 * at most so many sockets (per process), and a socket that never says hello is closed.
 */
import type { RedisClientType } from 'redis';
import { RateLimit } from '../http/limits.js';
import type { ClientRequest } from './protocol.js';

/** Network tests per participant per 10 minutes (a reload does not reset this). */
const ECHO_STARTS = { points: 10, seconds: 600 };

/**
 * Per participant: at most `points` messages of the kind per `seconds`. Generous for a person
 * (a page sends these a handful of times per consult), tight for a script.
 * Kinds not listed (ping, answer, trickle, mute, leave, echo-trickle/stop) touch only this
 * socket or its own Janus handles, which are bounded by themselves.
 */
const MESSAGE_LIMITS: Partial<Record<ClientRequest['t'], { points: number; seconds: number }>> = {
  // A burst of 10, about one per 2 s sustained (as the old per-socket token bucket).
  chat: { points: 10, seconds: 20 },
  // Database write + dashboard push each.
  companion: { points: 10, seconds: 60 },
  'device-test-result': { points: 10, seconds: 60 },
  'start-visit': { points: 20, seconds: 60 },
  // Fan-out to every socket of the consult.
  pause: { points: 30, seconds: 60 },
  // Janus round trips and Redis writes.
  join: { points: 20, seconds: 60 },
  publish: { points: 30, seconds: 60 },
  subscribe: { points: 60, seconds: 60 },
  // A Janus handle attached and joined, a feed announced to every other page of the consult.
  'share-start': { points: 20, seconds: 60 },
  'first-media': { points: 10, seconds: 60 },
};

export interface RelayLimits {
  echoStarts: RateLimit;
  /** Seconds to wait before this message kind is accepted again (0: go ahead). */
  message(kind: ClientRequest['t'], participantId: string): Promise<number>;
}

export function relayLimits(redis: RedisClientType): RelayLimits {
  const perKind = new Map<string, RateLimit>();
  for (const [kind, l] of Object.entries(MESSAGE_LIMITS)) perKind.set(kind, new RateLimit(redis, { name: `ws-${kind}`, ...l }));
  return {
    echoStarts: new RateLimit(redis, { name: 'echo-start', ...ECHO_STARTS }),
    async message(kind, participantId) {
      const limit = perKind.get(kind);
      return limit ? limit.take(participantId) : 0;
    },
  };
}

/** Open sockets per client address in this process. */
export class SocketsPerAddress {
  private counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a place for this address; false when it has `max` sockets already. */
  take(address: string): boolean {
    const n = this.counts.get(address) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.counts.get(address) ?? 1) - 1;
    if (n <= 0) this.counts.delete(address);
    else this.counts.set(address, n);
  }
}
