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
import { loadAppointment } from '../domain/appointments.js';
import { db } from '../db/kysely.js';
import { consultParts } from '../domain/consult-parts.js';

export interface ConsultReport {
  appointmentId: string;
  externalId: string | null;
  status: string;
  clinic: string;
  /** The clinician who held the consult (its last part); before any admission, the one she waits for. */
  clinician: { id: string; name: string };
  /**
   * The parts of the consult (issue 18.2): one per admission, until she went back to the
   * waiting room (`returned`) or the end. A hand-over (the nurse's intake, then the doctor) has two.
   */
  parts: Array<{
    clinician: { id: string; name: string };
    admittedAt: string;
    endedAt: string | null;
    endReason: 'returned' | 'ended' | 'phone' | null;
  }>;
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

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const seconds = (from: Date | null, to: Date | null): number | null =>
  from && to ? Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000)) : null;

/** null when there is no such appointment (scoping is the caller's job). */
export async function consultReport(ds: DataSource, appointmentId: string): Promise<ConsultReport | null> {
  const loaded = await loadAppointment(ds.manager, appointmentId);
  if (!loaded) return null;
  const { appointment: a, clinic, clinician, visit: v } = loaded;
  const k = db(ds);
  const [guests, audit, record, parts] = await Promise.all([
    k.selectFrom('participant')
      .select(['id', 'guest_role', 'created_at', 'revoked_at'])
      .where('appointment_id', '=', appointmentId)
      .where('kind', '=', 'guest')
      .orderBy('created_at')
      .execute(),
    k.selectFrom('audit_event')
      .select(['at', 'action', 'data'])
      .where('appointment_id', '=', appointmentId)
      .where('action', 'in', ['drop', 'rejoin', 'guest.joined', 'phone_fallback'])
      .orderBy('at')
      .orderBy('id')
      .execute(),
    getConsultRecord(ds, appointmentId),
    consultParts(k, appointmentId),
  ]);
  const names = new Map([[clinician.id, clinician.name]]);
  const unknown = [...new Set(parts.map((p) => p.clinicianId))].filter((id) => !names.has(id));
  if (unknown.length > 0) {
    for (const r of await k.selectFrom('staff').select(['id', 'name']).where('id', 'in', unknown).execute()) names.set(r.id, r.name);
  }
  const who = (id: string) => ({ id, name: names.get(id) ?? '' });
  // Who held the consult: the clinician of its last part (a hand-over moves the lane on).
  const held = parts.length > 0 ? who(parts[parts.length - 1]!.clinicianId) : { id: clinician.id, name: clinician.name };
  const firstAdmission = parts[0]?.admittedAt ?? v.admittedAt;
  const partClinicians = [...new Set(parts.map((p) => p.clinicianId))].map(who);
  const joinedGuests = new Set(audit.filter((e) => e.action === 'guest.joined').map((e) => String(e.data?.participantId)));
  const connectionEvents = audit
    .filter((e) => e.action === 'drop' || e.action === 'rejoin')
    .map((e) => ({ at: e.at.toISOString(), event: e.action as 'drop' | 'rejoin' }));
  const phone = audit.find((e) => e.action === 'phone_fallback');
  return {
    appointmentId: a.id,
    externalId: a.externalId ?? null,
    status: v.state,
    clinic: clinic.code,
    clinician: held,
    parts: parts.map((p) => ({ clinician: who(p.clinicianId), admittedAt: p.admittedAt.toISOString(), endedAt: iso(p.endedAt), endReason: p.endReason })),
    scheduledStart: isoInZone(a.start, clinic.timezone),
    durationMinutes: a.durationMinutes,
    times: {
      waitingSince: iso(v.waitingSince),
      admittedAt: iso(firstAdmission),
      consultStartedAt: iso(v.consultStartedAt),
      endedAt: iso(v.endedAt),
      waitedSeconds: seconds(v.waitingSince, firstAdmission),
      consultSeconds: seconds(v.consultStartedAt, v.endedAt),
    },
    participants: [
      { role: 'patient', joined: v.consultStartedAt !== null, companion: v.companion },
      ...(partClinicians.length > 0 ? partClinicians : [held]).map((c) => ({ role: 'clinician' as const, id: c.id, name: c.name })),
      ...guests.map((g) => ({
        role: 'guest' as const,
        guestRole: g.guest_role ?? 'colleague',
        invitedAt: g.created_at.toISOString(),
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
    fallback: phone ? { kind: 'phone', at: phone.at.toISOString() } : null,
    endedBy: v.state === 'ended' ? (v.endedReason ?? 'clinician') : null,
  };
}

const performer = (name: string) => ({
  type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }],
  individual: { display: name },
});

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
    participant: [
      // A clinician per part of the consult, with its period (issue 18.2); without parts, as listed.
      ...(r.parts.length > 0
        ? r.parts.map((p) => ({ ...performer(p.clinician.name), period: { start: p.admittedAt, ...(p.endedAt ? { end: p.endedAt } : {}) } }))
        : r.participants.flatMap((p) => (p.role === 'clinician' ? [performer(p.name)] : []))),
      ...r.participants
        .filter((p) => p.role === 'guest')
        .map((p) => ({ type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: p.role === 'guest' && p.guestRole === 'interpreter' ? 'TRANS' : 'PART' }] }] })),
    ],
    extension,
  };
}
