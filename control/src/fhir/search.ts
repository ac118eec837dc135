/**
 * The search parameters /fhir/Appointment understands: identifier (token) and date (on
 * Appointment.start, with the prefixes eq ge gt le lt), plus _count. Anything else is a 400:
 * a search that silently ignored a filter would hand the EHR appointments it did not ask for.
 */
import type { DataSource } from 'typeorm';
import { db } from '../db/kysely.js';
import { appointmentIdByExternalId } from '../domain/appointments.js';
import { isRealDate } from '../domain/contact.js';
import { isoInZone } from '../domain/time-windows.js';
import { BadRequest } from './outcome.js';

export interface AppointmentSearch {
  identifier?: string;
  /** start >= from and start < until (either may be absent). */
  from?: Date;
  until?: Date;
  count: number;
}

export const SEARCH_ZONE = 'Europe/Amsterdam';
export const MAX_COUNT = 100;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A wall-clock time (YYYY-MM-DDTHH:MM:SS) in a time zone, as an instant. */
export function localInstant(local: string, timeZone: string): Date {
  const guess = Date.parse(`${local}Z`);
  const offsetAt = (t: number) => {
    const iso = isoInZone(new Date(t), timeZone);
    const o = /([+-])(\d{2}):(\d{2})$/.exec(iso);
    return o ? (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000 : 0;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}

/** Local midnight of a calendar day in a time zone, as an instant. */
export function startOfDay(day: string, timeZone: string): Date {
  return localInstant(`${day}T00:00:00`, timeZone);
}

function range(value: string): { lo: Date; hi: Date } {
  if (DAY.test(value)) {
    const lo = startOfDay(value, SEARCH_ZONE);
    if (!isRealDate(value) || Number.isNaN(lo.getTime())) throw BadRequest(undefined, 'date: not a real date', 'value');
    const next = new Date(Date.parse(`${value}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    return { lo, hi: startOfDay(next, SEARCH_ZONE) };
  }
  if (INSTANT.test(value) && !Number.isNaN(Date.parse(value))) {
    const lo = new Date(Date.parse(value));
    const precisionMs = value.includes('.') ? 1 : /T\d{2}:\d{2}:\d{2}/.test(value) ? 1000 : 60_000;
    return { lo, hi: new Date(lo.getTime() + precisionMs) };
  }
  throw BadRequest(undefined, `date: "${value.slice(0, 40)}" must be YYYY-MM-DD or a date-time with offset, after an optional prefix eq, ge, gt, le or lt`, 'value');
}

export function parseSearch(query: Record<string, string | string[] | undefined>): AppointmentSearch {
  const out: AppointmentSearch = { count: 50 };
  const narrowFrom = (d: Date) => { if (!out.from || d > out.from) out.from = d; };
  const narrowUntil = (d: Date) => { if (!out.until || d < out.until) out.until = d; };
  for (const [name, raw] of Object.entries(query)) {
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (name === '_format') continue;
    if (name === '_count') {
      const n = Number(values[values.length - 1]);
      if (!Number.isInteger(n) || n < 0) throw BadRequest(undefined, '_count: must be a whole number', 'value');
      out.count = Math.min(n, MAX_COUNT);
    } else if (name === 'identifier') {
      if (values.length !== 1 || !values[0]) throw BadRequest(undefined, 'identifier: give one value ([system|]value)', 'value');
      const v = values[0];
      const bar = v.indexOf('|');
      out.identifier = bar >= 0 ? v.slice(bar + 1) : v;
      if (!out.identifier || out.identifier.length > 200) throw BadRequest(undefined, 'identifier: the value is missing or too long', 'value');
    } else if (name === 'date') {
      for (const v of values) {
        const m = /^(eq|ge|gt|le|lt)?(.+)$/.exec(v);
        if (!m) throw BadRequest(undefined, 'date: is empty', 'value');
        const { lo, hi } = range(m[2]!);
        switch (m[1] ?? 'eq') {
          case 'eq': narrowFrom(lo); narrowUntil(hi); break;
          case 'ge': narrowFrom(lo); break;
          case 'gt': narrowFrom(hi); break;
          case 'lt': narrowUntil(lo); break;
          case 'le': narrowUntil(hi); break;
        }
      }
    } else {
      throw BadRequest(undefined, `${name.slice(0, 40)}: is not a supported search parameter (identifier, date, _count)`, 'not-supported');
    }
  }
  return out;
}

/** The integration's appointments matching a search: how many in all, and the ids of the first `count` by start. */
export async function searchAppointments(ds: DataSource, integrationId: string, q: AppointmentSearch): Promise<{ total: number; ids: string[] }> {
  let base = db(ds).selectFrom('appointment').where('integration_id', '=', integrationId);
  if (q.identifier !== undefined) base = base.where('external_id', '=', q.identifier);
  if (q.from) base = base.where('start', '>=', q.from);
  if (q.until) base = base.where('start', '<', q.until);
  const { n } = await base.select((eb) => eb.cast<number>(eb.fn.countAll(), 'integer').as('n')).executeTakeFirstOrThrow();
  const rows = await base.select('id').orderBy('start').orderBy('id').limit(q.count).execute();
  return { total: n, ids: rows.map((r) => r.id) };
}

/** The integration's appointments with this identifier (the EHR's id): none or one. */
export async function appointmentIdsByIdentifier(ds: DataSource, integrationId: string, identifier: string): Promise<string[]> {
  const id = await appointmentIdByExternalId(ds, integrationId, identifier);
  return id ? [id] : [];
}
