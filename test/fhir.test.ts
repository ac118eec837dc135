/**
 * FHIR R4 Appointment endpoint over real HTTP against a real PostgreSQL database, driven by a
 * real FHIR client (fhir-kit-client): create (and conditional create), read, move, search,
 * cancel; every resource returned validates against the R4 definitions; errors are
 * OperationOutcomes naming the element with the status FHIR asks for; a refused request
 * writes nothing and nothing is ever a 500.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { Client, type FhirResource } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Appointment, Bundle, CapabilityStatement, OperationOutcome, Patient, Practitioner } from '@medplum/fhirtypes';
import { createFhirRouter } from '../control/src/fhir/routes.js';
import { r4Errors } from '../control/src/fhir/definitions.js';
import { VIRTUAL_SERVICE_URL } from '../control/src/fhir/appointment.js';
import { errorMiddleware } from '../control/src/http/errors.js';
import { findParticipantByToken } from '../control/src/domain/links.js';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildClinic, buildIntegration, buildStaff } from './support/factories.js';

const config = testConfig({ INTERNAL_BASE_URL: 'http://127.0.0.1:1' });
let db: TestDatabase;
let server: Server;
let base: string;
let client: Client;
let apiKey: string;
let other: Client;
let clinic: Clinic;
let clinician: Staff;
const told: string[] = [];
/** fhir-kit-client's loose resource type, for the typed ones of @medplum/fhirtypes. */
const loose = (r: unknown) => r as FhirResource;

beforeAll(async () => {
  db = await createTestDatabase();
  clinic = await buildClinic(db.ds, { code: 'cardio' });
  await buildClinic(db.ds, { code: 'derma' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', email: 'dokter@hospital.test', name: 'Dr. Visser' });
  const { key } = await buildIntegration(db.ds, { name: 'epic' });
  const { key: otherKey } = await buildIntegration(db.ds, { name: 'hix' });
  const app = new Koa();
  app.use(errorMiddleware({ error: () => undefined, warn: () => undefined }));
  const hub = { publish: async (id: string) => void told.push(id) };
  const fhir = createFhirRouter({ ds: db.ds, config, hub });
  app.use(fhir.routes());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  apiKey = key;
  client = new Client({ baseUrl: base, bearerToken: key });
  other = new Client({ baseUrl: base, bearerToken: otherKey });
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await db?.drop();
});

function appointment(overrides: Partial<Appointment> = {}, patient: Record<string, unknown> = {}): Appointment {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.4.3.11.999.1', value: `EPIC-${Math.random().toString(36).slice(2)}` }],
    serviceType: [{ coding: [{ system: 'urn:spreekkamer:clinic', code: 'cardio' }] }],
    start: '2031-05-06T10:30:00+02:00',
    end: '2031-05-06T10:45:00+02:00',
    contained: [
      {
        resourceType: 'Patient',
        id: 'pat',
        name: [{ given: ['Joëlle'], family: 'van Dijk' }],
        birthDate: '1961-03-04',
        telecom: [{ system: 'email', value: 'joelle@example.test' }, { system: 'phone', value: '06-12345678' }],
        communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'nl-NL' }] } }],
        ...patient,
      },
    ],
    participant: [
      { actor: { reference: '#pat' }, status: 'accepted' },
      { actor: { type: 'Practitioner', identifier: { value: 'dokter@hospital.test' } }, status: 'accepted' },
    ],
    ...overrides,
  } as Appointment;
}

async function counts() {
  const [r] = (await db.ds.query(
    `SELECT (SELECT count(*) FROM appointment)::int AS a, (SELECT count(*) FROM participant)::int AS p, (SELECT count(*) FROM visit)::int AS v, (SELECT count(*) FROM audit_event)::int AS e`,
  )) as Array<{ a: number; p: number; v: number; e: number }>;
  return r!;
}

/** A raw request, for what a FHIR client library will not send. */
async function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method, body, headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

/** The OperationOutcome a refused request got, through the client's error. */
async function refused(p: Promise<unknown>): Promise<{ status: number; outcome: OperationOutcome }> {
  try {
    await p;
  } catch (err: any) {
    return { status: err.response.status, outcome: err.response.data };
  }
  throw new Error('expected a refusal');
}

describe('CapabilityStatement', () => {
  it('says what is supported and is valid R4', async () => {
    const cs = (await client.capabilityStatement()) as unknown as CapabilityStatement;
    expect(cs.fhirVersion).toBe('4.0.1');
    const res = cs.rest![0]!.resource!;
    expect(res.map((r) => r.type)).toEqual(['Appointment']);
    expect(res[0]!.interaction!.map((i) => i.code).sort()).toEqual(['create', 'read', 'search-type', 'update']);
    expect(res[0]!.searchParam!.map((s) => s.name)).toEqual(['identifier', 'date', '_count']);
    expect(r4Errors(cs)).toEqual([]);
  });
});

