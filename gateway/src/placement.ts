/**
 * Where a new room (or network test) goes: pure logic, no janode. The least-loaded healthy
 * server that is not draining; rendezvous hashing of server name and room id breaks ties, so
 * that processes seeing the same loads (Janus's own room list) pick the same server. The
 * control plane's placement store (Redis) settles what remains: the first process's choice is
 * pinned and the others follow it.
 */
import { createHash } from 'node:crypto';

export interface Candidate {
  name: string;
  /** Connected and answering the health check. */
  up: boolean;
  /** Marked draining by an operator: no new rooms, network tests or waiting patients. */
  draining: boolean;
  /** Held back by the circuit breaker (it flapped lately). */
  avoided: boolean;
  /** Participants plus rooms on the server (Janus's `list`), plus what we placed since. */
  load: number;
}

/** Rendezvous hashing: every process ranks the servers for a room alike. */
export function rank(serverName: string, key: number): number {
  return createHash('sha1').update(`${serverName}:${key}`).digest().readUInt32BE(0);
}

/**
 * The server for `key` (a room id), or null when none is up. Preference, in tiers: up, not
 * draining, not held back by the breaker; then up and not draining (a flapping server beats
 * none); then anything up (everything draining: the consult must still happen somewhere).
 * Within a tier: least load, then highest rank.
 */
export function choose(candidates: Candidate[], key: number): string | null {
  const tiers = [
    candidates.filter((c) => c.up && !c.draining && !c.avoided),
    candidates.filter((c) => c.up && !c.draining),
    candidates.filter((c) => c.up),
  ];
  const tier = tiers.find((t) => t.length > 0);
  if (!tier) return null;
  return tier.reduce((best, c) => {
    if (c.load !== best.load) return c.load < best.load ? c : best;
    return rank(c.name, key) > rank(best.name, key) ? c : best;
  }).name;
}

export interface BreakerOptions {
  /** Losses within this window count as flapping (default 10 min). */
  windowMs?: number;
  /** This many losses within the window open the breaker (default 2). */
  threshold?: number;
  /** How long after coming back a flapping server is held back (default 60 s). */
  holdMs?: number;
}

/**
 * Circuit breaker per server: a server lost `threshold` times within `windowMs` is not chosen
 * for new rooms until it has stayed up for `holdMs` after its latest return. One loss (a
 * planned restart) holds nothing back.
 */
export class Breaker {
  private losses: number[] = [];
  private backAt = 0;
  private readonly windowMs: number;
  private readonly threshold: number;
  private readonly holdMs: number;

  constructor(opts: BreakerOptions = {}) {
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.threshold = opts.threshold ?? 2;
    this.holdMs = opts.holdMs ?? 60_000;
  }

  lost(now: number): void {
    this.losses = this.losses.filter((t) => now - t < this.windowMs);
    this.losses.push(now);
  }

  back(now: number): void {
    this.backAt = now;
  }

  /** True while the server is held back. */
  open(now: number): boolean {
    const recent = this.losses.filter((t) => now - t < this.windowMs).length;
    return recent >= this.threshold && now - this.backAt < this.holdMs;
  }
}
