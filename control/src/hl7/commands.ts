/**
 * What SIU messages do that the REST API has no command for: the integration the MLLP
 * listener acts as, and the EHR's no-show (S26).
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashApiKey } from '../api/v1/auth.js';
import { getAppointment, type AppointmentRecord } from '../domain/appointments.js';
import { recordNoShow } from '../domain/no-show.js';

export const MLLP_KEY_PREFIX = 'mllp';

/**
 * The integration row SIU messages are scoped to (idempotency by the EHR's id is per
 * integration). Made on first start with a key nobody has: MLLP has no keys.
 */
export async function ensureMllpIntegration(ds: DataSource, name: string): Promise<string> {
  return ds.transaction(async (m) => {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('spreekkamer:mllp-integration'))`);
    const rows = (await m.query(
      `SELECT id FROM integration WHERE name = $1 AND key_prefix = $2 AND revoked_at IS NULL ORDER BY created_at LIMIT 1`,
      [name, MLLP_KEY_PREFIX],
    )) as Array<{ id: string }>;
    if (rows[0]) return rows[0].id;
    const [row] = (await m.query(`INSERT INTO integration (name, key_prefix, key_hash) VALUES ($1, $2, $3) RETURNING id`, [
      name, MLLP_KEY_PREFIX, hashApiKey(randomBytes(32).toString('hex')),
    ])) as Array<{ id: string }>;
    return row!.id;
  });
}

export async function findByExternalId(ds: DataSource, integrationId: string, externalId: string): Promise<AppointmentRecord | null> {
  const rows = (await ds.query(`SELECT id FROM appointment WHERE integration_id = $1 AND external_id = $2`, [integrationId, externalId])) as Array<{ id: string }>;
  return rows[0] ? getAppointment(ds, rows[0].id, { integrationId }) : null;
}

/**
 * The EHR says the patient did not come (S26): only a visit the patient never started; final,
 * the links die. Repeating it is harmless.
 */
export async function markNoShowFromEhr(ds: DataSource, appointmentId: string, integrationId: string): Promise<{ changed: boolean }> {
  return ds.transaction((m) => recordNoShow(m, appointmentId, { kind: 'integration', id: integrationId }, new Date()));
}
