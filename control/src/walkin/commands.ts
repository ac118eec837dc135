/**
 * Walk-in video hours (issue 18.3; the rules in domain/walk-in.ts): what the public walk-in page
 * asks (is it open, is the queue full), the registration that makes an appointment for the
 * clinic's walk-in lane, and the admin's settings. (Walk-ins nobody admitted are anonymised by
 * the housekeeping sweep, jobs/housekeeping.ts forgetUnseenWalkIns.)
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db, type Queryable } from '../db/kysely.js';
import { AppointmentEntity, VisitEntity, type Language } from '../db/entities.js';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import { recordAudit, type Actor } from '../domain/audit.js';
import { createLinkParticipant } from '../domain/appointments.js';
import { tokenFor, type LinkConfig } from '../domain/links.js';
import { closeNow, walkInDurationMinutes, walkInSettings, walkInStatus, type WalkInSettings, type WalkInStatus } from '../domain/walk-in.js';

/** Walk-ins counted against the queue: registered or waiting, nobody has admitted them yet. */
const QUEUED_STATES = ['scheduled', 'waiting'] as const;

interface ClinicRow {
  id: string;
  code: string;
  name: string;
  timezone: string;
  helpdesk_phone: string | null;
  walk_in: Partial<WalkInSettings>;
}

async function clinicRow(on: Queryable, code: string, lock = false): Promise<ClinicRow | null> {
  let q = db(on).selectFrom('clinic').select(['id', 'code', 'name', 'timezone', 'helpdesk_phone', 'walk_in']).where('code', '=', code);
  if (lock) q = q.forUpdate();
  return (await q.executeTakeFirst()) ?? null;
}

