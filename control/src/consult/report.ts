/**
 * The consult report (SPEC 1 "Clinician" 3): times, participants, identity method, who was
 * present, consent, connection problems and fallback, for the EHR. Built from the visit, the
 * KNMG record and the audit trail. Never media, never chat text (neither is stored anyway).
 */
import type { DataSource } from 'typeorm';
import type { GuestRole } from '../db/entities.js';
import { isoInZone } from '../domain/time-windows.js';
import { isFinal, isVisitState } from '../domain/visit-state.js';
import { getConsultRecord, type ConsultRecord } from './record.js';

export interface ConsultReport {
  appointmentId: string;
  externalId: string | null;
  status: string;
  clinic: string;
  clinician: { id: string; name: string };
  scheduledStart: string;
  durationMinutes: number;
  times: {
    waitingSince: string | null;
    admittedAt: string | null;
    consultStartedAt: string | null;
    endedAt: string | null;
    /** From entering the waiting room until admission. */
    waitedSeconds: number | null;
    /** From the first media in the room until the end. */
    consultSeconds: number | null;
  };
  participants: Array<
    | { role: 'patient'; joined: boolean; companion: boolean }
    | { role: 'clinician'; id: string; name: string }
    | { role: 'guest'; guestRole: GuestRole; invitedAt: string; joined: boolean; revokedAt: string | null }
  >;
  identity: { method: ConsultRecord['identityMethod']; physicallyVerified: boolean } | null;
  presence: { patientSide: string[]; clinicSide: string[]; othersConsent: boolean | null } | null;
  consent: { video: boolean; fallbackExplained: boolean } | null;
  note: string | null;
  record: { recordedAt: string; updatedAt: string } | null;
  connection: { drops: number; rejoins: number; events: Array<{ at: string; event: 'drop' | 'rejoin' }> };
  fallback: { kind: 'phone'; at: string } | null;
  /** How the video consult ended: 'clinician' (end button), 'phone' (switched to a call), null (not ended). */
  endedBy: 'clinician' | 'phone' | null;
}

const iso = (d: unknown): string | null => (d ? new Date(d as string).toISOString() : null);
const seconds = (from: unknown, to: unknown): number | null =>
  from && to ? Math.max(0, Math.round((new Date(to as string).getTime() - new Date(from as string).getTime()) / 1000)) : null;

