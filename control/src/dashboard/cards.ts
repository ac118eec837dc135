/**
 * The assistant's dashboard cards: one per appointment of a clinic's day, read from
 * PostgreSQL (the truth) plus Redis (who is connected, a device test running now). A card
 * carries the patient's name (or initials, by clinic setting) and never contact data.
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import type { RedisClientType } from 'redis';
import type { Hub } from '../realtime/hub.js';
import type { VisitState } from '../domain/visit-state.js';
import { latestQuality } from '../quality/store.js';
import { failedMessages } from '../notify/failed.js';
import { initialsOf } from '../domain/contact.js';
import { visibleWait, type WaitDisplay, type WaitEstimate, type WaitInfo } from '../domain/waiting-line.js';
import { lineOf } from '../consult/waiting-line.js';
import { inWalkInLane } from '../consult/context.js';

export type CardStatus =
  | 'not_arrived'
  | 'testing'
  | 'waiting'
  | 'in_consult'
  | 'dropped'
  | 'ended'
  | 'no_show'
  | 'expired'
  | 'phone'
  | 'cancelled';

export interface DashboardCard {
  id: string;
  clinicId: string;
  clinicianId: string;
  clinicianName: string;
  /** The clinic's calendar day of the appointment (YYYY-MM-DD). */
  day: string;
  start: string;
  durationMinutes: number;
  /** Full name, or initials when the clinic shows initials only. */
  displayName: string;
  status: CardStatus;
  visitState: VisitState;
  waitingSince: string | null;
  /** Device-test outcome: the server's network grade, and whether camera and microphone worked. */
  deviceTest: { grade: 'good' | 'fair' | 'poor' | null; camera: boolean | null; microphone: boolean | null; at: string | null } | null;
  language: 'nl' | 'en';
  interpreter: boolean;
  companion: boolean;
  /** Who has a live connection now. */
  present: { patient: boolean; guests: number; clinician: boolean };
  /** Patient messages (invitation, reminders) that failed for good and were not sent later. */
  failedMessages: Array<{ kind: string; channel: string }>;
  /** Latest live call quality (the patient's when measured, else the worst), fresh only. */
  quality: { grade: 'good' | 'fair' | 'poor'; role: string } | null;
  /** An open callback task. */
  callbackOpen: boolean;
  /** Waiting: place in the clinician's line and the estimate, as the patient sees them (clinic setting). */
  wait: WaitInfo | null;
  /** A walk-in (domain/walk-in.ts). */
  walkIn: boolean;
  /** The lane the card is in: its clinician's id, or WALK_IN_LANE for a walk-in nobody has admitted yet. */
  lane: string;
}

/** The clinic's walk-in lane (any clinician of the clinic may admit its patients). */
export const WALK_IN_LANE = 'walk-in';

const TESTING_TTL_SECONDS = 45;
const testingKey = (appointmentId: string) => `spk:device-testing:${appointmentId}`;

/** The relay says a device test (network test through Janus) started or stopped. */
export async function noteDeviceTest(hub: Hub, appointmentId: string, running: boolean): Promise<void> {
  if (running) await hub.redis.set(testingKey(appointmentId), '1', { EX: TESTING_TTL_SECONDS });
  else if ((await hub.redis.del(testingKey(appointmentId))) === 0) return;
  await hub.tellClinicOf(appointmentId);
}

