import { describe, expect, it } from 'vitest';
import {
  FINAL_STATES, InvalidTransition, LIVE_STATES, NOT_ARRIVED_STATES, PRESENT_STATES, VISIT_EVENTS, VISIT_STATES,
  canTransition, closedReason, isCancelled, isFinal, isOpenConsult, isPresent, transition,
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
    ['admitted', 'return_to_waiting', 'waiting'],
    ['in_consult', 'return_to_waiting', 'waiting'],
    ['dropped', 'return_to_waiting', 'waiting'],
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

  it('sends an admitted patient back to the waiting room only from an open consult (issue 18.2)', () => {
    expect(() => transition('waiting', 'return_to_waiting')).toThrow(/cannot return to waiting a visit that is waiting/);
    expect(() => transition('ended', 'return_to_waiting')).toThrow(InvalidTransition);
    expect(() => transition('scheduled', 'return_to_waiting')).toThrow(InvalidTransition);
    // Back in the waiting room she is admitted anew, as usual.
    expect(transition(transition('in_consult', 'return_to_waiting'), 'admit')).toBe('admitted');
  });

  it('knows the open consult states', () => {
    expect(VISIT_STATES.filter(isOpenConsult)).toEqual(['admitted', 'in_consult', 'dropped']);
  });

  it('names its groups of states once, and they partition the states', () => {
    expect(VISIT_STATES.filter(isPresent)).toEqual(['waiting', 'admitted', 'in_consult', 'dropped']);
    expect([...PRESENT_STATES]).toEqual(VISIT_STATES.filter(isPresent));
    expect([...LIVE_STATES].sort()).toEqual(VISIT_STATES.filter((s) => !isFinal(s)).sort());
    expect([...LIVE_STATES, ...FINAL_STATES].sort()).toEqual([...VISIT_STATES].sort());
    // Not arrived: never started, whatever the clock (a no-show is final but also not arrived).
    expect(NOT_ARRIVED_STATES.every((s) => !isPresent(s) && canTransition(s, 'mark_no_show'))).toBe(true);
  });

  it('says why a visit is closed, a cancelled appointment first', () => {
    expect(VISIT_STATES.map((s) => closedReason(s))).toEqual([null, null, null, null, null, 'ended', 'cancelled', 'expired', 'no_show']);
    expect(closedReason('waiting', new Date())).toBe('cancelled');
    expect(VISIT_STATES.every((s) => (closedReason(s) !== null) === isFinal(s))).toBe(true);
  });

  it('counts an appointment as cancelled by its visit state or by its cancelledAt alone', () => {
    expect(VISIT_STATES.filter((s) => isCancelled({ state: s, cancelledAt: null }))).toEqual(['cancelled']);
    // The appointment row was cancelled and the visit row has not followed (yet): cancelled all the same.
    expect(VISIT_STATES.every((s) => isCancelled({ state: s, cancelledAt: new Date() }))).toBe(true);
    expect(VISIT_STATES.every((s) => isCancelled({ state: s, cancelledAt: new Date() }) === (closedReason(s, new Date()) === 'cancelled'))).toBe(true);
  });
});
