import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Breaker, choose, rank, type Candidate } from './placement.js';

const server = (name: string, load: number, more: Partial<Candidate> = {}): Candidate => ({
  name, up: true, draining: false, avoided: false, load, ...more,
});

describe('choose', () => {
  test('the least-loaded server wins', () => {
    expect(choose([server('janus-1', 5), server('janus-2', 2), server('janus-3', 9)], 42)).toBe('janus-2');
  });

  test('equal loads: the rendezvous rank decides, the same in every process and whatever the order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (room) => {
        const a = choose([server('janus-1', 3), server('janus-2', 3), server('janus-3', 3)], room);
        const b = choose([server('janus-3', 3), server('janus-1', 3), server('janus-2', 3)], room);
        const best = ['janus-1', 'janus-2', 'janus-3'].reduce((x, y) => (rank(y, room) > rank(x, room) ? y : x));
        return a === b && a === best;
      }),
    );
  });

  test('equal loads spread rooms over the servers', () => {
    const counts = new Map<string, number>();
    for (let room = 1; room <= 300; room++) {
      const s = choose([server('janus-1', 0), server('janus-2', 0), server('janus-3', 0)], room)!;
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
  });

  test('a down or draining server gets nothing while another is there, whatever its load', () => {
    expect(choose([server('janus-1', 0, { up: false }), server('janus-2', 50)], 1)).toBe('janus-2');
    expect(choose([server('janus-1', 0, { draining: true }), server('janus-2', 50)], 1)).toBe('janus-2');
  });

  test('a server held back by the breaker is chosen only when no other healthy one is there', () => {
    expect(choose([server('janus-1', 0, { avoided: true }), server('janus-2', 50)], 1)).toBe('janus-2');
    expect(choose([server('janus-1', 0, { avoided: true }), server('janus-2', 0, { draining: true })], 1)).toBe('janus-1');
  });

  test('everything draining: still somewhere; nothing up: null', () => {
    expect(choose([server('janus-1', 4, { draining: true }), server('janus-2', 1, { draining: true })], 1)).toBe('janus-2');
    expect(choose([server('janus-1', 0, { up: false })], 1)).toBeNull();
  });
});

describe('Breaker', () => {
  test('one loss (a planned restart) holds nothing back', () => {
    const b = new Breaker({ holdMs: 1000 });
    b.lost(0);
    b.back(100);
    expect(b.open(200)).toBe(false);
  });

  test('a flapping server is held back for a while after it returns, then allowed again', () => {
    const b = new Breaker({ holdMs: 1000, windowMs: 60_000 });
    b.lost(0);
    b.back(100);
    b.lost(200);
    b.back(300);
    expect(b.open(500)).toBe(true);
    expect(b.open(1301)).toBe(false);
  });

  test('losses older than the window are forgotten', () => {
    const b = new Breaker({ holdMs: 1000, windowMs: 10_000 });
    b.lost(0);
    b.lost(20_000);
    b.back(20_100);
    expect(b.open(20_200)).toBe(false);
  });
});
