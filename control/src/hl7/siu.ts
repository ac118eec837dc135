/**
 * HL7 v2 SIU (scheduling) messages read into the appointment commands' inputs. Pure: no
 * database, no sockets. A message that cannot be used throws Hl7Reject, which becomes an ACK
 * with AR (the message itself is unacceptable: type, version) or AE (its content), and an ERR
 * segment naming the field (`SCH^1^11`).
 *
 * Mapping (docs/integration-hl7.md has the full table):
 *   SCH-2.1 (filler id), else SCH-1.1 (placer id)   externalId
 *   SCH-11.4 start, SCH-11.5 end; else SCH-9/10     start, durationMinutes (AIL-6/AIP-6 as fallback start)
 *   AIL-3.1, else PV1-3.1 (point of care)            clinic code (lower case)
 *   AIP-3.1, else AIG-3.1, else PV1-7.1              clinician: staff e-mail address or staff id
 *   PID-5 name, PID-7 birth date, PID-13/14 phone and e-mail, PID-15 language
 */
import { Hl7Field, type Hl7Message, type Hl7Segment } from '@medplum/core';
import type { CreateAppointmentInput } from '../domain/appointments.js';
import type { Language } from '../db/entities.js';
import { BirthDate, ClinicCode, DurationMinutes, Email, ExternalId, Phone, Start } from '../api/v1/appointments/schema.js';
import { localInstant } from '../fhir/search.js';
import type { z } from 'zod';

export const SIU_EVENTS = ['S12', 'S13', 'S14', 'S15', 'S17', 'S26'] as const;
export type SiuEvent = (typeof SIU_EVENTS)[number];
export const SUPPORTED_VERSIONS = ['2.3', '2.3.1', '2.4', '2.5', '2.5.1'] as const;

/** HL7 table 0357 (message error condition codes) that we use. */
export const ErrorCode = {
  segmentSequence: 100,
  requiredFieldMissing: 101,
  dataTypeError: 102,
  tableValueNotFound: 103,
  unsupportedMessageType: 200,
  unsupportedEvent: 201,
  unsupportedVersion: 203,
  unknownKey: 204,
  internalError: 207,
} as const;

const ERROR_TEXT: Record<number, string> = {
  100: 'Segment sequence error', 101: 'Required field missing', 102: 'Data type error', 103: 'Table value not found',
  200: 'Unsupported message type', 201: 'Unsupported event code', 203: 'Unsupported version id', 204: 'Unknown key identifier',
  207: 'Application internal error',
};

export class Hl7Reject extends Error {
  constructor(
    public readonly ack: 'AE' | 'AR',
    public readonly code: number,
    /** segment^sequence^field[^component], e.g. SCH^1^11^4 */
    public readonly location: string,
    message: string,
  ) {
    super(message);
    this.name = 'Hl7Reject';
  }

  get codeText(): string {
    return ERROR_TEXT[this.code] ?? 'Error';
  }
}

/** A field's text; '' when the segment or the field is absent (getField gives undefined past the end). */
export function fieldText(seg: Hl7Segment | undefined, n: number): string {
  return (seg?.getField(n) as Hl7Field | undefined)?.toString() ?? '';
}

function fieldOf(seg: Hl7Segment, n: number): Hl7Field {
  return (seg.getField(n) as Hl7Field | undefined) ?? new Hl7Field([['']], seg.context);
}

const reject = (code: number, location: string, text: string) => new Hl7Reject('AE', code, location, text);

export interface SiuHeader {
  event: SiuEvent;
  version: string;
  controlId: string;
}

/** MSH: an SIU of a supported event and version (AR otherwise). */
export function readHeader(msg: Hl7Message): SiuHeader {
  const msh = msg.header;
  const type = msh.getComponent(9, 1);
  const event = msh.getComponent(9, 2);
  const version = msh.getComponent(12, 1);
  const controlId = fieldText(msh, 10);
  if (!controlId) throw new Hl7Reject('AR', ErrorCode.requiredFieldMissing, 'MSH^1^10', 'MSH-10 (message control id) is required');
  if (type !== 'SIU') throw new Hl7Reject('AR', ErrorCode.unsupportedMessageType, 'MSH^1^9^1', `only SIU messages are accepted, not ${type.slice(0, 10) || 'none'}`);
  if (!(SIU_EVENTS as readonly string[]).includes(event)) {
    throw new Hl7Reject('AR', ErrorCode.unsupportedEvent, 'MSH^1^9^2', `SIU events ${SIU_EVENTS.join(', ')} are accepted, not ${event.slice(0, 10) || 'none'}`);
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new Hl7Reject('AR', ErrorCode.unsupportedVersion, 'MSH^1^12', `versions ${SUPPORTED_VERSIONS.join(', ')} are accepted, not ${version.slice(0, 10) || 'none'}`);
  }
  return { event: event as SiuEvent, version, controlId };
}

