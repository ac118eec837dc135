/**
 * Staff sign-in and the staff API on the real stack: Argon2id login, the session cookie,
 * CSRF on every state-changing request, scoping to the clinician's own appointments, and
 * the audit events of admission and end.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { wsExchange } from './support/ws.js';

let stack: Stack;
let seeded: SeededClinic;
let other: SeededClinic;

beforeAll(async () => {
  stack = await startStack({ name: 'staff-api', basePort: 18300 });
  [seeded, other] = await Promise.all([seedClinic(stack), seedClinic(stack)]);
});

afterAll(async () => {
  await stack?.stop();
});

interface Session {
  cookie: string;
  csrf: string;
}

async function login(email: string, password: string): Promise<Response> {
  return fetch(`${stack.control.internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

async function signIn(s: SeededClinic): Promise<Session> {
  const res = await login(s.clinician.email, s.clinician.password);
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/spk_session=/);
  expect(cookie.toLowerCase()).toContain('httponly');
  expect(cookie.toLowerCase()).toContain('samesite=strict');
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: cookie.split(';')[0]!, csrf: body.csrfToken };
}

function staffFetch(s: Session, path: string, init: RequestInit & { csrf?: boolean } = {}) {
  const headers: Record<string, string> = { cookie: s.cookie, 'content-type': 'application/json' };
  if (init.csrf !== false) headers['x-csrf-token'] = s.csrf;
  return fetch(`${stack.control.internalUrl}/staff/api${path}`, { ...init, headers });
}

async function waitingAppointment(s: SeededClinic) {
  const a = await createAppointmentViaApi(stack, s, { startsInMinutes: 5 });
  const token = a.patientLink.split('/p/')[1]!;
  const r = await wsExchange(stack.control.publicUrl, [
    { id: 1, t: 'hello', token },
    { id: 2, t: 'start-visit' },
  ]);
  expect(r[1]).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
  return a;
}

describe('staff sign-in', () => {
  test('a wrong password or unknown e-mail gets the same 401, and no cookie', async () => {
    for (const [email, pw] of [
      [seeded.clinician.email, 'wrong password'],
      ['nobody@test.invalid', 'whatever'],
    ]) {
      const res = await login(email!, pw!);
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(((await res.json()) as any).error.code).toBe('invalid_login');
    }
  });

  test('malformed login bodies are 400, never 500', async () => {
    for (const body of ['{', '[]', '{"email":1}', JSON.stringify({ email: 'a@b.nl' })]) {
      const res = await fetch(`${stack.control.internalUrl}/staff/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
    }
  });

  test('without a session the staff API answers 401; after logout the session is dead', async () => {
    expect((await fetch(`${stack.control.internalUrl}/staff/api/today`)).status).toBe(401);
    const s = await signIn(seeded);
    expect((await staffFetch(s, '/me')).status).toBe(200);
    expect((await staffFetch(s, '/logout', { method: 'POST' })).status).toBe(200);
    expect((await staffFetch(s, '/me')).status).toBe(401);
  });
});

describe('admit and end', () => {
  test('a state-changing request without the CSRF token is refused and changes nothing', async () => {
    const s = await signIn(seeded);
    const a = await waitingAppointment(seeded);
    const res = await staffFetch(s, `/appointments/${a.id}/admit`, { method: 'POST', csrf: false });
    expect(res.status).toBe(403);
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(v.state).toBe('waiting');
  });

  test('another clinic’s clinician gets 403 on the appointment and cannot admit it', async () => {
    const stranger = await signIn(other);
    const a = await waitingAppointment(seeded);
    // Clinic scope (issue 4): another clinic's appointment is a 403, an unknown one a 404.
    expect((await staffFetch(stranger, `/appointments/${a.id}`)).status).toBe(403);
    expect((await staffFetch(stranger, `/appointments/${a.id}/admit`, { method: 'POST' })).status).toBe(403);
    const today = (await (await staffFetch(stranger, '/today')).json()) as { appointments: Array<{ id: string }> };
    expect(today.appointments.map((x) => x.id)).not.toContain(a.id);
  });

  test('admit and end write audit events; ending twice is harmless; the link dies', async () => {
    const s = await signIn(seeded);
    const a = await waitingAppointment(seeded);
    const admitted = await staffFetch(s, `/appointments/${a.id}/admit`, { method: 'POST' });
    expect(admitted.status).toBe(200);
    expect(((await admitted.json()) as any).state.visitState).toBe('admitted');
    // Admitting again is not a second admission.
    expect((await staffFetch(s, `/appointments/${a.id}/admit`, { method: 'POST' })).status).toBe(200);
    const ended = await staffFetch(s, `/appointments/${a.id}/end`, { method: 'POST' });
    expect(((await ended.json()) as any).state.visitState).toBe('ended');
    expect((await staffFetch(s, `/appointments/${a.id}/end`, { method: 'POST' })).status).toBe(200);
    const audit = await stack.ds.query(
      `SELECT action, actor_kind, actor_id FROM audit_event WHERE appointment_id = $1 ORDER BY id`,
      [a.id],
    );
    expect(audit.filter((e: any) => e.action === 'admission')).toEqual([
      { action: 'admission', actor_kind: 'staff', actor_id: seeded.clinician.id },
    ]);
    expect(audit.filter((e: any) => e.action === 'consult_end')).toHaveLength(1);
    const token = a.patientLink.split('/p/')[1]!;
    const r = await wsExchange(stack.control.publicUrl, [{ id: 1, t: 'hello', token }]);
    expect(r[0]).toMatchObject({ t: 'error', code: 'not_authenticated' });
  });

  test('admitting a patient who is not in the waiting room is a 409', async () => {
    const s = await signIn(seeded);
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const res = await staffFetch(s, `/appointments/${a.id}/admit`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error.code).toBe('invalid_state');
  });

  test('unknown or malformed appointment ids are 404', async () => {
    const s = await signIn(seeded);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '1%27%20OR%201=1']) {
      expect((await staffFetch(s, `/appointments/${id}/admit`, { method: 'POST' })).status, id).toBe(404);
    }
  });
});

/**
 * One input path (issue 15 point 2): routes that used to parse by hand now declare their input
 * (validate / uuidParam / clinicParam). A bad field is a 400 whose body names it exactly, and
 * nothing is written; an id in upper case is the same id.
 */
