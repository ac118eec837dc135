/**
 * FHIR R4 Appointment ⇄ the appliance's appointment. Pure functions: toCreateInput and
 * toChanges read a resource (already checked against R4) into the domain commands' inputs,
 * throwing a 422 OperationOutcome naming the element; presentFhirAppointment shows an
 * AppointmentRecord as an R4 Appointment with contained Patient and Practitioner and the
 * patient link in the R5 cross-version extension virtualService.
 *
 * Where things go (docs/integration-fhir.md has the full table):
 *   identifier[0].value          externalId (the EHR's id; unique per integration)
 *   serviceType.coding.code      clinic code
 *   participant → Patient        contained Patient: name, birthDate, telecom (email, phone), communication.language
 *   participant → Practitioner   contained Practitioner (identifier or email) or a logical reference by identifier
 *   start + minutesDuration/end  start, durationMinutes
 */
import type {
  Appointment as FhirAppointment, AppointmentParticipant, ContactPoint, Extension, HumanName, Patient, Practitioner, Reference,
} from '@medplum/fhirtypes';
import type { CreateAppointmentInput, AppointmentRecord, UpdateAppointmentInput } from '../domain/appointments.js';
import type { Language, Visit } from '../db/entities.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import { isoInZone } from '../domain/time-windows.js';
import { isFinal } from '../domain/visit-state.js';
import { BirthDate, ClinicCode, DurationMinutes, Email, ExternalId, Phone, Start } from '../api/v1/appointments/schema.js';
import { Unprocessable } from './outcome.js';
import type { z } from 'zod';

export const CLINIC_SYSTEM = 'urn:spreekkamer:clinic';
export const STAFF_SYSTEM = 'urn:spreekkamer:staff';
export const VIRTUAL_SERVICE_URL = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService';
const VIRTUAL_SERVICE_TYPE = 'http://hl7.org/fhir/virtual-service-type';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

type Status = NonNullable<FhirAppointment['status']>;

/** The visit's state as an R4 Appointment.status. */
export function fhirStatus(state: Visit['state']): Status {
  switch (state) {
    case 'scheduled': return 'booked';
    case 'waiting': return 'arrived';
    case 'admitted': case 'in_consult': case 'dropped': return 'checked-in';
    case 'ended': return 'fulfilled';
    case 'cancelled': return 'cancelled';
    case 'expired': case 'no_show': return 'noshow';
  }
}

/** Runs a zod schema of the REST API on one FHIR element; a failure is a 422 naming the element. */
function checked<S extends z.ZodType>(schema: S, value: unknown, element: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw Unprocessable(element, r.error.issues[0]?.message ?? 'is invalid');
  return r.data;
}

function contained<T extends 'Patient' | 'Practitioner'>(a: FhirAppointment, ref: Reference | undefined, type: T) {
  if (!ref?.reference?.startsWith('#')) return undefined;
  const id = ref.reference.slice(1);
  const found = (a.contained ?? []).find((r) => r.id === id);
  return found?.resourceType === type ? (found as T extends 'Patient' ? Patient : Practitioner) : undefined;
}

function participantOf(a: FhirAppointment, type: 'Patient' | 'Practitioner'): { index: number; p: AppointmentParticipant } | undefined {
  const list = a.participant ?? [];
  const index = list.findIndex((p) =>
    p.actor?.type === type || contained(a, p.actor, type) !== undefined || (type === 'Practitioner' && p.actor?.reference?.startsWith('Practitioner/')),
  );
  return index < 0 ? undefined : { index, p: list[index]! };
}

