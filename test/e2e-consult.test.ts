/**
 * The backbone, end to end on the real stack: the EHR creates an appointment through the
 * integration API, the patient opens the link and waits, the clinician admits, both decode
 * each other's video and receive audio through Janus, Janus restarts mid-consult and media
 * comes back without a new admission, the clinician ends, and the link is dead.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, mediaStats, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { wsExchange } from './support/ws.js';
import { seedClinic, createAppointmentViaApi, signInClinician, type SeededClinic } from './support/scenario.js';
import { RoomAdmin } from './bench/bare-janus.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'e2e-consult', basePort: 18100 });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser()]);
  clinician.page.on('dialog', (d) => void d.accept());
  patient.page.on('dialog', (d) => void d.accept());
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

async function expectScreen(b: TestBrowser, state: string, timeout = 15_000) {
  await b.page.waitForSelector(`[data-testid="screen"][data-state="${state}"]`, { timeout });
}

describe('an appointment becomes a live consult', () => {
  let appointmentId: string;
  let link: string;

  test('the patient waits; the clinician admits; both see and hear each other', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    link = a.patientLink;
    expect(link.startsWith(stack.control.publicUrl + '/p/')).toBe(true);

    // The patient's socket, frame by frame: her join is sent from the waiting room and held.
    const sent: any[] = [];
    const received: any[] = [];
    const parse = (p: string | Buffer) => {
      try {
        return JSON.parse(String(p));
      } catch {
        return null;
      }
    };
    patient.page.on('websocket', (ws) => {
      ws.on('framesent', (f) => sent.push(parse(f.payload)));
      ws.on('framereceived', (f) => received.push(parse(f.payload)));
    });

    await patient.page.goto(link);
    await expectScreen(patient, 'ready');
    await patient.page.getByTestId('start-visit').click();
    await expectScreen(patient, 'waiting');

    // With her camera on and the publisher prepared, the page hands its join + publish to the
    // server, which keeps it: not answered, and nothing of it in Janus (no room, nobody in it).
    const heldJoin = () => sent.find((m) => m?.t === 'join' && m.wait === true && m.publish?.jsep?.type === 'offer');
    await expect.poll(heldJoin, { timeout: 15_000 }).toBeTruthy();
    await new Promise((r) => setTimeout(r, 500));
    const heldId = heldJoin().id as number;
    expect(received.filter((m) => m?.id === heldId)).toEqual([]);
    const [{ room_id: roomId }] = await stack.ds.query(`SELECT room_id FROM visit WHERE appointment_id = $1`, [appointmentId]);
    const admin = await RoomAdmin.open(stack.janus.url, stack.janus.apiSecret);
    try {
      const listed = await admin.videoroom({ request: 'listparticipants', room: Number(roomId) }).catch((err: Error) => err);
      // 426: no such room (the admission creates it).
      if (listed instanceof Error) expect(listed.message).toMatch(/426/);
      else expect(listed.participants).toEqual([]);
    } finally {
      await admin.close();
    }

    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.locator('[data-testid="admit"]').click({ timeout: 15_000 });

    await expectScreen(patient, 'consult');
    // The held join was carried out on the admission: its reply is our place and Janus's answer.
    await expect.poll(() => received.find((m) => m?.id === heldId), { timeout: 15_000 }).toMatchObject({ t: 'reply', data: { jsep: { type: 'answer' } } });
    const [p, c] = await Promise.all([waitForRemoteMedia(patient.page), waitForRemoteMedia(clinician.page)]);
    expect(p.framesDecoded).toBeGreaterThan(5);
    expect(p.audioPacketsReceived).toBeGreaterThan(5);
    expect(c.framesDecoded).toBeGreaterThan(5);
    expect(c.audioPacketsReceived).toBeGreaterThan(5);

    const visit = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId]);
    expect(visit[0].state).toBe('in_consult');
  }, 120_000);

  test('Janus restarts mid-consult: media is back on both sides within 10 s, no new admission', async () => {
    const before = await Promise.all([mediaStats(patient.page), mediaStats(clinician.page)]);
    expect(before[0].framesDecoded).toBeGreaterThan(0);
    // The clock starts at the kill: Janus's own stop and start count too. Seen red once on
    // purpose: with the gateway's reconnect back-off forced to 12 s the test failed with
    // "expected 11475 to be less than 10000"; as shipped (250 ms – 2 s) media was back in < 1 s.
    const killedAt = Date.now();
    await stack.janus.restart();
    // Fresh peer connections after renegotiation start counting from zero; wait for new frames
    // (generously: the claim is checked on the time measured, not by the wait giving up).
    const [p, c] = await Promise.all([waitForFreshMedia(patient, 30_000), waitForFreshMedia(clinician, 30_000)]);
    const recoveredMs = Math.max(p, c) - killedAt;
    expect(recoveredMs).toBeLessThan(10_000);
    const admissions = await stack.ds.query(
      `SELECT count(*)::int AS n FROM audit_event WHERE appointment_id = $1 AND action = 'admission'`,
      [appointmentId],
    );
    expect(admissions[0].n).toBe(1);
    console.log(`media back on both sides ${recoveredMs} ms after Janus was stopped`);
  });

  test('the patient reloads mid-consult: straight back in, no new admission', async () => {
    await patient.page.reload();
    await expectScreen(patient, 'consult');
    await Promise.all([waitForFreshMedia(patient, 15_000), waitForFreshMedia(clinician, 15_000)]);
    const audit = await stack.ds.query(
      `SELECT action FROM audit_event WHERE appointment_id = $1 ORDER BY id`,
      [appointmentId],
    );
    const actions = audit.map((r: { action: string }) => r.action);
    expect(actions.filter((a: string) => a === 'admission')).toHaveLength(1);
    // The reload was a drop and a rejoin, both on record.
    expect(actions).toEqual(expect.arrayContaining(['drop', 'rejoin']));
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId]);
    expect(v.state).toBe('in_consult');
  });

  test('the clinician ends the consult; the patient sees the end; the link is dead', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient, 'ended');
    const audit = await stack.ds.query(
      `SELECT action FROM audit_event WHERE appointment_id = $1 ORDER BY id`,
      [appointmentId],
    );
    expect(audit.map((r: { action: string }) => r.action)).toEqual(
      expect.arrayContaining(['arrival', 'admission', 'consult_end']),
    );
    // Reopening the link shows the end, and the relay refuses the old token.
    await patient.page.goto(link);
    await expectScreen(patient, 'ended');
    const token = link.split('/p/')[1]!;
    const reply = await wsExchange(stack.control.publicUrl, [{ id: 1, t: 'hello', token }]);
    expect(reply[0]).toMatchObject({ t: 'error', id: 1, code: 'not_authenticated' });
  });
});

/** Resolves with the time (Date.now()) at which fresh remote frames were first seen rising. */
async function waitForFreshMedia(b: TestBrowser, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let risingSince = 0;
  // Frames decoded by a peer connection created after the restart.
  let baseline = await mediaStats(b.page);
  let lastTotal = baseline.framesDecoded;
  let rising = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const s = await mediaStats(b.page);
    // Counters fall when old PCs are closed; media is back when the total rises steadily again.
    if (s.framesDecoded > lastTotal) {
      if (rising++ === 0) risingSince = Date.now();
    } else rising = 0;
    lastTotal = s.framesDecoded;
    if (rising >= 3 && s.audioPacketsReceived > 0) return risingSince;
  }
  throw new Error(`no fresh remote media within ${timeoutMs} ms`);
}

