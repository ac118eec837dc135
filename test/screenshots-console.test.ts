/**
 * The clinician console's screens on the real stack: today's list with a waiting patient and
 * an assistant's notice, the consult with the KNMG panel and a third party in it (three
 * tiles), the consult report, and the patient's "your clinician will call you". Every screen
 * is asserted on what its test's name says is on it before the screenshot; with SPK_SCREENSHOTS=1 each is also written to docs/screenshots/:
 *
 *   node web/build.mjs && SPK_SCREENSHOTS=1 DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/screenshots-console.test.ts
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { remotePictures, shownText } from './support/patient-page.js';

const WRITE = process.env.SPK_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', 'docs', 'screenshots');

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;
let guest: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'screenshots-console', basePort: 19950 });
  seeded = await seedClinic(stack, 'longziekten');
  [patient, clinician, guest] = await Promise.all([
    launchBrowser({ viewport: { width: 390, height: 844 } }),
    launchBrowser({ viewport: { width: 1366, height: 768 } }),
    launchBrowser({ viewport: { width: 800, height: 600 } }),
  ]);
  if (WRITE) mkdirSync(OUT, { recursive: true });
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await Promise.all([patient?.close(), clinician?.close(), guest?.close()]);
  await stack?.stop();
});

async function expectScreen(page: Page, state: string, timeout = 20_000): Promise<void> {
  await page.waitForSelector(`[data-testid="screen"][data-state="${state}"]`, { timeout });
}

async function shot(page: Page, name: string): Promise<void> {
  if (!WRITE) return;
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
}

describe('the clinician console', () => {
  let id: string;

  test("today's list: a waiting patient and an assistant's notice", async () => {
    await createAppointmentViaApi(stack, seeded, { startsInMinutes: 40 });
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    id = a.id;
    await patient.page.goto(a.patientLink);
    await expectScreen(patient.page, 'ready');
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient.page, 'waiting');
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${id}"]`);
    await row.locator('[data-testid="admit"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => clinician.page.evaluate(() => document.body.dataset.feed ?? '')).toBe('up');
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    await redis.publish(
      `spk:clinic:${seeded.clinicId}`,
      JSON.stringify({ kind: 'clinician-notified', appointmentId: id, clinicianId: seeded.clinician.id, fromStaffId: seeded.clinician.id }),
    );
    await redis.quit();
    await clinician.page.locator('[data-testid="notice"]').waitFor();
    // The waiting patient (ready to be let in) and the assistant's notice about them.
    expect(await row.getAttribute('data-state')).toBe('waiting');
    expect(await row.locator('[data-testid="admit"]').isVisible()).toBe(true);
    expect(await clinician.page.getByTestId('notice').innerText()).toMatch(/De assistent vraagt u te kijken bij .+ \(\d{2}:\d{2} uur\)/);
    await shot(clinician.page, 'console-1-today');
    await clinician.page.getByTestId('notice-dismiss').click();
  });

  test('in the consult: the KNMG panel and a third party (three tiles)', async () => {
    await clinician.page.locator(`[data-appointment-id="${id}"] [data-testid="admit"]`).click();
    await expectScreen(patient.page, 'consult');
    await waitForRemoteMedia(clinician.page, 20_000);
    const p = clinician.page;
    await p.getByTestId('knmg-identity-bsn_details').check();
    await p.getByTestId('knmg-ps-interpreter').check();
    await p.getByTestId('knmg-others-consent').check();
    await p.getByTestId('knmg-consent-video').check();
    await p.getByTestId('knmg-fallback-explained').check();
    await p.getByTestId('knmg-save').click();
    await expect.poll(() => p.getByTestId('knmg-status').textContent()).toMatch(/Opgeslagen/);
    await p.getByTestId('guest-role').selectOption('interpreter');
    await p.getByTestId('guest-create').click();
    const link = await p.getByTestId('guest-link').first().inputValue();
    await guest.page.goto(link);
    await expectScreen(guest.page, 'consult');
    await expect.poll(() => p.locator('[data-testid="remote-video"]').count(), { timeout: 20_000 }).toBe(2);
    await waitForRemoteMedia(guest.page, 20_000);
    await p.getByTestId('consult-side').evaluate((el) => (el.scrollTop = 0));
    // Three tiles: two remote pictures playing (patient and interpreter) beside the self-view;
    // the KNMG panel in view with what was saved.
    await expect.poll(() => remotePictures(p), { timeout: 20_000 }).toBe(2);
    expect(await p.locator('video').filter({ visible: true }).count()).toBe(3);
    expect(await p.getByTestId('knmg-save').isVisible()).toBe(true);
    expect(await p.getByTestId('knmg-consent-video').isChecked()).toBe(true);
    await expect.poll(() => remotePictures(guest.page), { timeout: 20_000 }).toBe(2);
    await shot(clinician.page, 'console-2-consult-knmg');
    await shot(guest.page, 'console-3-guest');
  });

  test('the consult report, right after the end', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await clinician.page.waitForSelector('[data-testid="report"][data-loaded="true"]');
    expect(await clinician.page.getByTestId('report-identity').textContent()).toBe('BSN met naam, geboortedatum en adres');
    expect(await clinician.page.getByTestId('report').isVisible()).toBe(true);
    await shot(clinician.page, 'console-4-report');
    await clinician.page.getByTestId('report-back').click();
  });

  test("switch to phone: the patient's page says the clinician will call", async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await patient.page.goto(a.patientLink);
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient.page, 'waiting');
    await clinician.page.locator(`[data-appointment-id="${a.id}"] [data-testid="admit"]`).click({ timeout: 15_000 });
    await expectScreen(patient.page, 'consult');
    await clinician.page.getByTestId('switch-to-phone').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'phone');
    // The seeded patient's phone is 0612345678: the page names its last digits.
    const text = await shownText(patient.page);
    expect(text).toContain('Uw zorgverlener belt u');
    expect(text).toContain('telefoonnummer dat eindigt op 78');
    await shot(patient.page, 'patient-13-phone');
  });
});
