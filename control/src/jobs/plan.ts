/**
 * When each patient message is due, decided from the appointment start by the server clock.
 * Pure: no queue, no database. Job ids derive from what a job is about, so scheduling twice
 * is harmless and a move replaces the reminders (BullMQ refuses ':' in custom ids, hence '-').
 */
import type { NotificationKind } from '../db/entities.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export type ReminderKind = Extract<NotificationKind, `reminder_${string}`>;

/** Defaults (SPEC section 1): 3 days before "test your device now", 1 day, 15 minutes. */
export const REMINDERS: ReadonlyArray<{ kind: ReminderKind; beforeMs: number; suffix: string }> = [
  { kind: 'reminder_3d', beforeMs: 3 * DAY, suffix: '3d' },
  { kind: 'reminder_1d', beforeMs: DAY, suffix: '1d' },
  { kind: 'reminder_15m', beforeMs: 15 * MINUTE, suffix: '15m' },
];

export const ALL_KINDS: readonly NotificationKind[] = ['invitation', ...REMINDERS.map((r) => r.kind), 'cancellation'];

/** What a job carries: ids and the start it was planned for. Never contact data or secrets. */
export interface NotificationJobData {
  appointmentId: string;
  kind: NotificationKind;
  /** ISO (UTC) start the message was planned for; a reminder for an old start is dropped. */
  start: string;
}

export function jobIdFor(appointmentId: string, kind: NotificationKind): string {
  const reminder = REMINDERS.find((r) => r.kind === kind);
  if (reminder) return `reminder-${appointmentId}-${reminder.suffix}`;
  return `${kind}-${appointmentId}`;
}

export interface PlannedReminder {
  kind: ReminderKind;
  dueAt: Date;
  delayMs: number;
}

/** Reminders still ahead of `now`, earliest last; one whose moment has passed is not sent late. */
export function planReminders(start: Date, now: Date): PlannedReminder[] {
  const out: PlannedReminder[] = [];
  for (const r of REMINDERS) {
    const dueAt = new Date(start.getTime() - r.beforeMs);
    const delayMs = dueAt.getTime() - now.getTime();
    if (delayMs > 0) out.push({ kind: r.kind, dueAt, delayMs });
  }
  return out;
}
