/**
 * The assistant's dashboard with a busy morning on it (four clinicians, every card status,
 * device-test grades, interpreter, a failed message, a chat open, a call-back task), on a
 * 1366×768 screen: asserted (no axe-core WCAG 2.1 AA violations, every action reachable by
 * keyboard, nothing overflowing the screen sideways), and with SPK_SCREENSHOTS=1 written to
 * docs/screenshots/dashboard-*.png:
 *
 *   SPK_SCREENSHOTS=1 DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/screenshots-dashboard.test.ts
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { appointmentFor } from './support/relay-client.js';
import { NOTIFICATION_STUB, openDashboard, seedAssistant } from './support/dashboard.js';
import { axeViolations } from './support/patient-page.js';

const WRITE = process.env.SPK_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', 'docs', 'screenshots');

let stack: Stack;
let seeded: SeededClinic;
let browser: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'screenshots-dashboard', basePort: 19260 });
  seeded = await seedClinic(stack, 'cardiologie');
  browser = await launchBrowser({ fakeMedia: false, viewport: { width: 1366, height: 768 } });
  await browser.page.addInitScript(NOTIFICATION_STUB);
  if (WRITE) mkdirSync(OUT, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const NAMES = ['Mevrouw J. de Vries', 'Dhr. P. Bakker', 'Mevrouw A. El Amrani', 'Dhr. K. Jansen', 'Mevrouw L. Visser', 'Dhr. M. Smit'];
const DEVICE = (grade: string) => JSON.stringify({ camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 40, lossPct: 0, bitrateKbps: 900, grade } });

test('a busy morning on 1366×768: accessible, keyboard-reachable, no sideways overflow', async () => {
  const clinicians = [seeded.clinician.id];
  for (const name of ['Dr. S. de Boer', 'Dr. R. Mulder', 'Dr. E. Peters']) {
    const [row] = await stack.ds.query(`INSERT INTO staff (email, name, role, active) VALUES ($1, $2, 'clinician', true) RETURNING id`, [
      `${randomBytes(4).toString('hex')}@test.invalid`,
      name,
    ]);
    await stack.ds.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [row.id, seeded.clinicId]);
    clinicians.push(row.id);
  }
  const states: Array<[number, string, string | null]> = [
    [-20, 'ended', 'good'], [-5, 'in_consult', 'good'], [-1, 'waiting', 'fair'], [4, 'waiting', 'good'],
    [10, 'scheduled', null], [-12, 'no_show', null], [-8, 'dropped', 'poor'], [2, 'waiting', null],
    [15, 'scheduled', 'good'], [25, 'scheduled', null], [-3, 'waiting', 'good'], [30, 'scheduled', null],
  ];
  const ids: string[] = [];
  for (const [i, [minutes, state, grade]] of states.entries()) {
    const a = await appointmentFor(stack, { clinicCode: seeded.clinicCode, clinician: { id: clinicians[i % clinicians.length]! } }, { startsInMinutes: minutes });
    ids.push(a.id);
    await stack.ds.query(`UPDATE appointment SET patient_name = $2, language = $3, flags = $4 WHERE id = $1`, [
      a.id,
      NAMES[i % NAMES.length],
      i % 5 === 2 ? 'en' : 'nl',
      JSON.stringify(i % 4 === 3 ? { interpreter: true } : {}),
    ]);
    await stack.ds.query(
      `UPDATE visit SET state = $2, waiting_since = CASE WHEN $2 IN ('waiting', 'in_consult', 'dropped', 'ended') THEN now() - make_interval(mins => $4) END,
              device_test = $3::jsonb, device_tested_at = CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END
        WHERE appointment_id = $1`,
      [a.id, state, grade ? DEVICE(grade) : null, 1 + (i % 7)],
    );
  }
  await stack.ds.query(`INSERT INTO notification_failed (appointment_id, kind, channel) VALUES ($1, 'reminder', 'sms')`, [ids[4]]);
  await stack.ds.query(`INSERT INTO callback_task (appointment_id, clinic_id, reason) VALUES ($1, $2, 'no_show')`, [ids[5], seeded.clinicId]);

  // Live call quality of the consult under way (what the quality store keeps from Janus's stats).
  const { createClient } = await import('redis');
  const redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
  await redis.hSet(`spk:quality:${ids[1]}`, 'p', JSON.stringify({ participantId: 'p', role: 'patient', grade: 'fair', rttMs: 180, at: Date.now() }));
  await redis.quit();
  const assistant = await seedAssistant(stack, [seeded.clinicId], 'shot');
  const page = browser.page;
  await openDashboard(page, stack.control.internalUrl, assistant, seeded.clinicCode);
  await page.waitForFunction((n) => document.querySelectorAll('li.card').length === n, states.length);
  await page.locator('[data-testid="callback"]').first().waitFor();
  expect(await page.locator('[data-testid="lane"]').count()).toBe(4);
  expect(await page.locator('[data-testid="interpreter"]').count()).toBe(3);
  expect(await page.locator(`li.card[data-appointment-id="${ids[4]}"] [data-testid="failed-messages"]`).count()).toBe(1);
  expect(await page.locator(`li.card[data-appointment-id="${ids[2]}"] [data-testid="grade"]`).getAttribute('data-grade')).toBe('fair');
  expect(await page.locator(`li.card[data-appointment-id="${ids[1]}"] [data-testid="quality"]`).getAttribute('data-grade')).toBe('fair');

  // Two waiting patients selected for one chat message.
  await page.locator(`li.card[data-appointment-id="${ids[2]}"] [data-testid="select"]`).check();
  await page.locator(`li.card[data-appointment-id="${ids[3]}"] [data-testid="select"]`).check();
  await page.getByTestId('chat-selected').click();
  await page.getByTestId('chat-input').fill('Het spreekuur loopt ongeveer 10 minuten uit.');
  await page.getByTestId('delay-input').fill('Het spreekuur loopt 10 minuten uit.');

  expect(await axeViolations(page)).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  // Every card action is a real button in the tab order.
  const notReachable = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.card-actions button:not([disabled])')].filter((b) => b.tabIndex < 0).length,
  );
  expect(notReachable).toBe(0);
  if (WRITE) {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, 'dashboard-1-morning.png') });
  }

  // The same in English.
  await page.getByTestId('lang-switch').click();
  await page.getByText('Waiting since', { exact: false }).first().waitFor();
  expect(await axeViolations(page)).toEqual([]);
  if (WRITE) await page.screenshot({ path: join(OUT, 'dashboard-2-english.png') });
  await page.getByTestId('lang-switch').click();
}, 90_000);
