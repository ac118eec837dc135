import { describe, expect, it } from 'vitest';
import { WALK_IN_LANE, initialsOf, statusOf, todayIn } from './cards.js';
import { lanesOf } from './routes.js';

/** lanesOf reads only these fields of a card. */
type LaneCard = Parameters<typeof lanesOf>[0][number];

describe('dashboard cards', () => {
  it('initials drop titles and particles', () => {
    expect(initialsOf('Mevrouw J. de Vries')).toBe('J.V.');
    expect(initialsOf('Dhr. P. van der Berg')).toBe('P.B.');
    expect(initialsOf('Anna El Amrani')).toBe('A.E.A.');
    expect(initialsOf('  ')).toBe('?');
    expect(initialsOf('éva Çelik')).toBe('É.Ç.');
  });

  it('status follows the visit, a running device test and an open call-back', () => {
    expect(statusOf('scheduled', false, false)).toBe('not_arrived');
    expect(statusOf('scheduled', true, false)).toBe('testing');
    expect(statusOf('waiting', true, false)).toBe('waiting');
    expect(statusOf('admitted', false, false)).toBe('in_consult');
    expect(statusOf('in_consult', false, true)).toBe('in_consult');
    expect(statusOf('dropped', false, true)).toBe('phone');
    expect(statusOf('ended', false, false)).toBe('ended');
    expect(statusOf('no_show', false, false)).toBe('no_show');
    expect(statusOf('no_show', false, true)).toBe('phone');
    expect(statusOf('cancelled', false, true)).toBe('cancelled');
  });

  it("today is the clinic's calendar day", () => {
    // 23:30 UTC on 1 June is already 2 June in Amsterdam (summer time, UTC+2).
    expect(todayIn('Europe/Amsterdam', new Date('2026-06-01T23:30:00Z'))).toBe('2026-06-02');
    expect(todayIn('UTC', new Date('2026-06-01T23:30:00Z'))).toBe('2026-06-01');
  });

  it('lanes per clinician in order of their first appointment', () => {
    const card = (id: string, clinicianId: string) => ({ id, clinicianId, lane: clinicianId, clinicianName: `Dr. ${clinicianId}` }) as unknown as LaneCard;
    const lanes = lanesOf([card('1', 'b'), card('2', 'a'), card('3', 'b')]);
    expect(lanes.map((l) => [l.clinicianId, l.cards.map((c) => c.id)])).toEqual([
      ['b', ['1', '3']],
      ['a', ['2']],
    ]);
  });

  it('walk-ins nobody admitted yet: their own lane, first, without a clinician name or delay message', () => {
    const card = (id: string, clinicianId: string, lane = clinicianId) => ({ id, clinicianId, lane, clinicianName: `Dr. ${clinicianId}` }) as unknown as LaneCard;
    const lanes = lanesOf([card('1', 'b'), card('2', 'b', WALK_IN_LANE), card('3', 'a', WALK_IN_LANE)], new Map([['b', 'Tien minuten later']]));
    expect(lanes.map((l) => [l.clinicianId, l.walkIn, l.clinicianName, l.delayMessage, l.cards.map((c) => c.id)])).toEqual([
      [WALK_IN_LANE, true, '', null, ['2', '3']],
      ['b', false, 'Dr. b', 'Tien minuten later', ['1']],
    ]);
  });
});
