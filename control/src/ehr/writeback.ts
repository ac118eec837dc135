/**
 * What one status change looks like on the wire to the EHR (docs/integration-fhir.md
 * "Status written back"). Pure functions: the outbox row in, a request out.
 *
 *  - `fhir`: one R4 transaction Bundle POSTed to the EHR's FHIR base, atomic at the EHR:
 *      PUT   Encounter?identifier=urn:spreekkamer:appointment|<our id>   (conditional update: create or replace our Encounter)
 *      PATCH Appointment?identifier=<the EHR's id>                       (FHIRPath Patch: replace Appointment.status)
 *    Bundle.identifier (urn:spreekkamer:writeback|<event id>) is the same on every retry.
 *  - `webhook`: a JSON body signed with HMAC-SHA256 over "<timestamp>.<body>", like the
 *    telephony webhook: X-Spreekkamer-Delivery (event id), -Timestamp, -Signature.
 * Neither carries personal data: ids, states, times, the clinic code and the clinician's staff id.
 */
import type { Bundle, Encounter, Parameters } from '@medplum/fhirtypes';
import type { VisitState } from '../domain/visit-state.js';
import { CLINIC_SYSTEM, STAFF_SYSTEM, fhirStatus } from '../fhir/appointment.js';
import { signTelephonyRequest } from '../callbacks/telephony.js';

export const APPOINTMENT_SYSTEM = 'urn:spreekkamer:appointment';
export const WRITEBACK_SYSTEM = 'urn:spreekkamer:writeback';
export const OUTCOME_SYSTEM = 'urn:spreekkamer:consult-outcome';
export const DELIVERY_HEADER = 'x-spreekkamer-delivery';
export const TIMESTAMP_HEADER = 'x-spreekkamer-timestamp';
export const SIGNATURE_HEADER = 'x-spreekkamer-signature';

/** One change as stored in ehr_outbox, with what the delivery needs from the appointment. */
export interface OutboxEvent {
  id: string;
  appointmentId: string;
  externalId: string | null;
  clinic: string;
  clinicianId: string;
  state: VisitState;
  previousState: VisitState;
  endedReason: 'clinician' | 'phone' | null;
  occurredAt: Date;
  waitingSince: Date | null;
  admittedAt: Date | null;
  endedAt: Date | null;
}

/** The change in words the EHR side can switch on. */
export type WritebackEvent = 'arrived' | 'consult_started' | 'ended' | 'phone_fallback' | 'cancelled' | 'no_show' | 'expired';

export function eventOf(e: Pick<OutboxEvent, 'state' | 'endedReason'>): WritebackEvent {
  switch (e.state) {
    case 'waiting': return 'arrived';
    case 'admitted': case 'in_consult': case 'dropped': return 'consult_started';
    case 'ended': return e.endedReason === 'phone' ? 'phone_fallback' : 'ended';
    case 'cancelled': return 'cancelled';
    case 'no_show': return 'no_show';
    case 'expired': case 'scheduled': return 'expired';
  }
}

type EncounterStatus = NonNullable<Encounter['status']>;

