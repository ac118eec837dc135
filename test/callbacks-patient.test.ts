/**
 * The patient's page on the real stack when a fallback call is requested: the clinician asks
 * for it on the staff API while the patient waits, and the page — without a reload — says
 * "your clinician will call you on the number ending in 78", in Dutch and in English, and the
 * callback list shows the task. Ticking it off takes the message away.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/callbacks-patient.test.ts
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { axeViolations, expectScreen, PHONE } from './support/patient-page.js';
import { staffApi, staffSignIn } from './support/relay-client.js';
import { createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';
import { seedAssistant } from './support/dashboard.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let api: ReturnType<typeof staffApi>;

beforeAll(async () => {
  stack = await startStack({ name: 'callbacks-patient', basePort: 19660 });
  seeded = await seedClinic(stack);
  patient = await launchBrowser({ viewport: PHONE });
  api = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
});

afterAll(async () => {
  await patient?.close();
  await stack?.stop();
});

describe('fallback call, patient side', () => {
  test('the waiting patient is told the clinician will call, live, in Dutch and English', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const page = patient.page;
    await page.goto(a.patientLink);
    await page.getByTestId('start-visit').click();
    await expectScreen(page, 'waiting');
    const banner = page.getByTestId('callback-message');
    expect(await banner.isVisible()).toBe(false);

    const res = await api(`/appointments/${a.id}/callback`, { method: 'POST' });
    expect(res.status).toBe(201);
    const { callback } = (await res.json()) as { callback: { id: string } };
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toBe('Uw zorgverlener belt u op het telefoonnummer dat eindigt op 78. Houd uw telefoon bij de hand.');
    expect(await banner.getAttribute('role')).toBe('status');
    await expectScreen(page, 'waiting'); // still in the waiting room: the clinician may let them in yet
    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('lang-switch').click();
    expect(await banner.textContent()).toBe('Your clinician will call you on the phone number ending in 78. Please keep your phone nearby.');

    const list = (await (await api(`/callbacks?clinic=${seeded.clinicCode}`)).json()) as { callbacks: Array<{ id: string; phone: string; reason: string }> };
    expect(list.callbacks.find((c) => c.id === callback.id)).toMatchObject({ reason: 'staff', phone: '+31612345678' });

    // Called: ticked off on the list, the message goes, live.
    expect((await api(`/callbacks/${callback.id}/done`, { method: 'POST', body: { done: true } })).status).toBe(200);
    await banner.waitFor({ state: 'hidden', timeout: 10_000 });
    await expectScreen(page, 'waiting');
  });

  test('a patient marked as not shown up is told the consult did not take place, live and on opening her link (not "something went wrong")', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: -2 });
    const page = patient.page;
    await page.goto(a.patientLink);
    await expectScreen(page, 'ready');
    const assistant = await seedAssistant(stack, [seeded.clinicId], 'missed');
    const as = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password));
    expect((await as(`/appointments/${a.id}/no-show`, { method: 'POST' })).status).toBe(200);
    // Live, on the open page.
    await expectScreen(page, 'missed');
    const message = page.getByTestId('missed-message');
    expect(await message.textContent()).toBe(
      'U was niet in de wachtkamer op het moment van uw afspraak. Wilt u een nieuwe afspraak? Neem dan contact op met de polikliniek.',
    );
    expect(await axeViolations(page)).toEqual([]);
    // And opening the (now revoked) link again later.
    await page.goto(a.patientLink);
    await expectScreen(page, 'missed');
    expect(await page.getByTestId('missed-message').isVisible()).toBe(true);
  });
});
