/**
 * Who may reach what, on the real control plane: clinic scoping (an assistant of clinic A gets
 * 403 on clinic B's appointments, chat, delay message, dashboard — and nothing changes), admin
 * routes for admins only, staff pages / staff API / admin API / SSO / integration API answer 404
 * on the PUBLIC listener, CSRF on state-changing requests, login rate limiting per account and
 * per client address (429), and a revoked session refused at once.
 *
 * The stack trusts X-Forwarded-For (TRUST_PROXY, as behind the hospital's reverse proxy), so
 * each rate-limit case gets client addresses of its own and leaves the shared Redis' counters
 * for 127.0.0.1 alone.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { buildStaff } from './support/factories.js';
import { wsExchange } from './support/ws.js';
import { RelayClient } from './support/relay-client.js';
import type { Clinic } from '../control/src/db/entities.js';
import type { ErrorBody } from '../control/src/http/errors.js';

const BASE = 19300;
const PASSWORD = 'correct horse battery staple';
let stack: Stack;
let a: SeededClinic;
let b: SeededClinic;
let assistantA: { id: string; email: string };
let adminUser: { id: string; email: string };

beforeAll(async () => {
  stack = await startStack({
    name: 'access',
    basePort: BASE,
    env: { TRUST_PROXY: 'true', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_CLIENT: '5', LOGIN_FAILURE_WINDOW_SECONDS: '600' },
  });
  [a, b] = await Promise.all([seedClinic(stack), seedClinic(stack)]);
  const s = await buildStaff(stack.ds, { role: 'assistant', clinic: { id: a.clinicId } as Clinic, password: PASSWORD });
  assistantA = { id: s.id, email: s.email };
  const ad = await buildStaff(stack.ds, { role: 'admin', password: PASSWORD });
  adminUser = { id: ad.id, email: ad.email };
});

afterAll(async () => {
  await stack?.stop();
});

interface Session {
  cookie: string;
  csrf: string;
  ip: string;
}

const randomIp = () => `10.${[1, 2, 3].map(() => randomBytes(1)[0]! % 250 + 1).join('.')}`;

function login(email: string, password: string, ip: string): Promise<Response> {
  return fetch(`${stack.control.internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ email, password }),
  });
}

async function signIn(email: string, password = PASSWORD): Promise<Session> {
  const ip = randomIp();
  const res = await login(email, password, ip);
  expect(res.status, email).toBe(200);
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: body.csrfToken, ip };
}

function staffFetch(s: Session, method: string, path: string, body?: unknown, opts: { csrf?: boolean } = {}) {
  const headers: Record<string, string> = { cookie: s.cookie, 'x-forwarded-for': s.ip };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.csrf !== false) headers['x-csrf-token'] = s.csrf;
  return fetch(`${stack.control.internalUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function waitingAppointment(s: SeededClinic) {
  const appt = await createAppointmentViaApi(stack, s, { startsInMinutes: 5 });
  const token = appt.patientLink.split('/p/')[1]!;
  const r = await wsExchange(stack.control.publicUrl, [
    { id: 1, t: 'hello', token },
    { id: 2, t: 'start-visit' },
  ]);
  expect(r[1]).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
  return appt;
}

describe('clinic scope', () => {
  test('an assistant of clinic A gets 403 on clinic B’s data and actions, and nothing changes', async () => {
    const s = await signIn(assistantA.email);
    const theirs = await waitingAppointment(b);
    const ours = await waitingAppointment(a);
    const id = theirs.id;

    const refused: Array<[string, string, unknown?]> = [
      ['GET', `/staff/api/appointments/${id}`],
      ['POST', `/staff/api/appointments/${id}/admit`, {}],
      ['POST', `/staff/api/appointments/${id}/end`, {}],
      ['GET', `/staff/api/appointments/${id}/chat`],
      ['POST', `/staff/api/appointments/${id}/chat`, { text: 'Goedemorgen' }],
      ['POST', `/staff/api/appointments/${id}/no-show`, {}],
      ['POST', `/staff/api/appointments/${id}/notify-clinician`, {}],
      ['POST', `/staff/api/appointments/${id}/link`, {}],
      ['GET', `/staff/api/dashboard/cards/${id}`],
      ['PUT', `/staff/api/clinics/${b.clinicCode}/delay-message`, { message: 'We lopen 15 minuten uit' }],
      ['GET', `/staff/api/dashboard?clinic=${b.clinicCode}`],
      ['GET', '/staff/api/admin/clinics'],
      ['PATCH', `/staff/api/admin/clinics/${b.clinicCode}`, { noShowMinutes: 9 }],
      ['POST', '/staff/api/admin/staff', { email: 'x@hospital.test', name: 'X', role: 'admin' }],
      ['POST', '/staff/api/admin/api-keys', { name: 'sneaky' }],
    ];
    // The callback list: her own clinic's answers, the other clinic's is refused like the rest.
    const callbacksOwn = await staffFetch(s, 'GET', `/staff/api/callbacks?clinic=${a.clinicCode}`);
    expect(callbacksOwn.status).toBe(200);
    refused.push(['GET', `/staff/api/callbacks?clinic=${b.clinicCode}`]);

    for (const [method, path, body] of refused) {
      const res = await staffFetch(s, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code, `${method} ${path}`).toBe('not_allowed');
    }

    // Nothing happened to clinic B.
    const [visit] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [id]);
    expect(visit.state).toBe('waiting');
    const [clinic] = await stack.ds.query(`SELECT delay_message, no_show_minutes FROM clinic WHERE id = $1`, [b.clinicId]);
    expect(clinic).toEqual({ delay_message: null, no_show_minutes: 5 });
    expect(await stack.ds.query(`SELECT 1 FROM staff WHERE email = 'x@hospital.test'`)).toHaveLength(0);
    expect(await stack.ds.query(`SELECT 1 FROM integration WHERE name = 'sneaky'`)).toHaveLength(0);
    const chat = (await (await staffFetch(s, 'GET', `/staff/api/appointments/${ours.id}/chat`)).json()) as any;
    expect(chat.messages).toEqual([]);

    // Their own clinic is open to them: the guard is about scope, not a blanket refusal.
    expect((await staffFetch(s, 'GET', `/staff/api/appointments/${ours.id}`)).status).toBe(200);
    expect((await staffFetch(s, 'GET', `/staff/api/appointments/${ours.id}/chat`)).status).toBe(200);
    expect((await staffFetch(s, 'GET', `/staff/api/dashboard?clinic=${a.clinicCode}`)).status).toBe(200);
    // Unknown ids stay 404 (no guessing which exist elsewhere beyond that).
    expect((await staffFetch(s, 'GET', `/staff/api/appointments/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  test('the admin page is for admins only', async () => {
    const s = await signIn(assistantA.email);
    const page = await fetch(`${stack.control.internalUrl}/staff/admin`, { headers: { cookie: s.cookie }, redirect: 'manual' });
    expect(page.status).toBe(403);
    const anonymous = await fetch(`${stack.control.internalUrl}/staff/admin`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/staff/login');
    const admin = await signIn(adminUser.email);
    const ok = await fetch(`${stack.control.internalUrl}/staff/admin`, { headers: { cookie: admin.cookie } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('/assets/admin.js');
  });
});

describe('the public listener', () => {
  test('staff pages, staff API, admin API, SSO and the integration API answer 404 there', async () => {
    const admin = await signIn(adminUser.email);
    const probes: Array<[string, string, Record<string, string>?]> = [
      ['GET', '/staff/'],
      ['GET', '/staff/login'],
      ['GET', '/staff/admin'],
      ['GET', '/staff/dashboard'],
      ['GET', '/staff/api/me'],
      ['GET', '/staff/api/today'],
      ['GET', '/staff/api/login-options'],
      ['POST', '/staff/api/login'],
      ['GET', '/staff/api/admin/clinics'],
      ['GET', `/staff/api/dashboard?clinic=${a.clinicCode}`],
      ['GET', '/staff/oidc/login'],
      ['GET', '/staff/oidc/callback?code=x&state=y'],
      ['GET', '/assets/admin.html'],
      ['GET', '/assets/staff.js'],
      ['GET', '/api/v1/appointments/00000000-0000-4000-8000-000000000000', { authorization: `Bearer ${a.apiKey}` }],
      ['POST', '/api/v1/appointments', { authorization: `Bearer ${a.apiKey}` }],
    ];
    for (const [method, path, extra] of probes) {
      const res = await fetch(`${stack.control.publicUrl}${path}`, {
        method,
        redirect: 'manual',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json', ...extra },
        body: method === 'POST' ? '{}' : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // The same session works on the internal listener (the 404s above are about the listener).
    expect((await staffFetch(admin, 'GET', '/staff/api/admin/clinics')).status).toBe(200);
  });
});

describe('CSRF', () => {
  test('state-changing requests without the CSRF token are refused and change nothing', async () => {
    const s = await signIn(assistantA.email);
    const admin = await signIn(adminUser.email);
    const ours = await waitingAppointment(a);
    const cases: Array<[Session, string, string, unknown]> = [
      [s, 'POST', `/staff/api/appointments/${ours.id}/chat`, { text: 'Hallo' }],
      [s, 'PUT', `/staff/api/clinics/${a.clinicCode}/delay-message`, { message: 'Uitloop' }],
      [admin, 'PATCH', `/staff/api/admin/clinics/${a.clinicCode}`, { noShowMinutes: 11 }],
      [admin, 'POST', '/staff/api/admin/api-keys', { name: 'no-csrf' }],
      [admin, 'POST', `/staff/api/admin/staff/${assistantA.id}/revoke-sessions`, {}],
    ];
    for (const [who, method, path, body] of cases) {
      const res = await staffFetch(who, method, path, body, { csrf: false });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code).toBe('csrf');
      // A wrong token is no better than none.
      const wrong = await fetch(`${stack.control.internalUrl}${path}`, {
        method,
        headers: { cookie: who.cookie, 'content-type': 'application/json', 'x-csrf-token': 'x'.repeat(32) },
        body: JSON.stringify(body),
      });
      expect(wrong.status, `${method} ${path} (wrong token)`).toBe(403);
    }
    const [clinic] = await stack.ds.query(`SELECT delay_message, no_show_minutes FROM clinic WHERE id = $1`, [a.clinicId]);
    expect(clinic).toEqual({ delay_message: null, no_show_minutes: 5 });
    expect(await stack.ds.query(`SELECT 1 FROM integration WHERE name = 'no-csrf'`)).toHaveLength(0);
    const chat = (await (await staffFetch(s, 'GET', `/staff/api/appointments/${ours.id}/chat`)).json()) as any;
    expect(chat.messages).toEqual([]);
    // The assistant's session survived the refused revoke.
    expect((await staffFetch(s, 'GET', '/staff/api/me')).status).toBe(200);
  });
});

describe('login rate limiting', () => {
  test("per account: strangers' wrong passwords slow strangers down, never the owner at her own workstation (issue 14, defect 13)", async () => {
    const victim = await buildStaff(stack.ds, { role: 'clinician', clinic: { id: a.clinicId } as Clinic, password: PASSWORD });
    const own = randomIp();
    expect((await login(victim.email, PASSWORD, own)).status).toBe(200); // her workstation
    for (let i = 0; i < 3; i++) expect((await login(victim.email, 'wrong password', randomIp())).status).toBe(401);
    // From an address she never used: a short wait (growing with every further failure), no lockout.
    const blocked = await login(victim.email, PASSWORD, randomIp());
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('30');
    const body = (await blocked.json()) as any;
    expect(body.error.code).toBe('too_many_attempts');
    expect(body.error.message).toMatch(/too many failed sign-in attempts; wait 30 seconds/);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    // Her own address is not held up by what the strangers tried: the right password works.
    expect((await login(victim.email, PASSWORD, own)).status).toBe(200);
    // One address guessing another's password waits too, and her own address still gets in.
    const second = await buildStaff(stack.ds, { role: 'assistant', clinic: { id: a.clinicId } as Clinic, password: PASSWORD });
    const hers = randomIp();
    expect((await login(second.email, PASSWORD, hers)).status).toBe(200);
    const guesser = randomIp();
    for (let i = 0; i < 3; i++) expect((await login(second.email, 'wrong again', guesser)).status).toBe(401);
    expect((await login(second.email, PASSWORD, guesser)).status).toBe(429);
    expect((await login(second.email, PASSWORD, hers)).status).toBe(200);
    // Other accounts are not affected.
    expect((await login(assistantA.email, PASSWORD, randomIp())).status).toBe(200);
    // Every counter has its expiry (atomic in Redis: no key can block for ever).
    for (const key of await redisKeys('spk:*:login-*')) expect(await redisTtl(key), key).toBeGreaterThan(0);
  });

  test('per client address: 5 failures on any accounts, then 429 for that address only', async () => {
    const ip = randomIp();
    for (let i = 0; i < 5; i++) {
      expect((await login(`nobody-${randomBytes(3).toString('hex')}@hospital.test`, 'guess', ip)).status).toBe(401);
    }
    const blocked = await login(assistantA.email, PASSWORD, ip);
    expect(blocked.status).toBe(429);
    expect((await login(assistantA.email, PASSWORD, randomIp())).status).toBe(200);
    // Counters are in Redis (shared by every control-plane process), keyed by a hash, not the address.
    const keys = await redisKeys('spk:fail:login-client:*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain(ip);
  });
});

describe('sessions', () => {
  test('a session revoked by an admin gets 401 at once; deactivation and logout too', async () => {
    const staff = await buildStaff(stack.ds, { role: 'assistant', clinic: { id: a.clinicId } as Clinic, password: PASSWORD });
    const s1 = await signIn(staff.email);
    const s2 = await signIn(staff.email);
    const admin = await signIn(adminUser.email);
    expect((await staffFetch(s1, 'GET', '/staff/api/today')).status).toBe(200);

    const revoked = await staffFetch(admin, 'POST', `/staff/api/admin/staff/${staff.id}/revoke-sessions`, {});
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as any).sessionsRevoked).toBe(2);
    for (const s of [s1, s2]) {
      expect((await staffFetch(s, 'GET', '/staff/api/today')).status).toBe(401);
      expect((await staffFetch(s, 'PUT', `/staff/api/clinics/${a.clinicCode}/delay-message`, { message: null })).status).toBe(401);
    }
    const [ev] = await stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = 'staff.sessions_revoked' ORDER BY id DESC LIMIT 1`);
    expect(ev).toEqual({ actor_id: adminUser.id, data: { staffId: staff.id, sessionsRevoked: 2 } });

    // Deactivating revokes as well, and the account cannot sign in again.
    const s3 = await signIn(staff.email);
    expect((await staffFetch(admin, 'PATCH', `/staff/api/admin/staff/${staff.id}`, { active: false })).status).toBe(200);
    expect((await staffFetch(s3, 'GET', '/staff/api/me')).status).toBe(401);
    expect((await login(staff.email, PASSWORD, randomIp())).status).toBe(401);

    // An open consult socket of a revoked session is closed within seconds, with the reason.
    const s4 = await signIn(a.clinician.email, a.clinician.password);
    const appt = await waitingAppointment(a);
    const ws = await RelayClient.open(stack.control.internalUrl, '/staff/ws', s4.cookie);
    expect((await ws.request({ t: 'hello', appointmentId: appt.id })).t).toBe('reply');
    const clinicianId = (await stack.ds.query(`SELECT id FROM staff WHERE email = $1`, [a.clinician.email]))[0].id;
    expect((await staffFetch(admin, 'POST', `/staff/api/admin/staff/${clinicianId}/revoke-sessions`, {})).status).toBe(200);
    const pushed = await ws.waitFor((m) => m.t === 'error', 10_000);
    expect(pushed.code).toBe('not_authenticated');
    await ws.close();

    // Logout ends the own session only.
    const own = await signIn(assistantA.email);
    const other = await signIn(assistantA.email);
    expect((await staffFetch(own, 'POST', '/staff/api/logout', {})).status).toBe(200);
    expect((await staffFetch(own, 'GET', '/staff/api/me')).status).toBe(401);
    expect((await staffFetch(other, 'GET', '/staff/api/me')).status).toBe(200);
  });
});

async function redisKeys(pattern: string): Promise<string[]> {
  const { createClient } = await import('redis');
  const client = createClient({ url: stack.env.REDIS_URL });
  await client.connect();
  try {
    return await client.keys(pattern);
  } finally {
    await client.quit();
  }
}

async function redisTtl(key: string): Promise<number> {
  const { createClient } = await import('redis');
  const client = createClient({ url: stack.env.REDIS_URL });
  await client.connect();
  try {
    return await client.ttl(key);
  } finally {
    await client.quit();
  }
}
