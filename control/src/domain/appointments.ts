/**
 * Appointment commands: what the integration API (and staff tools) do to appointments.
 * Each runs in one transaction, locks the visit row where it changes state, writes an
 * audit event, and returns an AppointmentRecord to be shown through presentAppointment.
 * Inputs arrive validated (shape and format); these functions check what needs the
 * database: the clinic exists, the clinician belongs to it, the visit allows the change.
 */
import { randomUUID } from 'node:crypto';
import { EntityManager, type DataSource } from 'typeorm';
import { db, type Queryable } from '../db/kysely.js';
import {
  AppointmentEntity, ClinicEntity, ParticipantEntity, StaffClinicEntity, StaffEntity, VisitEntity,
  type Appointment, type AppointmentFlags, type Clinic, type Language, type Participant, type Staff, type Visit,
} from '../db/entities.js';
import { conflict, invalid, notFound } from './errors.js';
import { recordAudit, type Actor } from './audit.js';
import { linkColumns, linkFor, type LinkConfig } from './links.js';
import { isoInZone, linkValidUntil, opensAt } from './time-windows.js';
import { InvalidTransition, isFinal, isOpenConsult, transition } from './visit-state.js';

export interface CreateAppointmentInput {
  externalId: string;
  /** clinic code */
  clinic: string;
  /** staff id (uuid) or e-mail address */
  clinician: string;
  start: Date;
  durationMinutes: number;
  patient: {
    name: string;
    /** YYYY-MM-DD */
    birthDate: string;
    email?: string | null;
    /** E.164 */
    phone?: string | null;
    language: Language;
  };
  flags?: AppointmentFlags;
}

export interface UpdateAppointmentInput {
  start?: Date;
  durationMinutes?: number;
  patient?: {
    email?: string | null;
    phone?: string | null;
    language?: Language;
  };
  flags?: AppointmentFlags;
}

/** Who may see an appointment: an integration sees what it created, and the walk-ins of its clinics (read only). */
export interface AppointmentScope {
  integrationId?: string;
}

export interface AppointmentRecord {
  appointment: Appointment;
  clinic: Clinic;
  clinician: Staff;
  patient: Participant;
  visit: Visit;
}

export interface CreateResult {
  record: AppointmentRecord;
  /** false when the externalId was already known: nothing new was written (HTTP 200, not 201). */
  created: boolean;
}

const UNIQUE_EXTERNAL = 'appointment_integration_external_uq';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function createAppointment(
  ds: DataSource,
  cfg: LinkConfig,
  integrationId: string | null,
  input: CreateAppointmentInput,
): Promise<CreateResult> {
  const actor: Actor = integrationId ? { kind: 'integration', id: integrationId } : { kind: 'system', id: null };
  if (integrationId) {
    const existing = await findAppointmentByExternalId(ds.manager, integrationId, input.externalId);
    if (existing) return { record: existing, created: false };
  }
  try {
    const record = await ds.transaction(async (m) => {
      const clinic = await m.findOne(ClinicEntity, { where: { code: input.clinic } });
      if (!clinic) throw invalid('clinic', 'no clinic with this code');
      const clinician = await resolveClinician(m, clinic.id, input.clinician);

      const appointment = await m.save(AppointmentEntity, {
        integrationId,
        externalId: input.externalId,
        clinicId: clinic.id,
        clinicianId: clinician.id,
        start: input.start,
        durationMinutes: input.durationMinutes,
        patientName: input.patient.name,
        patientBirthDate: input.patient.birthDate,
        patientEmail: input.patient.email ?? null,
        patientPhone: input.patient.phone ?? null,
        language: input.patient.language,
        flags: input.flags ?? {},
      });
      const patient = await createLinkParticipant(m, cfg, {
        appointmentId: appointment.id,
        kind: 'patient',
        displayName: input.patient.name,
        language: input.patient.language,
      });
      await m.insert(VisitEntity, { appointmentId: appointment.id, state: 'scheduled' });
      await recordAudit(m, {
        actorKind: actor.kind,
        actorId: actor.id,
        action: 'appointment.created',
        appointmentId: appointment.id,
        data: { start: input.start.toISOString(), durationMinutes: input.durationMinutes, clinicId: clinic.id, clinicianId: clinician.id },
      });
      const visit = await m.findOneOrFail(VisitEntity, { where: { appointmentId: appointment.id } });
      return { appointment, clinic, clinician, patient, visit };
    });
    return { record, created: true };
  } catch (err) {
    // Two creates of the same externalId at once: the loser returns the winner's appointment.
    if (integrationId && isUniqueViolation(err, UNIQUE_EXTERNAL)) {
      const existing = await findAppointmentByExternalId(ds.manager, integrationId, input.externalId);
      if (existing) return { record: existing, created: false };
    }
    throw err;
  }
}

