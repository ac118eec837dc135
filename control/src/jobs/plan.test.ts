import { describe, expect, it } from 'vitest';
import { jobIdFor, planNoShowCheck, planReminders } from './plan.js';

const ID = '0b9f7a4e-1111-4222-8333-944455556666';

describe('jobIdFor', () => {
  it('derives ids from appointment and kind, without colons', () => {
    expect(jobIdFor(ID, 'invitation')).toBe(`invitation-${ID}`);
    expect(jobIdFor(ID, 'reminder_3d')).toBe(`reminder-${ID}-3d`);
    expect(jobIdFor(ID, 'reminder_15m')).toBe(`reminder-${ID}-15m`);
    expect(jobIdFor(ID, 'cancellation')).toBe(`cancellation-${ID}`);
    for (const k of ['invitation', 'reminder_1d', 'cancellation'] as const) expect(jobIdFor(ID, k)).not.toContain(':');
  });
});

describe('planReminders', () => {
  const start = new Date('2027-03-28T08:00:00Z'); // 10:00 in Amsterdam, the day clocks go forward

  it('plans 3 days, 1 day and 15 minutes before the start', () => {
    const now = new Date('2027-03-01T00:00:00Z');
    const plan = planReminders(start, now);
    expect(plan.map((p) => [p.kind, p.dueAt.toISOString()])).toEqual([
      ['reminder_3d', '2027-03-25T08:00:00.000Z'],
      ['reminder_1d', '2027-03-27T08:00:00.000Z'],
      ['reminder_15m', '2027-03-28T07:45:00.000Z'],
    ]);
    expect(plan[2]!.delayMs).toBe(start.getTime() - 15 * 60_000 - now.getTime());
  });

  it('plans no reminder in the past', () => {
    expect(planReminders(start, new Date('2027-03-26T00:00:00Z')).map((p) => p.kind)).toEqual(['reminder_1d', 'reminder_15m']);
    expect(planReminders(start, new Date('2027-03-28T07:50:00Z'))).toEqual([]);
    expect(planReminders(start, new Date('2027-03-28T07:45:00Z'))).toEqual([]);
  });
});

describe('per-clinic reminder times', () => {
  const start = new Date('2027-03-28T08:00:00Z');
  const now = new Date('2027-03-01T00:00:00Z');
  it('uses the clinic minutes and leaves out a reminder switched off', () => {
    const plan = planReminders(start, now, { reminder_3d: 5 * 24 * 60, reminder_1d: null, reminder_15m: 30 });
    expect(plan.map((p) => [p.kind, p.dueAt.toISOString()])).toEqual([
      ['reminder_3d', '2027-03-23T08:00:00.000Z'],
      ['reminder_15m', '2027-03-28T07:30:00.000Z'],
    ]);
  });
  it('plans the no-show check after the start, never in the past', () => {
    expect(planNoShowCheck(start, 5, now).dueAt.toISOString()).toBe('2027-03-28T08:05:00.000Z');
    expect(planNoShowCheck(start, 5, new Date('2027-03-28T09:00:00Z')).delayMs).toBe(0);
  });
});