function segment(msg: Hl7Message, name: string, required = true): Hl7Segment | undefined {
  const s = msg.getSegment(name);
  if (!s && required) throw reject(ErrorCode.segmentSequence, `${name}^1`, `the ${name} segment is required`);
  return s;
}

function checked<S extends z.ZodType>(schema: S, value: unknown, location: string, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw reject(ErrorCode.dataTypeError, location, `${what}: ${r.error.issues[0]?.message ?? 'is invalid'}`);
  return r.data;
}

/** The EHR's id: the filler's appointment id (SCH-2), else the placer's (SCH-1). */
export function readExternalId(msg: Hl7Message): string {
  const sch = segment(msg, 'SCH')!;
  const filler = sch.getComponent(2, 1);
  const placer = sch.getComponent(1, 1);
  if (!filler && !placer) throw reject(ErrorCode.requiredFieldMissing, 'SCH^1^2', 'SCH-2 (filler appointment id) or SCH-1 (placer appointment id) is required');
  return checked(ExternalId, filler || placer, filler ? 'SCH^1^2' : 'SCH^1^1', filler ? 'SCH-2' : 'SCH-1');
}

const TS = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$/;

/** An HL7 TS/DTM with at least minutes; without an offset it is wall-clock time in `timeZone`. */
export function parseHl7Time(value: string, timeZone: string): Date | null {
  const m = TS.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi = '00', s = '00', off] = m;
  const local = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
  if (Number.isNaN(Date.parse(`${local}Z`))) return null;
  if (off) return new Date(Date.parse(`${local}${off.slice(0, 3)}:${off.slice(3)}`));
  return localInstant(local, timeZone);
}

function minutesFrom(amount: string, units: string): number {
  const n = Number(amount);
  const u = units.toLowerCase();
  if (u === 'h' || u === 'hr' || u === 'hour' || u === 'hours') return n * 60;
  if (u === 's' || u === 'sec' || u === 'seconds') return n / 60;
  return n; // min, m, minutes, or none given
}

export function readTimes(msg: Hl7Message, timeZone: string): { start: Date; durationMinutes: number } {
  const sch = segment(msg, 'SCH')!;
  const aip = segment(msg, 'AIP', false);
  const ail = segment(msg, 'AIL', false);
  let where = 'SCH^1^11^4';
  let raw = sch.getComponent(11, 4);
  if (!raw && fieldText(ail, 6)) [raw, where] = [ail!.getComponent(6, 1), 'AIL^1^6'];
  if (!raw && fieldText(aip, 6)) [raw, where] = [aip!.getComponent(6, 1), 'AIP^1^6'];
  if (!raw) throw reject(ErrorCode.requiredFieldMissing, 'SCH^1^11^4', 'the start time (SCH-11.4) is required');
  const parsed = parseHl7Time(raw, timeZone);
  if (!parsed) throw reject(ErrorCode.dataTypeError, where, 'the start time must be YYYYMMDDHHMM[SS][+ZZZZ]');
  const start = checked(Start, parsed.toISOString().replace('Z', '+00:00'), where, 'start');

  let minutes: number | undefined;
  let durWhere = 'SCH^1^9';
  const endRaw = sch.getComponent(11, 5);
  if (endRaw) {
    const end = parseHl7Time(endRaw, timeZone);
    if (!end) throw reject(ErrorCode.dataTypeError, 'SCH^1^11^5', 'the end time must be YYYYMMDDHHMM[SS][+ZZZZ]');
    minutes = (end.getTime() - start.getTime()) / 60_000;
    durWhere = 'SCH^1^11^5';
  } else if (fieldText(sch, 9)) {
    minutes = minutesFrom(sch.getComponent(9, 1), sch.getComponent(10, 1));
  } else if (fieldText(aip, 9)) {
    minutes = minutesFrom(aip!.getComponent(9, 1), aip!.getComponent(10, 1));
    durWhere = 'AIP^1^9';
  } else if (fieldText(ail, 9)) {
    minutes = minutesFrom(ail!.getComponent(9, 1), ail!.getComponent(10, 1));
    durWhere = 'AIL^1^9';
  }
  if (minutes === undefined) throw reject(ErrorCode.requiredFieldMissing, 'SCH^1^9', 'the duration (SCH-9 and SCH-10, or the end in SCH-11.5) is required');
  return { start, durationMinutes: checked(DurationMinutes, minutes, durWhere, 'duration') };
}

