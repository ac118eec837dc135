/**
 * The integration API over real HTTP against a real PostgreSQL database:
 * create / get / move / cancel, idempotency, scoping, auth, and bad input that must be a
 * 400 naming the field, write nothing, and never be a 500.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrationApiRouter } from '../control/src/api/v1/index.js';
import { errorMiddleware } from '../control/src/http/errors.js';
import { accessLog } from '../control/src/server.js';
import { IntegrationEntity, type Clinic, type Staff } from '../control/src/db/entities.js';
import { findParticipantByToken } from '../control/src/domain/links.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { PersonalData, captureLogs, levelsOf } from './support/personal-data.js';

const config = testConfig();
let db: TestDatabase;
let server: Server;
let base: string;
let key: string;
let clinic: Clinic;
let clinician: Staff;
// The product's logger at every level (trace, debug included), with the product's access log.
const { logger, lines: logged } = captureLogs('api-v1-test');
/** Every personal value this file sent or was given back (names, e-mail, phone, birth date, link tokens). */
const personal = new PersonalData();

beforeAll(async () => {
  db = await createTestDatabase();
  clinic = await buildClinic(db.ds, { code: 'cardio' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician', email: 'dokter@hospital.test', name: 'Dr. Visser' });
  ({ key } = await buildIntegration(db.ds, { name: 'hix' }));

  const app = new Koa();
  app.use(accessLog(logger));
  app.use(errorMiddleware(logger));
  const api = createIntegrationApiRouter({ ds: db.ds, config, logger });
  app.use(api.routes()).use(api.allowedMethods());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await db?.drop();
});

interface Res {
  status: number;
  body: any;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, opts: { key?: string | null; raw?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  const k = opts.key === undefined ? key : opts.key;
  if (k !== null) headers.authorization = `Bearer ${k}`;
  let payload: string | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (body && typeof body === 'object') personal.addPatient((body as { patient?: unknown }).patient);
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/v1${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  for (const item of [parsed, ...((parsed as { participants?: unknown[] } | null)?.participants ?? [])]) {
    if (!item || typeof item !== 'object') continue;
    const o = item as Record<string, unknown>;
    personal.addPatient(o.patient);
    personal.addLink(o.patientLink);
    personal.addLink(o.link);
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const inAnHour = () => new Date(Date.now() + 3600_000);

function validBody(overrides: Record<string, unknown> = {}) {
  return {
    externalId: `HIX-${Math.random().toString(36).slice(2)}`,
    clinic: 'cardio',
    clinician: 'dokter@hospital.test',
    start: '2031-05-06T10:30:00+02:00',
    durationMinutes: 15,
    patient: { name: 'Jan de Vries', birthDate: '1961-03-04', email: 'jan@example.test', phone: '06-12345678', language: 'nl' },
    flags: { interpreter: true, interpreterLanguage: 'tr' },
    ...overrides,
  };
}

async function count(table: string): Promise<number> {
  const rows = (await db.ds.query(`SELECT count(*)::int AS n FROM ${table}`)) as Array<{ n: number }>;
  return rows[0]!.n;
}

async function counts() {
  return {
    appointment: await count('appointment'),
    participant: await count('participant'),
    visit: await count('visit'),
    audit: await count('audit_event'),
  };
}

describe('POST /api/v1/appointments', () => {
  it('creates an appointment with its patient link, visit and audit event', async () => {
    const before = await counts();
    const body = validBody({ externalId: 'HIX-1' });
    const res = await call('POST', '/appointments', body);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/appointments/${res.body.id}`);
    expect(res.body).toMatchObject({
      externalId: 'HIX-1',
      status: 'scheduled',
      start: '2031-05-06T10:30:00+02:00',
      durationMinutes: 15,
      clinic: 'cardio',
      clinician: { id: clinician.id, email: 'dokter@hospital.test', name: 'Dr. Visser' },
      patient: { name: 'Jan de Vries', birthDate: '1961-03-04', email: 'jan@example.test', phone: '+31612345678', language: 'nl' },
      flags: { interpreter: true, interpreterLanguage: 'tr' },
      waitingRoomOpensAt: '2031-05-06T10:20:00+02:00',
      linkValidUntil: '2031-05-06T11:15:00+02:00',
      cancelledAt: null,
    });
    expect(res.body.patientLink).toMatch(/^https:\/\/video\.test-hospital\.nl\/p\/[A-Za-z0-9_-]{43}$/);
    expect(await counts()).toEqual({
      appointment: before.appointment + 1,
      participant: before.participant + 1,
      visit: before.visit + 1,
      audit: before.audit + 1,
    });

    // The link leads back to this appointment; the token itself is not in the database.
    const token = res.body.patientLink.split('/p/')[1];
    const found = await findParticipantByToken(db.ds, token);
    expect(found?.appointment.id).toBe(res.body.id);
    expect(found?.participant.kind).toBe('patient');
    const dump = JSON.stringify(await db.ds.query(`SELECT * FROM participant`));
    expect(dump).not.toContain(token);
    const audit = JSON.stringify(await db.ds.query(`SELECT * FROM audit_event`));
    expect(audit).not.toContain('jan@example.test');
    expect(audit).not.toContain('612345678');
    expect(audit).not.toContain('Jan de Vries');

    // Room ids come from the sequence.
    const [visit] = (await db.ds.query(`SELECT room_id FROM visit WHERE appointment_id = $1`, [res.body.id])) as any[];
    expect(Number(visit.room_id)).toBeGreaterThanOrEqual(100000);
  });

  it('accepts the clinician by staff id, defaults the language, allows no contact data', async () => {
    const res = await call('POST', '/appointments', validBody({
      clinician: clinician.id,
      start: '2031-01-06T09:00:00Z',
      patient: { name: 'Piet', birthDate: '2000-01-01' },
      flags: undefined,
    }));
    expect(res.status).toBe(201);
    expect(res.body.patient).toEqual({ name: 'Piet', birthDate: '2000-01-01', email: null, phone: null, language: 'nl' });
    expect(res.body.start).toBe('2031-01-06T10:00:00+01:00');
    expect(res.body.flags).toEqual({});
  });

  it('is idempotent on externalId: the same appointment, 200, no second row', async () => {
    const body = validBody({ externalId: 'HIX-IDEM' });
    const first = await call('POST', '/appointments', body);
    expect(first.status).toBe(201);
    const before = await counts();
    const second = await call('POST', '/appointments', { ...body, durationMinutes: 30 });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.patientLink).toBe(first.body.patientLink);
    expect(second.body.durationMinutes).toBe(15);
    expect(await counts()).toEqual(before);
  });

  it('is idempotent under concurrent creates', async () => {
    const body = validBody({ externalId: 'HIX-RACE' });
    const results = await Promise.all([1, 2, 3, 4].map(() => call('POST', '/appointments', body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const rows = (await db.ds.query(`SELECT count(*)::int AS n FROM appointment WHERE external_id = 'HIX-RACE'`)) as any[];
    expect(rows[0].n).toBe(1);
  });

  it('keeps externalIds apart per integration', async () => {
    const other = await buildIntegration(db.ds);
    const body = validBody({ externalId: 'SHARED-1' });
    const a = await call('POST', '/appointments', body);
    const b = await call('POST', '/appointments', body, { key: other.key });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.id).not.toBe(b.body.id);
  });

  const bad: Array<[string, (b: any) => unknown]> = [
    ['externalId', (b) => ({ ...b, externalId: '' })],
    ['externalId', (b) => ({ ...b, externalId: 'x'.repeat(201) })],
    ['externalId', (b) => ({ ...b, externalId: 42 })],
    ['externalId', (b) => ({ ...b, externalId: null })],
    ['externalId', ({ externalId: _, ...b }) => b],
    ['clinic', (b) => ({ ...b, clinic: 'nope' })],
    ['clinic', (b) => ({ ...b, clinic: 'Cardio Logie' })],
    ['clinic', (b) => ({ ...b, clinic: ['cardio'] })],
    ['clinician', (b) => ({ ...b, clinician: 'nobody@hospital.test' })],
    ['clinician', (b) => ({ ...b, clinician: '00000000-0000-4000-8000-000000000000' })],
    ['clinician', (b) => ({ ...b, clinician: '' })],
    ['clinician', (b) => ({ ...b, clinician: { id: 1 } })],
    ['start', (b) => ({ ...b, start: '2031-05-06T10:30:00' })],
    ['start', (b) => ({ ...b, start: '2031-05-06 10:30' })],
    ['start', (b) => ({ ...b, start: '2031-02-30T10:30:00+01:00' })],
    ['start', (b) => ({ ...b, start: 'tomorrow' })],
    ['start', (b) => ({ ...b, start: 1893456000000 })],
    ['start', (b) => ({ ...b, start: null })],
    ['durationMinutes', (b) => ({ ...b, durationMinutes: 4 })],
    ['durationMinutes', (b) => ({ ...b, durationMinutes: 241 })],
    ['durationMinutes', (b) => ({ ...b, durationMinutes: 15.5 })],
    ['durationMinutes', (b) => ({ ...b, durationMinutes: '15' })],
    ['durationMinutes', (b) => ({ ...b, durationMinutes: 1e308 })],
    ['patient', (b) => ({ ...b, patient: null })],
    ['patient', (b) => ({ ...b, patient: 'Jan' })],
    ['patient', ({ patient: _, ...b }) => b],
    ['patient.name', (b) => ({ ...b, patient: { ...b.patient, name: '' } })],
    ['patient.name', (b) => ({ ...b, patient: { ...b.patient, name: '   ' } })],
    ['patient.name', (b) => ({ ...b, patient: { ...b.patient, name: 'x'.repeat(201) } })],
    ['patient.name', (b) => ({ ...b, patient: { ...b.patient, name: 'Jan\u0000' } })],
    ['patient.name', (b) => ({ ...b, patient: { ...b.patient, name: 7 } })],
    ['patient.birthDate', (b) => ({ ...b, patient: { ...b.patient, birthDate: '04-03-1961' } })],
    ['patient.birthDate', (b) => ({ ...b, patient: { ...b.patient, birthDate: '1961-02-30' } })],
    ['patient.birthDate', (b) => ({ ...b, patient: { ...b.patient, birthDate: '2999-01-01' } })],
    ['patient.birthDate', (b) => ({ ...b, patient: { ...b.patient, birthDate: '1961-03-04T00:00:00Z' } })],
    ['patient.birthDate', ({ patient: { birthDate: _, ...p }, ...b }) => ({ ...b, patient: p })],
    ['patient.email', (b) => ({ ...b, patient: { ...b.patient, email: 'not-an-email' } })],
    ['patient.email', (b) => ({ ...b, patient: { ...b.patient, email: `${'a'.repeat(250)}@x.nl` } })],
    ['patient.phone', (b) => ({ ...b, patient: { ...b.patient, phone: '12345' } })],
    ['patient.phone', (b) => ({ ...b, patient: { ...b.patient, phone: 612345678 } })],
    ['patient.language', (b) => ({ ...b, patient: { ...b.patient, language: 'de' } })],
    ['patient.nickname', (b) => ({ ...b, patient: { ...b.patient, nickname: 'J' } })],
    ['flags', (b) => ({ ...b, flags: 'interpreter' })],
    ['flags', (b) => ({ ...b, flags: [true] })],
    ['flags.interpreter', (b) => ({ ...b, flags: { interpreter: 'yes' } })],
    ['flags.nested', (b) => ({ ...b, flags: { nested: { a: 1 } } })],
    ['status', (b) => ({ ...b, status: 'admitted' })],
    ['id', (b) => ({ ...b, id: '00000000-0000-4000-8000-000000000000' })],
  ];

  it.each(bad)('refuses a bad %s with a 400 naming it and writes nothing', async (field, mutate) => {
    const before = await counts();
    const res = await call('POST', '/appointments', mutate(validBody()));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message.startsWith(`${field}: `)).toBe(true);
    expect(await counts()).toEqual(before);
  });

  it('says exactly what is wrong with a start without offset', async () => {
    const res = await call('POST', '/appointments', validBody({ start: '2031-05-06T10:30:00' }));
    expect(res.body.error).toEqual({
      code: 'invalid_request',
      message: 'start: must be an ISO 8601 date-time with offset',
      field: 'start',
    });
  });

  it('refuses a clinician of another clinic, an assistant, an inactive clinician', async () => {
    const elsewhere = await buildStaff(db.ds, { role: 'clinician' });
    const assistant = await buildStaff(db.ds, { clinic, role: 'assistant' });
    const gone = await buildStaff(db.ds, { clinic, role: 'clinician', active: false });
    for (const s of [elsewhere, assistant, gone]) {
      const res = await call('POST', '/appointments', validBody({ clinician: s.email }));
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('clinician');
    }
  });

  it('refuses garbage without a 500 and without writing', async () => {
    const before = await counts();
    const garbage: Array<{ raw?: string; body?: unknown; headers?: Record<string, string>; status: number }> = [
      { raw: '{"externalId": ', status: 400 },
      { raw: 'not json at all', status: 400 },
      { raw: 'null', status: 400 },
      { raw: '[]', status: 400 },
      { raw: '"a string"', status: 400 },
      { raw: '12', status: 400 },
      { raw: '{"__proto__": {"admin": true}}', status: 400 },
      { raw: '', status: 400 },
      { body: { ...validBody(), patient: { ...validBody().patient, name: 'x'.repeat(90_000) } }, status: 400 },
      { raw: JSON.stringify({ pad: 'x'.repeat(200_000) }), status: 413 },
      { raw: 'externalId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
      { raw: '{}', headers: { 'content-type': 'text/plain' }, status: 415 },
      { body: validBody({ externalId: '\u0000' }), status: 400 },
      { body: validBody({ start: '9999-12-31T23:59:59+14:00' }), status: 400 },
      { body: validBody({ start: '0000-01-01T00:00:00Z' }), status: 400 },
      { body: validBody({ start: '2099-12-31T23:59:59.999999999-12:00' }), status: 400 },
      { body: validBody({ durationMinutes: Number.MAX_SAFE_INTEGER + 2 }), status: 400 },
      { body: validBody({ flags: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, true])) }), status: 400 },
      { body: validBody({ start: '2031-05-06T10:30:00.5+02:00' }), status: 201 },
    ];
    let created = 0;
    for (const g of garbage) {
      const res = await call('POST', '/appointments', g.body, { raw: g.raw, headers: g.headers });
      expect(res.status, `${(g.raw ?? JSON.stringify(g.body)).slice(0, 60)} → ${JSON.stringify(res.body)}`).toBe(g.status);
      expect(res.body.error?.code ?? 'ok').not.toBe('internal');
      if (res.status === 201) created++;
      else expect(typeof res.body.error.message).toBe('string');
    }
    const after = await counts();
    expect(after.appointment).toBe(before.appointment + created);
  });
});

describe('GET /api/v1/appointments/:id', () => {
  it('returns the appointment', async () => {
    const made = await call('POST', '/appointments', validBody());
    const res = await call('GET', `/appointments/${made.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(made.body);
  });

  it('is 404 for unknown ids, malformed ids, and another integration’s appointments', async () => {
    const other = await buildIntegration(db.ds);
    const theirs = await buildAppointment(db.ds, config, { clinic, clinician, integration: other.integration });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '1', "1' OR '1'='1", theirs.appointment.id]) {
      const res = await call('GET', `/appointments/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    // …and they cannot change or cancel it either.
    expect((await call('PATCH', `/appointments/${theirs.appointment.id}`, { durationMinutes: 30 })).status).toBe(404);
    expect((await call('DELETE', `/appointments/${theirs.appointment.id}`)).status).toBe(404);
    expect((await call('GET', `/appointments/${theirs.appointment.id}`, undefined, { key: other.key })).status).toBe(200);
  });

  it('answers unknown paths and methods in JSON', async () => {
    const made = await call('POST', '/appointments', validBody());
    const unknown = await call('GET', '/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const put = await call('PUT', `/appointments/${made.body.id}`, {});
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toContain('PATCH');
  });
});

describe('third-party links: /api/v1/appointments/:id/participants', () => {
  it('creates an interpreter link, lists it, and revokes it (the link dies; audit)', async () => {
    const made = await call('POST', '/appointments', validBody());
    const res = await call('POST', `/appointments/${made.body.id}/participants`, { role: 'interpreter' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ role: 'interpreter', revokedAt: null });
    expect(res.body.link).toMatch(new RegExp(`^${config.publicBaseUrl}/p/[A-Za-z0-9_-]{20,}$`));
    expect(res.body.link).not.toBe(made.body.patientLink);
    const token = res.body.link.split('/p/')[1];
    const found = await findParticipantByToken(db.ds, token);
    expect(found?.participant.kind).toBe('guest');
    expect(found?.participant.appointmentId).toBe(made.body.id);

    const list = await call('GET', `/appointments/${made.body.id}/participants`);
    expect(list.status).toBe(200);
    expect(list.body.participants).toEqual([res.body]);

    const del = await call('DELETE', `/appointments/${made.body.id}/participants/${res.body.id}`);
    expect(del.status).toBe(204);
    expect(await findParticipantByToken(db.ds, token)).toBeNull();
    expect((await call('DELETE', `/appointments/${made.body.id}/participants/${res.body.id}`)).status).toBe(204);
    const audit = (await db.ds.query(
      `SELECT action, actor_kind FROM audit_event WHERE appointment_id = $1 AND action LIKE 'guest.%' ORDER BY id`,
      [made.body.id],
    )) as Array<{ action: string; actor_kind: string }>;
    expect(audit).toEqual([
      { action: 'guest.invited', actor_kind: 'integration' },
      { action: 'guest.revoked', actor_kind: 'integration' },
    ]);
  });

  it('refuses a bad role (400 naming it), a third live link (409), cancelled appointments (409), strangers (404)', async () => {
    const made = await call('POST', '/appointments', validBody());
    const before = await count('participant');
    for (const body of [{}, { role: 'surgeon' }, { role: 'family', name: 'Oma' }]) {
      const bad = await call('POST', `/appointments/${made.body.id}/participants`, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.field ?? bad.body.error.message).toMatch(/role|name/);
    }
    expect(await count('participant')).toBe(before);
    expect((await call('POST', `/appointments/${made.body.id}/participants`, { role: 'family' })).status).toBe(201);
    expect((await call('POST', `/appointments/${made.body.id}/participants`, { role: 'colleague' })).status).toBe(201);
    const third = await call('POST', `/appointments/${made.body.id}/participants`, { role: 'interpreter' });
    expect(third.status).toBe(409);

    const cancelled = await call('POST', '/appointments', validBody());
    await call('DELETE', `/appointments/${cancelled.body.id}`);
    expect((await call('POST', `/appointments/${cancelled.body.id}/participants`, { role: 'family' })).status).toBe(409);

    const other = await buildIntegration(db.ds);
    const theirs = await buildAppointment(db.ds, config, { clinic, clinician, integration: other.integration });
    expect((await call('POST', `/appointments/${theirs.appointment.id}/participants`, { role: 'family' })).status).toBe(404);
    expect((await call('GET', `/appointments/${theirs.appointment.id}/participants`)).status).toBe(404);
    expect((await call('DELETE', `/appointments/${made.body.id}/participants/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    const put = await call('PUT', `/appointments/${made.body.id}/participants`, {});
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
  });
});

describe('authentication', () => {
  it('refuses missing, wrong, malformed and revoked keys with 401', async () => {
    const revoked = await buildIntegration(db.ds);
    await db.ds.manager.update(IntegrationEntity, { id: revoked.integration.id }, { revokedAt: new Date() });
    const cases: Array<Record<string, string> | null> = [
      null,
      { authorization: `Bearer ${key}x` },
      { authorization: 'Bearer ' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: key },
      { authorization: `Bearer ${'x'.repeat(5000)}` },
      { authorization: `Bearer ${revoked.key}` },
    ];
    const before = await counts();
    for (const headers of cases) {
      for (const [method, path] of [['GET', '/appointments/00000000-0000-4000-8000-000000000000'], ['POST', '/appointments']] as const) {
        const res = await call(method, path, method === 'POST' ? validBody() : undefined, { key: null, headers: headers ?? {} });
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(await counts()).toEqual(before);
  });
});

describe('PATCH /api/v1/appointments/:id', () => {
  it('refuses to move a visit that is over, a no-show included (409), and changes nothing', async () => {
    const made = await call('POST', '/appointments', validBody());
    await db.ds.query(`UPDATE visit SET state = 'no_show' WHERE appointment_id = $1`, [made.body.id]);
    const res = await call('PATCH', `/appointments/${made.body.id}`, { start: new Date(Date.now() + 7200_000).toISOString() });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('invalid_state');
    const after = await call('GET', `/appointments/${made.body.id}`);
    expect(after.body).toMatchObject({ status: 'no_show', start: made.body.start, patientLink: null });
  });

  it('moves the appointment and changes contact data', async () => {
    const made = await call('POST', '/appointments', validBody());
    const res = await call('PATCH', `/appointments/${made.body.id}`, {
      start: '2031-05-07T14:00:00+02:00',
      durationMinutes: 30,
      patient: { email: null, phone: '+32 470 12 34 56', language: 'en' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: made.body.id,
      start: '2031-05-07T14:00:00+02:00',
      durationMinutes: 30,
      patient: { name: 'Jan de Vries', email: null, phone: '+32470123456', language: 'en' },
      patientLink: made.body.patientLink,
      status: 'scheduled',
    });
    expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(made.body.updatedAt).getTime());
    const audit = (await db.ds.query(
      `SELECT action, data FROM audit_event WHERE appointment_id = $1 ORDER BY id`,
      [made.body.id],
    )) as any[];
    expect(audit.map((a) => a.action)).toEqual(['appointment.created', 'appointment.moved']);
    expect(JSON.stringify(audit)).not.toContain('470123456');
  });

  it('refuses bad changes with a 400 naming the field and changes nothing', async () => {
    const made = await call('POST', '/appointments', validBody());
    const cases: Array<[string, unknown]> = [
      ['body', {}],
      ['start', { start: 'soon' }],
      ['durationMinutes', { durationMinutes: 0 }],
      ['patient.name', { patient: { name: 'Other' } }],
      ['patient.phone', { patient: { phone: 'call me' } }],
      ['patient', { patient: [] }],
      ['clinic', { clinic: 'cardio' }],
      ['externalId', { externalId: 'X' }],
    ];
    for (const [field, body] of cases) {
      const res = await call('PATCH', `/appointments/${made.body.id}`, body);
      expect(res.status, `${field} ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    expect((await call('GET', `/appointments/${made.body.id}`)).body).toEqual(made.body);
  });

  it('is 409 for a cancelled appointment and for an open consult', async () => {
    const made = await call('POST', '/appointments', validBody());
    expect((await call('DELETE', `/appointments/${made.body.id}`)).status).toBe(200);
    const res = await call('PATCH', `/appointments/${made.body.id}`, { durationMinutes: 30 });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('invalid_state');

    const open = await call('POST', '/appointments', validBody());
    await db.ds.query(`UPDATE visit SET state = 'in_consult' WHERE appointment_id = $1`, [open.body.id]);
    const res2 = await call('PATCH', `/appointments/${open.body.id}`, { start: '2031-05-07T14:00:00+02:00' });
    expect(res2.status).toBe(409);
  });
});

describe('DELETE /api/v1/appointments/:id', () => {
  it('cancels: status cancelled, link dead, audit; twice is fine', async () => {
    const made = await call('POST', '/appointments', validBody());
    const token = made.body.patientLink.split('/p/')[1];
    const res = await call('DELETE', `/appointments/${made.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: made.body.id, status: 'cancelled', patientLink: null });
    expect(res.body.cancelledAt).toEqual(expect.any(String));
    expect(await findParticipantByToken(db.ds, token)).toBeNull();
    const stillKnown = await findParticipantByToken(db.ds, token, { includeRevoked: true });
    expect(stillKnown?.visit.state).toBe('cancelled');

    const again = await call('DELETE', `/appointments/${made.body.id}`);
    expect(again.status).toBe(200);
    expect(again.body.cancelledAt).toBe(res.body.cancelledAt);
    const audit = (await db.ds.query(
      `SELECT count(*)::int AS n FROM audit_event WHERE appointment_id = $1 AND action = 'appointment.cancelled'`,
      [made.body.id],
    )) as any[];
    expect(audit[0].n).toBe(1);

    // Idempotent create of a cancelled appointment returns it, still cancelled.
    const recreate = await call('POST', '/appointments', validBody({ externalId: made.body.externalId }));
    expect(recreate.status).toBe(200);
    expect(recreate.body.status).toBe('cancelled');
  });

  it('cancels a waiting patient, but not a consult in progress or an ended one', async () => {
    const waiting = await call('POST', '/appointments', validBody());
    await db.ds.query(`UPDATE visit SET state = 'waiting' WHERE appointment_id = $1`, [waiting.body.id]);
    expect((await call('DELETE', `/appointments/${waiting.body.id}`)).body.status).toBe('cancelled');

    for (const state of ['admitted', 'in_consult', 'dropped', 'ended']) {
      const made = await call('POST', '/appointments', validBody());
      await db.ds.query(`UPDATE visit SET state = $2 WHERE appointment_id = $1`, [made.body.id, state]);
      const res = await call('DELETE', `/appointments/${made.body.id}`);
      expect(res.status, state).toBe(409);
      expect((await call('GET', `/appointments/${made.body.id}`)).body.status).toBe(state);
    }
  });

  it('never logged personal data, at any level', () => {
    // The log was live at every level: one debug line per request at least, and more.
    expect(logged.length).toBeGreaterThan(50);
    expect(levelsOf(logged).has(20)).toBe(true);
    expect(logged.filter((l) => l.msg === 'request').length).toBeGreaterThan(50);
    // What this file created: the patients' names, e-mail, phone, birth date and link tokens.
    expect(personal.size).toBeGreaterThan(10);
    expect(personal.foundIn(JSON.stringify(logged))).toEqual([]);
  });
});

describe('time', () => {
  it('presents times in the clinic zone and stores the instant', async () => {
    // Given in UTC; presented with the clinic's offset for that date (summer and winter time),
    // stored as the same instant.
    const cases = [
      { clinic: 'cardio', given: '2031-07-01T08:30:00Z', shown: '2031-07-01T10:30:00+02:00', opens: '2031-07-01T10:20:00+02:00' },
      { clinic: 'cardio', given: '2031-01-15T09:30:00Z', shown: '2031-01-15T10:30:00+01:00', opens: '2031-01-15T10:20:00+01:00' },
    ];
    // Another clinic in another zone: the clinic's zone, not a fixed one.
    const london = await buildClinic(db.ds, { code: 'london', timezone: 'Europe/London' });
    await buildStaff(db.ds, { clinic: london, role: 'clinician', email: 'london@hospital.test', name: 'Dr. Smith' });
    cases.push({ clinic: 'london', given: '2031-07-01T08:30:00Z', shown: '2031-07-01T09:30:00+01:00', opens: '2031-07-01T09:20:00+01:00' });
    cases.push({ clinic: 'london', given: '2031-01-15T09:30:00Z', shown: '2031-01-15T09:30:00+00:00', opens: '2031-01-15T09:20:00+00:00' });
    for (const c of cases) {
      const clinicianEmail = c.clinic === 'london' ? 'london@hospital.test' : 'dokter@hospital.test';
      const made = await call('POST', '/appointments', validBody({ clinic: c.clinic, clinician: clinicianEmail, start: c.given }));
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body.start, c.clinic).toBe(c.shown);
      expect(made.body.waitingRoomOpensAt, c.clinic).toBe(c.opens);
      const [row] = (await db.ds.query(`SELECT start FROM appointment WHERE id = $1`, [made.body.id])) as Array<{ start: Date }>;
      expect(row!.start.toISOString()).toBe(new Date(c.given).toISOString());
    }
  });
});
