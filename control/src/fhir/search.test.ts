import { describe, expect, it } from 'vitest';
import { parseSearch, startOfDay } from './search.js';

describe('FHIR Appointment search parameters', () => {
  it('a day is a day in Amsterdam, summer and winter', () => {
    expect(startOfDay('2031-05-08', 'Europe/Amsterdam').toISOString()).toBe('2031-05-07T22:00:00.000Z');
    expect(startOfDay('2031-01-08', 'Europe/Amsterdam').toISOString()).toBe('2031-01-07T23:00:00.000Z');
    // The day the clocks go forward.
    expect(startOfDay('2031-03-30', 'Europe/Amsterdam').toISOString()).toBe('2031-03-29T23:00:00.000Z');
  });

  it('prefixes narrow a range; eq on a day is that day', () => {
    expect(parseSearch({ date: '2031-05-08' })).toMatchObject({ from: new Date('2031-05-07T22:00:00Z'), until: new Date('2031-05-08T22:00:00Z') });
    expect(parseSearch({ date: ['ge2031-05-07', 'lt2031-05-09', 'gt2031-05-06'] })).toMatchObject({
      from: new Date('2031-05-06T22:00:00Z'),
      until: new Date('2031-05-08T22:00:00Z'),
    });
    expect(parseSearch({ date: 'le2031-05-08T10:00:00+02:00' }).until).toEqual(new Date('2031-05-08T08:00:01Z'));
  });

  it('identifier keeps the value; _count is capped; anything else is refused', () => {
    expect(parseSearch({ identifier: 'urn:oid:1.2|A-1', _count: '500' })).toEqual({ identifier: 'A-1', count: 100 });
    expect(() => parseSearch({ patient: 'x' })).toThrow(/not a supported search parameter/);
    expect(() => parseSearch({ date: 'ne2031-01-01' })).toThrow(/must be YYYY-MM-DD/);
    expect(() => parseSearch({ date: '2031-02-30' })).toThrow();
  });
});