/** null when there is no such appointment (scoping is the caller's job). */
export async function consultReport(ds: DataSource, appointmentId: string): Promise<ConsultReport | null> {
  const rows = (await ds.query(
    `SELECT a.id, a.external_id, a.start, a.duration_minutes, c.code AS clinic_code, c.timezone,
            s.id AS clinician_id, s.name AS clinician_name,
            v.state, v.waiting_since, v.admitted_at, v.consult_started_at, v.ended_at, v.ended_reason, v.companion
       FROM appointment a
       JOIN clinic c ON c.id = a.clinic_id
       JOIN staff s ON s.id = a.clinician_id
       JOIN visit v ON v.appointment_id = a.id
      WHERE a.id = $1`,
    [appointmentId],
  )) as any[];
  const r = rows[0];
  if (!r) return null;
  const [guests, audit, record] = await Promise.all([
    ds.query(
      `SELECT id, guest_role, created_at, revoked_at FROM participant WHERE appointment_id = $1 AND kind = 'guest' ORDER BY created_at`,
      [appointmentId],
    ) as Promise<any[]>,
    ds.query(
      `SELECT at, action, data FROM audit_event
        WHERE appointment_id = $1 AND action IN ('drop', 'rejoin', 'guest.joined', 'phone_fallback')
        ORDER BY at, id`,
      [appointmentId],
    ) as Promise<Array<{ at: Date; action: string; data: Record<string, unknown> }>>,
    getConsultRecord(ds, appointmentId),
  ]);
  const joinedGuests = new Set(audit.filter((e) => e.action === 'guest.joined').map((e) => String(e.data?.participantId)));
  const connectionEvents = audit
    .filter((e) => e.action === 'drop' || e.action === 'rejoin')
    .map((e) => ({ at: new Date(e.at).toISOString(), event: e.action as 'drop' | 'rejoin' }));
  const phone = audit.find((e) => e.action === 'phone_fallback');
  return {
    appointmentId: r.id,
    externalId: r.external_id ?? null,
    status: r.state,
    clinic: r.clinic_code,
    clinician: { id: r.clinician_id, name: r.clinician_name },
    scheduledStart: isoInZone(new Date(r.start), r.timezone),
    durationMinutes: Number(r.duration_minutes),
    times: {
      waitingSince: iso(r.waiting_since),
      admittedAt: iso(r.admitted_at),
      consultStartedAt: iso(r.consult_started_at),
      endedAt: iso(r.ended_at),
      waitedSeconds: seconds(r.waiting_since, r.admitted_at),
      consultSeconds: seconds(r.consult_started_at, r.ended_at),
    },
    participants: [
      { role: 'patient', joined: r.consult_started_at !== null, companion: Boolean(r.companion) },
      { role: 'clinician', id: r.clinician_id, name: r.clinician_name },
      ...guests.map((g) => ({
        role: 'guest' as const,
        guestRole: g.guest_role ?? 'colleague',
        invitedAt: new Date(g.created_at).toISOString(),
        joined: joinedGuests.has(g.id),
        revokedAt: iso(g.revoked_at),
      })),
    ],
    identity: record ? { method: record.identityMethod, physicallyVerified: record.identityPhysicallyVerified } : null,
    presence: record ? { patientSide: record.patientSide, clinicSide: record.clinicSide, othersConsent: record.othersConsent } : null,
    consent: record ? { video: record.consentVideo, fallbackExplained: record.fallbackExplained } : null,
    note: record?.note ?? null,
    record: record ? { recordedAt: record.recordedAt, updatedAt: record.updatedAt } : null,
    connection: {
      drops: connectionEvents.filter((e) => e.event === 'drop').length,
      rejoins: connectionEvents.filter((e) => e.event === 'rejoin').length,
      events: connectionEvents,
    },
    fallback: phone ? { kind: 'phone', at: new Date(phone.at).toISOString() } : null,
    endedBy: r.state === 'ended' ? (r.ended_reason ?? 'clinician') : null,
  };
}

/**
 * The report as a FHIR R4 Encounter (class VR, "virtual"): status, period, participants by
 * type, the EHR's id as identifier; identity check, consent, drops and fallback, which
 * Encounter has no field for, as extensions under this appliance's own URL.
 */
export function reportAsFhirEncounter(r: ConsultReport, systemBase: string): Record<string, unknown> {
  const status = r.status === 'ended' ? 'finished' : isVisitState(r.status) && isFinal(r.status) ? 'cancelled'
    : r.status === 'scheduled' ? 'planned' : r.status === 'waiting' ? 'arrived' : 'in-progress';
  const ext = (name: string, value: Record<string, unknown>) => ({ url: `${systemBase}/fhir/StructureDefinition/${name}`, ...value });
  const extension: Array<Record<string, unknown>> = [];
  if (r.identity) extension.push(ext('identity-check', { valueCode: r.identity.method }));
  if (r.consent) extension.push(ext('consent-video', { valueBoolean: r.consent.video }));
  extension.push(ext('connection-drops', { valueInteger: r.connection.drops }));
  if (r.fallback) extension.push(ext('fallback', { valueCode: 'phone' }));
  return {
    resourceType: 'Encounter',
    id: r.appointmentId,
    ...(r.externalId ? { identifier: [{ system: `${systemBase}/external-id`, value: r.externalId }] } : {}),
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
    period: { ...(r.times.consultStartedAt ? { start: r.times.consultStartedAt } : {}), ...(r.times.endedAt ? { end: r.times.endedAt } : {}) },
    ...(r.times.consultSeconds !== null ? { length: { value: Math.round(r.times.consultSeconds / 60), unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } } : {}),
    participant: r.participants
      .filter((p) => p.role !== 'patient')
      .map((p) =>
        p.role === 'clinician'
          ? { type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }], individual: { display: p.name } }
          : { type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: p.role === 'guest' && p.guestRole === 'interpreter' ? 'TRANS' : 'PART' }] }] },
      ),
    extension,
  };
}