/** A participant that joins by link (patient or guest), with its nonce and token hash. */
export async function createLinkParticipant(
  m: EntityManager,
  cfg: LinkConfig,
  p: { appointmentId: string; kind: 'patient' | 'guest'; displayName: string; language?: Language | null },
): Promise<Participant> {
  // The token is derived from the participant id, so the id is chosen before the insert.
  const id = randomUUID();
  await m.insert(ParticipantEntity, {
    id,
    appointmentId: p.appointmentId,
    kind: p.kind,
    displayName: p.displayName,
    language: p.language ?? null,
    ...linkColumns(cfg, id),
  });
  return m.findOneOrFail(ParticipantEntity, { where: { id } });
}

export async function getAppointment(
  ds: DataSource | EntityManager,
  id: string,
  scope: AppointmentScope = {},
): Promise<AppointmentRecord> {
  const m = ds instanceof EntityManager ? ds : ds.manager;
  const record = await loadAppointment(m, id, scope);
  if (!record) throw notFound('appointment');
  return record;
}

export async function updateAppointment(
  ds: DataSource,
  id: string,
  input: UpdateAppointmentInput,
  opts: { scope?: AppointmentScope; actor: Actor },
): Promise<AppointmentRecord> {
  return ds.transaction(async (m) => {
    const visit = await lockVisit(m, id, opts.scope ?? {});
    // A final visit (ended, cancelled, expired, no-show) stays as it was: no new time, no reminders.
    if (isFinal(visit.state)) {
      throw conflict(`the appointment cannot be changed: it is ${visit.state}`, 'invalid_state');
    }
    if (isOpenConsult(visit.state)) {
      throw conflict('the appointment cannot be changed: the consult is in progress', 'invalid_state');
    }
    const before = await m.findOneOrFail(AppointmentEntity, { where: { id } });
    const changes: Partial<Appointment> = {};
    if (input.start !== undefined && input.start.getTime() !== before.start.getTime()) changes.start = input.start;
    if (input.durationMinutes !== undefined && input.durationMinutes !== before.durationMinutes) {
      changes.durationMinutes = input.durationMinutes;
    }
    if (input.patient?.email !== undefined) changes.patientEmail = input.patient.email;
    if (input.patient?.phone !== undefined) changes.patientPhone = input.patient.phone;
    if (input.patient?.language !== undefined) changes.language = input.patient.language;
    if (input.flags !== undefined) changes.flags = input.flags;

    if (Object.keys(changes).length > 0) {
      await m.update(AppointmentEntity, { id }, { ...changes, updatedAt: new Date() });
      if (changes.language) {
        await m.update(ParticipantEntity, { appointmentId: id, kind: 'patient' }, { language: changes.language });
      }
      const moved = changes.start !== undefined || changes.durationMinutes !== undefined;
      await recordAudit(m, {
        actorKind: opts.actor.kind,
        actorId: opts.actor.id,
        action: moved ? 'appointment.moved' : 'appointment.updated',
        appointmentId: id,
        // Field names only: contact data never goes into the audit trail.
        data: {
          fields: Object.keys(changes),
          ...(moved ? { from: before.start.toISOString(), start: (changes.start ?? before.start).toISOString() } : {}),
          ...(changes.durationMinutes !== undefined ? { durationMinutes: changes.durationMinutes } : {}),
        },
      });
    }
    return (await loadAppointment(m, id, opts.scope ?? {}))!;
  });
}

