/**
 * Inputs of the admin commands (HTTP API and CLI share them): one zod schema per input, the
 * TypeScript type inferred from it. Ranges follow the database's CHECK constraints, tightened
 * to what makes sense in a clinic.
 */
import { z } from 'zod';
import { normalisePhone } from '../domain/contact.js';
import { MIN_PASSWORD_LENGTH } from '../staff/sessions.js';
import { DEFAULT_SETTINGS, REMINDER_RANGES, parseMessageSchedule, type ClinicMessageSettings } from '../notify/settings.js';
import type { ReminderKind } from '../domain/reminders.js';
import { WAIT_DISPLAYS } from '../domain/waiting-line.js';
import { ClinicCode, Day, Uuid } from '../http/schemas.js';
import { WEEKDAYS, rangeProblems } from '../domain/walk-in.js';

export const ROLES = ['admin', 'clinician', 'assistant', 'manager'] as const;
export const DELAY_MESSAGE_MAX = 500;

export { ClinicCode };

const minutes = (min: number, max: number) =>
  z.number({ error: 'must be a whole number of minutes' }).int('must be a whole number of minutes').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every clinic setting an admin can change. */
export const ClinicSettings = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  helpdeskPhone: z
    .string()
    .trim()
    .max(40, 'must be at most 40 characters')
    .refine((p) => normalisePhone(p) !== null, 'must be a phone number, e.g. 088-123 45 67'),
  timezone: z.string().max(64).refine(isTimeZone, 'must be a time zone such as Europe/Amsterdam'),
  /** The waiting room opens this many minutes before the start. */
  waitingRoomOpensMinutes: minutes(0, 240),
  /** The link stays valid this long after the planned end. */
  linkGraceMinutes: minutes(0, 720),
  /** Not in the waiting room this long after the start: no-show, callback task. */
  noShowMinutes: minutes(1, 240),
  /** Dropped and not back this long: callback task. */
  dropMinutes: minutes(1, 120),
  initialsOnly: z.boolean({ error: 'must be true or false' }),
  assistantsMayAdmit: z.boolean({ error: 'must be true or false' }),
  delayMessage: z.string().trim().max(DELAY_MESSAGE_MAX, `must be at most ${DELAY_MESSAGE_MAX} characters`).nullable(),
  /** What waiting patients (and the assistants' cards) see of their place in line. */
  waitDisplay: z.enum(WAIT_DISPLAYS, { error: `must be one of ${WAIT_DISPLAYS.join(', ')}` }),
  /** Patients and guests may share their screen in a consult (staff always may). */
  patientScreenShare: z.boolean({ error: 'must be true or false' }),
  /** Patients of other clinics may be moved into this clinic's lanes (issue 18.1; its own always may). */
  acceptsTransfers: z.boolean({ error: 'must be true or false' }),
});
export type ClinicSettings = z.infer<typeof ClinicSettings>;

const HHMM = z.string({ error: 'must be a time as HH:MM' }).regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, { error: 'must be a time as HH:MM (00:00 to 24:00)' });
/** One day's opening ranges: at most 6, each from < to, none overlapping. */
const OpeningRanges = z
  .array(z.strictObject({ from: HHMM, to: HHMM }), { error: 'must be a list of {from, to} times' })
  .max(6, { error: 'at most 6 ranges a day' })
  .superRefine((ranges, ctx) => {
    const problem = rangeProblems(ranges);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The walk-in hours of a clinic (domain/walk-in.ts); "close now" has its own command (CloseWalkIn). */
export const WalkInSettingsInput = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }),
  week: z.strictObject(Object.fromEntries(WEEKDAYS.map((d) => [d, OpeningRanges])) as Record<(typeof WEEKDAYS)[number], typeof OpeningRanges>, {
    error: 'must give the ranges of each weekday (mon … sun)',
  }),
  exceptions: z
    .array(z.strictObject({ date: Day, hours: OpeningRanges }), { error: 'must be a list of {date, hours}' })
    .max(200, { error: 'at most 200 exceptions' })
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((e, i) => {
        if (seen.has(e.date)) ctx.addIssue({ code: 'custom', path: [i, 'date'], message: 'is given twice' });
        seen.add(e.date);
      });
    }),
  maxQueue: z.number({ error: 'must be a whole number from 1 to 100' }).int({ error: 'must be a whole number from 1 to 100' }).min(1, { error: 'must be at least 1' }).max(100, { error: 'must be at most 100' }),
  require: z.strictObject({ birthDate: z.boolean({ error: 'must be true or false' }), phone: z.boolean({ error: 'must be true or false' }) }),
  clinicianId: Uuid.nullable(),
});
export type WalkInSettingsInput = z.infer<typeof WalkInSettingsInput>;

/** "Close now": until the next opening (default) or until switched back; `closed: false` opens again. */
export const CloseWalkIn = z.strictObject({
  closed: z.boolean({ error: 'must be true or false' }),
  until: z.enum(['next_opening', 'reopen'], { error: 'must be next_opening or reopen' }).optional(),
});
export type CloseWalkIn = z.infer<typeof CloseWalkIn>;

