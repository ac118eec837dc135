/**
 * What SIU messages do that the REST API has no command for: the integration the MLLP
 * listener acts as, and the EHR's no-show (S26).
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { hashApiKey } from '../api/v1/auth.js';
import { findAppointmentByExternalId, type AppointmentRecord } from '../domain/appointments.js';
import { recordNoShow } from '../domain/no-show.js';

export const MLLP_KEY_PREFIX = 'mllp';

/**
 * The integration row SIU messages are scoped to (idempotency by the EHR's id is per
 * integration). Made on first start with a key nobody has: MLLP has no keys.
 */
export async function ensureMllpIntegration(ds: DataSource, name: string): Promise<string> {
  return ds.transaction(async (m) => {
    const k = db(m);
    await sql`SELECT pg_advisory_xact_lock(hashtext('spreekkamer:mllp-integration'))`.execute(k);
    const found = await k
      .selectFrom('integration')
      .select('id')
      .where('name', '=', name)
      .where('key_prefix', '=', MLLP_KEY_PREFIX)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
    if (found) return found.id;
    const row = await k
      .insertInto('integration')
      .values({ name, key_prefix: MLLP_KEY_PREFIX, key_hash: hashApiKey(randomBytes(32).toString('hex')) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

export async function findByExternalId(ds: DataSource, integrationId: string, externalId: string): Promise<AppointmentRecord | null> {
  return findAppointmentByExternalId(ds.manager, integrationId, externalId);
}

/**
 * The EHR says the patient did not come (S26): only a visit the patient never started; final,
 * the links die. Repeating it is harmless.
 */
export async function markNoShowFromEhr(ds: DataSource, appointmentId: string, integrationId: string): Promise<{ changed: boolean }> {
  return ds.transaction((m) => recordNoShow(m, appointmentId, { kind: 'integration', id: integrationId }, new Date()));
}