/**
 * Cancel: visit → cancelled, cancelled_at set, every link participant revoked (the link is
 * dead; findParticipantByToken can still find it with includeRevoked, to say "cancelled").
 * Cancelling twice is harmless. Refused (409) once the patient is admitted or the visit is over.
 */
export async function cancelAppointment(
  ds: DataSource,
  id: string,
  opts: { scope?: AppointmentScope; actor: Actor; now?: Date },
): Promise<{ record: AppointmentRecord; changed: boolean }> {
  const now = opts.now ?? new Date();
  return ds.transaction(async (m) => {
    const visit = await lockVisit(m, id, opts.scope ?? {});
    if (visit.state === 'cancelled') return { record: (await loadAppointment(m, id, opts.scope ?? {}))!, changed: false };
    if (isOpenConsult(visit.state)) {
      throw conflict('the appointment cannot be cancelled: the consult is in progress', 'invalid_state');
    }
    let next;
    try {
      next = transition(visit.state, 'cancel');
    } catch (err) {
      if (err instanceof InvalidTransition) {
        throw conflict(`the appointment cannot be cancelled: it is ${visit.state}`, 'invalid_state');
      }
      throw err;
    }
    await m.update(VisitEntity, { id: visit.id }, { state: next, updatedAt: now });
    await m.update(AppointmentEntity, { id }, { cancelledAt: now, updatedAt: now });
    await m
      .createQueryBuilder()
      .update(ParticipantEntity)
      .set({ revokedAt: now })
      .where(`appointment_id = :id AND kind <> 'clinician' AND revoked_at IS NULL`, { id })
      .execute();
    await recordAudit(m, {
      actorKind: opts.actor.kind,
      actorId: opts.actor.id,
      action: 'appointment.cancelled',
      appointmentId: id,
      data: { from: visit.state, to: next },
    });
    return { record: (await loadAppointment(m, id, opts.scope ?? {}))!, changed: true };
  });
}

// ---------------------------------------------------------------------------------------

