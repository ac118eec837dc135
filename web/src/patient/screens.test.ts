import { describe, expect, it } from 'vitest';
import { screenFor } from './screens.js';

describe('screenFor', () => {
  it('follows the server: too early, open, waiting', () => {
    expect(screenFor({ visitState: 'scheduled', phase: 'too_early', mayJoin: false })).toBe('too-early');
    expect(screenFor({ visitState: 'scheduled', phase: 'open', mayJoin: false })).toBe('ready');
    expect(screenFor({ visitState: 'waiting', phase: 'open', mayJoin: false })).toBe('waiting');
  });

  it('goes into the consult only when the server says mayJoin', () => {
    expect(screenFor({ visitState: 'admitted', phase: 'open', mayJoin: true })).toBe('consult');
    expect(screenFor({ visitState: 'in_consult', phase: 'open', mayJoin: true })).toBe('consult');
    expect(screenFor({ visitState: 'dropped', phase: 'open', mayJoin: true })).toBe('consult');
    expect(screenFor({ visitState: 'admitted', phase: 'open', mayJoin: false })).toBe('waiting');
  });

  it('keeps a patient who hung up out until they choose to join again', () => {
    expect(screenFor({ visitState: 'in_consult', phase: 'open', mayJoin: true }, true)).toBe('left');
  });

  it('ends, cancels and expires', () => {
    expect(screenFor({ visitState: 'ended', phase: 'open', mayJoin: false })).toBe('ended');
    expect(screenFor({ visitState: 'cancelled', phase: 'too_early', mayJoin: false })).toBe('cancelled');
    expect(screenFor({ visitState: 'expired', phase: 'expired', mayJoin: false })).toBe('expired');
    expect(screenFor({ visitState: 'scheduled', phase: 'expired', mayJoin: false })).toBe('expired');
    expect(screenFor({ visitState: 'waiting', phase: 'expired', mayJoin: false })).toBe('expired');
  });

  it('tells a patient marked as not shown up that the consult did not take place (not "something went wrong")', () => {
    expect(screenFor({ visitState: 'no_show', phase: 'open', mayJoin: false })).toBe('missed');
    expect(screenFor({ visitState: 'no_show', phase: 'expired', mayJoin: false })).toBe('missed');
    expect(screenFor({ visitState: 'no_show', phase: 'open', mayJoin: false }, false, true)).toBe('expired');
  });
});
