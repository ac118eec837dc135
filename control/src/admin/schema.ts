/**
 * Inputs of the admin commands (HTTP API and CLI share them): one zod schema per input, the
 * TypeScript type inferred from it. Ranges follow the database's CHECK constraints, tightened
 * to what makes sense in a clinic.
 */
import { z } from 'zod';
import { normalisePhone } from '../domain/contact.js';
import { MIN_PASSWORD_LENGTH } from '../staff/sessions.js';

export const ROLES = ['admin', 'clinician', 'assistant'] as const;
export const DELAY_MESSAGE_MAX = 500;

export const ClinicCode = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be 1 to 64 characters a-z, 0-9 or -');

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
});
export type ClinicSettings = z.infer<typeof ClinicSettings>;

export const CreateClinic = ClinicSettings.partial()
  .extend({ code: ClinicCode, name: ClinicSettings.shape.name, helpdeskPhone: ClinicSettings.shape.helpdeskPhone })
  .strict();
export type CreateClinic = z.infer<typeof CreateClinic>;

export const UpdateClinic = ClinicSettings.partial()
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
  .object({ name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters') })
  .strict();
export type CreateApiKey = z.infer<typeof CreateApiKey>;
