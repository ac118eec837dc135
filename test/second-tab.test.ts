/**
 * The patient opens her link a second time (another tab, or the phone's browser after the mail
 * app's) while her consult runs, then closes it again. The second page must not take over the
 * first page's Janus handles (a takeover is only for the same page reconnecting to a new
 * control-plane process, control/src/realtime/hand-over.ts): when it goes, the first page's
 * camera and sound must still reach the clinician and hers must still reach the patient.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, mediaStats, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, startConsult, type SeededClinic } from './support/scenario.js';
import { expectScreen, PHONE } from './support/patient-page.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'second-tab', basePort: 24700 });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser()]);
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

describe('a second page of the same patient link', () => {
  test('closing it leaves the first page in the consult, media both ways', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await startConsult(stack, { patient: patient.page, clinician: clinician.page }, a);

    const second = await patient.page.context().newPage();
    await second.goto(a.patientLink);
    await expectScreen(second, 'consult');
    // Give the second page's socket time to say hello and settle in the room.
    await waitForRemoteMedia(second, 15_000);
    await second.close();

    // The first page still sends: the clinician decodes new frames of hers, and she of the clinician.
    const [c0, p0] = await Promise.all([mediaStats(clinician.page), mediaStats(patient.page)]);
    await new Promise((r) => setTimeout(r, 3000));
    const [c1, p1] = await Promise.all([
      waitForRemoteMedia(clinician.page, 15_000, c0.framesDecoded + 30),
      waitForRemoteMedia(patient.page, 15_000, p0.framesDecoded + 30),
    ]);
    expect(c1.framesDecoded).toBeGreaterThan(c0.framesDecoded + 30);
    expect(p1.framesDecoded).toBeGreaterThan(p0.framesDecoded + 30);
    await expectScreen(patient.page, 'consult');
  }, 120_000);
});