export function encounterStatus(state: VisitState): EncounterStatus {
  switch (state) {
    case 'scheduled': return 'planned';
    case 'waiting': return 'arrived';
    case 'admitted': case 'in_consult': case 'dropped': return 'in-progress';
    case 'ended': return 'finished';
    case 'cancelled': case 'no_show': case 'expired': return 'cancelled';
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : undefined);

export function encounterFor(e: OutboxEvent): Encounter {
  const start = e.admittedAt ?? e.waitingSince;
  const minutes = start && e.endedAt ? Math.max(0, Math.round((e.endedAt.getTime() - start.getTime()) / 60_000)) : undefined;
  return {
    resourceType: 'Encounter',
    identifier: [{ system: APPOINTMENT_SYSTEM, value: e.appointmentId }],
    status: encounterStatus(e.state),
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
    type: [{ coding: [{ system: OUTCOME_SYSTEM, code: eventOf(e) }] }],
    serviceType: { coding: [{ system: CLINIC_SYSTEM, code: e.clinic }] },
    participant: [{ individual: { type: 'Practitioner', identifier: { system: STAFF_SYSTEM, value: e.clinicianId } } }],
    ...(e.externalId ? { appointment: [{ type: 'Appointment', identifier: { value: e.externalId } }] } : {}),
    ...(start ? { period: { start: iso(start), ...(e.endedAt ? { end: iso(e.endedAt) } : {}) } } : {}),
    ...(minutes !== undefined ? { length: { value: minutes, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } } : {}),
  };
}

function statusPatch(e: OutboxEvent): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [{
      name: 'operation',
      part: [
        { name: 'type', valueCode: 'replace' },
        { name: 'path', valueString: 'Appointment.status' },
        { name: 'value', valueCode: fhirStatus(e.state) },
      ],
    }],
  };
}

/** The transaction Bundle of one change. */
export function fhirBundleFor(e: OutboxEvent): Bundle {
  const entry: NonNullable<Bundle['entry']> = [{
    fullUrl: `urn:uuid:${e.appointmentId}`,
    resource: encounterFor(e),
    request: { method: 'PUT', url: `Encounter?identifier=${encodeURIComponent(`${APPOINTMENT_SYSTEM}|${e.appointmentId}`)}` },
  }];
  // An appointment made without the EHR's id (by staff) has no Appointment at the EHR to patch.
  if (e.externalId) {
    entry.push({ resource: statusPatch(e), request: { method: 'PATCH', url: `Appointment?identifier=${encodeURIComponent(e.externalId)}` } });
  }
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    identifier: { system: WRITEBACK_SYSTEM, value: e.id },
    timestamp: e.occurredAt.toISOString(),
    entry,
  };
}

export interface WebhookBody {
  id: string;
  event: WritebackEvent;
  appointmentId: string;
  externalId: string | null;
  clinic: string;
  state: VisitState;
  previousState: VisitState;
  fhirStatus: string;
  occurredAt: string;
  times: { waitingSince: string | null; admittedAt: string | null; endedAt: string | null };
}

export function webhookBodyFor(e: OutboxEvent): WebhookBody {
  return {
    id: e.id,
    event: eventOf(e),
    appointmentId: e.appointmentId,
    externalId: e.externalId,
    clinic: e.clinic,
    state: e.state,
    previousState: e.previousState,
    fhirStatus: fhirStatus(e.state),
    occurredAt: e.occurredAt.toISOString(),
    times: { waitingSince: iso(e.waitingSince) ?? null, admittedAt: iso(e.admittedAt) ?? null, endedAt: iso(e.endedAt) ?? null },
  };
}

/** sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>, the same scheme as the telephony webhook. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return signTelephonyRequest(secret, timestamp, body);
}

export interface WritebackTarget {
  kind: 'fhir' | 'webhook';
  url: string;
  secret: string | null;
}

export interface WritebackRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The HTTP request that delivers one change to one target. */
export function requestFor(target: WritebackTarget, e: OutboxEvent, nowMs: number): WritebackRequest {
  if (target.kind === 'fhir') {
    return {
      url: target.url.replace(/\/+$/, ''),
      headers: {
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
        [DELIVERY_HEADER]: e.id,
        ...(target.secret ? { authorization: `Bearer ${target.secret}` } : {}),
      },
      body: JSON.stringify(fhirBundleFor(e)),
    };
  }
  const body = JSON.stringify(webhookBodyFor(e));
  const timestamp = Math.floor(nowMs / 1000);
  return {
    url: target.url,
    headers: {
      'content-type': 'application/json',
      [DELIVERY_HEADER]: e.id,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signWebhook(target.secret ?? '', timestamp, body),
    },
    body,
  };
}
