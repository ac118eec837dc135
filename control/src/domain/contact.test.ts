import { describe, expect, it } from 'vitest';
import { initialsOf, isRealDate, normalisePhone, todayIn } from './contact.js';

describe('normalisePhone', () => {
  it.each([
    ['06-12345678', '+31612345678'],
    ['06 1234 5678', '+31612345678'],
    ['088-123 45 67', '+31881234567'],
    ['+31 6 12345678', '+31612345678'],
    ['+31 (0)6 12345678', '+31612345678'],
    ['0031612345678', '+31612345678'],
    ['+32 470 12 34 56', '+32470123456'],
    ['+44 20 7946 0958', '+442079460958'],
  ])('%s → %s', (raw, e164) => expect(normalisePhone(raw)).toBe(e164));

  it.each(['', '12345', '0612345', '06123456789', '+3161234567', '+0612345678', 'abc', '06-1234567x', '+1234567890123456'])(
    'refuses %j',
    (raw) => expect(normalisePhone(raw)).toBeNull(),
  );
});

describe('dates', () => {
  it('knows real dates', () => {
    expect(isRealDate('2024-02-29')).toBe(true);
    expect(isRealDate('2023-02-29')).toBe(false);
    expect(isRealDate('2023-13-01')).toBe(false);
    expect(isRealDate('2023-1-01')).toBe(false);
    expect(isRealDate('1960-04-31')).toBe(false);
  });
  it('knows today in a zone', () => {
    expect(todayIn('Europe/Amsterdam', new Date('2025-06-01T22:30:00Z'))).toBe('2025-06-02');
    expect(todayIn('UTC', new Date('2025-06-01T22:30:00Z'))).toBe('2025-06-01');
  });
  it('makes initials without titles or particles', () => {
    expect(initialsOf('Jan  de Vries')).toBe('J.V.');
    expect(initialsOf('Mevrouw J. de Vries')).toBe('J.V.');
  });
});
