import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testConfig, type TestDatabase } from '../../../test/support/db.js';
import { buildAppointment, buildClinic, buildStaff } from '../../../test/support/factories.js';
import { toHttpError } from '../http/errors.js';
import {
  cancelAppointment, createAppointment, getAppointment, presentAppointment, updateAppointment,
} from './appointments.js';
import { transition } from './visit-state.js';

const cfg = testConfig();
const system = { kind: 'system' as const, id: null };
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const status = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return toHttpError(err)?.status ?? String(err);
  }
};

describe('appointment commands', () => {
  it('creates without an integration (staff or CLI), not idempotent on externalId then', async () => {
    const clinic = await buildClinic(db.ds);
    const clinician = await buildStaff(db.ds, { clinic });
    const input = {
      externalId: 'X', clinic: clinic.code, clinician: clinician.email.toUpperCase(), start: new Date('2031-01-01T10:00:00Z'),
      durationMinutes: 10, patient: { name: 'A', birthDate: '1980-01-01', language: 'en' as const },
    };
    const a = await createAppointment(db.ds, cfg, null, input);
    const b = await createAppointment(db.ds, cfg, null, input);
    expect(a.created && b.created).toBe(true);
    expect(a.record.appointment.id).not.toBe(b.record.appointment.id);
    expect(a.record.patient.language).toBe('en');
  });

  it('updates nothing (and audits nothing) when nothing changes', async () => {
    const a = await buildAppointment(db.ds, cfg);
    const count = async () => ((await db.ds.query(`SELECT count(*)::int AS n FROM audit_event WHERE appointment_id = $1`, [a.appointment.id])) as any[])[0].n;
    const before = await count();
    await updateAppointment(db.ds, a.appointment.id, { start: a.appointment.start }, { actor: system });
    expect(await count()).toBe(before);
  });

  it('is 404 outside the scope and for non-uuids', async () => {
    const a = await buildAppointment(db.ds, cfg);
    expect(await status(getAppointment(db.ds, a.appointment.id, { integrationId: '00000000-0000-4000-8000-000000000000' }))).toBe(404);
    expect(await status(getAppointment(db.ds, 'nope'))).toBe(404);
    expect(await status(cancelAppointment(db.ds, 'nope', { actor: system }))).toBe(404);
    expect(await status(updateAppointment(db.ds, 'nope', { durationMinutes: 5 }, { actor: system }))).toBe(404);
  });

  it('refuses to cancel expired or ended visits and to change them', async () => {
    for (const state of ['expired', 'ended']) {
      const a = await buildAppointment(db.ds, cfg);
      await db.ds.query(`UPDATE visit SET state = $2 WHERE appointment_id = $1`, [a.appointment.id, state]);
      expect(await status(cancelAppointment(db.ds, a.appointment.id, { actor: system }))).toBe(409);
      expect(await status(updateAppointment(db.ds, a.appointment.id, { durationMinutes: 20 }, { actor: system }))).toBe(409);
    }
  });

  it('presents a dead link as null once the consult ended', async () => {
    const a = await buildAppointment(db.ds, cfg);
    expect(presentAppointment(cfg, a).patientLink).toBe(a.patientLink);
    let state = transition('scheduled', 'arrive');
    state = transition(state, 'end');
    await db.ds.query(`UPDATE visit SET state = $2 WHERE appointment_id = $1`, [a.appointment.id, state]);
    const r = await getAppointment(db.ds, a.appointment.id);
    expect(presentAppointment(cfg, r)).toMatchObject({ status: 'ended', patientLink: null });
  });

  it('serialises a cancel against a concurrent state change (row lock)', async () => {
    const a = await buildAppointment(db.ds, cfg);
    const results = await Promise.all([
      cancelAppointment(db.ds, a.appointment.id, { actor: system }),
      cancelAppointment(db.ds, a.appointment.id, { actor: system }),
    ]);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
  });
});
