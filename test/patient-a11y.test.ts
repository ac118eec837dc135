/**
 * Every patient screen, on the real stack, at a phone (390×844) and a desktop (1280×800)
 * size: axe-core finds no WCAG 2.1 AA violation, the language switch changes every visible
 * string, every control is reached with Tab and buttons are big enough to tap. Also: camera
 * permission denied (Chromium without the fake permission UI) shows the per-browser steps,
 * and a social app's in-app browser on iOS gets "open this link in Safari" with a copy button.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/patient-a11y.test.ts
 */
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM, launchBrowser, type TestBrowser } from './support/browser.js';
import {
  axeViolations,
  DESKTOP,
  expectScreen,
  PHONE,
  smallTargets,
  unreachableByKeyboard,
  untranslated,
} from './support/patient-page.js';
import { createAppointmentViaApi, deadLink, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'patient-a11y', basePort: 19000 });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser({ viewport: DESKTOP })]);
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

/** All checks on the screen as it is now, at both sizes. */
async function checkScreen(page: Page, name: string, opts: { keyboard?: boolean } = {}): Promise<void> {
  for (const size of [PHONE, DESKTOP]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    expect(await axeViolations(page), `${name} @${size.width}: axe`).toEqual([]);
    expect(await smallTargets(page), `${name} @${size.width}: small targets`).toEqual([]);
    if (opts.keyboard !== false) {
      expect(await unreachableByKeyboard(page), `${name} @${size.width}: not reachable by Tab`).toEqual([]);
    }
  }
  await page.setViewportSize(PHONE);
  // SPK_A11Y_SHOTS=<dir>: a full-page phone screenshot of each screen, for looking at.
  if (process.env.SPK_A11Y_SHOTS) await page.screenshot({ path: `${process.env.SPK_A11Y_SHOTS}/${name.replace(/\W+/g, '-')}.png`, fullPage: true });
  expect(await untranslated(page), `${name}: language switch`).toEqual([]);
}

describe('every patient screen is accessible and fully translated', () => {
  let appointmentId: string;

  test('too early, with the device test open', async () => {
    const later = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 60 });
    await patient.page.goto(later.patientLink);
    await expectScreen(patient.page, 'too-early');
    await patient.page.getByTestId('countdown').waitFor();
    await checkScreen(patient.page, 'too-early');

    // Keyboard: Space opens the device test.
    await patient.page.getByTestId('device-test-open').focus();
    await patient.page.keyboard.press('Space');
    await patient.page.getByTestId('device-test-panel').waitFor({ state: 'visible' });
    await patient.page.getByTestId('dt-camera-video').waitFor();
    await patient.page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid="dt-camera-video"]');
      return !!v && v.readyState >= 2;
    });
    // Speaker question, answered by keyboard (Enter).
    await patient.page.getByTestId('dt-speaker-play').focus();
    await patient.page.keyboard.press('Enter');
    await patient.page.getByTestId('dt-speaker-yes').focus();
    await patient.page.keyboard.press('Enter');
    await expect.poll(() => patient.page.getByTestId('dt-speaker-status').textContent()).toContain('geluid werkt');
    await expect
      .poll(() => patient.page.evaluate(() => (window as any).spkDebug.deviceTest()))
      .toMatchObject({ camera: 'ok', microphone: 'ok', speaker: 'heard' });
    await checkScreen(patient.page, 'device test');
    // The microphone meter moves with the fake microphone's beeps.
    await expect.poll(() => patient.page.getByTestId('dt-mic-status').textContent(), { timeout: 10_000 }).toContain('microfoon werkt');
    await patient.page.getByTestId('device-test-close').click();
  });

  test('ready ("Start bezoek"), with the helpdesk number', async () => {
    const soon = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = soon.id;
    await patient.page.goto(soon.patientLink);
    await expectScreen(patient.page, 'ready');
    expect(await patient.page.getByTestId('helpdesk').textContent()).toContain('088 123 45 67');
    await checkScreen(patient.page, 'ready');
  });

  test('waiting room: chat, companion, device test', async () => {
    // Enter activates "Start bezoek".
    await patient.page.getByTestId('start-visit').focus();
    await patient.page.keyboard.press('Enter');
    await expectScreen(patient.page, 'waiting');
    await patient.page.getByTestId('chat').waitFor();
    await patient.page.getByTestId('companion').waitFor();
    await patient.page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
      return !!v && v.readyState >= 2;
    });
    await checkScreen(patient.page, 'waiting');
  });

  test('consult', async () => {
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.locator('[data-testid="admit"]').click({ timeout: 15_000 });
    await expectScreen(patient.page, 'consult');
    await patient.page.getByTestId('remote-video').waitFor({ timeout: 15_000 });
    await checkScreen(patient.page, 'consult');
    // Hang-up asks first; "No, stay" keeps the consult (keyboard: Escape).
    await patient.page.getByTestId('hangup').click();
    await patient.page.getByTestId('confirm').waitFor();
    expect(await axeViolations(patient.page), 'hang-up dialog: axe').toEqual([]);
    await patient.page.keyboard.press('Escape');
    await expectScreen(patient.page, 'consult');
  });

  test('ended, with the helpdesk number', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'ended');
    expect(await patient.page.getByTestId('helpdesk').isVisible()).toBe(true);
    await checkScreen(patient.page, 'ended');
  });

  test('ended: the rating (one tap), then a comment; Dutch and English pass axe; a second rating is refused', async () => {
    const page = patient.page;
    await page.setViewportSize(PHONE);
    await page.getByTestId('rating-4').click();
    await page.getByTestId('rating-chosen').waitFor();
    await checkScreen(page, 'rated');
    await page.getByTestId('rating-comment').fill('Duidelijk uitgelegd, fijn dat ik niet hoefde te reizen.');
    await page.getByTestId('rating-send').click();
    await expect.poll(() => page.getByTestId('rating').getAttribute('data-state')).toBe('done');
    await checkScreen(page, 'rating sent');
    const rows = (await stack.ds.query(`SELECT clinic_id, clinician_id, score, comment FROM consult_rating`)) as unknown[];
    expect(rows).toEqual([{ clinic_id: seeded.clinicId, clinician_id: seeded.clinician.id, score: 4, comment: 'Duidelijk uitgelegd, fijn dat ik niet hoefde te reizen.' }]);
    // Again after a reload: the form is there (the page does not know), the server says "received already".
    await page.reload();
    await expectScreen(page, 'ended');
    await page.getByTestId('lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    expect(await axeViolations(page), 'rating form in English: axe').toEqual([]);
    await page.getByTestId('rating-5').click();
    await expect.poll(() => page.getByTestId('rating-status').textContent()).toContain('already received');
    expect(await axeViolations(page), 'rating refused, English: axe').toEqual([]);
    await page.getByTestId('lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'nl');
    expect((await stack.ds.query(`SELECT count(*)::int AS n FROM consult_rating`))[0].n).toBe(1);
  });

  test('cancelled', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'cancelled'));
    await expectScreen(patient.page, 'cancelled');
    await checkScreen(patient.page, 'cancelled');
  });

  test('expired', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'expired'));
    await expectScreen(patient.page, 'expired');
    await checkScreen(patient.page, 'expired');
  });

  test('unknown link', async () => {
    await patient.page.goto(await deadLink(stack, seeded, 'unknown'));
    await expectScreen(patient.page, 'unknown');
    await checkScreen(patient.page, 'unknown');
  });
});

