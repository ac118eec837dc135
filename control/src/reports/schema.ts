/**
 * Which report: a day, an ISO week (Monday–Sunday) or a calendar month around `date`, or a
 * chosen range `from`–`to` (inclusive, at most 366 days); clinics by code (default: all the
 * reader may see); optionally one clinician. The previous period is as long, just before.
 */
import { z } from 'zod';
import { addDays, weekStart } from './figures.js';
import { ClinicCodes, Day, Uuid } from '../http/schemas.js';


export const ReportQuery = z
  .object({
    period: z.enum(['day', 'week', 'month', 'range'], { error: 'must be day, week, month or range' }).default('month'),
    date: Day.optional(),
    from: Day.optional(),
    to: Day.optional(),
    clinic: ClinicCodes.optional(),
    clinician: Uuid.optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.period !== 'range') return;
    if (!q.from) ctx.addIssue({ code: 'custom', path: ['from'], message: 'is required with period=range' });
    if (!q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'is required with period=range' });
    if (q.from && q.to) {
      const days = (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000;
      if (days < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
      if (days > 365) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be at most 366 days after from' });
    }
  });
export type ReportQuery = z.infer<typeof ReportQuery>;

export interface Period {
  from: string;
  to: string;
  previousFrom: string;
  previousTo: string;
}

/** The period's first and last day, and the previous period of the same kind. */
export function periodOf(q: Pick<ReportQuery, 'period' | 'date' | 'from' | 'to'>, today: string): Period {
  const date = q.date ?? today;
  if (q.period === 'day') return { from: date, to: date, previousFrom: addDays(date, -1), previousTo: addDays(date, -1) };
  if (q.period === 'week') {
    const from = weekStart(date);
    return { from, to: addDays(from, 6), previousFrom: addDays(from, -7), previousTo: addDays(from, -1) };
  }
  if (q.period === 'month') {
    const from = `${date.slice(0, 7)}-01`;
    const next = new Date(`${from}T00:00:00Z`);
    next.setUTCMonth(next.getUTCMonth() + 1);
    const to = addDays(next.toISOString().slice(0, 10), -1);
    const prev = new Date(`${from}T00:00:00Z`);
    prev.setUTCMonth(prev.getUTCMonth() - 1);
    return { from, to, previousFrom: prev.toISOString().slice(0, 10), previousTo: addDays(from, -1) };
  }
  const from = q.from!;
  const to = q.to!;
  const days = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1;
  return { from, to, previousFrom: addDays(from, -days), previousTo: addDays(from, -1) };
}