/** The cards' rows: appointment, clinic, visit, clinician, the patient's participant, live guests, open callback. */
function cardQuery(ds: DataSource) {
  return db(ds)
    .selectFrom('appointment as a')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .innerJoin('staff as s', 's.id', 'a.clinician_id')
    .leftJoin('participant as p', (j) => j.onRef('p.appointment_id', '=', 'a.id').on('p.kind', '=', 'patient'))
    .select((eb) => [
      'a.id', 'a.clinic_id', 'a.clinician_id', 's.name as clinician_name', 'a.start', 'a.duration_minutes',
      'a.patient_name', 'a.language', 'a.flags', 'c.walk_in', 'c.initials_only', 'c.wait_display', 'c.timezone',
      sql<string>`to_char(a.start AT TIME ZONE c.timezone, 'YYYY-MM-DD')`.as('day'),
      'v.state', 'v.waiting_since', 'v.device_test', 'v.device_tested_at', 'v.companion',
      'p.id as patient_participant_id',
      sql<string[]>`ARRAY(SELECT g.id FROM participant g WHERE g.appointment_id = a.id AND g.kind = 'guest' AND g.revoked_at IS NULL)`.as('guest_ids'),
      eb
        .exists(eb.selectFrom('callback_task as ct').select('ct.id').whereRef('ct.appointment_id', '=', 'a.id').where('ct.done_at', 'is', null))
        .$castTo<boolean>()
        .as('callback_open'),
    ]);
}
type Row = Awaited<ReturnType<ReturnType<typeof cardQuery>['execute']>>[number];

/** Every card of a clinic's day (`day` YYYY-MM-DD in the clinic's time zone), by start time. */
export async function cardsOfDay(ds: DataSource, hub: Hub, clinicId: string, day: string): Promise<DashboardCard[]> {
  const rows = await cardQuery(ds)
    .where('a.clinic_id', '=', clinicId)
    .where('v.state', '<>', 'cancelled')
    .where('a.start', '>=', sql<Date>`(${day}::date)::timestamp AT TIME ZONE c.timezone`)
    .where('a.start', '<', sql<Date>`(${day}::date + 1)::timestamp AT TIME ZONE c.timezone`)
    .orderBy('a.start')
    .orderBy('a.id')
    .execute();
  return present(ds, hub.redis, rows);
}

/** One card, whatever its day (the dashboard drops cards of other days). */
export async function cardOf(ds: DataSource, hub: Hub, appointmentId: string): Promise<DashboardCard | null> {
  const rows = await cardQuery(ds).where('a.id', '=', appointmentId).execute();
  const [card] = await present(ds, hub.redis, rows);
  return card ?? null;
}

const WORST = { good: 0, fair: 1, poor: 2 } as const;

async function present(ds: DataSource, redis: RedisClientType, rows: Row[]): Promise<DashboardCard[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  // One round trip for every presence and device-test key of the day.
  const keys: string[] = [];
  for (const r of rows) {
    keys.push(testingKey(r.id), `spk:presence:staff:${r.clinician_id}`);
    if (r.patient_participant_id) keys.push(`spk:presence:${r.patient_participant_id}`);
    for (const g of r.guest_ids ?? []) keys.push(`spk:presence:${g}`);
  }
  const [values, quality, failed, lines] = await Promise.all([redis.mGet(keys), latestQuality(redis, ids), failedMessages(ds, ids), linesOf(ds, rows)]);
  const live = new Set(keys.filter((_, i) => values[i] != null));
  return rows.map((r) => {
    const testing = live.has(testingKey(r.id));
    const dt = r.device_test;
    return {
      id: r.id,
      clinicId: r.clinic_id,
      clinicianId: r.clinician_id,
      clinicianName: r.clinician_name,
      day: r.day,
      start: r.start.toISOString(),
      durationMinutes: r.duration_minutes,
      displayName: r.initials_only ? initialsOf(r.patient_name) : r.patient_name,
      status: statusOf(r.state, testing, r.callback_open),
      visitState: r.state,
      waitingSince: r.waiting_since ? r.waiting_since.toISOString() : null,
      deviceTest: dt
        ? {
            grade: dt.network?.grade ?? null,
            camera: typeof dt.camera === 'string' ? dt.camera === 'ok' : typeof dt.camera === 'boolean' ? dt.camera : null,
            microphone:
              typeof dt.microphone === 'string' ? dt.microphone === 'ok' : typeof dt.microphone === 'boolean' ? dt.microphone : null,
            at: r.device_tested_at ? r.device_tested_at.toISOString() : null,
          }
        : null,
      language: r.language,
      interpreter: r.flags?.interpreter === true,
      companion: r.companion,
      present: {
        patient: r.patient_participant_id ? live.has(`spk:presence:${r.patient_participant_id}`) : false,
        guests: (r.guest_ids ?? []).filter((g) => live.has(`spk:presence:${g}`)).length,
        clinician: live.has(`spk:presence:staff:${r.clinician_id}`),
      },
      failedMessages: (failed.get(r.id) ?? []).map((f) => ({ kind: f.kind, channel: f.channel })),
      quality: pickQuality(quality.get(r.id) ?? []),
      callbackOpen: r.callback_open,
      wait: r.state === 'waiting' ? visibleWait(r.wait_display, lines.get(r.clinician_id)?.get(r.id)) : null,
      walkIn: r.flags?.walkIn === true,
      lane: inWalkInLane(r.flags, r.state, r.clinician_id, r.walk_in) ? WALK_IN_LANE : r.clinician_id,
    };
  });
}

