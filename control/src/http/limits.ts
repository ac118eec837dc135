/**
 * Every limit in the product, on rate-limiter-flexible over the `redis` client: atomic (one Lua
 * script per step, so a crash or a Redis blip can never leave a counter without its expiry),
 * shared by every control-plane process, and backed by an in-memory insurance limiter while
 * Redis is away (a limit then holds per process instead of failing every request).
 *
 *  - `RateLimit`: at most `points` actions per `seconds` per key (SSO starts, network tests,
 *    relay messages that write or fan out).
 *  - `FailureGate`: counts failures per key; after `free` failures each further one makes the
 *    key wait longer (30 s, 1 min, 2 min … up to the window). Used per account+address and per
 *    address for sign-ins, per address for unknown patient links.
 *
 * Keys are hashed (clientTag) before they reach Redis: no address or e-mail address in Redis.
 */
import { createHash } from 'node:crypto';
import type { RedisClientType } from 'redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

function limiter(redis: RedisClientType, keyPrefix: string, points: number, duration: number): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    // A Redis that is away answers at once (the insurance limiter takes over), never hangs.
    rejectIfRedisNotReady: true,
    keyPrefix,
    points,
    duration,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
  });
}

/** At most `points` per `seconds` per key. */
export class RateLimit {
  private rl: RateLimiterRedis;

  constructor(redis: RedisClientType, readonly opts: { name: string; points: number; seconds: number }) {
    this.rl = limiter(redis, `spk:rl:${opts.name}`, opts.points, opts.seconds);
  }

  /** Takes one; returns 0 when allowed, else the seconds to wait. */
  async take(key: string): Promise<number> {
    try {
      await this.rl.consume(clientTag(key));
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw res;
    }
  }
}

/** The wait after `failures` failures: none for the first `free`, then doubling from 30 s. */
export function failureDelaySeconds(failures: number, free: number, maxSeconds: number): number {
  if (failures < free) return 0;
  return Math.min(maxSeconds, 30 * 2 ** Math.min(20, failures - free));
}

/** Failures per key with growing waits (see the top of this file). */
export class FailureGate {
  private counts: RateLimiterRedis;
  private waits: RateLimiterRedis;

  constructor(redis: RedisClientType, readonly opts: { name: string; free: number; windowSeconds: number }) {
    // The count never refuses by itself (points far above any real count); the waits do.
    this.counts = limiter(redis, `spk:fail:${opts.name}`, 1_000_000, opts.windowSeconds);
    this.waits = limiter(redis, `spk:wait:${opts.name}`, 1, opts.windowSeconds);
  }

  /** Seconds this key must still wait (0: go ahead). */
  async wait(key: string): Promise<number> {
    const res = await this.waits.get(clientTag(key));
    if (!res || res.consumedPoints <= 1) return 0;
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  /** Records one failure; returns the count in the window and the wait it now costs. */
  async fail(key: string): Promise<{ failures: number; waitSeconds: number }> {
    const res = await this.counts.penalty(clientTag(key), 1);
    const failures = res.consumedPoints;
    const waitSeconds = failureDelaySeconds(failures, this.opts.free, this.opts.windowSeconds);
    if (waitSeconds > 0) await this.waits.block(clientTag(key), waitSeconds);
    return { failures, waitSeconds };
  }

  /** A success: the count for this key starts again. */
  async reset(key: string): Promise<void> {
    await Promise.all([this.counts.delete(clientTag(key)), this.waits.delete(clientTag(key))]);
  }
}

/** A short, non-reversible tag for a client address: enough to correlate, not to identify. */
export function clientTag(address: string): string {
  return createHash('sha256').update(`spk-client:${address}`).digest('hex').slice(0, 12);
}