describe('declared input', () => {
  const errorOf = async (res: Response) => ({ status: res.status, body: (await res.json()) as unknown });

  test('the delay message: a bad clinician id or message is a 400 naming the field; a malformed clinic code is 404; nothing changes', async () => {
    const s = await signIn(seeded);
    const before = (await stack.ds.query(`SELECT delay_message FROM clinic WHERE id = $1`, [seeded.clinicId]))[0].delay_message;
    const path = `/clinics/${seeded.clinicCode}/delay-message`;
    const put = (body: unknown) => staffFetch(s, path, { method: 'PUT', body: JSON.stringify(body) });
    expect(await errorOf(await put({ message: 'Ik loop uit.', clinician: 'dr-de-boer' }))).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'clinician: must be an id (a UUID)', field: 'clinician' } },
    });
    expect(await errorOf(await put({ message: 15 }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'message' } } });
    expect(await errorOf(await put({ message: 'x', minutes: 15 }))).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'minutes: is not a known field', field: 'minutes' } },
    });
    const upper = await staffFetch(s, `/clinics/${seeded.clinicCode.toUpperCase()}/delay-message`, { method: 'PUT', body: JSON.stringify({ message: 'x' }) });
    expect(await errorOf(upper)).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no such clinic' } } });
    expect((await stack.ds.query(`SELECT delay_message FROM clinic WHERE id = $1`, [seeded.clinicId]))[0].delay_message).toBe(before);
    expect((await stack.ds.query(`SELECT count(*)::int AS n FROM staff_clinic WHERE clinic_id = $1 AND delay_message IS NOT NULL`, [seeded.clinicId]))[0].n).toBe(0);
  });

  test('chat: a bad text is a 400 naming it and nothing is posted; the appointment id in upper case is the same appointment', async () => {
    const s = await signIn(seeded);
    const a = await waitingAppointment(seeded);
    const chat = `/appointments/${a.id.toUpperCase()}/chat`;
    expect(await errorOf(await staffFetch(s, chat, { method: 'POST', body: JSON.stringify({ text: 7 }) }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'text' } },
    });
    expect(await errorOf(await staffFetch(s, chat, { method: 'POST', body: JSON.stringify({}) }))).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'text: is required', field: 'text' } },
    });
    const history = await staffFetch(s, chat);
    expect(history.status).toBe(200);
    expect(((await history.json()) as { messages: unknown[] }).messages).toEqual([]);
    const state = await staffFetch(s, `/appointments/${a.id.toUpperCase()}`);
    expect(state.status).toBe(200);
  });

  test('the callback list: a day that does not exist is a 400 naming query.day; sign-in names the missing field', async () => {
    const s = await signIn(seeded);
    expect(await errorOf(await staffFetch(s, `/callbacks?clinic=${seeded.clinicCode}&day=2026-02-30`))).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'query.day: is not a real date', field: 'query.day' } },
    });
    const res = await login(seeded.clinician.email, '');
    expect(await errorOf(res)).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'password' } } });
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});