export interface AppointmentJson {
  id: string;
  externalId: string | null;
  status: Visit['state'];
  /** ISO 8601 in the clinic's time zone, with offset. */
  start: string;
  durationMinutes: number;
  clinic: string;
  clinician: { id: string; email: string; name: string };
  /** birthDate null: a walk-in whose clinic does not ask for it. */
  patient: { name: string; birthDate: string | null; email: string | null; phone: string | null; language: Language };
  flags: AppointmentFlags;
  /** The full patient link; null once it is dead (cancelled, ended). */
  patientLink: string | null;
  waitingRoomOpensAt: string;
  linkValidUntil: string;
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function presentAppointment(cfg: LinkConfig, r: AppointmentRecord): AppointmentJson {
  const a = r.appointment;
  const tz = r.clinic.timezone;
  const alive = !isFinal(r.visit.state);
  return {
    id: a.id,
    externalId: a.externalId,
    status: r.visit.state,
    start: isoInZone(a.start, tz),
    durationMinutes: a.durationMinutes,
    clinic: r.clinic.code,
    clinician: { id: r.clinician.id, email: r.clinician.email, name: r.clinician.name },
    patient: {
      name: a.patientName,
      birthDate: a.patientBirthDate,
      email: a.patientEmail,
      phone: a.patientPhone,
      language: a.language,
    },
    flags: a.flags ?? {},
    patientLink: alive ? linkFor(cfg, r.patient) : null,
    waitingRoomOpensAt: isoInZone(opensAt(a, r.clinic), tz),
    linkValidUntil: isoInZone(linkValidUntil(a, r.clinic), tz),
    cancelledAt: a.cancelledAt ? a.cancelledAt.toISOString() : null,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------

/** The id of the appointment an integration knows by its own id (the EHR's), or null. */
export async function appointmentIdByExternalId(on: Queryable, integrationId: string, externalId: string): Promise<string | null> {
  const row = await db(on)
    .selectFrom('appointment')
    .select('id')
    .where('integration_id', '=', integrationId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The appointment an integration knows by its own id (loadAppointment's record), or null. */
export async function findAppointmentByExternalId(m: EntityManager, integrationId: string, externalId: string): Promise<AppointmentRecord | null> {
  const id = await appointmentIdByExternalId(m, integrationId, externalId);
  return id ? loadAppointment(m, id, { integrationId }) : null;
}

async function resolveClinician(m: EntityManager, clinicId: string, ref: string): Promise<Staff> {
  const where = UUID.test(ref) ? { id: ref.toLowerCase() } : { email: ref.trim().toLowerCase() };
  const staff = await m.findOne(StaffEntity, { where });
  const member =
    staff && staff.active && staff.role === 'clinician'
      ? await m.findOne(StaffClinicEntity, { where: { staffId: staff.id, clinicId } })
      : null;
  if (!staff || !member) throw invalid('clinician', 'no active clinician of this clinic with this id or e-mail address');
  return staff;
}

async function lockVisit(m: EntityManager, appointmentId: string, scope: AppointmentScope): Promise<Visit> {
  if (!UUID.test(appointmentId)) throw notFound('appointment');
  const a = await m.findOne(AppointmentEntity, { where: { id: appointmentId }, select: { id: true, integrationId: true } });
  if (!a || (scope.integrationId !== undefined && a.integrationId !== scope.integrationId)) throw notFound('appointment');
  const visit = await m.findOne(VisitEntity, { where: { appointmentId }, lock: { mode: 'pessimistic_write' } });
  if (!visit) throw notFound('appointment');
  return visit;
}

/**
 * THE loader of the appointment aggregate (appointment, clinic, clinician, patient, visit): the
 * API, FHIR, HL7, the consult report and the patient messages all read it here. null when there
 * is no such appointment, or the scope may not see it. (The live consult's view, with the visit
 * locked for a transition, is consult/context.ts loadConsult.)
 */
export async function loadAppointment(m: EntityManager, id: string, scope: AppointmentScope = {}): Promise<AppointmentRecord | null> {
  if (!UUID.test(id)) return null;
  const appointment = await m.findOne(AppointmentEntity, { where: { id } });
  if (!appointment) return null;
  if (scope.integrationId !== undefined && appointment.integrationId !== scope.integrationId) {
    // A walk-in (made by no integration) is readable by the integrations of its clinic.
    const walkIn = appointment.integrationId === null && appointment.flags?.walkIn === true;
    if (!walkIn || !(await integrationSeesClinic(m, scope.integrationId, appointment.clinicId))) return null;
  }
  // Sequential: inside a transaction these share one connection anyway.
  const clinic = await m.findOneOrFail(ClinicEntity, { where: { id: appointment.clinicId } });
  const clinician = await m.findOneOrFail(StaffEntity, { where: { id: appointment.clinicianId } });
  const patient = await m.findOne(ParticipantEntity, {
    where: { appointmentId: id, kind: 'patient' },
    order: { createdAt: 'ASC' },
  });
  const visit = await m.findOne(VisitEntity, { where: { appointmentId: id } });
  if (!patient || !visit) return null;
  return { appointment, clinic, clinician, patient, visit };
}

/**
 * Whether an integration may read this clinic's walk-ins: it is linked to the clinic, or to
 * no clinic at all (hospital-wide, as for the reports: reports/index.ts).
 */
export async function integrationSeesClinic(on: Queryable, integrationId: string, clinicId: string): Promise<boolean> {
  const rows = await db(on).selectFrom('integration_clinic').select('clinic_id').where('integration_id', '=', integrationId).execute();
  return rows.length === 0 || rows.some((r) => r.clinic_id === clinicId);
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.driverError?.code ?? e?.code;
  const name = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && name === constraint;
}
