import { describe, expect, test } from 'vitest';
import { failureDelaySeconds } from './limits.js';

describe('failureDelaySeconds', () => {
  test('free failures cost nothing, then the wait doubles from 30 s up to the window', () => {
    expect([0, 1, 2].map((n) => failureDelaySeconds(n, 3, 900))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7, 8, 9].map((n) => failureDelaySeconds(n, 3, 900))).toEqual([30, 60, 120, 240, 480, 900, 900]);
    expect(failureDelaySeconds(10_000, 3, 900)).toBe(900);
  });
});
