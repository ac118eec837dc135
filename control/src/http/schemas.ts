/**
 * The input shapes that recur across the doors (staff API, integration API v1, FHIR, HL7, the
 * CLI), defined once. Every message completes the sentence "<field>: …", so a refusal reads
 * `clinic: must be a clinic code (1 to 64 characters a-z, 0-9 or -)`.
 *
 *   validate({ query: z.object({ clinic: ClinicCode, day: Day.optional() }).strict() })
 *   router.get('/things/:id', uuidParam('id', 'thing'), …)      // ids in the path: validate.ts
 */
import { z } from 'zod';
import { isRealDate } from '../domain/contact.js';

/** A clinic code as the database's CHECK has it. */
export const CLINIC_CODE = /^[a-z0-9-]{1,64}$/;

/** A uuid in any case. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

const CLINIC_CODE_MESSAGE = 'must be a clinic code (1 to 64 characters a-z, 0-9 or -)';

/** A clinic code, exactly (no case folding: `KNO` is not `kno`, and the database refuses it). */
export const ClinicCode = z.string({ error: CLINIC_CODE_MESSAGE }).regex(CLINIC_CODE, { error: CLINIC_CODE_MESSAGE });

/** Clinic codes in a query: `?clinic=a,b` and `?clinic=a&clinic=b` alike; at most 200. */
export const ClinicCodes = z
  .union([z.string(), z.array(z.string()).max(200, { error: 'at most 200 clinics' })], { error: 'must be clinic codes' })
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(CLINIC_CODE, { error: 'must be clinic codes (1 to 64 characters a-z, 0-9 or -)' })));

/** An id: a uuid in any case, answered in lower case (the form PostgreSQL returns and every key is named with). */
export const Uuid = z
  .string({ error: 'must be an id (a UUID)' })
  .regex(UUID, { error: 'must be an id (a UUID)' })
  .transform((s) => s.toLowerCase());

/** An ISO 8601 date-time with its offset (`Z` or `+01:00`): a time without one is ambiguous and refused. */
export const IsoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset' });

/** A calendar day, YYYY-MM-DD, that exists (no 30 February). */
export const Day = z
  .string({ error: 'must be a date as YYYY-MM-DD' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD' })
  .refine(isRealDate, { error: 'is not a real date' });
