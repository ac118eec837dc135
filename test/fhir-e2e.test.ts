/**
 * The FHIR endpoint on the real appliance (FHIR_ENABLED=true): an appointment booked by a FHIR
 * client opens a working waiting room in the patient's browser, and the EHR reading it back
 * sees the patient arrived.
 *
 *   DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/fhir-e2e.test.ts
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client } from 'fhir-kit-client';
import type { Appointment } from '@medplum/fhirtypes';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { expectScreen, PHONE } from './support/patient-page.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';
import { VIRTUAL_SERVICE_URL } from '../control/src/fhir/appointment.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'fhir-e2e', basePort: 19300, env: { FHIR_ENABLED: 'true' } });
  seeded = await seedClinic(stack);
  patient = await launchBrowser({ viewport: PHONE });
});

afterAll(async () => {
  await patient?.close();
  await stack?.stop();
});

test('a FHIR-booked appointment opens a working waiting room; the EHR sees the patient arrive', async () => {
  const fhir = new Client({ baseUrl: `${stack.control.internalUrl}/fhir`, bearerToken: seeded.apiKey });
  const start = new Date(Date.now() + 5 * 60_000);
  start.setUTCSeconds(0, 0);
  const end = new Date(start.getTime() + 15 * 60_000);
  const created = (await fhir.create({
    resourceType: 'Appointment',
    body: {
      resourceType: 'Appointment',
      status: 'booked',
      identifier: [{ value: `EPIC-${Date.now()}` }],
      serviceType: [{ coding: [{ system: 'urn:spreekkamer:clinic', code: seeded.clinicCode }] }],
      start: start.toISOString(),
      end: end.toISOString(),
      contained: [{ resourceType: 'Patient', id: 'p', name: [{ text: 'Mevrouw J. de Vries' }], birthDate: '1948-03-12' }],
      participant: [
        { actor: { reference: '#p' }, status: 'accepted' },
        { actor: { type: 'Practitioner', identifier: { value: seeded.clinician.email } }, status: 'accepted' },
      ],
    },
  })) as unknown as Appointment;
  expect(created.status).toBe('booked');
  // Staff-side only: the public listener does not serve /fhir at all.
  expect((await fetch(`${stack.control.internalUrl}/fhir/metadata`)).status).toBe(200);
  expect((await fetch(`${stack.control.publicUrl}/fhir/metadata`)).status).toBe(404);
  expect((await fetch(`${stack.control.publicUrl}/fhir/Appointment/${created.id}`, { headers: { authorization: `Bearer ${seeded.apiKey}` } })).status).toBe(404);
  const link = created.extension!.find((e) => e.url === VIRTUAL_SERVICE_URL)!.extension!.find((e) => e.url === 'address')!.valueUrl!;

  const page = patient.page;
  await page.goto(link);
  await expectScreen(page, 'ready');
  await page.getByTestId('start-visit').click();
  await expectScreen(page, 'waiting');

  await expect
    .poll(async () => ((await fhir.read({ resourceType: 'Appointment', id: created.id! })) as unknown as Appointment).status, { timeout: 15_000 })
    .toBe('arrived');
});