/**
 * Where fallback phone calls are POSTed (docs/notifications.md): https, or plain http only to
 * an address inside the hospital (private or loopback IP literal) — the request carries the
 * patient's phone number. No user name or password in the URL: the request is signed instead,
 * and the URL is shown on the admin page.
 */
export function webhookUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://pbx.hospital.nl/click-to-dial';
  }
  if (url.username || url.password) return 'must not contain a user name or password (the request is signed with the secret instead)';
  if (url.protocol === 'https:' && url.hostname) return null;
  if (url.protocol === 'http:' && isPrivateOrLoopbackIp(url.hostname)) return null;
  return 'must be an https:// URL, or http:// only to a private or loopback address (10.x, 172.16–31.x, 192.168.x, 127.x, [::1])';
}

/** A hostname as the URL parser normalises it: IPv4 dotted quad, or IPv6 in brackets. */
export function isPrivateOrLoopbackIp(hostname: string): boolean {
  if (hostname === '[::1]') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

export const TelephonyWebhookUrl = z
  .string({ error: 'must be a URL, or null to remove the webhook' })
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .superRefine((v, ctx) => {
    const problem = webhookUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const REMINDER_HUMAN: Record<ReminderKind, string> = {
  reminder_3d: '2 to 14 days',
  reminder_1d: '18 to 30 hours',
  reminder_15m: '5 to 120 minutes',
};

/**
 * clinic.message_schedule, checked by the parser the worker reads it with
 * (notify/settings.ts parseMessageSchedule); a problem names its place under `messageSchedule`.
 * The value stored is the parsed one (defaults filled in); null means the defaults.
 */
export const MessageScheduleSetting = z.unknown().transform((value, ctx): ClinicMessageSettings => {
  if (value === null) return DEFAULT_SETTINGS;
  const parsed = parseMessageSchedule(value);
  if (parsed.ok) return parsed.value;
  const cut = parsed.problem.indexOf(': ');
  const where = parsed.problem.slice(0, cut);
  let message = parsed.problem.slice(cut + 2);
  const path = where === 'schedule' ? [] : where.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const unknown = /^Unrecognized keys?: "([^"]+)"/.exec(message);
  if (unknown) {
    path.push(unknown[1]!);
    message = 'is not a known field';
  } else if (path[0] === 'reminderMinutes' && typeof path[1] === 'string' && path[1] in REMINDER_RANGES) {
    const kind = path[1] as ReminderKind;
    const r = REMINDER_RANGES[kind];
    message = `must be a whole number of minutes from ${r.min} to ${r.max} (${REMINDER_HUMAN[kind]}), or null to switch this reminder off`;
  } else if (path[0] === 'channels' && path.length === 2) {
    message = 'must be "email" or "sms"';
  }
  ctx.addIssue({ code: 'custom', message, path });
  return z.NEVER;
});

/**
 * Settings of the integrations, changed with the others (PATCH) but not part of the plain
 * view: the telephony webhook (its secret is generated, never given) and the message schedule.
 */
export const ClinicIntegrationSettings = z.object({
  /** null removes the webhook and its secret. */
  telephonyWebhookUrl: TelephonyWebhookUrl.nullable(),
  /** true: a new signing secret, shown once in the answer. */
  rotateTelephonySecret: z.boolean({ error: 'must be true or false' }),
  messageSchedule: MessageScheduleSetting,
});
export type ClinicIntegrationSettings = z.infer<typeof ClinicIntegrationSettings>;

export const CreateClinic = ClinicSettings.partial()
  .extend({ code: ClinicCode, name: ClinicSettings.shape.name, helpdeskPhone: ClinicSettings.shape.helpdeskPhone })
  .strict();
export type CreateClinic = z.infer<typeof CreateClinic>;

export const UpdateClinic = ClinicSettings.extend(ClinicIntegrationSettings.shape)
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one setting to change');
export type UpdateClinic = z.infer<typeof UpdateClinic>;

const Email = z.string().trim().toLowerCase().max(254, 'must be at most 254 characters').email('must be an e-mail address');
const Password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024, 'must be at most 1024 characters');
const Role = z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` });
const ClinicCodes = z.array(ClinicCode).max(200, 'at most 200 clinics');

export const CreateStaff = z
  .object({
    email: Email,
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    role: Role,
    clinics: ClinicCodes.default([]),
    /** Omitted or null: sign-in through SSO only. */
    password: Password.nullable().optional(),
  })
  .strict();
export type CreateStaff = z.infer<typeof CreateStaff>;

export const UpdateStaff = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    role: Role,
    clinics: ClinicCodes,
    active: z.boolean({ error: 'must be true or false' }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change');
export type UpdateStaff = z.infer<typeof UpdateStaff>;

export const ResetPassword = z.object({ password: Password }).strict();
export type ResetPassword = z.infer<typeof ResetPassword>;

export const CreateApiKey = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    /** The clinics this key may read reports of (GET /api/v1/reports/...); omitted: all. */
    reportClinics: ClinicCodes.min(1, 'give at least one clinic, or leave reportClinics out').optional(),
  })
  .strict();
export type CreateApiKey = z.infer<typeof CreateApiKey>;