describe('Appointment', () => {
  let created: Appointment;

  it('create: 201, the patient link in virtualService, valid R4, the hub told', async () => {
    const before = await counts();
    const body = appointment();
    created = (await client.create({ resourceType: 'Appointment', body: loose(body) })) as unknown as Appointment;
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r4Errors(created)).toEqual([]);
    expect(created).toMatchObject({
      status: 'booked',
      identifier: [{ value: body.identifier![0]!.value }],
      start: '2031-05-06T10:30:00+02:00',
      end: '2031-05-06T10:45:00+02:00',
      minutesDuration: 15,
      serviceType: [{ coding: [{ code: 'cardio' }] }],
    });
    const patient = created.contained!.find((r): r is Patient => r.resourceType === 'Patient')!;
    expect(patient).toMatchObject({ name: [{ text: 'Joëlle van Dijk' }], birthDate: '1961-03-04' });
    expect(patient.telecom).toEqual(expect.arrayContaining([{ system: 'phone', value: '+31612345678', use: 'mobile' }]));
    const practitioner = created.contained!.find((r): r is Practitioner => r.resourceType === 'Practitioner')!;
    expect(practitioner.identifier![0]!.value).toBe(clinician.id);
    const vs = created.extension!.find((e) => e.url === VIRTUAL_SERVICE_URL)!;
    const link = vs.extension!.find((e) => e.url === 'address')!.valueUrl!;
    expect(link).toMatch(/^https:\/\/video\.test-hospital\.nl\/p\//);
    expect((await findParticipantByToken(db.ds, link.split('/p/')[1]!))?.appointment.id).toBe(created.id);
    expect(await counts()).toEqual({ a: before.a + 1, p: before.p + 1, v: before.v + 1, e: before.e + 1 });
    expect(told).toContain(created.id);
  });

  it('the same identifier again (plain or If-None-Exist) returns the existing appointment, writes nothing', async () => {
    const before = await counts();
    const again = (await client.create({ resourceType: 'Appointment', body: loose(appointment({ identifier: created.identifier })) })) as unknown as Appointment;
    expect(again.id).toBe(created.id);
    const cond = await raw('POST', '/Appointment', JSON.stringify(appointment({ identifier: [{ value: 'IGNORED-NEW' }] })), {
      'content-type': 'application/fhir+json',
      'if-none-exist': `identifier=urn:oid:1.2.3|${created.identifier![0]!.value}`,
    });
    expect(cond.status).toBe(200);
    expect(cond.type).toMatch(/^application\/fhir\+json/);
    expect(cond.body.id).toBe(created.id);
    expect(await counts()).toEqual(before);
  });

  it('read: the same resource, with an ETag; another key gets 404', async () => {
    const read = (await client.read({ resourceType: 'Appointment', id: created.id! })) as unknown as Appointment;
    expect(read).toEqual(created);
    expect(r4Errors(read)).toEqual([]);
    const r = await refused(other.read({ resourceType: 'Appointment', id: created.id! }));
    expect(r.status).toBe(404);
    expect(r.outcome.resourceType).toBe('OperationOutcome');
    expect((await refused(client.read({ resourceType: 'Appointment', id: 'not-an-id' }))).status).toBe(404);
  });

  it('update: moves the appointment and changes contact data; a stale If-Match is 412', async () => {
    const read = (await client.read({ resourceType: 'Appointment', id: created.id! })) as unknown as Appointment;
    const moved = structuredClone(read);
    moved.start = '2031-05-07T09:00:00+02:00';
    moved.end = '2031-05-07T09:20:00+02:00';
    moved.minutesDuration = 20;
    const p = moved.contained!.find((r): r is Patient => r.resourceType === 'Patient')!;
    p.telecom = [{ system: 'email', value: 'nieuw@example.test' }];
    const updated = (await client.update({ resourceType: 'Appointment', id: created.id!, body: loose(moved), options: { headers: { 'if-match': `W/"${read.meta!.versionId}"` } } })) as unknown as Appointment;
    expect(updated).toMatchObject({ start: '2031-05-07T09:00:00+02:00', minutesDuration: 20, status: 'booked' });
    expect(updated.meta!.versionId).not.toBe(read.meta!.versionId);
    expect(r4Errors(updated)).toEqual([]);
    const [row] = (await db.ds.query(`SELECT patient_email, patient_phone FROM appointment WHERE id = $1`, [created.id])) as Array<{ patient_email: string | null; patient_phone: string | null }>;
    expect(row).toEqual({ patient_email: 'nieuw@example.test', patient_phone: null });

    const stale = await refused(client.update({ resourceType: 'Appointment', id: created.id!, body: loose(moved), options: { headers: { 'if-match': `W/"${read.meta!.versionId}"` } } }));
    expect(stale.status).toBe(412);
  });

  it('search by identifier and by date', async () => {
    const second = (await client.create({ resourceType: 'Appointment', body: loose(appointment({ start: '2031-05-08T23:30:00+02:00', end: '2031-05-08T23:45:00+02:00' })) })) as unknown as Appointment;
    const byId = (await client.search({ resourceType: 'Appointment', searchParams: { identifier: `urn:oid:x|${created.identifier![0]!.value}` } })) as unknown as Bundle;
    expect(byId.type).toBe('searchset');
    expect(byId.total).toBe(1);
    expect(byId.entry![0]!.resource!.id).toBe(created.id);
    expect(r4Errors(byId)).toEqual([]);
    // A day is a day in Amsterdam: 23:30 on the 8th there is the 8th, not the 9th (UTC 21:30).
    const day8 = (await client.search({ resourceType: 'Appointment', searchParams: { date: '2031-05-08' } })) as unknown as Bundle;
    expect(day8.entry!.map((e) => e.resource!.id)).toEqual([second.id]);
    const range = (await client.search({ resourceType: 'Appointment', searchParams: { date: ['ge2031-05-07', 'lt2031-05-09'] } })) as unknown as Bundle;
    expect(range.entry!.map((e) => e.resource!.id)).toEqual([created.id, second.id]);
    const none = (await other.search({ resourceType: 'Appointment', searchParams: { date: 'ge2031-01-01' } })) as unknown as Bundle;
    expect(none.total).toBe(0);
    const unknown = await raw('GET', '/Appointment?patient=123');
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].code).toBe('not-supported');
  });

  it('cancel: status = cancelled; the link dies; the hub is told; cannot be booked again', async () => {
    const read = (await client.read({ resourceType: 'Appointment', id: created.id! })) as unknown as Appointment;
    told.length = 0;
    const cancelled = (await client.update({ resourceType: 'Appointment', id: created.id!, body: loose({ ...read, status: 'cancelled' }) })) as unknown as Appointment;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.extension ?? []).toEqual([]);
    expect(r4Errors(cancelled)).toEqual([]);
    expect(told).toEqual([created.id]);
    const [v] = (await db.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [created.id])) as Array<{ state: string }>;
    expect(v!.state).toBe('cancelled');
    const rebook = await refused(client.update({ resourceType: 'Appointment', id: created.id!, body: loose({ ...cancelled, status: 'booked' }) }));
    expect(rebook.status).toBe(422);
    expect(rebook.outcome.issue[0]!.expression).toEqual(['Appointment.status']);
  });
});