describe('when the camera cannot be used', () => {
  test('permission denied: the steps for this browser and "Probeer opnieuw", not a blank screen', async () => {
    // A fake camera exists, but there is no fake permission prompt: Chromium refuses.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection'],
    });
    try {
      const context = await browser.newContext({ viewport: PHONE });
      await context.grantPermissions([]);
      const page = await context.newPage();
      const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
      await page.goto(a.patientLink);
      await expectScreen(page, 'ready');
      await page.getByTestId('start-visit').click();
      await expectScreen(page, 'waiting');
      const box = page.getByTestId('media-problem');
      await box.waitFor({ timeout: 15_000 });
      expect(await box.getAttribute('data-problem')).toBe('denied');
      const help = page.getByTestId('media-help');
      expect(await help.getAttribute('data-platform')).toBe('desktop');
      expect(await help.locator('li').count()).toBeGreaterThanOrEqual(3);
      expect(await help.textContent()).toContain('Toestaan');
      expect(await page.getByTestId('media-retry').isVisible()).toBe(true);
      // Still in the waiting room: the clinician can see the patient is there.
      expect(await page.getByTestId('waiting-ready').isVisible()).toBe(true);
      await checkScreen(page, 'permission help');
      // "Probeer opnieuw" asks again and, still refused, shows the help again.
      await page.getByTestId('media-retry').click();
      await page.getByTestId('media-problem').waitFor();
    } finally {
      await browser.close();
    }
  });

  test('in-app browser on iOS (Instagram): "open in Safari" with a working copy-link button', async () => {
    const context = await patient.browser.newContext({
      viewport: PHONE,
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 321.0.2.15.110 (iPhone14,5; iOS 17_4; nl_NL; nl; scale=3.00; 1170x2532; 571036208)',
    });
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      const page = await context.newPage();
      const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
      await page.goto(a.patientLink);
      await expectScreen(page, 'unsupported');
      expect(await page.getByTestId('unsupported-reason').getAttribute('data-reason')).toBe('in-app');
      expect(await page.getByTestId('unsupported-steps').textContent()).toContain('Safari');
      await page.getByTestId('copy-link').click();
      await expect.poll(() => page.getByTestId('copy-link-status').textContent()).toMatch(/gekopieerd|geselecteerd/);
      expect(await page.getByTestId('copy-link-field').inputValue()).toBe(a.patientLink);
      await checkScreen(page, 'unsupported');
    } finally {
      await context.close();
    }
  });
});
