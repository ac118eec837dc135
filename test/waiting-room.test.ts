/**
 * The waiting room's server side on the real stack: chat both ways across two control-plane
 * processes (Redis only, never PostgreSQL, gone when the consult ends), "someone is with me",
 * and the clinic's delay message reaching a waiting patient live.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient, type RedisClientType } from 'redis';
import { startStack, type ControlPlane, type Stack } from './support/stack.js';
import { cancelViaApi, createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { RelayClient, appointmentFor, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';
import { PersonalData, levelsOf, readLogFiles } from './support/personal-data.js';

/** Every personal value this file created: patients (read back at the end), link tokens, chat text. */
const personal = new PersonalData();

let stack: Stack;
let seeded: SeededClinic;
let other: SeededClinic;
let second: ControlPlane;
let redis: RedisClientType;

beforeAll(async () => {
  // Both control planes log at every level (trace, debug included): the log check at the end reads it all.
  stack = await startStack({ name: 'waiting-room', basePort: 18750, env: { LOG_LEVEL: 'trace' } });
  second = await stack.startControlPlane({ public: 18760, internal: 18761 });
  [seeded, other] = await Promise.all([seedClinic(stack), seedClinic(stack)]);
  redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
});

afterAll(async () => {
  await redis?.quit();
  await stack?.stop();
});

async function waitingPatient(base = stack.control.publicUrl) {
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
  personal.addLink(a.patientLink);
  const patient = await RelayClient.open(base);
  expect(await patient.request({ t: 'hello', token: tokenOf(a.patientLink) })).toMatchObject({ t: 'reply' });
  expect(await patient.request({ t: 'start-visit' })).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
  return { a, patient };
}

