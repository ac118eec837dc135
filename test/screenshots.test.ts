/**
 * The screens people see, on the real stack: the patient's phone through a whole visit (too
 * early, ready, waiting, consult, ended) and the dead ends (cancelled, expired, unknown link),
 * and the clinician's console (sign-in, today's list, consult). Every screen is asserted on
 * what its test's name says is on it (visible text, pictures playing) before the screenshot;
 * with SPK_SCREENSHOTS=1 each is also written to docs/screenshots/ (tracked in git), so a
 * plain `make test` never rewrites them:
 *
 *   SPK_SCREENSHOTS=1 DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/screenshots.test.ts
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, deadLink, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { remotePictures, shownText } from './support/patient-page.js';

const WRITE = process.env.SPK_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', 'docs', 'screenshots');

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'screenshots', basePort: 18600 });
  seeded = await seedClinic(stack, 'cardiologie');
  [patient, clinician] = await Promise.all([
    launchBrowser({ viewport: { width: 390, height: 844 } }),
    launchBrowser({ viewport: { width: 1280, height: 800 } }),
  ]);
  for (const b of [patient, clinician]) b.page.on('dialog', (d) => void d.accept());
  if (WRITE) mkdirSync(OUT, { recursive: true });
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

async function expectScreen(page: Page, state: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(`[data-testid="screen"][data-state="${state}"]`, { timeout });
}

/** Viewport only (small files); a short pause lets transitions and the first video frames settle. */
async function shot(page: Page, name: string): Promise<void> {
  if (!WRITE) return;
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
}

describe('the patient journey and the clinician console', () => {
  let link: string;
  let appointmentId: string;

  test('too early: the appointment and a countdown to the waiting room', async () => {
    const later = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 60 });
    await patient.page.goto(later.patientLink);
    await expectScreen(patient.page, 'too-early');
    // The appointment's time (on the clinic's clock) and a countdown.
    const [{ start, timezone }] = await stack.ds.query(
      `SELECT a.start, c.timezone FROM appointment a JOIN clinic c ON c.id = a.clinic_id WHERE a.id = $1`,
      [later.id],
    );
    const time = new Intl.DateTimeFormat('nl-NL', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: timezone }).format(new Date(start));
    expect(await shownText(patient.page)).toContain(`Uw afspraak begint om ${time}`);
    const countdown = patient.page.getByTestId('countdown');
    expect(await countdown.isVisible()).toBe(true);
    expect(await countdown.innerText()).toMatch(/^De wachtkamer gaat open over \d/);
    await shot(patient.page, 'patient-1-too-early');
  });

  test('the clinician signs in', async () => {
    await clinician.page.goto(`${stack.control.internalUrl}/staff/login`);
    await clinician.page.getByTestId('login-email').waitFor();
    for (const field of ['login-email', 'login-password', 'login-submit']) expect(await clinician.page.getByTestId(field).isVisible()).toBe(true);
    await shot(clinician.page, 'clinician-1-login');
    await signInClinician(clinician.page, stack, seeded);
    // Signed in: the console, no sign-in form.
    expect(new URL(clinician.page.url()).pathname).toBe('/staff/');
    expect(await clinician.page.getByTestId('login-email').count()).toBe(0);
  });

  test('ready: "Start bezoek" from 10 minutes before', async () => {
    const soon = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    link = soon.patientLink;
    appointmentId = soon.id;
    await patient.page.goto(link);
    await expectScreen(patient.page, 'ready');
    expect(await patient.page.getByTestId('start-visit').isVisible()).toBe(true);
    expect(await patient.page.getByTestId('start-visit').innerText()).toBe('Start bezoek');
    await shot(patient.page, 'patient-2-ready');
  });

  test('waiting room; the clinician sees the patient waiting', async () => {
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient.page, 'waiting');
    expect(await shownText(patient.page)).toContain('U bent in de wachtkamer');
    await shot(patient.page, 'patient-3-waiting');

    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.locator('[data-testid="admit"]').waitFor({ timeout: 15_000 });
    // The clinician sees this patient waiting, with the button to let them in.
    expect(await row.getAttribute('data-state')).toBe('waiting');
    expect(await row.locator('[data-testid="admit"]').isVisible()).toBe(true);
    await shot(clinician.page, 'clinician-2-today');
  });

  test('consult: the clinician admits, both see each other', async () => {
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.locator('[data-testid="admit"]').click();
    await expectScreen(patient.page, 'consult');
    await Promise.all([waitForRemoteMedia(patient.page), waitForRemoteMedia(clinician.page)]);
    // Each sees the other: a playing picture on screen on both sides.
    await expect.poll(() => remotePictures(patient.page), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => remotePictures(clinician.page), { timeout: 10_000 }).toBe(1);
    await shot(patient.page, 'patient-4-consult');
    await shot(clinician.page, 'clinician-3-consult');
  });

  test('ended: the clinician ends the consult', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'ended');
    expect(await shownText(patient.page)).toContain('Het consult is afgelopen.');
    await shot(patient.page, 'patient-5-ended');
  });

  test('cancelled by the EHR', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'cancelled'));
    await expectScreen(patient.page, 'cancelled');
    expect(await shownText(patient.page)).toContain('Deze afspraak is geannuleerd');
    await shot(patient.page, 'patient-6-cancelled');
  });

  test('expired: the link after the appointment', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'expired'));
    await expectScreen(patient.page, 'expired');
    expect(await shownText(patient.page)).toContain('Deze link is verlopen');
    await shot(patient.page, 'patient-7-expired');
  });

  test('an unknown link', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'unknown'));
    await expectScreen(patient.page, 'unknown');
    expect(await shownText(patient.page)).toContain('Deze link is niet geldig');
    await shot(patient.page, 'patient-8-unknown');
  });
});
