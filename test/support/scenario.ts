/**
 * A clinic with a clinician who can sign in and an integration key, on a running stack; and
 * the steps every end-to-end test repeats (create an appointment through the API, sign in).
 */
import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { Page } from 'playwright-core';
import type { Stack } from './stack.js';
import { waitForRemoteMedia } from './browser.js';
import { expectScreen } from './patient-page.js';

export interface SeededClinic {
  clinicId: string;
  clinicCode: string;
  clinician: { id: string; email: string; password: string };
  apiKey: string;
}

export async function seedClinic(stack: Stack, code = `c${randomBytes(3).toString('hex')}`): Promise<SeededClinic> {
  const ds = stack.ds;
  const [clinic] = await ds.query(
    `INSERT INTO clinic (code, name, helpdesk_phone) VALUES ($1, 'Polikliniek Test', '088 123 45 67') RETURNING id`,
    [code],
  );
  const password = 'correct horse battery staple';
  const email = `dokter-${code}@test.invalid`;
  const [staff] = await ds.query(
    `INSERT INTO staff (email, name, role, password_hash, active) VALUES ($1, 'Dr. T. Test', 'clinician', $2, true) RETURNING id`,
    [email, await argon2.hash(password, { type: argon2.argon2id })],
  );
  await ds.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [staff.id, clinic.id]);
  const apiKey = `spk_${randomBytes(24).toString('base64url')}`;
  await ds.query(
    `INSERT INTO integration (name, key_prefix, key_hash) VALUES ('test', $1, $2)`,
    [apiKey.slice(0, 8), createHash('sha256').update(apiKey).digest('hex')],
  );
  return { clinicId: clinic.id, clinicCode: code, clinician: { id: staff.id, email, password }, apiKey };
}

export async function createAppointmentViaApi(
  stack: Stack,
  seeded: SeededClinic,
  opts: { startsInMinutes: number; durationMinutes?: number; externalId?: string },
): Promise<{ id: string; patientLink: string; status: string }> {
  const start = new Date(Date.now() + opts.startsInMinutes * 60_000);
  const res = await fetch(`${stack.control.internalUrl}/api/v1/appointments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seeded.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      externalId: opts.externalId ?? `ehr-${randomBytes(6).toString('hex')}`,
      clinic: seeded.clinicCode,
      clinician: seeded.clinician.email,
      start: start.toISOString().replace('Z', '+00:00'),
      durationMinutes: opts.durationMinutes ?? 15,
      patient: { name: 'Mevrouw J. de Vries', birthDate: '1948-03-12', phone: '0612345678', language: 'nl' },
    }),
  });
  const body = (await res.json()) as any;
  if (res.status !== 201) throw new Error(`appointment create failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** What DELETE /api/v1/appointments/:id does for the EHR: cancel (throws unless 200). */
export async function cancelViaApi(stack: Stack, seeded: SeededClinic, appointmentId: string): Promise<void> {
  const res = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${appointmentId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${seeded.apiKey}` },
  });
  if (res.status !== 200) throw new Error(`cancel failed: ${res.status}`);
}

/** A patient link that has died one of three ways: cancelled by the EHR, expired, never valid. */
export async function deadLink(stack: Stack, seeded: SeededClinic, how: 'cancelled' | 'expired' | 'unknown'): Promise<string> {
  if (how === 'unknown') return `${stack.control.publicUrl}/p/${randomBytes(32).toString('base64url')}`;
  const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: how === 'expired' ? -120 : 30 });
  if (how === 'cancelled') await cancelViaApi(stack, seeded, a.id);
  return a.patientLink;
}

export async function signInClinician(page: Page, stack: Stack, seeded: SeededClinic): Promise<void> {
  await page.goto(`${stack.control.internalUrl}/staff/login`);
  await page.getByTestId('login-email').fill(seeded.clinician.email);
  await page.getByTestId('login-password').fill(seeded.clinician.password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(`${stack.control.internalUrl}/staff/`);
}

/**
 * The steps most end-to-end tests take to reach a running consult: the patient opens her link
 * and starts the visit, the clinician (signed in on `clinician`) admits her from the console,
 * and both pages decode the other's video and receive audio. `patientUrl`: the link as this
 * test's network reaches it (default the link itself). Returns both pages' media counts.
 */
export async function startConsult(
  /** (only its internal URL: test/deploy/consult-media.ts passes a deployment's) */
  stack: { control: { internalUrl: string } },
  pages: { patient: Page; clinician: Page },
  appointment: { id: string; patientLink: string },
  opts: { patientUrl?: string; timeoutMs?: number } = {},
): Promise<{ patient: { framesDecoded: number; audioPacketsReceived: number }; clinician: { framesDecoded: number; audioPacketsReceived: number } }> {
  const timeout = opts.timeoutMs ?? 15_000;
  const { patient, clinician } = pages;
  await patient.goto(opts.patientUrl ?? appointment.patientLink);
  await expectScreen(patient, 'ready', timeout);
  await patient.getByTestId('start-visit').click();
  await expectScreen(patient, 'waiting', timeout);
  await clinician.goto(`${stack.control.internalUrl}/staff/`);
  await clinician
    .locator(`[data-testid="appointment-row"][data-appointment-id="${appointment.id}"] [data-testid="admit"]`)
    .click({ timeout });
  await expectScreen(patient, 'consult', timeout);
  const [p, c] = await Promise.all([waitForRemoteMedia(patient, timeout), waitForRemoteMedia(clinician, timeout)]);
  return { patient: p, clinician: c };
}