/** Rows of any table whose text contains `needle`. */
async function foundInPostgres(needle: string): Promise<string[]> {
  const tables = (await stack.ds.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  )) as Array<{ table_name: string }>;
  const hits: string[] = [];
  for (const { table_name } of tables) {
    const [r] = await stack.ds.query(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE $1`, [`%${needle}%`]);
    if (r.n > 0) hits.push(table_name);
  }
  return hits;
}

describe('chat', () => {
  test('both ways across two control-plane processes; Redis only; gone when the consult ends', async () => {
    const { a, patient } = await waitingPatient(stack.control.publicUrl);
    const s = await staffSignIn(second.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const api = staffApi(second.internalUrl, s);
    const staffSocket = await RelayClient.open(second.internalUrl, '/staff/ws', s.cookie);
    try {
      const hello = await staffSocket.request({ t: 'hello', appointmentId: a.id });
      expect(hello).toMatchObject({ t: 'reply' });
      await staffSocket.waitFor((m) => m.t === 'chat-history');

      const marker = `zeldzaam-${Date.now()}`;
      personal.add('chat text', marker);
      // Control characters go; the text is trimmed.
      const sent = await patient.request({ t: 'chat', text: `  Goedemorgen, ${marker}\u0007 ik ben er \u202E ` });
      expect(sent).toMatchObject({ t: 'reply', data: { message: { from: 'patient', text: `Goedemorgen, ${marker} ik ben er` } } });
      // The patient on process 1 and the staff socket on process 2 both get it.
      await patient.waitFor((m) => m.t === 'chat' && m.message.from === 'patient');
      const atStaff = await staffSocket.waitFor((m) => m.t === 'chat' && m.message.from === 'patient');
      expect(atStaff.message.text).toContain(marker);

      const posted = await api(`/appointments/${a.id}/chat`, { method: 'POST', body: { text: `U bent zo aan de beurt ${marker}` } });
      expect(posted.status).toBe(201);
      const toPatient = await patient.waitFor((m) => m.t === 'chat' && m.message.from === 'staff');
      expect(toPatient.message).toMatchObject({ from: 'staff', text: `U bent zo aan de beurt ${marker}` });
      expect(Date.parse(toPatient.message.at)).not.toBeNaN();

      const history = (await (await api(`/appointments/${a.id}/chat`)).json()) as any;
      expect(history.messages.map((m: any) => m.from)).toEqual(['patient', 'staff']);

      // A patient who reloads gets the history after the state.
      const again = await RelayClient.open(stack.control.publicUrl);
      await again.request({ t: 'hello', token: tokenOf(a.patientLink) });
      const kinds = again.pushes.map((m) => m.t);
      expect(kinds.indexOf('chat-history')).toBeGreaterThan(kinds.indexOf('state'));
      expect(again.pushes.find((m) => m.t === 'chat-history').messages).toHaveLength(2);
      await again.close();

      expect(await redis.exists(`spk:chat:${a.id}`)).toBe(1);
      expect(await foundInPostgres(marker)).toEqual([]);

      const ended = await api(`/appointments/${a.id}/end`, { method: 'POST' });
      expect(ended.status).toBe(200);
      expect(await redis.exists(`spk:chat:${a.id}`)).toBe(0);
      expect(await foundInPostgres(marker)).toEqual([]);
      // The control planes' logs carry no chat text either.
      const { readFileSync, readdirSync } = await import('node:fs');
      const dir = `${process.cwd()}/.run/test/waiting-room`;
      for (const f of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
        expect(readFileSync(`${dir}/${f}`, 'utf8'), f).not.toContain(marker);
      }
    } finally {
      await patient.close();
      await staffSocket.close();
    }
  });

  test('refusals: empty or too long text, staff over the socket, CSRF, another clinic', async () => {
    const { a, patient } = await waitingPatient();
    try {
      expect(await patient.request({ t: 'chat', text: ' \u0000\u0007 ' })).toMatchObject({ t: 'error', code: 'bad_request' });
      personal.add('chat text', 'x'.repeat(1001));
      expect(await patient.request({ t: 'chat', text: 'x'.repeat(1001) })).toMatchObject({ t: 'error', code: 'bad_request' });
      expect(await patient.request({ t: 'chat', text: 'hoi', room: 1 })).toMatchObject({ t: 'error', code: 'forbidden_parameter' });
      const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
      const api = staffApi(stack.control.internalUrl, s);
      expect((await api(`/appointments/${a.id}/chat`, { method: 'POST', body: { text: 'hoi' }, csrf: false })).status).toBe(403);
      expect((await api(`/appointments/${a.id}/chat`, { method: 'POST', body: { text: '   ' } })).status).toBe(400);
      expect((await api(`/appointments/${a.id}/chat`, { method: 'POST', body: { text: 'hoi', extra: 1 } })).status).toBe(400);
      const staffSocket = await RelayClient.open(stack.control.internalUrl, '/staff/ws', s.cookie);
      await staffSocket.request({ t: 'hello', appointmentId: a.id });
      expect(await staffSocket.request({ t: 'chat', text: 'hoi' })).toMatchObject({ t: 'error', code: 'not_allowed' });
      await staffSocket.close();
      const stranger = await staffSignIn(stack.control.internalUrl, other.clinician.email, other.clinician.password);
      const strangerApi = staffApi(stack.control.internalUrl, stranger);
      // Another clinic's clinician: refused outright (issue 4: 403 on another clinic's data).
      expect((await strangerApi(`/appointments/${a.id}/chat`)).status).toBe(403);
      expect((await strangerApi(`/appointments/${a.id}/chat`, { method: 'POST', body: { text: 'hoi' } })).status).toBe(403);
      expect(await redis.lLen(`spk:chat:${a.id}`)).toBe(0);
    } finally {
      await patient.close();
    }
  });

  test('cancelled by the EHR while the patient waits: their page hears it at once', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    personal.addLink(a.patientLink);
    const patient = await RelayClient.open(stack.control.publicUrl);
    await patient.request({ t: 'hello', token: tokenOf(a.patientLink) });
    await patient.request({ t: 'start-visit' });
    const since = patient.pushes.length;
    await cancelViaApi(stack, seeded, a.id);
    const pushed = await patient.waitFor((m) => m.t === 'state' && m.state.visitState === 'cancelled', 3000, since);
    expect(pushed.state.visitState).toBe('cancelled');
    await patient.close();
  });

  test('the chat of a cancelled appointment is swept away', async () => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 60 });
    personal.addLink(a.patientLink);
    personal.add('chat text', 'Ik kan toch niet komen');
    const patient = await RelayClient.open(stack.control.publicUrl);
    await patient.request({ t: 'hello', token: tokenOf(a.patientLink) });
    expect(await patient.request({ t: 'chat', text: 'Ik kan toch niet komen' })).toMatchObject({ t: 'reply' });
    await patient.close();
    expect(await redis.exists(`spk:chat:${a.id}`)).toBe(1);
    // What DELETE /api/v1/appointments/:id runs.
    const { cancelAppointment } = await import('../control/src/domain/appointments.js');
    await cancelAppointment(stack.ds, a.id, { actor: { kind: 'integration', id: null } as any });
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(v.state).toBe('cancelled');
    // The worker's forget-chats sweep (every 30 s; this stack runs no worker, so the test runs
    // what the sweep runs; test/housekeeping.test.ts runs it through the worker's schedule).
    const { sweepClosedConsults } = await import('../control/src/realtime/chat.js');
    const { closedAmong } = await import('../control/src/jobs/housekeeping.js');
    expect(await sweepClosedConsults(redis, (ids) => closedAmong(stack.ds, ids))).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(`spk:chat:${a.id}`)).toBe(0);
  });
});

describe('someone is with me', () => {
  test('stored on the visit, in the state, in /staff/api/today, pushed to staff', async () => {
    const { a, patient } = await waitingPatient();
    const s = await staffSignIn(second.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const staffSocket = await RelayClient.open(second.internalUrl, '/staff/ws', s.cookie);
    try {
      await staffSocket.request({ t: 'hello', appointmentId: a.id });
      const since = staffSocket.pushes.length;
      expect(await patient.request({ t: 'companion', present: true })).toMatchObject({ t: 'reply', data: { companion: true } });
      await staffSocket.waitFor((m) => m.t === 'state' && m.state.companion === true, 5000, since);
      const [v] = await stack.ds.query(`SELECT companion FROM visit WHERE appointment_id = $1`, [a.id]);
      expect(v.companion).toBe(true);
      const today = (await (await staffApi(second.internalUrl, s)('/today')).json()) as any;
      expect(today.appointments.find((x: any) => x.id === a.id)).toMatchObject({ companion: true });
      expect(await patient.request({ t: 'companion', present: 'yes' })).toMatchObject({ t: 'error', code: 'bad_request' });
      expect(await staffSocket.request({ t: 'companion', present: false })).toMatchObject({ t: 'error', code: 'not_allowed' });
    } finally {
      await patient.close();
      await staffSocket.close();
    }
  });
});

describe('delay message', () => {
  test('reaches a waiting patient’s socket as a state push, and can be cleared', async () => {
    const { patient } = await waitingPatient(second.publicUrl);
    const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const api = staffApi(stack.control.internalUrl, s);
    try {
      const since = patient.pushes.length;
      const res = await api(`/clinics/${seeded.clinicCode}/delay-message`, {
        method: 'PUT',
        body: { message: 'Het spreekuur loopt 15 minuten uit.' },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).notified).toBeGreaterThanOrEqual(1);
      await patient.waitFor((m) => m.t === 'state' && m.state.delayMessage === 'Het spreekuur loopt 15 minuten uit.', 5000, since);

      const since2 = patient.pushes.length;
      expect((await api(`/clinics/${seeded.clinicCode}/delay-message`, { method: 'PUT', body: { message: null } })).status).toBe(200);
      await patient.waitFor((m) => m.t === 'state' && m.state.delayMessage === null, 5000, since2);

      expect((await api(`/clinics/${seeded.clinicCode}/delay-message`, { method: 'PUT', body: { message: 'x' }, csrf: false })).status).toBe(403);
      expect((await api(`/clinics/${other.clinicCode}/delay-message`, { method: 'PUT', body: { message: 'x' } })).status).toBe(403);
      expect((await api(`/clinics/${seeded.clinicCode}/delay-message`, { method: 'PUT', body: { message: 'x'.repeat(501) } })).status).toBe(400);
      expect((await api(`/clinics/${seeded.clinicCode}/delay-message`, { method: 'PUT', body: {} })).status).toBe(400);
    } finally {
      await patient.close();
    }
  });
});

describe('logs', () => {
  test('neither control plane logged personal data, at any level', async () => {
    // Every patient this file created, as stored (name, e-mail, phone, birth date).
    const rows = (await stack.ds.query(
      `SELECT patient_name AS name, patient_email AS email, patient_phone AS phone, patient_birth_date::text AS "birthDate" FROM appointment`,
    )) as Array<Record<string, string | null>>;
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) personal.addPatient(r);
    expect(personal.size).toBeGreaterThan(8);
    const { files, lines } = readLogFiles(`${process.cwd()}/.run/test/waiting-room`);
    // Both processes' logs, live at debug/trace (one line per request at least).
    expect(files.filter((f) => /control-\d+\.log$/.test(f))).toHaveLength(2);
    expect(lines.length).toBeGreaterThan(50);
    const levels = levelsOf(lines);
    expect(levels.has(20) || levels.has(10)).toBe(true);
    expect(personal.foundIn(lines.join('\n'))).toEqual([]);
  });
});