function nameText(n: HumanName | undefined): string | undefined {
  if (!n) return undefined;
  if (n.text?.trim()) return n.text.trim();
  const parts = [...(n.prefix ?? []), ...(n.given ?? []), n.family ?? ''].map((s) => s.trim()).filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

function languageOf(p: Patient, element: string): Language | undefined {
  const comms = p.communication ?? [];
  const chosen = comms.find((c) => c.preferred) ?? comms[0];
  if (!chosen) return undefined;
  const code = chosen.language.coding?.[0]?.code ?? chosen.language.text ?? '';
  const lang = code.toLowerCase().slice(0, 2);
  if (lang !== 'nl' && lang !== 'en') throw Unprocessable(`${element}.communication[0].language`, 'must be nl or en (e.g. nl-NL)');
  return lang;
}

function telecom(p: Patient, system: ContactPoint['system'][]): { value: string; index: number } | undefined {
  const list = p.telecom ?? [];
  const index = list.findIndex((t) => system.includes(t.system) && t.value);
  return index < 0 ? undefined : { value: list[index]!.value!, index };
}

interface PatientPart {
  name: string;
  birthDate: string;
  email: string | null;
  phone: string | null;
  language: Language | undefined;
}

function readPatient(a: FhirAppointment): PatientPart {
  const found = participantOf(a, 'Patient');
  if (!found) throw Unprocessable('Appointment.participant', 'a participant with a contained Patient (actor.reference "#…") is required');
  const patient = contained(a, found.p.actor, 'Patient');
  if (!patient) throw Unprocessable(`Appointment.participant[${found.index}].actor`, 'the patient must be a contained Patient (reference "#id")');
  const idx = (a.contained ?? []).indexOf(patient);
  const el = `Appointment.contained[${idx}]`;
  const name = nameText(patient.name?.[0]);
  if (!name) throw Unprocessable(`${el}.name`, 'the patient\'s name is required');
  if (name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) throw Unprocessable(`${el}.name`, 'must be a name of at most 200 characters');
  if (!patient.birthDate) throw Unprocessable(`${el}.birthDate`, 'is required');
  const birthDate = checked(BirthDate, patient.birthDate, `${el}.birthDate`);
  const email = telecom(patient, ['email']);
  const phone = telecom(patient, ['phone', 'sms']);
  return {
    name,
    birthDate,
    email: email ? checked(Email, email.value, `${el}.telecom[${email.index}]`) : null,
    phone: phone ? checked(Phone, phone.value, `${el}.telecom[${phone.index}]`) : null,
    language: languageOf(patient, el),
  };
}

/** The clinician as the domain's reference: a staff id or an e-mail address. */
function readClinician(a: FhirAppointment): string {
  const found = participantOf(a, 'Practitioner');
  if (!found) throw Unprocessable('Appointment.participant', 'a participant that is a Practitioner (contained, or by identifier) is required');
  const el = `Appointment.participant[${found.index}].actor`;
  const practitioner = contained(a, found.p.actor, 'Practitioner');
  const ref =
    practitioner?.identifier?.find((i) => i.system === STAFF_SYSTEM)?.value ??
    practitioner?.telecom?.find((t) => t.system === 'email')?.value ??
    practitioner?.identifier?.[0]?.value ??
    found.p.actor?.identifier?.value;
  if (!ref || ref.length > 254) throw Unprocessable(el, 'the clinician needs an identifier (staff id or e-mail address) or an e-mail telecom');
  return ref;
}

function readClinic(a: FhirAppointment): string {
  const codings = (a.serviceType ?? []).flatMap((s) => s.coding ?? []);
  const coding = codings.find((c) => c.system === CLINIC_SYSTEM) ?? codings.find((c) => !c.system);
  if (!coding?.code) throw Unprocessable('Appointment.serviceType', `the clinic code is required as serviceType.coding (system ${CLINIC_SYSTEM})`);
  return checked(ClinicCode, coding.code, 'Appointment.serviceType');
}

function readTimes(a: FhirAppointment): { start: Date; durationMinutes: number } {
  if (!a.start) throw Unprocessable('Appointment.start', 'is required');
  const start = checked(Start, a.start, 'Appointment.start');
  let minutes = a.minutesDuration;
  if (a.end) {
    const fromEnd = (Date.parse(a.end) - start.getTime()) / 60_000;
    if (minutes !== undefined && minutes !== fromEnd) throw Unprocessable('Appointment.minutesDuration', 'does not agree with start and end');
    minutes = fromEnd;
  }
  if (minutes === undefined) throw Unprocessable('Appointment.end', 'end or minutesDuration is required');
  return { start, durationMinutes: checked(DurationMinutes, minutes, a.end ? 'Appointment.end' : 'Appointment.minutesDuration') };
}

export function readExternalId(a: FhirAppointment): string {
  const id = a.identifier?.[0];
  if (!id?.value) throw Unprocessable('Appointment.identifier', 'the EHR\'s appointment id is required as identifier[0].value');
  return checked(ExternalId, id.value, 'Appointment.identifier[0].value');
}

export function toCreateInput(a: FhirAppointment): CreateAppointmentInput {
  if (a.status !== 'booked') throw Unprocessable('Appointment.status', 'a new appointment must be booked');
  const externalId = readExternalId(a);
  const clinic = readClinic(a);
  const { start, durationMinutes } = readTimes(a);
  const clinician = readClinician(a);
  const patient = readPatient(a);
  return { externalId, clinic, clinician, start, durationMinutes, patient: { ...patient, language: patient.language ?? 'nl' } };
}

/** Where a transfer moved the appointment from: clinic codes, and clinicians' ids and e-mail addresses (lower case). */
export interface MovedFrom {
  clinics: string[];
  clinicians: string[];
}
const NOT_MOVED: MovedFrom = { clinics: [], clinicians: [] };

export type Change = { kind: 'cancel' } | { kind: 'update'; input: UpdateAppointmentInput } | { kind: 'none' };

/**
 * An update (PUT) as what it changes: cancel, move and contact data. What an appointment
 * cannot change here (EHR id, clinic, clinician, patient, a final status) is a 422.
 */
export function toChanges(a: FhirAppointment, current: AppointmentRecord, movedFrom: MovedFrom = NOT_MOVED): Change {
  const now = fhirStatus(current.visit.state);
  if (a.status === 'cancelled' && now !== 'cancelled') return { kind: 'cancel' };
  // booked: the EHR's own view of a visit that has moved on here; the status is ours to tell.
  if (a.status !== now && !(a.status === 'booked' && (now === 'arrived' || now === 'checked-in'))) {
    throw Unprocessable('Appointment.status', `can only be set to cancelled (it is ${now})`);
  }
  const cur = current.appointment;
  if (readExternalId(a) !== cur.externalId) throw Unprocessable('Appointment.identifier', 'the EHR\'s id cannot change');
  // A patient moved to another lane here (a transfer, issue 18.1) is still the EHR's booking
  // with the clinician and clinic it booked: saying those again is no change.
  const clinic = readClinic(a);
  if (clinic !== current.clinic.code && !movedFrom.clinics.includes(clinic)) {
    throw Unprocessable('Appointment.serviceType', 'the clinic cannot change: cancel and book anew');
  }
  const ref = readClinician(a).trim().toLowerCase();
  if (ref !== current.clinician.id && ref !== current.clinician.email.toLowerCase() && !movedFrom.clinicians.includes(ref)) {
    throw Unprocessable('Appointment.participant', 'the clinician cannot change: cancel and book anew');
  }
  const patient = readPatient(a);
  if (patient.name !== cur.patientName || patient.birthDate !== cur.patientBirthDate) {
    throw Unprocessable('Appointment.participant', 'the patient cannot change: cancel and book anew');
  }
  const { start, durationMinutes } = readTimes(a);
  const input: UpdateAppointmentInput = {};
  if (start.getTime() !== cur.start.getTime()) input.start = start;
  if (durationMinutes !== cur.durationMinutes) input.durationMinutes = durationMinutes;
  const contact: NonNullable<UpdateAppointmentInput['patient']> = {};
  if (patient.email !== cur.patientEmail) contact.email = patient.email;
  if (patient.phone !== cur.patientPhone) contact.phone = patient.phone;
  if (patient.language && patient.language !== cur.language) contact.language = patient.language;
  if (Object.keys(contact).length) input.patient = contact;
  return Object.keys(input).length ? { kind: 'update', input } : { kind: 'none' };
}

export function versionOf(r: AppointmentRecord): string {
  return String(r.appointment.updatedAt.getTime());
}

export interface GuestLink {
  id: string;
  role: string;
  link: string | null;
}

function virtualService(link: string): Extension {
  return {
    url: VIRTUAL_SERVICE_URL,
    extension: [
      { url: 'channelType', valueCoding: { system: VIRTUAL_SERVICE_TYPE, code: 'spreekkamer', display: 'Spreekkamer videoconsult' } },
      { url: 'address', valueUrl: link },
    ],
  };
}

export function presentFhirAppointment(cfg: LinkConfig, r: AppointmentRecord, guests: GuestLink[] = []): FhirAppointment {
  const a = r.appointment;
  const tz = r.clinic.timezone;
  const alive = !isFinal(r.visit.state);
  const link = alive ? linkFor(cfg, r.patient) : null;
  const telecomList: ContactPoint[] = [
    ...(a.patientEmail ? [{ system: 'email' as const, value: a.patientEmail }] : []),
    ...(a.patientPhone ? [{ system: 'phone' as const, value: a.patientPhone, use: 'mobile' as const }] : []),
  ];
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'patient',
    name: [{ text: a.patientName }],
    ...(a.patientBirthDate ? { birthDate: a.patientBirthDate } : {}),
    ...(telecomList.length ? { telecom: telecomList } : {}),
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: a.language }] }, preferred: true }],
  };
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    id: 'clinician',
    identifier: [{ system: STAFF_SYSTEM, value: r.clinician.id }],
    name: [{ text: r.clinician.name }],
    telecom: [{ system: 'email', value: r.clinician.email }],
  };
  const end = new Date(a.start.getTime() + a.durationMinutes * 60_000);
  const guestParticipants: AppointmentParticipant[] = guests
    .filter((g) => g.link && alive)
    .map((g) => ({
      type: [{ coding: [{ system: PARTICIPATION_TYPE, code: g.role === 'interpreter' ? 'TRANS' : 'PART' }], text: g.role }],
      actor: { display: g.role },
      required: 'optional',
      status: 'accepted',
      extension: [virtualService(g.link!)],
    }));
  return {
    resourceType: 'Appointment',
    id: a.id,
    meta: { versionId: versionOf(r), lastUpdated: a.updatedAt.toISOString() },
    contained: [patient, practitioner],
    ...(link ? { extension: [virtualService(link)] } : {}),
    ...(a.externalId ? { identifier: [{ value: a.externalId }] } : {}),
    status: fhirStatus(r.visit.state),
    // A walk-in (domain/walk-in.ts): HL7's own word for it, v2 table 0276.
    ...(a.flags?.walkIn === true ? { appointmentType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'WALKIN', display: 'A previously unscheduled walk-in visit' }] } } : {}),
    serviceType: [{ coding: [{ system: CLINIC_SYSTEM, code: r.clinic.code, display: r.clinic.name }] }],
    start: isoInZone(a.start, tz),
    end: isoInZone(end, tz),
    minutesDuration: a.durationMinutes,
    created: a.createdAt.toISOString(),
    participant: [
      { actor: { reference: '#patient', type: 'Patient', display: a.patientName }, required: 'required', status: 'accepted' },
      { actor: { reference: '#clinician', type: 'Practitioner', display: r.clinician.name }, required: 'required', status: 'accepted' },
      ...guestParticipants,
    ],
  };
}