export function readClinic(msg: Hl7Message): string {
  const ail = segment(msg, 'AIL', false);
  const pv1 = segment(msg, 'PV1', false);
  const fromAil = ail?.getComponent(3, 1) ?? '';
  const code = fromAil || (pv1?.getComponent(3, 1) ?? '');
  const where = fromAil ? 'AIL^1^3^1' : 'PV1^1^3^1';
  if (!code) throw reject(ErrorCode.requiredFieldMissing, 'AIL^1^3^1', 'the clinic code (AIL-3.1 or PV1-3.1) is required');
  return checked(ClinicCode, code.toLowerCase(), where, 'clinic');
}

export function readClinician(msg: Hl7Message): string {
  for (const [name, field] of [['AIP', 3], ['AIG', 3], ['PV1', 7]] as const) {
    const v = segment(msg, name, false)?.getComponent(field, 1);
    if (v) {
      if (v.length > 254) throw reject(ErrorCode.dataTypeError, `${name}^1^${field}^1`, 'the clinician id is too long');
      return v;
    }
  }
  throw reject(ErrorCode.requiredFieldMissing, 'AIP^1^3^1', 'the clinician (AIP-3.1: staff e-mail address or staff id) is required');
}

const LANGUAGES: Record<string, Language> = { nl: 'nl', nld: 'nl', dut: 'nl', en: 'en', eng: 'en' };

export interface PatientPart {
  name: string;
  birthDate: string;
  email: string | null;
  phone: string | null;
  language: Language;
}

export function readPatient(msg: Hl7Message): PatientPart {
  const pid = segment(msg, 'PID')!;
  const nameField = fieldOf(pid, 5);
  // XPN: family name (FN: surname & own prefix & own surname) ^ given ^ middle ^ suffix ^ prefix.
  // (@medplum/core counts subcomponents from 0, components from 1.)
  const surname = nameField.getComponent(1, 2) || nameField.getComponent(1, 0);
  const ownPrefix = nameField.getComponent(1, 1);
  const parts = [nameField.getComponent(5), nameField.getComponent(2), nameField.getComponent(3), ownPrefix, surname, nameField.getComponent(4)];
  const name = parts.map((p) => p.trim()).filter(Boolean).join(' ');
  if (!name) throw reject(ErrorCode.requiredFieldMissing, 'PID^1^5', 'the patient\'s name (PID-5) is required');
  if (name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) throw reject(ErrorCode.dataTypeError, 'PID^1^5', 'the patient\'s name is too long or has control characters');
  const dob = pid.getComponent(7, 1);
  if (!dob) throw reject(ErrorCode.requiredFieldMissing, 'PID^1^7', 'the birth date (PID-7) is required');
  const birthDate = checked(BirthDate, /^\d{8}/.test(dob) ? `${dob.slice(0, 4)}-${dob.slice(4, 6)}-${dob.slice(6, 8)}` : dob, 'PID^1^7', 'PID-7');

  let email: string | null = null;
  let phone: string | null = null;
  for (const fieldNo of [13, 14]) {
    const field = fieldOf(pid, fieldNo);
    for (let rep = 0; rep < field.components.length; rep++) {
      const c = (n: number) => field.getComponent(n, undefined, rep).trim();
      const isEmail = c(2) === 'NET' || c(3).toLowerCase() === 'internet' || c(3) === 'X.400' || (c(4) && !c(1));
      if (isEmail && !email && (c(4) || c(1))) email = checked(Email, c(4) || c(1), `PID^1^${fieldNo}`, `PID-${fieldNo} e-mail`);
      else if (!isEmail && !phone) {
        const number = c(12) || c(1) || [c(5) ? `+${c(5)}` : '', c(6), c(7)].join('');
        if (number) phone = checked(Phone, number, `PID^1^${fieldNo}`, `PID-${fieldNo} phone`);
      }
    }
  }
  const langCode = pid.getComponent(15, 1).toLowerCase();
  return { name, birthDate, email, phone, language: LANGUAGES[langCode.slice(0, 3)] ?? LANGUAGES[langCode.slice(0, 2)] ?? 'nl' };
}

export function readNewAppointment(msg: Hl7Message, timeZone: string): CreateAppointmentInput {
  const externalId = readExternalId(msg);
  const { start, durationMinutes } = readTimes(msg, timeZone);
  const clinic = readClinic(msg);
  const clinician = readClinician(msg);
  const patient = readPatient(msg);
  return { externalId, clinic, clinician, start, durationMinutes, patient };
}
