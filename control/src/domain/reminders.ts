/**
 * When the reminders go out by default (SPEC section 1): three days before ("test your device
 * now"), one day before, and 15 minutes before the start. Written once: the planner
 * (jobs/plan.ts), the clinic settings (notify/settings.ts) and the SMS texts read them here.
 * A clinic may move each within a range where its text stays true (notify/settings.ts).
 */
import type { NotificationKind } from '../db/entities.js';

export type ReminderKind = Extract<NotificationKind, `reminder_${string}`>;

export const DEFAULT_REMINDER_MINUTES: Readonly<Record<ReminderKind, number>> = {
  reminder_3d: 3 * 24 * 60,
  reminder_1d: 24 * 60,
  reminder_15m: 15,
};
