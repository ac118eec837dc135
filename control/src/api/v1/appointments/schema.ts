/**
 * Input schemas of the appointments resource. Every message completes the sentence
 * "<field>: …", so a 400 reads `start: must be an ISO 8601 date-time with offset`.
 * Unknown fields are refused (strict objects).
 */
import { z } from 'zod';
import { isRealDate, normalisePhone, todayIn } from '../../../domain/contact.js';
import { ClinicCode, IsoDateTime } from '../../../http/schemas.js';

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

const text = (max: number, what = 'a text') =>
  z
    .string({ error: `must be ${what} of 1 to ${max} characters` })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(NO_CONTROL, { error: 'must not contain control characters' });

export const ExternalId = z
  .string({ error: 'must be a string of 1 to 200 characters' })
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' })
  .regex(NO_CONTROL, { error: 'must not contain control characters' });

/** The clinic code and the date-time are shared with every door (http/schemas.ts). */
export { ClinicCode };

export const ClinicianRef = z
  .string({ error: 'must be a staff id or e-mail address' })
  .trim()
  .min(1, { error: 'must be a staff id or e-mail address' })
  .max(254, { error: 'must be a staff id or e-mail address' });

export const Start = IsoDateTime
  .transform((s) => new Date(s))
  .refine((d) => d.getUTCFullYear() >= 2000 && d.getUTCFullYear() < 2100, { error: 'must be between the years 2000 and 2100' });

export const DurationMinutes = z
  .number({ error: 'must be a whole number of minutes from 5 to 240' })
  .int({ error: 'must be a whole number of minutes from 5 to 240' })
  .min(5, { error: 'must be a whole number of minutes from 5 to 240' })
  .max(240, { error: 'must be a whole number of minutes from 5 to 240' });

export const BirthDate = z
  .string({ error: 'must be a date as YYYY-MM-DD' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD' })
  .refine(isRealDate, { error: 'must be a real date' })
  .refine((d) => d >= '1900-01-01', { error: 'must not be before 1900' })
  .refine((d) => d <= todayIn('Europe/Amsterdam', new Date()), { error: 'must not be in the future' });

export const Email = z
  .string({ error: 'must be an e-mail address' })
  .trim()
  .max(254, { error: 'must be at most 254 characters' })
  .pipe(z.email({ error: 'must be an e-mail address' }));

export const Phone = z
  .string({ error: 'must be a phone number' })
  .max(40, { error: 'must be a phone number' })
  .transform((s, ctx) => {
    const e164 = normalisePhone(s);
    if (!e164) {
      ctx.issues.push({ code: 'custom', input: s, message: 'must be a phone number, Dutch (06-12345678) or international (+32…)' });
      return z.NEVER;
    }
    return e164;
  });

export const Language = z.enum(['nl', 'en'], { error: 'must be nl or en' });

const FlagValue = z.union([z.boolean(), z.number().finite(), z.string().max(200).regex(NO_CONTROL)], {
  error: 'must be true/false, a number or a short text',
});

export const Flags = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, { error: 'flag names are letters, digits and _' }), FlagValue, {
    error: 'must be an object of flags',
  })
  .superRefine((flags, ctx) => {
    if (Object.keys(flags).length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 flags' });
    for (const key of ['interpreter', 'guardianRequired'] as const) {
      if (key in flags && typeof flags[key] !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be true or false' });
      }
    }
  });

export const CreateAppointment = z.strictObject(
  {
    externalId: ExternalId,
    clinic: ClinicCode,
    clinician: ClinicianRef,
    start: Start,
    durationMinutes: DurationMinutes,
    patient: z.strictObject(
      {
        name: text(200, 'a name'),
        birthDate: BirthDate,
        email: Email.nullish(),
        phone: Phone.nullish(),
        language: Language.default('nl'),
      },
      { error: 'must be an object' },
    ),
    flags: Flags.optional(),
  },
  { error: 'must be a JSON object' },
);
export type CreateAppointment = z.infer<typeof CreateAppointment>;

export const UpdateAppointment = z
  .strictObject(
    {
      start: Start.optional(),
      durationMinutes: DurationMinutes.optional(),
      patient: z
        .strictObject(
          {
            email: Email.nullable().optional(),
            phone: Phone.nullable().optional(),
            language: Language.optional(),
          },
          { error: 'must be an object' },
        )
        .optional(),
      flags: Flags.optional(),
    },
    { error: 'must be a JSON object' },
  )
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    error: 'nothing to change: send start, durationMinutes, patient or flags',
  });
export type UpdateAppointment = z.infer<typeof UpdateAppointment>;
