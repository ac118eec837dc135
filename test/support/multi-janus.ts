/**
 * Consults on a stack with several Janus servers: admit a patient in a page of her own and in a
 * clinician page of its own, find the server a consult's room is on, ask Janus directly.
 */
import type { Browser, Page } from 'playwright-core';
import { RawJanus, type RunningJanus } from './janus.js';
import type { Stack } from './stack.js';
import { createAppointmentViaApi, type SeededClinic } from './scenario.js';
import { expectScreen } from './patient-page.js';
import { waitForRemoteMedia } from './browser.js';

/** Room ids on a Janus server, asked of Janus itself (the admin key lists private rooms). */
export async function roomsOn(janus: RunningJanus): Promise<number[]> {
  const raw = await RawJanus.open(janus.url);
  try {
    const vr = await raw.videoroom(janus.apiSecret);
    const res = await vr({ request: 'list', admin_key: janus.adminKey });
    return ((res.list as Array<{ room: number }> | undefined) ?? []).map((r) => r.room);
  } finally {
    raw.close();
  }
}

export interface Consult {
  appointmentId: string;
  roomId: number;
  patient: Page;
  clinician: Page;
}

/** A patient waiting in the waiting room, in a browser context of her own. */
export async function waitingPatient(stack: Stack, seeded: SeededClinic, browser: Browser): Promise<{ appointmentId: string; roomId: number; patient: Page }> {
  const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
  const patient = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  // 120 s: at load 30-40 (other engineers' runs on the two cores) a third patient page took over 60 s.
  await patient.goto(a.patientLink, { timeout: 120_000 });
  // Generous waits: the test machine is small and shared.
  await expectScreen(patient, 'ready', 60_000);
  await patient.getByTestId('start-visit').click();
  await expectScreen(patient, 'waiting', 60_000);
  const [row] = (await stack.ds.query(`SELECT room_id FROM visit WHERE appointment_id = $1`, [a.id])) as Array<{ room_id: string }>;
  return { appointmentId: a.id, roomId: Number(row!.room_id), patient };
}

/** Admit a waiting patient from a new page of the signed-in clinician's context; wait for media both ways. */
export async function admit(stack: Stack, clinicianContextPage: Page, w: { appointmentId: string; roomId: number; patient: Page }): Promise<Consult> {
  const t0 = Date.now();
  const step = (what: string) => process.env.SPK_TEST_STEPS && console.log(`admit ${w.roomId}: ${what} after ${Date.now() - t0} ms`);
  const clinician = await clinicianContextPage.context().newPage();
  clinician.on('dialog', (d) => void d.accept());
  await clinician.goto(`${stack.control.internalUrl}/staff/`, { timeout: 60_000 });
  await clinician
    .locator(`[data-testid="appointment-row"][data-appointment-id="${w.appointmentId}"] [data-testid="admit"]`)
    .click({ timeout: 60_000 });
  step('admitted');
  await expectScreen(w.patient, 'consult', 90_000);
  step('patient in consult');
  await Promise.all([waitForRemoteMedia(w.patient, 90_000), waitForRemoteMedia(clinician, 90_000)]);
  step('media both ways');
  return { ...w, clinician };
}

/** Index (in stack.januses) of the live server holding the room; -1 when none does. */
export async function serverOfRoom(stack: Stack, roomId: number, live: number[]): Promise<number> {
  for (const i of live) if ((await roomsOn(stack.januses[i]!)).includes(roomId)) return i;
  return -1;
}
