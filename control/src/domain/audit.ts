/**
 * Audit events: who did what to which appointment. `data` carries ids, states and times,
 * never contact data (email, phone), names or chat text: audit events outlive the
 * 30-day contact-data retention.
 */
import type { EntityManager } from 'typeorm';
import type { ActorKind } from '../db/entities.js';
import { db } from '../db/kysely.js';

export interface AuditInput {
  actorKind: ActorKind;
  actorId: string | null;
  /** dotted, e.g. 'appointment.created', 'admission', 'consult_end' */
  action: string;
  appointmentId?: string | null;
  data?: Record<string, unknown>;
}

/** Who acts, for commands that write audit events. */
export interface Actor {
  kind: ActorKind;
  id: string | null;
}

const FORBIDDEN_KEYS = /^(email|phone|patientEmail|patientPhone|patient_email|patient_phone|chat|chatText|token|password)$/i;

export async function recordAudit(manager: EntityManager, input: AuditInput): Promise<void> {
  const data = input.data ?? {};
  for (const key of Object.keys(data)) {
    // A programming error, caught in tests: the audit trail must stay free of contact data.
    if (FORBIDDEN_KEYS.test(key)) throw new Error(`audit data may not contain '${key}'`);
  }
  await db(manager)
    .insertInto('audit_event')
    .values({ actor_kind: input.actorKind, actor_id: input.actorId, action: input.action, appointment_id: input.appointmentId ?? null, data: JSON.stringify(data) })
    .execute();
}
