/**
 * Where the poli assistant and the clinician stumbled (issue 16, points 6–11), on the real
 * stack: sign-out on the console and the dashboard, and the idle sign-out; the dashboard says
 * it is loading (never "Geen afspraken." before the answer) and that the live connection is
 * not there yet; Dutch plurals ("1 afspraak"); one clinician's lane takes the width there is;
 * a patient whose page went away is "geen verbinding" on the console and on the dashboard
 * alike; the console gives the date for an appointment that is not today.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/staff-stumbles.test.ts
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { openDashboard, seedAssistant } from './support/dashboard.js';
import { expectScreen, PHONE } from './support/patient-page.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';

const WIDE = { width: 1366, height: 768 };

let stack: Stack;
let seeded: SeededClinic;
let assistant: { email: string; password: string };
let clinician: TestBrowser;
let dash: TestBrowser;
let patient: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'staff-stumbles', basePort: 20560 });
  seeded = await seedClinic(stack);
  assistant = await seedAssistant(stack, [seeded.clinicId], 'stumbles');
  [clinician, dash, patient] = await Promise.all([
    launchBrowser({ viewport: WIDE }),
    launchBrowser({ viewport: WIDE }),
    launchBrowser({ viewport: PHONE }),
  ]);
  await signInClinician(clinician.page, stack, seeded);
}, 120_000);

afterAll(async () => {
  await Promise.all([clinician?.close(), dash?.close(), patient?.close()]);
  await stack?.stop();
});

const card = (page: Page, id: string) => page.locator(`[data-testid="card"][data-appointment-id="${id}"]`);
const row = (page: Page, id: string) => page.locator(`[data-testid="appointment-row"][data-appointment-id="${id}"]`);

describe('the dashboard and the console', () => {
  let appointmentId: string;

  test('before its data the dashboard says it is loading and connecting, never "Geen afspraken."', async () => {
    appointmentId = (await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 })).id;
    const page = dash.page;
    // Hold the day's answer back, as a busy machine does.
    const held: Route[] = [];
    await page.route('**/staff/api/dashboard?*', (route) => void held.push(route));
    await openDashboard(page, stack.control.internalUrl, assistant, seeded.clinicCode);
    await expect.poll(() => held.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('lanes-loading').isVisible()).toBe(true);
    expect(await page.getByTestId('lanes').getAttribute('aria-busy')).toBe('true');
    expect(await page.getByTestId('lanes').textContent()).not.toContain('Geen afspraken');
    expect(await page.getByTestId('conn').getAttribute('data-state')).toBe('connecting');
    expect(await page.getByTestId('conn').isVisible()).toBe(true);
    for (const r of held) await r.continue();
    await page.unroute('**/staff/api/dashboard?*');
    await card(page, appointmentId).waitFor({ timeout: 15_000 });
    await page.getByTestId('conn').waitFor({ state: 'hidden', timeout: 15_000 });
    expect(await page.getByTestId('conn').getAttribute('data-state')).toBe('up');
  });

  test('"1 afspraak", and one clinician\'s lane takes the width there is', async () => {
    const page = dash.page;
    expect(await page.getByTestId('lane-count').textContent()).toBe('(1 afspraak)');
    const share = () =>
      page.evaluate(() => {
        const lane = document.querySelector('[data-testid="lane"]')!.getBoundingClientRect().width;
        return lane / document.querySelector('[data-testid="lanes"]')!.getBoundingClientRect().width;
      });
    expect(await share()).toBeGreaterThan(0.8);
    await page.getByTestId('lang-switch').click();
    expect(await page.getByTestId('lane-count').textContent()).toBe('(1 appointment)');
    await page.getByTestId('lang-switch').click();
  });

  test('a patient whose page went away: "geen verbinding" on the console and on the dashboard', async () => {
    const link = (await stack.ds.query(`SELECT id FROM appointment WHERE id = $1`, [appointmentId])).length;
    expect(link).toBe(1);
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await patient.page.goto(a.patientLink);
    await expectScreen(patient.page, 'ready');
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient.page, 'waiting');
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    await expect.poll(() => row(clinician.page, a.id).getAttribute('data-online'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => card(dash.page, a.id).getAttribute('data-online'), { timeout: 15_000 }).toBe('true');
    expect(await card(dash.page, a.id).getByTestId('status').textContent()).not.toContain('geen verbinding');

    await patient.page.goto('about:blank');
    await expect.poll(() => row(clinician.page, a.id).getAttribute('data-online'), { timeout: 30_000 }).toBe('false');
    expect(await row(clinician.page, a.id).getByTestId('status').textContent()).toContain('geen verbinding');
    await expect.poll(() => card(dash.page, a.id).getAttribute('data-online'), { timeout: 30_000 }).toBe('false');
    expect(await card(dash.page, a.id).getByTestId('status').textContent()).toContain('geen verbinding');
  });

  test('the console gives the date for an appointment that is not today', async () => {
    // Still waiting from 30 hours ago (someone waiting is never hidden): another day for sure.
    const old = await createAppointmentViaApi(stack, seeded, { startsInMinutes: -30 * 60, durationMinutes: 15 });
    await stack.ds.query(`UPDATE visit SET state = 'waiting', waiting_since = now() WHERE appointment_id = $1`, [old.id]);
    const page = clinician.page;
    await page.reload();
    const time = row(page, old.id).locator('td.time');
    await time.waitFor({ timeout: 15_000 });
    const expected = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', day: 'numeric' }).format(new Date(Date.now() - 30 * 3600_000));
    expect(await time.textContent()).toMatch(new RegExp(`^\\S+ ${expected} \\S+ \\d\\d:\\d\\d$`));
  });
});

describe('signing out', () => {
  test('the console and the dashboard have "Uitloggen"; the session is gone after it', async () => {
    for (const [browser, path] of [
      [clinician, '/staff/'],
      [dash, `/staff/dashboard?clinic=${seeded.clinicCode}`],
    ] as const) {
      const page = browser.page;
      await page.goto(`${stack.control.internalUrl}${path}`);
      const button = page.getByTestId('sign-out');
      await button.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await button.textContent()).toBe('Uitloggen');
      await button.click();
      // The click's own redirect and the live socket's "session ended" may both navigate to the
      // sign-in page; the first is then aborted (ERR_ABORTED), which is fine: where the page
      // ends up is what counts.
      await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe('/staff/login');
      await page.waitForLoadState('load');
      const me = await page.evaluate(async () => (await fetch('/staff/api/me')).status);
      expect(me).toBe(401);
    }
  });

  test('idle sign-out after the configured time (30 minutes by default; here shortened for the page)', async () => {
    const page = dash.page;
    await openDashboard(page, stack.control.internalUrl, assistant, seeded.clinicCode);
    const me = (await page.evaluate(async () => (await fetch('/staff/api/me')).json())) as { idleSignOutMinutes: number };
    expect(me.idleSignOutMinutes).toBe(30);
    // The page is told 3 seconds (STAFF_IDLE_MINUTES=0.05 would do the same for the whole server).
    await page.route('**/staff/api/me', async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...(await res.json()), idleSignOutMinutes: 0.05 } });
    });
    await page.reload();
    await page.waitForURL((u) => u.pathname === '/staff/login' && u.searchParams.get('idle') === '1', { timeout: 30_000 });
    await page.unroute('**/staff/api/me');
    expect(await page.getByTestId('sso-problem').textContent()).toContain('niets heeft gedaan');
    expect(await page.evaluate(async () => (await fetch('/staff/api/me')).status)).toBe(401);
  });
});
