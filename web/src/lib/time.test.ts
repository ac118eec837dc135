import { describe, expect, it } from 'vitest';
// The shared strings (durations, dates) add themselves to i18n's tables.
import './strings.js';
import { formatClock, formatDate, formatDuration, formatTime, ServerClock, wholeDays } from './time.js';

describe('formatClock', () => {
  it('shows minutes and seconds under an hour', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(5_000)).toBe('0:05');
    expect(formatClock(65_000)).toBe('1:05');
    expect(formatClock(59 * 60_000 + 59_000)).toBe('59:59');
  });

  it('adds hours from an hour on', () => {
    expect(formatClock(3_600_000)).toBe('1:00:00');
    expect(formatClock(3_600_000 + 4 * 60_000 + 5_000)).toBe('1:04:05');
    expect(formatClock(25 * 3_600_000)).toBe('25:00:00');
  });

  it('never counts below zero', () => {
    expect(formatClock(-10_000)).toBe('0:00');
  });

  it('rounds a countdown up so 0:00 means it is time, and elapsed time down', () => {
    expect(formatClock(100)).toBe('0:01');
    expect(formatClock(1_900, false)).toBe('0:01');
  });
});

describe('wholeDays', () => {
  it('counts whole days only', () => {
    expect(wholeDays(86_399_999)).toBe(0);
    expect(wholeDays(86_400_000)).toBe(1);
    expect(wholeDays(3.5 * 86_400_000)).toBe(3);
    expect(wholeDays(-1)).toBe(0);
  });
});

describe('hospital time', () => {
  it('formats in Europe/Amsterdam whatever the browser zone', () => {
    // 12:30 UTC in summer is 14:30 in Amsterdam; in winter 13:30.
    expect(formatTime('2025-06-03T12:30:00Z', 'nl')).toBe('14:30');
    expect(formatTime('2025-01-14T12:30:00Z', 'en')).toBe('13:30');
    expect(formatTime('2025-06-02T22:05:00Z', 'nl')).toBe('00:05');
  });

  it('writes the date in the page language', () => {
    expect(formatDate('2025-06-03T12:30:00Z', 'nl')).toBe('dinsdag 3 juni 2025');
    expect(formatDate('2025-06-03T12:30:00Z', 'en')).toMatch(/Tuesday,? 3 June 2025/);
  });
});

describe('ServerClock', () => {
  it('counts down on the server clock, not the local one', () => {
    const c = new ServerClock();
    const local = Date.now();
    // The server is 10 minutes ahead of this browser.
    c.sync(new Date(local + 600_000).toISOString(), local);
    expect(Math.round(c.until(new Date(local + 660_000).toISOString()) / 1000)).toBe(60);
  });

  it('ignores missing or broken timestamps', () => {
    const c = new ServerClock();
    c.sync(undefined);
    c.sync('not a date');
    expect(Math.abs(c.now() - Date.now())).toBeLessThan(50);
  });
});

describe('formatDuration', () => {
  it('says hours and minutes in words, in both languages', () => {
    const ms = (1 * 3600 + 46 * 60 + 38) * 1000;
    expect(formatDuration(ms, 'nl')).toBe('1 uur en 46 minuten');
    expect(formatDuration(ms, 'en')).toBe('1 hour and 46 minutes');
    expect(formatDuration(2 * 3600_000, 'en')).toBe('2 hours');
    expect(formatDuration((4 * 60 + 5) * 1000, 'nl')).toBe('4 minuten en 5 seconden');
    expect(formatDuration(61_000, 'en')).toBe('1 minute and 1 second');
    expect(formatDuration(20_000, 'nl')).toBe('20 seconden');
    expect(formatDuration(-5, 'nl')).toBe('0 seconden');
  });
});
