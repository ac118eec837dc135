/**
 * Counts failures per client (unknown patient links, wrong logins) in Redis, across every
 * control-plane process, and says when a client has had enough tries for now. Guessing a
 * 256-bit link token is hopeless anyway; this keeps the noise down and makes it visible.
 */
import { createHash } from 'node:crypto';
import type { RedisClientType } from 'redis';

export class FailureLimiter {
  constructor(
    private redis: RedisClientType,
    private opts: { name: string; max: number; windowSeconds: number },
  ) {}

  private key(client: string): string {
    return `spk:fail:${this.opts.name}:${clientTag(client)}`;
  }

  async blocked(client: string): Promise<boolean> {
    const n = Number((await this.redis.get(this.key(client))) ?? 0);
    return n >= this.opts.max;
  }

  /** Records one failure; returns the count in the current window. */
  async fail(client: string): Promise<number> {
    const key = this.key(client);
    const n = await this.redis.incr(key);
    if (n === 1) await this.redis.expire(key, this.opts.windowSeconds);
    return n;
  }
}

/** A short, non-reversible tag for a client address: enough to correlate, not to identify. */
export function clientTag(address: string): string {
  return createHash('sha256').update(`spk-client:${address}`).digest('hex').slice(0, 12);
}
