/**
 * The hospital telephony integration: when a callback task is made and the clinic has a
 * webhook configured (clinic.telephony_webhook_url / _secret), the worker POSTs it to the PBX
 * (click-to-dial), signed with HMAC-SHA256, retried with back-off by the job.
 *
 * The request (documented for the PBX side in docs/notifications.md):
 *   POST <telephony_webhook_url>
 *   Content-Type: application/json
 *   X-Spreekkamer-Delivery: <callback id>        (the same on every retry: deduplicate on it)
 *   X-Spreekkamer-Timestamp: <unix seconds>
 *   X-Spreekkamer-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   { "event": "callback.requested", "callbackId", "appointmentId", "clinic", "reason",
 *     "phone" (E.164), "clinicianEmail", "createdAt" }
 * The PBX recomputes the HMAC over the raw body, compares in constant time and refuses
 * timestamps more than 5 minutes off (replay). Any 2xx counts as accepted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CallbackDeps } from './tasks.js';
import { db } from '../db/kysely.js';

export const SIGNATURE_HEADER = 'x-spreekkamer-signature';
export const TIMESTAMP_HEADER = 'x-spreekkamer-timestamp';
export const DELIVERY_HEADER = 'x-spreekkamer-delivery';
const TIMEOUT_MS = 10_000;

export function signTelephonyRequest(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What the PBX side does; used by the tests. */
export function verifyTelephonySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  now = Date.now(),
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds || !headers.signature) return false;
  const expected = Buffer.from(signTelephonyRequest(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export class TelephonyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TelephonyError';
  }
}

export type CallOutcome = 'sent' | 'already-sent' | 'done' | 'no-webhook' | 'no-phone' | 'gone';

/** One attempt of the webhook call of a callback task. Throws TelephonyError to be retried. */
export async function callTelephony(deps: Pick<CallbackDeps, 'ds' | 'hub'>, callbackId: string, now = () => Date.now()): Promise<CallOutcome> {
  const t = await db(deps.ds)
    .selectFrom('callback_task as t')
    .innerJoin('appointment as a', 'a.id', 't.appointment_id')
    .innerJoin('clinic as c', 'c.id', 't.clinic_id')
    .innerJoin('staff as s', 's.id', 'a.clinician_id')
    .select([
      't.id', 't.appointment_id', 't.clinic_id', 't.reason', 't.created_at', 't.done_at', 't.call_status',
      'a.patient_phone', 'c.code as clinic_code', 'c.telephony_webhook_url as url', 'c.telephony_webhook_secret as secret',
      's.email as clinician_email',
    ])
    .where('t.id', '=', callbackId)
    .executeTakeFirst();
  if (!t) return 'gone';
  if (t.call_status === 'sent') return 'already-sent';
  if (t.done_at) return 'done'; // someone phoned already
  if (!t.url || !t.secret) {
    await setCallStatus(deps, t, 'none');
    return 'no-webhook';
  }
  if (!t.patient_phone) {
    await setCallStatus(deps, t, 'failed');
    return 'no-phone';
  }
  const body = JSON.stringify({
    event: 'callback.requested',
    callbackId: t.id,
    appointmentId: t.appointment_id,
    clinic: t.clinic_code,
    reason: t.reason,
    phone: t.patient_phone,
    clinicianEmail: t.clinician_email,
    createdAt: new Date(t.created_at).toISOString(),
  });
  const timestamp = Math.floor(now() / 1000);
  let res: Response;
  try {
    res = await fetch(t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [DELIVERY_HEADER]: t.id,
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signTelephonyRequest(t.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    throw new TelephonyError(`telephony webhook: ${e.cause?.code ?? e.name ?? 'network error'}`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new TelephonyError(`telephony webhook: HTTP ${res.status}`);
  await setCallStatus(deps, t, 'sent');
  return 'sent';
}

/** The last attempt failed: the task shows "call not placed" (it stays on the list either way). */
export async function markCallFailed(deps: Pick<CallbackDeps, 'ds' | 'hub'>, callbackId: string): Promise<void> {
  const row = await db(deps.ds)
    .selectFrom('callback_task')
    .select(['id', 'appointment_id', 'clinic_id'])
    .where('id', '=', callbackId)
    .where('call_status', '=', 'pending')
    .executeTakeFirst();
  if (row) await setCallStatus(deps, row, 'failed');
}

async function setCallStatus(
  deps: Pick<CallbackDeps, 'ds' | 'hub'>,
  t: { id: string; appointment_id: string; clinic_id: string },
  status: 'none' | 'sent' | 'failed',
): Promise<void> {
  await db(deps.ds).updateTable('callback_task').set({ call_status: status }).where('id', '=', t.id).execute();
  await deps.hub?.publishClinic(t.clinic_id, { kind: 'callbacks-changed', appointmentId: t.appointment_id });
}