async function queueLength(on: Queryable, clinicId: string): Promise<number> {
  const r = await db(on)
    .selectFrom('appointment as a')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('a.clinic_id', '=', clinicId)
    .where(sql<string>`a.flags->>'walkIn'`, '=', 'true')
    .where('v.state', 'in', [...QUEUED_STATES])
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** What the public page shows: the clinic, open or when it opens, the fields it asks, a full queue. */
export interface WalkInView {
  clinic: { code: string; name: string; helpdeskPhone: string | null; timezone: string };
  open: boolean;
  /** Closed: why ('closed_now' by the clinic, 'outside_hours'), and the next opening (null: not known). */
  reason: 'closed_now' | 'outside_hours' | null;
  opensAt: string | null;
  closesAt: string | null;
  queueFull: boolean;
  require: WalkInSettings['require'];
}

/** The public view; not_found when the clinic has no walk-in hours (off or no such clinic). */
export async function walkInView(ds: DataSource, code: string, now = new Date()): Promise<WalkInView> {
  const c = await clinicRow(ds, code);
  const s = c ? walkInSettings(c.walk_in) : null;
  if (!c || !s?.enabled) throw notFound('walk-in hours');
  let status = walkInStatus(s, c.timezone, now);
  // Without its clinician (deactivated, or no longer of this clinic) the lane cannot take anyone: closed.
  if (status.open && !(s.clinicianId && (await laneClinician(ds, c.id, s.clinicianId)))) status = { open: false, reason: 'closed_now', opensAt: null };
  const full = status.open ? (await queueLength(ds, c.id)) >= s.maxQueue : false;
  return {
    clinic: { code: c.code, name: c.name, helpdeskPhone: c.helpdesk_phone, timezone: c.timezone },
    open: status.open,
    reason: status.open ? null : status.reason === 'off' ? 'closed_now' : status.reason,
    opensAt: status.open ? null : (status.opensAt?.toISOString() ?? null),
    closesAt: status.open ? status.closesAt.toISOString() : null,
    queueFull: full,
    require: s.require,
  };
}

export interface WalkInRegistration {
  name: string;
  birthDate?: string | null;
  phone?: string | null;
  language: Language;
  consent: true;
}

/**
 * A walk-in patient registers: checked under the clinic's row lock (two at once cannot both
 * take the last place), then an appointment for the walk-in lane with its patient link. The
 * link (`/p/<token>`) is returned once; the patient's page goes on from there like any other.
 */
export async function registerWalkIn(
  ds: DataSource,
  cfg: LinkConfig,
  code: string,
  input: WalkInRegistration,
  now = new Date(),
): Promise<{ appointmentId: string; path: string }> {
  return ds.transaction(async (m) => {
    const c = await clinicRow(m, code, true);
    const s = c ? walkInSettings(c.walk_in) : null;
    if (!c || !s?.enabled) throw notFound('walk-in hours');
    // What the clinic asks, before anything else: a field left out is named (400), nothing written.
    if (s.require.birthDate && !input.birthDate) throw invalid('birthDate', 'is required');
    if (s.require.phone && !input.phone) throw invalid('phone', 'is required');
    const status = walkInStatus(s, c.timezone, now);
    if (!status.open) {
      throw new DomainError('conflict', `the walk-in hours are closed${status.opensAt ? `; they open at ${status.opensAt.toISOString()}` : ''}`, undefined, 'walk_in_closed');
    }
    if ((await queueLength(m, c.id)) >= s.maxQueue) {
      throw new DomainError('conflict', `the walk-in queue is full; please call ${c.helpdesk_phone ?? 'the clinic'}`, undefined, 'queue_full');
    }
    const clinician = s.clinicianId ? await laneClinician(m, c.id, s.clinicianId) : null;
    if (!clinician) throw new DomainError('conflict', 'the walk-in hours are closed', undefined, 'walk_in_closed');

    const appointment = await m.save(AppointmentEntity, {
      integrationId: null,
      externalId: null,
      clinicId: c.id,
      clinicianId: clinician,
      start: now,
      durationMinutes: walkInDurationMinutes(status, now),
      patientName: input.name,
      patientBirthDate: input.birthDate ?? null,
      patientEmail: null,
      patientPhone: input.phone ?? null,
      language: input.language,
      flags: { walkIn: true },
    });
    const patient = await createLinkParticipant(m, cfg, { appointmentId: appointment.id, kind: 'patient', displayName: input.name, language: input.language });
    await m.insert(VisitEntity, { appointmentId: appointment.id, state: 'scheduled' });
    await recordAudit(m, {
      actorKind: 'patient',
      actorId: patient.id,
      action: 'walk_in.registered',
      appointmentId: appointment.id,
      // Which details were given, never the details; the consent to a video consult as given.
      data: { clinicId: c.id, clinicianId: clinician, consentVideo: input.consent, given: ['name', ...(input.birthDate ? ['birthDate'] : []), ...(input.phone ? ['phone'] : [])] },
    });
    const token = tokenFor(cfg, patient);
    if (!token) throw new Error('a new patient link has no token');
    return { appointmentId: appointment.id, path: `/p/${token}` };
  });
}

/** The lane's clinician id when it is still an active clinician of the clinic. */
async function laneClinician(on: Queryable, clinicId: string, staffId: string): Promise<string | null> {
  const r = await db(on)
    .selectFrom('staff as s')
    .innerJoin('staff_clinic as sc', 'sc.staff_id', 's.id')
    .select('s.id')
    .where('s.id', '=', staffId)
    .where('sc.clinic_id', '=', clinicId)
    .where('s.role', '=', 'clinician')
    .where('s.active', '=', true)
    .executeTakeFirst();
  return r?.id ?? null;
}

// ---------------------------------------------------------------- admin

export interface WalkInAdminView {
  settings: WalkInSettings;
  /** The public link's path (the page adds the public address). */
  path: string;
  /** As the patient page would say now. */
  status: { open: boolean; reason: string | null; opensAt: string | null; closesAt: string | null };
  queue: number;
}

function statusJson(st: WalkInStatus) {
  return st.open
    ? { open: true, reason: null, opensAt: null, closesAt: st.closesAt.toISOString() }
    : { open: false, reason: st.reason, opensAt: st.opensAt?.toISOString() ?? null, closesAt: null };
}

export async function getWalkInSettings(ds: DataSource, code: string, now = new Date()): Promise<WalkInAdminView> {
  const c = await clinicRow(ds, code);
  if (!c) throw notFound('clinic');
  const s = walkInSettings(c.walk_in);
  return { settings: s, path: `/inloop/${c.code}`, status: statusJson(walkInStatus(s, c.timezone, now)), queue: await queueLength(ds, c.id) };
}

/** The admin's settings (validated shape: admin/schema.ts WalkInSettingsInput); `closed` is set by closeWalkIn. */
export async function saveWalkInSettings(
  ds: DataSource,
  code: string,
  input: Omit<WalkInSettings, 'closed'>,
  actor: Actor,
  now = new Date(),
): Promise<WalkInAdminView> {
  await ds.transaction(async (m) => {
    const c = await clinicRow(m, code, true);
    if (!c) throw notFound('clinic');
    if (input.clinicianId && !(await laneClinician(m, c.id, input.clinicianId))) {
      throw invalid('clinicianId', 'must be an active clinician of this clinic');
    }
    if (input.enabled && !input.clinicianId) throw invalid('clinicianId', 'is required to switch walk-in hours on (the walk-in patients wait under this clinician until someone admits them)');
    const before = walkInSettings(c.walk_in);
    const next: WalkInSettings = { ...input, closed: before.closed };
    await db(m).updateTable('clinic').set({ walk_in: JSON.stringify(next) }).where('id', '=', c.id).execute();
    await recordAudit(m, { actorKind: actor.kind, actorId: actor.id, action: 'clinic.walk_in_changed', appointmentId: null, data: { clinic: c.code, enabled: next.enabled, maxQueue: next.maxQueue } });
  });
  return getWalkInSettings(ds, code, now);
}

/** "Close now" (until the next opening, or until switched back: `until` 'reopen'), or open again (`closed` false). */
export async function closeWalkIn(
  ds: DataSource,
  code: string,
  input: { closed: boolean; until?: 'next_opening' | 'reopen' },
  actor: Actor,
  now = new Date(),
): Promise<WalkInAdminView> {
  await ds.transaction(async (m) => {
    const c = await clinicRow(m, code, true);
    if (!c) throw notFound('clinic');
    const s = walkInSettings(c.walk_in);
    const closed = input.closed ? closeNow(s, c.timezone, now, input.until !== 'reopen') : null;
    await db(m).updateTable('clinic').set({ walk_in: JSON.stringify({ ...s, closed }) }).where('id', '=', c.id).execute();
    await recordAudit(m, { actorKind: actor.kind, actorId: actor.id, action: input.closed ? 'clinic.walk_in_closed' : 'clinic.walk_in_reopened', appointmentId: null, data: { clinic: c.code, until: closed?.until ?? null } });
  });
  return getWalkInSettings(ds, code, now);
}
