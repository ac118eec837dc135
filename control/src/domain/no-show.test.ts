import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testConfig, type TestDatabase } from '../../../test/support/db.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from '../../../test/support/factories.js';
import { AppointmentEntity, ParticipantEntity, VisitEntity } from '../db/entities.js';
import { markNoShow } from '../dashboard/commands.js';
import { markNoShowFromEhr } from '../hl7/commands.js';
import { toHttpError } from '../http/errors.js';

const cfg = testConfig();
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

async function setup() {
  const clinic = await buildClinic(db.ds);
  const clinician = await buildStaff(db.ds, { clinic });
  const assistant = await buildStaff(db.ds, { clinic, role: 'assistant' });
  const { integration } = await buildIntegration(db.ds);
  const { appointment: a } = await buildAppointment(db.ds, cfg, { clinic, clinician, integration, start: new Date(Date.now() - 60_000) });
  const staff = { id: assistant.id, role: assistant.role, clinicIds: [clinic.id] };
  return { a, staff, integrationId: integration.id };
}

const updatedAt = async (id: string) => (await db.ds.manager.findOneByOrFail(AppointmentEntity, { id })).updatedAt.getTime();

describe('a no-show, from the dashboard or from the EHR, is one decision', () => {
  for (const via of ['dashboard', 'ehr'] as const) {
    it(`${via}: final, the patient's link dies, the appointment's version moves (FHIR versionId), once`, async () => {
      const { a, staff, integrationId } = await setup();
      const before = await updatedAt(a.id);
      await new Promise((r) => setTimeout(r, 5));
      const mark = () => (via === 'dashboard' ? markNoShow(db.ds, a.id, staff) : markNoShowFromEhr(db.ds, a.id, integrationId));
      expect(await mark()).toEqual({ changed: true });
      expect((await db.ds.manager.findOneByOrFail(VisitEntity, { appointmentId: a.id })).state).toBe('no_show');
      expect((await db.ds.manager.findOneByOrFail(ParticipantEntity, { appointmentId: a.id, kind: 'patient' })).revokedAt).not.toBeNull();
      expect(await updatedAt(a.id)).toBeGreaterThan(before);
      expect(await mark()).toEqual({ changed: false });
    });
  }

  it('is refused with 409 invalid_state once the patient started the visit', async () => {
    const { a, staff, integrationId } = await setup();
    await db.ds.query(`UPDATE visit SET state = 'waiting' WHERE appointment_id = $1`, [a.id]);
    for (const mark of [() => markNoShow(db.ds, a.id, staff), () => markNoShowFromEhr(db.ds, a.id, integrationId)]) {
      const err = toHttpError(await mark().then(() => null, (e: unknown) => e));
      expect([err?.status, err?.code]).toEqual([409, 'invalid_state']);
    }
  });
});