describe('refusals: an OperationOutcome naming the element, nothing written, never a 500', () => {
  const cases: Array<[string, () => unknown, number, string]> = [
    ['not R4 (start is no instant)', () => appointment({ start: 'tomorrow' }), 400, 'Appointment.start'],
    ['unknown element', () => ({ ...appointment(), colour: 'red' }), 400, 'Appointment.colour'],
    // R4 itself (app-3): only proposed or cancelled appointments may lack start and end.
    ['no start', () => appointment({ start: undefined, end: undefined }), 400, 'Appointment'],
    ['duration out of range', () => appointment({ end: '2031-05-06T16:30:00+02:00' }), 422, 'Appointment.end'],
    ['unknown clinic', () => appointment({ serviceType: [{ coding: [{ system: 'urn:spreekkamer:clinic', code: 'nope' }] }] }), 422, 'Appointment.serviceType'],
    ['clinician not of the clinic', () => appointment({ serviceType: [{ coding: [{ system: 'urn:spreekkamer:clinic', code: 'derma' }] }] }), 422, 'Appointment.participant'],
    ['birth date in the future', () => appointment({}, { birthDate: '2999-01-01' }), 422, 'Appointment.contained[0].birthDate'],
    ['bad phone', () => appointment({}, { telecom: [{ system: 'phone', value: '12' }] }), 422, 'Appointment.contained[0].telecom[0]'],
    ['no identifier', () => appointment({ identifier: undefined }), 422, 'Appointment.identifier'],
    ['status not booked', () => appointment({ status: 'cancelled' }), 422, 'Appointment.status'],
    ['not an Appointment', () => ({ resourceType: 'Patient' }), 400, 'Appointment.resourceType'],
  ];
  for (const [name, body, status, expression] of cases) {
    it(name, async () => {
      const before = await counts();
      const r = await refused(client.create({ resourceType: 'Appointment', body: loose(body() as Appointment) }));
      expect(r.status).toBe(status);
      expect(r.outcome.resourceType).toBe('OperationOutcome');
      expect(r.outcome.issue.flatMap((i) => i.expression ?? [])).toContain(expression);
      expect(await counts()).toEqual(before);
    });
  }

  it('malformed JSON, wrong media type, no key, unknown paths', async () => {
    const bad = await raw('POST', '/Appointment', '{"resourceType":', { 'content-type': 'application/fhir+json' });
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    expect((await raw('POST', '/Appointment', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    const noKey = await fetch(`${base}/Appointment/${'0'.repeat(8)}-0000-0000-0000-000000000000`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { resourceType?: string }).resourceType).toBe('OperationOutcome');
    expect((await raw('GET', '/Patient/1')).status).toBe(404);
    expect((await raw('DELETE', '/Appointment/1')).status).toBe(405);
    expect((await raw('GET', '/Appointment?date=gibberish')).status).toBe(400);
    expect((await raw('GET', '/Appointment?identifier=')).status).toBe(400);
  });
});