/** The waiting line of every clinician with a waiting patient on these cards (clinics that show it). */
async function linesOf(ds: DataSource, rows: Row[]): Promise<Map<string, Map<string, WaitEstimate>>> {
  const lanes = new Map<string, string>();
  for (const r of rows) if (r.state === 'waiting' && r.wait_display !== 'none') lanes.set(r.clinician_id, r.timezone);
  const lines = await Promise.all([...lanes].map(async ([clinicianId, tz]) => [clinicianId, await lineOf(ds.manager, clinicianId, tz)] as const));
  return new Map(lines);
}

/**
 * One clinician's waiting line as the clinic shows it (the dashboard re-draws the other waiting
 * cards of a lane when one card changes); null when the clinic shows nothing.
 */
export async function clinicianLine(ds: DataSource, clinicId: string, clinicianId: string): Promise<Record<string, WaitInfo> | null> {
  const clinic = await db(ds).selectFrom('clinic').select(['wait_display', 'timezone']).where('id', '=', clinicId).executeTakeFirst();
  if (!clinic || clinic.wait_display === 'none') return null;
  const line = await lineOf(ds.manager, clinicianId, clinic.timezone);
  const out: Record<string, WaitInfo> = {};
  for (const [id, w] of line) {
    const v = visibleWait(clinic.wait_display, w);
    if (v) out[id] = v;
  }
  return out;
}

function pickQuality(list: Array<{ role: string; grade: 'good' | 'fair' | 'poor' }>): DashboardCard['quality'] {
  const patient = list.find((q) => q.role === 'patient');
  const pick = patient ?? [...list].sort((a, b) => WORST[b.grade] - WORST[a.grade])[0];
  return pick ? { grade: pick.grade, role: pick.role } : null;
}

export function statusOf(state: VisitState | 'cancelled', testing: boolean, callbackOpen: boolean): CardStatus {
  if (state === 'cancelled') return 'cancelled';
  if (callbackOpen && state !== 'admitted' && state !== 'in_consult') return 'phone';
  switch (state) {
    case 'scheduled':
      return testing ? 'testing' : 'not_arrived';
    case 'waiting':
      return 'waiting';
    case 'admitted':
    case 'in_consult':
      return 'in_consult';
    default:
      return state;
  }
}

/** One function for initials everywhere (domain/contact.ts). */
export { initialsOf };

/** Today (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** Each clinician's own delay message in this clinic (those who set one). */
export async function clinicianDelays(ds: DataSource, clinicId: string): Promise<Map<string, string>> {
  const rows = await db(ds)
    .selectFrom('staff_clinic')
    .select(['staff_id', 'delay_message'])
    .where('clinic_id', '=', clinicId)
    .where('delay_message', 'is not', null)
    .execute();
  return new Map(rows.flatMap((d) => (d.delay_message === null ? [] : [[d.staff_id, d.delay_message] as const])));
}

/** These clinics (id, code, name) by name. */
export async function clinicsByIds(ds: DataSource, ids: string[]): Promise<Array<{ id: string; code: string; name: string }>> {
  if (!ids.length) return [];
  return db(ds).selectFrom('clinic').select(['id', 'code', 'name']).where('id', 'in', ids).orderBy('name').orderBy('code').execute();
}
