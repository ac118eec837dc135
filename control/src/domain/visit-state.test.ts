import { describe, expect, it } from 'vitest';
import {
  InvalidTransition, VISIT_EVENTS, VISIT_STATES, canTransition, isFinal, isOpenConsult, transition,
  type VisitEvent, type VisitState,
} from './visit-state.js';

describe('visit state machine', () => {
  const allowed: Array<[VisitState, VisitEvent, VisitState]> = [
    ['scheduled', 'arrive', 'waiting'],
    ['waiting', 'arrive', 'waiting'],
    ['waiting', 'admit', 'admitted'],
    ['admitted', 'media_up', 'in_consult'],
    ['dropped', 'media_up', 'in_consult'],
    ['in_consult', 'media_up', 'in_consult'],
    ['in_consult', 'drop', 'dropped'],
    ['admitted', 'drop', 'dropped'],
    ['dropped', 'drop', 'dropped'],
    ['waiting', 'end', 'ended'],
    ['admitted', 'end', 'ended'],
    ['in_consult', 'end', 'ended'],
    ['dropped', 'end', 'ended'],
    ['ended', 'end', 'ended'],
    ['scheduled', 'cancel', 'cancelled'],
    ['waiting', 'cancel', 'cancelled'],
    ['cancelled', 'cancel', 'cancelled'],
    ['scheduled', 'expire', 'expired'],
    ['waiting', 'expire', 'expired'],
    ['expired', 'expire', 'expired'],
    ['scheduled', 'mark_no_show', 'no_show'],
    ['no_show', 'mark_no_show', 'no_show'],
  ];

  it.each(allowed)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
    expect(canTransition(from, event)).toBe(true);
  });

  it('refuses every other pair with a typed error', () => {
    const ok = new Set(allowed.map(([s, e]) => `${s}/${e}`));
    let refused = 0;
    for (const s of VISIT_STATES) {
      for (const e of VISIT_EVENTS) {
        if (ok.has(`${s}/${e}`)) continue;
        refused++;
        expect(canTransition(s, e)).toBe(false);
        try {
          transition(s, e);
          expect.unreachable(`${s}/${e} should throw`);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidTransition);
          expect((err as InvalidTransition).state).toBe(s);
          expect((err as InvalidTransition).event).toBe(e);
        }
      }
    }
    expect(refused).toBe(VISIT_STATES.length * VISIT_EVENTS.length - allowed.length);
  });

  it('never leaves a final state', () => {
    for (const s of VISIT_STATES.filter(isFinal)) {
      for (const e of VISIT_EVENTS) {
        if (canTransition(s, e)) expect(transition(s, e)).toBe(s);
      }
    }
  });

  it('cannot admit twice or skip the waiting room', () => {
    expect(() => transition('scheduled', 'admit')).toThrow(InvalidTransition);
    expect(() => transition('admitted', 'admit')).toThrow(/cannot admit a visit that is admitted/);
    expect(() => transition('scheduled', 'end')).toThrow(InvalidTransition);
    expect(() => transition('in_consult', 'cancel')).toThrow(InvalidTransition);
  });

  it('marks a no-show only before arrival, and a no-show is final', () => {
    expect(() => transition('waiting', 'mark_no_show')).toThrow(/a visit that is waiting/);
    expect(() => transition('in_consult', 'mark_no_show')).toThrow(InvalidTransition);
    expect(() => transition('no_show', 'arrive')).toThrow(InvalidTransition);
    expect(isFinal('no_show')).toBe(true);
  });

    it('knows the open consult states', () => {
    expect(VISIT_STATES.filter(isOpenConsult)).toEqual(['admitted', 'in_consult', 'dropped']);
  });
});
