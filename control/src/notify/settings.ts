/**
 * Per-clinic message settings (clinic.message_schedule, jsonb): when the three reminders go
 * out and over which channels. Read with zod so a hand-edited row can never break a job: an
 * unreadable value falls back to the defaults of SPEC section 1 (3 days, 1 day, 15 minutes;
 * e-mail and SMS).
 *
 * The reminder texts say "in three days", "tomorrow" and "you can start from HH:MM", so each
 * reminder's time may move only within a range where its text stays true; null switches that
 * reminder off.
 */
import { z } from 'zod';
import type { MessageSchedule, NotificationChannel } from '../db/entities.js';
import { DEFAULT_REMINDER_MINUTES as DEFAULTS, type ReminderKind } from '../domain/reminders.js';

const HOUR = 60;
const DAY = 24 * HOUR;

export const REMINDER_RANGES: Record<ReminderKind, { min: number; max: number; default: number }> = {
  reminder_3d: { min: 2 * DAY, max: 14 * DAY, default: DEFAULTS.reminder_3d },
  reminder_1d: { min: 18 * HOUR, max: 30 * HOUR, default: DEFAULTS.reminder_1d },
  reminder_15m: { min: 5, max: 2 * HOUR, default: DEFAULTS.reminder_15m },
};

const minutesFor = (k: ReminderKind) =>
  z.number().int().min(REMINDER_RANGES[k].min).max(REMINDER_RANGES[k].max).nullable().default(REMINDER_RANGES[k].default);

export const MessageScheduleInput = z
  .object({
    reminderMinutes: z
      .object({ reminder_3d: minutesFor('reminder_3d'), reminder_1d: minutesFor('reminder_1d'), reminder_15m: minutesFor('reminder_15m') })
      .strict()
      .default({ ...DEFAULTS }),
    channels: z.array(z.enum(['email', 'sms'])).max(2).default(['email', 'sms']),
  })
  .strict();

export interface ClinicMessageSettings {
  reminderMinutes: Record<ReminderKind, number | null>;
  channels: NotificationChannel[];
}

export const DEFAULT_SETTINGS: ClinicMessageSettings = {
  reminderMinutes: { ...DEFAULTS },
  channels: ['email', 'sms'],
};

/** The stored value, or the defaults when it is missing or unreadable. */
export function messageSettings(stored: MessageSchedule | unknown | null | undefined): ClinicMessageSettings {
  const parsed = MessageScheduleInput.safeParse(stored ?? {});
  if (!parsed.success) return DEFAULT_SETTINGS;
  return { reminderMinutes: parsed.data.reminderMinutes, channels: [...new Set(parsed.data.channels)] };
}

/** For the CLI and tests: validates, names the problem ("reminderMinutes.reminder_1d: …"). */
export function parseMessageSchedule(input: unknown): { ok: true; value: ClinicMessageSettings } | { ok: false; problem: string } {
  const parsed = MessageScheduleInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: `${issue.path.join('.') || 'schedule'}: ${issue.message}` };
  }
  return { ok: true, value: { reminderMinutes: parsed.data.reminderMinutes, channels: [...new Set(parsed.data.channels)] } };
}
