/**
 * When each patient message is due, decided from the appointment start by the server clock.
 * Pure: no queue, no database. Job ids derive from what a job is about, so scheduling twice
 * is harmless and a move replaces the reminders (BullMQ refuses ':' in custom ids, hence '-').
 */
import type { NotificationKind } from '../db/entities.js';
import { DEFAULT_REMINDER_MINUTES, type ReminderKind } from '../domain/reminders.js';

export type { ReminderKind };

const MINUTE = 60_000;

/** The three reminders with their default times (domain/reminders.ts). */
export const REMINDERS: ReadonlyArray<{ kind: ReminderKind; beforeMs: number; suffix: string }> = [
  { kind: 'reminder_3d', beforeMs: DEFAULT_REMINDER_MINUTES.reminder_3d * MINUTE, suffix: '3d' },
  { kind: 'reminder_1d', beforeMs: DEFAULT_REMINDER_MINUTES.reminder_1d * MINUTE, suffix: '1d' },
  { kind: 'reminder_15m', beforeMs: DEFAULT_REMINDER_MINUTES.reminder_15m * MINUTE, suffix: '15m' },
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

/**
 * Reminders still ahead of `now`, earliest first; one whose moment has passed is not sent late.
 * `minutesBefore`: the clinic's reminder times (notify/settings.ts); null switches one off.
 */
export function planReminders(start: Date, now: Date, minutesBefore?: Partial<Record<ReminderKind, number | null>>): PlannedReminder[] {
  const out: PlannedReminder[] = [];
  for (const r of REMINDERS) {
    const configured = minutesBefore?.[r.kind];
    if (configured === null) continue;
    const beforeMs = configured === undefined ? r.beforeMs : configured * MINUTE;
    const dueAt = new Date(start.getTime() - beforeMs);
    const delayMs = dueAt.getTime() - now.getTime();
    if (delayMs > 0) out.push({ kind: r.kind, dueAt, delayMs });
  }
  return out;
}

/** The callback checks (callbacks/): one job per appointment, also keyed by its start. */
export interface CallbackCheckJobData {
  appointmentId: string;
  check: 'no_show';
  /** ISO start the check was planned for; a check for an old start does nothing. */
  start: string;
}

/** The telephony webhook call of one callback task. */
export interface TelephonyJobData {
  callbackId: string;
}

export const noShowJobId = (appointmentId: string) => `noshow-${appointmentId}`;
export const telephonyJobId = (callbackId: string) => `call-${callbackId}`;

/** When the no-show check runs: `noShowMinutes` after the start (SPEC section 2, per clinic). */
export function planNoShowCheck(start: Date, noShowMinutes: number, now: Date): { dueAt: Date; delayMs: number } {
  const dueAt = new Date(start.getTime() + noShowMinutes * MINUTE);
  return { dueAt, delayMs: Math.max(0, dueAt.getTime() - now.getTime()) };
}
