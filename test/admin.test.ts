/**
 * Administration on the real stack: the admin API (clinics and every setting, staff with
 * roles / clinics / deactivation / password reset, integration API keys shown once and
 * revocable), its input validation (400 naming the field, nothing written), the guards against
 * locking the last admin out, audit events for every change — then the same through the admin
 * page in real Chromium, and through the CLI.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { arrive } from '../control/src/consult/commands.js';
import { deliverAppointment, giveUp, setWriteback } from '../control/src/ehr/outbox.js';
import { callTelephony, requestCallback, signTelephonyRequest, verifyTelephonySignature } from '../control/src/callbacks/index.js';
import { main as cli, type CliIo } from '../control/src/cli.js';
import { axeViolations } from './support/patient-page.js';

const BASE = 19600;
const PASSWORD = 'correct horse battery staple';
let stack: Stack;
let admin: { id: string; email: string };
let tb: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'admin', basePort: BASE });
  const a = await buildStaff(stack.ds, { role: 'admin', password: PASSWORD, name: 'Beheerder Test' });
  admin = { id: a.id, email: a.email };
});

afterAll(async () => {
  await tb?.close();
  await stack?.stop();
});

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(email: string, password = PASSWORD): Promise<Session> {
  const res = await fetch(`${stack.control.internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status, email).toBe(200);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as any).csrfToken };
}

async function call(s: Session, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.control.internalUrl}/staff/api/admin${path}`, {
    method,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function auditOf(action: string): Promise<Array<{ actor_id: string; data: any }>> {
  return stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = $1 ORDER BY id`, [action]);
}

describe('admin API', () => {
  test('clinics: create, every setting, validation that names the field and changes nothing', async () => {
    const s = await signIn(admin.email);
    const created = await call(s, 'POST', '/clinics', { code: 'cardio', name: 'Cardiologie', helpdeskPhone: '088 123 45 67' });
    expect(created.status).toBe(201);
    expect(created.body.clinic).toMatchObject({ code: 'cardio', waitingRoomOpensMinutes: 10, linkGraceMinutes: 30, noShowMinutes: 5, dropMinutes: 2, patientScreenShare: false, acceptsTransfers: false });
    expect((await call(s, 'POST', '/clinics', { code: 'cardio', name: 'Nog een', helpdeskPhone: '088 123 45 67' })).status).toBe(409);

    const settings = {
      name: 'Cardiologie (poli)',
      helpdeskPhone: '088-765 43 21',
      timezone: 'Europe/Amsterdam',
      waitingRoomOpensMinutes: 15,
      linkGraceMinutes: 45,
      noShowMinutes: 7,
      dropMinutes: 3,
      initialsOnly: true,
      assistantsMayAdmit: true,
      delayMessage: 'Het spreekuur loopt 10 minuten uit.',
      patientScreenShare: true,
      acceptsTransfers: true,
    };
    const patched = await call(s, 'PATCH', '/clinics/cardio', settings);
    expect(patched.status).toBe(200);
    expect(patched.body.clinic).toMatchObject(settings);
    const [row] = await stack.ds.query(`SELECT * FROM clinic WHERE code = 'cardio'`);
    expect(row).toMatchObject({
      name: settings.name, helpdesk_phone: settings.helpdeskPhone, waiting_room_opens_minutes: 15, link_grace_minutes: 45,
      no_show_minutes: 7, drop_minutes: 3, initials_only: true, assistants_may_admit: true, delay_message: settings.delayMessage,
      patient_screen_share: true, accepts_transfers: true,
    });
    const [ev] = (await auditOf('clinic.updated')).slice(-1);
    expect(ev!.actor_id).toBe(admin.id);
    // Only what changed (the time zone was already Europe/Amsterdam).
    expect([...ev!.data.fields].sort()).toEqual(Object.keys(settings).filter((k) => k !== 'timezone').sort());

    const bad: Array<[unknown, string]> = [
      [{ waitingRoomOpensMinutes: -1 }, 'waitingRoomOpensMinutes'],
      [{ noShowMinutes: 1.5 }, 'noShowMinutes'],
      [{ dropMinutes: '3' }, 'dropMinutes'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ helpdeskPhone: 'bel ons' }, 'helpdeskPhone'],
      [{ initialsOnly: 'yes' }, 'initialsOnly'],
      [{ patientScreenShare: 1 }, 'patientScreenShare'],
      [{ acceptsTransfers: 'ja' }, 'acceptsTransfers'],
      [{ delayMessage: 'x'.repeat(501) }, 'delayMessage'],
      [{ colour: 'blue' }, 'colour'],
      [{}, 'body'],
    ];
    for (const [body, field] of bad) {
      const r = await call(s, 'PATCH', '/clinics/cardio', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message, JSON.stringify(body)).toContain(field === 'body' ? 'at least one setting' : `${field}:`);
    }
    expect((await call(s, 'PATCH', '/clinics/cardio', '{not json')).status).toBe(400);
    expect((await call(s, 'POST', '/clinics', { code: 'Cardio!', name: 'x', helpdeskPhone: '0881234567' })).body.error.field).toBe('code');
    expect((await call(s, 'PATCH', '/clinics/nope', { dropMinutes: 4 })).status).toBe(404);
    const [after] = await stack.ds.query(`SELECT no_show_minutes, drop_minutes, timezone FROM clinic WHERE code = 'cardio'`);
    expect(after).toEqual({ no_show_minutes: 7, drop_minutes: 3, timezone: 'Europe/Amsterdam' });
  });

  test('staff: create with roles and clinics, change them, reset the password, deactivate', async () => {
    const s = await signIn(admin.email);
    const clinic = await buildClinic(stack.ds);
    const other = await buildClinic(stack.ds);
    const made = await call(s, 'POST', '/staff', { email: 'S.Bakker@Hospital.test', name: 'Sanne Bakker', role: 'assistant', clinics: [clinic.code], password: 'first password 1' });
    expect(made.status).toBe(201);
    const id = made.body.staff.id as string;
    expect(made.body.staff).toMatchObject({ email: 's.bakker@hospital.test', role: 'assistant', clinics: [clinic.code], active: true, hasPassword: true, ssoLinked: false });
    // The password is stored as Argon2id and never shown.
    expect(JSON.stringify(made.body)).not.toContain('first password');
    const [pw] = await stack.ds.query(`SELECT password_hash FROM staff WHERE id = $1`, [id]);
    expect(pw.password_hash).toMatch(/^\$argon2id\$/);

    for (const [body, field] of [
      [{ email: 'x@hospital.test', name: 'X', role: 'assistant', clinics: [] }, 'clinics'],
      [{ email: 'x@hospital.test', name: 'X', role: 'boss', clinics: [clinic.code] }, 'role'],
      [{ email: 'not-an-email', name: 'X', role: 'admin' }, 'email'],
      [{ email: 'x@hospital.test', name: 'X', role: 'clinician', clinics: ['no-such-clinic'] }, 'clinics'],
      [{ email: 'x@hospital.test', name: 'X', role: 'admin', password: 'short' }, 'password'],
    ] as const) {
      const r = await call(s, 'POST', '/staff', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
    }
    expect((await call(s, 'POST', '/staff', { email: 's.bakker@hospital.test', name: 'Dubbel', role: 'admin' })).status).toBe(409);
    expect(await stack.ds.query(`SELECT 1 FROM staff WHERE email = 'x@hospital.test'`)).toHaveLength(0);

    const changed = await call(s, 'PATCH', `/staff/${id}`, { role: 'clinician', clinics: [clinic.code, other.code], name: 'S. Bakker' });
    expect(changed.status).toBe(200);
    expect(changed.body.staff).toMatchObject({ role: 'clinician', name: 'S. Bakker', clinics: [clinic.code, other.code].sort() });
    expect((await auditOf('staff.updated')).at(-1)!.data).toEqual({ staffId: id, fields: ['name', 'role', 'clinics'], role: 'clinician' });

    // Reset password: the old one stops working, every session ends.
    const old = await signIn('s.bakker@hospital.test', 'first password 1');
    const reset = await call(s, 'POST', `/staff/${id}/password`, { password: 'second password 2' });
    expect(reset).toMatchObject({ status: 200, body: { sessionsRevoked: 1 } });
    expect((await fetch(`${stack.control.internalUrl}/staff/api/me`, { headers: { cookie: old.cookie } })).status).toBe(401);
    await signIn('s.bakker@hospital.test', 'second password 2');
    const wrongOld = await fetch(`${stack.control.internalUrl}/staff/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 's.bakker@hospital.test', password: 'first password 1' }),
    });
    expect(wrongOld.status).toBe(401);

    // Unlinking the SSO identity (linked at an earlier SSO sign-in) ends the sessions too.
    await stack.ds.query(`UPDATE staff SET oidc_subject = 'sub-123' WHERE id = $1`, [id]);
    expect((await call(s, 'GET', `/staff/${id}`)).body.staff.ssoLinked).toBe(true);
    expect(await call(s, 'POST', `/staff/${id}/unlink-sso`, {})).toMatchObject({ status: 200, body: { sessionsRevoked: 1 } });
    expect((await stack.ds.query(`SELECT oidc_subject FROM staff WHERE id = $1`, [id]))[0].oidc_subject).toBeNull();
    await signIn('s.bakker@hospital.test', 'second password 2');

    const off = await call(s, 'PATCH', `/staff/${id}`, { active: false });
    expect(off.body.staff).toMatchObject({ active: false, liveSessions: 0 });
    expect((await auditOf('staff.deactivated')).at(-1)!.data).toEqual({ staffId: id, sessionsRevoked: 1 });
    expect((await call(s, 'GET', '/staff')).body.staff.find((x: any) => x.id === id).active).toBe(false);
    expect((await call(s, 'PATCH', `/staff/00000000-0000-4000-8000-000000000000`, { active: false })).status).toBe(404);
    expect((await call(s, 'PATCH', `/staff/not-a-uuid`, { active: false })).status).toBe(404);
  });

  test('an admin cannot lock themselves out, and the last admin stays', async () => {
    const s = await signIn(admin.email);
    const self = await call(s, 'PATCH', `/staff/${admin.id}`, { active: false });
    expect(self.status).toBe(409);
    expect(self.body.error.message).toMatch(/your own admin rights/);
    expect((await call(s, 'PATCH', `/staff/${admin.id}`, { role: 'assistant', clinics: [] })).status).toBe(409);
    const [row] = await stack.ds.query(`SELECT role, active FROM staff WHERE id = $1`, [admin.id]);
    expect(row).toEqual({ role: 'admin', active: true });
    // Another admin may demote this one only while an admin remains.
    const second = await buildStaff(stack.ds, { role: 'admin', password: PASSWORD });
    await stack.ds.query(`UPDATE staff SET active = false WHERE role = 'admin' AND id NOT IN ($1, $2)`, [admin.id, second.id]);
    const s2 = await signIn(second.email);
    const demote = await call(s2, 'PATCH', `/staff/${admin.id}`, { active: false });
    expect(demote.status).toBe(200);
    const last = await call(s, 'PATCH', `/staff/${second.id}`, { active: false });
    expect(last.status).toBe(401); // admin's own sessions ended with the deactivation
    await stack.ds.query(`UPDATE staff SET active = true WHERE id = $1`, [admin.id]);
    const again = await signIn(admin.email);
    expect((await call(again, 'PATCH', `/staff/${second.id}`, { active: false })).status).toBe(200);
    // Now `admin` is the last active admin: nobody can take that away, not even via the CLI.
    const r = await runCli(['staff', 'deactivate', '--email', admin.email]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/last active admin/);
  });

  test('integration API keys: shown once, listed by prefix only, revoked → refused at once', async () => {
    const s = await signIn(admin.email);
    const made = await call(s, 'POST', '/api-keys', { name: 'HiX productie' });
    expect(made.status).toBe(201);
    const key = made.body.key as string;
    expect(key).toMatch(/^spk_[A-Za-z0-9_-]{43}$/);
    const list = await call(s, 'GET', '/api-keys');
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(list.body.apiKeys.find((k: any) => k.id === made.body.apiKey.id)).toMatchObject({ name: 'HiX productie', prefix: key.slice(0, 8), revokedAt: null });
    expect(JSON.stringify(await stack.ds.query(`SELECT * FROM integration`))).not.toContain(key);

    const probe = () =>
      fetch(`${stack.control.internalUrl}/api/v1/appointments/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${key}` } });
    expect((await probe()).status).toBe(404); // authenticated: the appointment is simply unknown
    const revoked = await call(s, 'POST', `/api-keys/${made.body.apiKey.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey.revokedAt).not.toBeNull();
    expect((await probe()).status).toBe(401);
    expect((await call(s, 'POST', `/api-keys/${made.body.apiKey.id}/revoke`, {})).status).toBe(200); // idempotent
    expect((await auditOf('api_key.revoked')).filter((e) => e.data.integrationId === made.body.apiKey.id)).toHaveLength(1);
    expect(JSON.stringify(await auditOf('api_key.created'))).not.toContain(key);
    expect((await call(s, 'POST', '/api-keys', { name: '' })).body.error.field).toBe('name');
  });

  test('write-back failures show per integration: configured, backlog, failed, oldest pending, last error; no personal data', async () => {
    const hits: number[] = [];
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits.push(Date.now());
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Jan Jansen kapot');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const s = await signIn(admin.email);
      const plain = (await buildIntegration(stack.ds, { name: 'Zonder write-back' })).integration;
      const { integration } = await buildIntegration(stack.ds, { name: 'Nexus status' });
      await setWriteback(stack.ds, integration.id, { kind: 'webhook', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'x'.repeat(32) });
      const clean = await call(s, 'GET', '/api-keys');
      expect(clean.body.apiKeys.find((k: any) => k.id === integration.id).writeback).toMatchObject({ kind: 'webhook', backlog: 0, failed: 0, oldestPendingSeconds: null, lastError: null });
      expect(clean.body.apiKeys.find((k: any) => k.id === plain.id).writeback).toMatchObject({ kind: null, backlog: 0 });

      const b = await buildAppointment(stack.ds, stack.config, { integration, start: new Date(Date.now() + 60_000) });
      await arrive(stack.ds, b.appointment.id, b.patient.id);
      await expect(deliverAppointment(stack.ds, b.appointment.id)).rejects.toThrow('HTTP 500');
      expect(hits.length).toBeGreaterThan(0);
      const pending = (await call(s, 'GET', '/api-keys')).body.apiKeys.find((k: any) => k.id === integration.id).writeback;
      expect(pending).toMatchObject({ kind: 'webhook', backlog: 1, lastError: 'write-back: HTTP 500' });
      expect(pending.oldestPendingSeconds).toBeGreaterThanOrEqual(0);
      await giveUp(stack.ds, b.appointment.id);
      const list = await call(s, 'GET', '/api-keys');
      expect(list.body.apiKeys.find((k: any) => k.id === integration.id).writeback).toMatchObject({ backlog: 1, failed: 1, lastError: 'write-back: HTTP 500' });
      expect(JSON.stringify(list.body)).not.toMatch(/Jansen|example\.test|\+316|kapot/);
    } finally {
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});

/** A PBX stand-in on loopback: records each POST with its headers and raw body. */
async function startPbx() {
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(202).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/click-to-dial`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('admin API: telephony webhook and message schedule', () => {
  test('a webhook URL makes a secret shown once; the worker\'s signed call verifies with it; rotate and clear', async () => {
    const s = await signIn(admin.email);
    const clinic = await buildClinic(stack.ds);
    const pbx = await startPbx();
    try {
      const set = await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: pbx.url });
      expect(set.status).toBe(200);
      const secret = set.body.telephonySecret as string;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      expect(set.body.changed).toEqual(['telephonyWebhookUrl', 'telephonySecret']);
      expect(set.body.clinic).toMatchObject({ telephonyWebhookUrl: pbx.url, telephonySecretSet: true });
      expect(JSON.stringify(set.body.clinic)).not.toContain(secret);
      const [row] = await stack.ds.query(`SELECT telephony_webhook_url, telephony_webhook_secret FROM clinic WHERE id = $1`, [clinic.id]);
      expect(row).toEqual({ telephony_webhook_url: pbx.url, telephony_webhook_secret: secret });

      // Never again: not in GET (one or all), not on a later change, not in the audit trail.
      const one = await call(s, 'GET', `/clinics/${clinic.code}`);
      expect(one.body.clinic).toMatchObject({ telephonyWebhookUrl: pbx.url, telephonySecretSet: true });
      for (const r of [one, await call(s, 'GET', '/clinics'), await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: pbx.url, dropMinutes: 9 })]) {
        expect(JSON.stringify(r.body)).not.toContain(secret);
        expect(r.body.telephonySecret).toBeUndefined();
      }
      const events = await stack.ds.query(`SELECT action, data FROM audit_event WHERE data->>'clinicId' = $1 ORDER BY id`, [clinic.id]);
      expect(events.find((e: any) => e.action === 'clinic.telephony_webhook_set').data).toEqual({ clinicId: clinic.id, host: new URL(pbx.url).host, newSecret: true });
      expect(JSON.stringify(events)).not.toContain(secret);

      // The worker's call to the PBX, signed with the clinic's secret, verifies with the one shown.
      const a = await buildAppointment(stack.ds, stack.config, { clinic });
      const { task } = await requestCallback({ ds: stack.ds }, a.appointment.id, 'staff');
      expect(await callTelephony({ ds: stack.ds }, task.id)).toBe('sent');
      const req = pbx.requests.at(-1)!;
      const sig = { timestamp: req.headers['x-spreekkamer-timestamp'] as string, signature: req.headers['x-spreekkamer-signature'] as string };
      expect(verifyTelephonySignature(secret, sig, req.body)).toBe(true);
      expect(sig.signature).toBe(signTelephonyRequest(secret, Number(sig.timestamp), req.body));
      expect(JSON.parse(req.body)).toMatchObject({ event: 'callback.requested', callbackId: task.id, clinic: clinic.code });

      // Rotate: a new secret once; the old one no longer verifies what the worker signs.
      const rotated = await call(s, 'PATCH', `/clinics/${clinic.code}`, { rotateTelephonySecret: true });
      expect(rotated.status).toBe(200);
      const secret2 = rotated.body.telephonySecret as string;
      expect(secret2).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(secret2).not.toBe(secret);
      expect(rotated.body.changed).toEqual(['telephonySecret']);
      expect((await auditOf('clinic.telephony_secret_rotated')).at(-1)!.data).toEqual({ clinicId: clinic.id });
      const b = await buildAppointment(stack.ds, stack.config, { clinic });
      const { task: task2 } = await requestCallback({ ds: stack.ds }, b.appointment.id, 'staff');
      expect(await callTelephony({ ds: stack.ds }, task2.id)).toBe('sent');
      const req2 = pbx.requests.at(-1)!;
      const sig2 = { timestamp: req2.headers['x-spreekkamer-timestamp'] as string, signature: req2.headers['x-spreekkamer-signature'] as string };
      expect(verifyTelephonySignature(secret2, sig2, req2.body)).toBe(true);
      expect(verifyTelephonySignature(secret, sig2, req2.body)).toBe(false);

      // Bad URLs: 400 naming the field, nothing changed.
      for (const bad of ['http://pbx.hospital.test/dial', 'http://8.8.8.8/dial', 'pbx/dial', 'https://user:pw@pbx.hospital.test/', 42]) {
        const r = await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: bad, dropMinutes: 11 });
        expect(r.status, String(bad)).toBe(400);
        expect(r.body.error.field, String(bad)).toBe('telephonyWebhookUrl');
        expect(r.body.error.message).toMatch(/^telephonyWebhookUrl: /);
      }
      const r = await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: null, rotateTelephonySecret: true });
      expect(r).toMatchObject({ status: 400, body: { error: { field: 'rotateTelephonySecret' } } });
      expect((await stack.ds.query(`SELECT telephony_webhook_url, telephony_webhook_secret, drop_minutes FROM clinic WHERE id = $1`, [clinic.id]))[0])
        .toEqual({ telephony_webhook_url: pbx.url, telephony_webhook_secret: secret2, drop_minutes: 9 });

      // Clear: URL and secret go; rotating without a URL is refused.
      const cleared = await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: null });
      expect(cleared.body.clinic).toMatchObject({ telephonyWebhookUrl: null, telephonySecretSet: false });
      expect(cleared.body.telephonySecret).toBeUndefined();
      expect((await stack.ds.query(`SELECT telephony_webhook_url, telephony_webhook_secret FROM clinic WHERE id = $1`, [clinic.id]))[0])
        .toEqual({ telephony_webhook_url: null, telephony_webhook_secret: null });
      expect((await auditOf('clinic.telephony_webhook_cleared')).at(-1)!.data).toEqual({ clinicId: clinic.id });
      expect((await call(s, 'PATCH', `/clinics/${clinic.code}`, { rotateTelephonySecret: true })).body.error.field).toBe('rotateTelephonySecret');
      // A private-address http URL is fine, and makes a fresh secret.
      const again = await call(s, 'PATCH', `/clinics/${clinic.code}`, { telephonyWebhookUrl: 'http://10.20.30.40:8080/dial' });
      expect(again.body.telephonySecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect([secret, secret2]).not.toContain(again.body.telephonySecret);
    } finally {
      await pbx.close();
    }
  });

  test('message schedule: set through the parser the worker uses; a bad one is a 400 naming messageSchedule.<path>', async () => {
    const s = await signIn(admin.email);
    const clinic = await buildClinic(stack.ds);
    const before = (await call(s, 'GET', `/clinics/${clinic.code}`)).body.clinic.messageSchedule;
    expect(before).toEqual({ reminderMinutes: { reminder_3d: 4320, reminder_1d: 1440, reminder_15m: 15 }, channels: ['email', 'sms'] });
    const set = await call(s, 'PATCH', `/clinics/${clinic.code}`, { messageSchedule: { reminderMinutes: { reminder_3d: null, reminder_15m: 30 }, channels: ['email'] } });
    expect(set.status).toBe(200);
    expect(set.body.changed).toEqual(['messageSchedule']);
    const want = { reminderMinutes: { reminder_3d: null, reminder_1d: 1440, reminder_15m: 30 }, channels: ['email'] };
    expect(set.body.clinic.messageSchedule).toEqual(want);
    expect((await stack.ds.query(`SELECT message_schedule FROM clinic WHERE id = $1`, [clinic.id]))[0].message_schedule).toEqual(want);
    expect((await auditOf('clinic.updated')).at(-1)!.data).toEqual({ clinicId: clinic.id, fields: ['messageSchedule'] });
    // The same again changes nothing.
    expect((await call(s, 'PATCH', `/clinics/${clinic.code}`, { messageSchedule: want })).body.changed).toEqual([]);

    const bad: Array<[unknown, string]> = [
      [{ reminderMinutes: { reminder_1d: 60 } }, 'messageSchedule.reminderMinutes.reminder_1d'],
      [{ reminderMinutes: { reminder_15m: 7.5 } }, 'messageSchedule.reminderMinutes.reminder_15m'],
      [{ channels: ['email', 'fax'] }, 'messageSchedule.channels.1'],
      [{ reminders: {} }, 'messageSchedule.reminders'],
      ['daily', 'messageSchedule'],
    ];
    for (const [schedule, field] of bad) {
      const r = await call(s, 'PATCH', `/clinics/${clinic.code}`, { messageSchedule: schedule, noShowMinutes: 20 });
      expect(r.status, JSON.stringify(schedule)).toBe(400);
      expect(r.body.error.field, JSON.stringify(schedule)).toBe(field);
      expect(r.body.error.message).toContain(`${field}: `);
    }
    expect((await stack.ds.query(`SELECT message_schedule, no_show_minutes FROM clinic WHERE id = $1`, [clinic.id]))[0])
      .toEqual({ message_schedule: want, no_show_minutes: 5 });
    // null: back to the defaults.
    expect((await call(s, 'PATCH', `/clinics/${clinic.code}`, { messageSchedule: null })).body.clinic.messageSchedule).toEqual(before);
  });
});

describe('admin page in Chromium', () => {
  test('an admin signs in, lands on the admin page, changes a clinic setting, adds staff and makes a key shown once', async () => {
    tb = await launchBrowser({ fakeMedia: false });
    const page = tb.page;
    const clinic = await buildClinic(stack.ds, { name: 'Polikliniek Longziekten' });
    await page.goto(`${stack.control.internalUrl}/staff/login`);
    await page.getByTestId('login-email').fill(admin.email);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${stack.control.internalUrl}/staff/admin`);
    await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
    expect(await axeViolations(page), 'admin page: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/admin-1-overview.png', fullPage: true });

    // Clinic settings.
    await page.locator(`tr[data-clinic="${clinic.code}"] [data-testid="clinic-edit"]`).click();
    const form = page.getByTestId('clinic-form');
    expect(await axeViolations(page), 'clinic form: axe').toEqual([]);
    await form.getByTestId('clinic-noShowMinutes').fill('12');
    await form.getByTestId('clinic-assistantsMayAdmit').check();
    expect(await form.getByTestId('clinic-patientScreenShare').isChecked()).toBe(false);
    await form.getByTestId('clinic-patientScreenShare').check();
    await form.getByTestId('clinic-acceptsTransfers').check();
    await form.getByTestId('clinic-delayMessage').fill('We lopen een kwartier uit.');
    await form.getByTestId('clinic-save').click();
    await expect.poll(async () => (await stack.ds.query(`SELECT no_show_minutes, assistants_may_admit, delay_message, patient_screen_share, accepts_transfers FROM clinic WHERE id = $1`, [clinic.id]))[0])
      .toEqual({ no_show_minutes: 12, assistants_may_admit: true, delay_message: 'We lopen een kwartier uit.', patient_screen_share: true, accepts_transfers: true });
    await page.locator(`tr[data-clinic="${clinic.code}"]`).getByText('12 min').waitFor();

    // A bad value is explained in the form and changes nothing.
    await page.locator(`tr[data-clinic="${clinic.code}"] [data-testid="clinic-edit"]`).click();
    await page.getByTestId('clinic-form').getByTestId('clinic-noShowMinutes').fill('999');
    await page.getByTestId('clinic-form').getByTestId('clinic-noShowMinutes').evaluate((el) => el.removeAttribute('max'));
    await page.getByTestId('clinic-form').getByTestId('clinic-save').click();
    await expect.poll(() => page.getByTestId('clinic-form').getByTestId('form-problem').textContent()).toContain('noShowMinutes');
    await page.getByTestId('clinic-cancel').click();

    // New staff member with a clinic.
    const newStaff = page.getByTestId('staff-new');
    await newStaff.getByTestId('staff-new-email').fill('k.visser@hospital.test');
    await newStaff.getByTestId('staff-new-name').fill('Kees Visser');
    await newStaff.getByTestId('staff-role').selectOption('clinician');
    await newStaff.getByTestId(`clinic-check-${clinic.code}`).check();
    await newStaff.getByTestId('staff-create').click();
    await page.locator('tr[data-staff="k.visser@hospital.test"]').waitFor();
    const [k] = await stack.ds.query(
      `SELECT st.role, st.password_hash, array_agg(c.code) AS clinics FROM staff st JOIN staff_clinic sc ON sc.staff_id = st.id JOIN clinic c ON c.id = sc.clinic_id
        WHERE st.email = 'k.visser@hospital.test' GROUP BY st.id`,
    );
    expect(k).toEqual({ role: 'clinician', password_hash: null, clinics: [clinic.code] });

    // API key: shown once.
    await page.getByTestId('key-new-name').fill('Epic test');
    await page.getByTestId('key-create').click();
    const shown = await page.getByTestId('key-value').inputValue();
    expect(shown).toMatch(/^spk_/);
    if (process.env.SPK_SCREENSHOTS) {
      // A throwaway test key, but no key of any kind goes into the repository's pictures.
      await page.getByTestId('key-value').evaluate((el: HTMLInputElement) => (el.value = `${el.value.slice(0, 8)}${'•'.repeat(35)}`));
      await page.getByTestId('keys').screenshot({ path: 'docs/screenshots/admin-2-key-shown-once.png' });
    }
    await page.locator('tr[data-key="Epic test"]').waitFor();
    await page.reload();
    await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
    expect(await page.getByTestId('key-value').count()).toBe(0);
    expect(await page.content()).not.toContain(shown);

    // Revoke it from the page.
    await page.locator('tr[data-key="Epic test"] [data-testid="key-revoke"]').click();
    await page.getByTestId('confirm-yes').click();
    await page.locator('tr[data-key="Epic test"][data-revoked="true"]').waitFor();
    // Write-back per integration: not configured here; the one whose receiver answered 500 (above) shows it.
    expect(await page.locator('tr[data-key="Epic test"] [data-testid="key-writeback"]').innerText()).toMatch(/^(Niet ingesteld|Not configured)$/);
    if (await page.locator('tr[data-key="Nexus status"]').count()) {
      expect(await page.locator('tr[data-key="Nexus status"] [data-testid="key-writeback"]').innerText()).toMatch(/Webhook[\s\S]*1 (wachtend|waiting)[\s\S]*1 (mislukt|failed)[\s\S]*write-back: (HTTP 500|ECONNREFUSED)/); // the receiver is gone by now
    }
    const probe = await fetch(`${stack.control.internalUrl}/api/v1/appointments/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${shown}` } });
    expect(probe.status).toBe(401);

    // English too.
    await page.getByTestId('lang-switch').click();
    await page.getByRole('heading', { name: 'Integrations (API keys)' }).waitFor();
  });
});

describe('admin page in Chromium: telephony and reminders', () => {
  test('an admin sets the PBX webhook and sees the secret once, rotates it, and changes the reminders', async () => {
    tb ??= await launchBrowser({ fakeMedia: false });
    const page = tb.page;
    const clinic = await buildClinic(stack.ds, { name: 'Polikliniek Neurologie' });
    await page.goto(`${stack.control.internalUrl}/staff/admin`);
    if (page.url().endsWith('/staff/login')) {
      await page.getByTestId('login-email').fill(admin.email);
      await page.getByTestId('login-password').fill(PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(`${stack.control.internalUrl}/staff/admin`);
    }
    await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
    if ((await page.locator('html').getAttribute('lang')) === 'en') await page.getByTestId('lang-switch').click();

    const edit = () => page.locator(`tr[data-clinic="${clinic.code}"] [data-testid="clinic-edit"]`).click();
    await edit();
    const form = page.getByTestId('clinic-form');
    await form.getByTestId('clinic-telephony').waitFor();
    expect(await form.getByTestId('clinic-telephonySecretState').textContent()).toContain('Nog geen geheim');
    expect(await axeViolations(page), 'clinic form with telephony: axe').toEqual([]);
    await form.getByTestId('clinic-telephonyWebhookUrl').fill('https://pbx.hospital.test/click-to-dial');
    await form.getByTestId('clinic-reminder_15m').fill('30');
    await form.getByTestId('clinic-reminder_3d').fill('');
    await form.getByTestId('clinic-channel-sms').uncheck();
    await form.getByTestId('clinic-save').click();
    const secret = await page.getByTestId('telephony-secret').inputValue();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.getByTestId('telephony-secret-once').textContent()).toContain('niet meer getoond');
    expect(await axeViolations(page), 'secret shown once: axe').toEqual([]);
    const [row] = await stack.ds.query(`SELECT telephony_webhook_url, telephony_webhook_secret, message_schedule FROM clinic WHERE id = $1`, [clinic.id]);
    expect(row).toEqual({
      telephony_webhook_url: 'https://pbx.hospital.test/click-to-dial',
      telephony_webhook_secret: secret,
      message_schedule: { reminderMinutes: { reminder_3d: null, reminder_1d: 1440, reminder_15m: 30 }, channels: ['email'] },
    });
    await page.locator(`tr[data-clinic="${clinic.code}"] [data-testid="clinic-telephony-state"]`).getByText('gekoppeld').waitFor();

    // Once: gone after a reload, and the edit form says only that a secret is set.
    await page.reload();
    await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
    expect(await page.getByTestId('telephony-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await edit();
    expect(await page.getByTestId('clinic-form').getByTestId('clinic-telephonySecretState').textContent()).toContain('geheim ingesteld');
    expect(await page.getByTestId('clinic-form').getByTestId('clinic-reminder_3d').inputValue()).toBe('');
    expect(await page.getByTestId('clinic-form').getByTestId('clinic-channel-sms').isChecked()).toBe(false);

    // A reminder outside its range is explained and changes nothing.
    await page.getByTestId('clinic-form').getByTestId('clinic-reminder_1d').fill('60');
    await page.getByTestId('clinic-form').getByTestId('clinic-reminder_1d').evaluate((el) => el.removeAttribute('min'));
    await page.getByTestId('clinic-form').getByTestId('clinic-save').click();
    await expect.poll(() => page.getByTestId('clinic-form').getByTestId('form-problem').textContent()).toContain('messageSchedule.reminderMinutes.reminder_1d');
    expect((await stack.ds.query(`SELECT message_schedule FROM clinic WHERE id = $1`, [clinic.id]))[0].message_schedule.reminderMinutes.reminder_1d).toBe(1440);

    // A new secret on request, shown once.
    await page.getByTestId('clinic-form').getByTestId('clinic-reminder_1d').fill('1440');
    await page.getByTestId('clinic-form').getByTestId('clinic-rotateTelephonySecret').check();
    await page.getByTestId('clinic-form').getByTestId('clinic-save').click();
    const secret2 = await page.getByTestId('telephony-secret').inputValue();
    expect(secret2).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secret2).not.toBe(secret);
    expect((await stack.ds.query(`SELECT telephony_webhook_secret FROM clinic WHERE id = $1`, [clinic.id]))[0].telephony_webhook_secret).toBe(secret2);

    // English too.
    await page.getByTestId('lang-switch').click();
    await edit();
    await page.getByTestId('clinic-form').getByText('Telephony (call-backs through the hospital PBX)').waitFor();
    expect(await page.getByTestId('telephony-secret').count()).toBe(0);
  });
});

async function runCli(argv: string[], extraEnv: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: { ...stack.env, ...extraEnv } };
  const code = await cli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('CLI', () => {
  test('clinic settings, staff roles / deactivate / password, API keys list and revoke', async () => {
    const clinic = await buildClinic(stack.ds);
    const set = await runCli(['clinic', 'set', '--code', clinic.code, '--no-show', '8', '--drop', '4', '--initials-only', 'yes', '--delay-message', 'Tien minuten uitloop']);
    expect(set).toMatchObject({ code: 0 });
    expect(set.out).toContain('changed noShowMinutes, dropMinutes, initialsOnly, delayMessage');
    const [c] = await stack.ds.query(`SELECT no_show_minutes, drop_minutes, initials_only, delay_message FROM clinic WHERE id = $1`, [clinic.id]);
    expect(c).toEqual({ no_show_minutes: 8, drop_minutes: 4, initials_only: true, delay_message: 'Tien minuten uitloop' });
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--delay-message', ''])).code).toBe(0);
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--patient-screen-share', 'yes'])).out).toContain('changed patientScreenShare');
    expect((await stack.ds.query(`SELECT patient_screen_share FROM clinic WHERE id = $1`, [clinic.id]))[0].patient_screen_share).toBe(true);
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--patient-screen-share', 'perhaps'])).code).toBe(2);
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--accepts-transfers', 'yes'])).out).toContain('changed acceptsTransfers');
    expect((await stack.ds.query(`SELECT accepts_transfers FROM clinic WHERE id = $1`, [clinic.id]))[0].accepts_transfers).toBe(true);
    expect((await stack.ds.query(`SELECT delay_message FROM clinic WHERE id = $1`, [clinic.id]))[0].delay_message).toBeNull();
    const bad = await runCli(['clinic', 'set', '--code', clinic.code, '--no-show', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('noShowMinutes: must be at least 1');
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--initials-only', 'perhaps'])).code).toBe(2);
    expect((await runCli(['clinic', 'set', '--code', 'no-such', '--drop', '3'])).err).toContain('no such clinic');
    expect((await runCli(['clinic', 'list'])).out).toContain(clinic.code);

    const member = await buildStaff(stack.ds, { role: 'assistant', clinic, password: PASSWORD });
    const role = await runCli(['staff', 'set', '--email', member.email, '--role', 'clinician', '--clinic', clinic.code]);
    expect(role.code).toBe(0);
    expect((await stack.ds.query(`SELECT role FROM staff WHERE id = $1`, [member.id]))[0].role).toBe('clinician');
    const session = await signIn(member.email);
    expect((await runCli(['staff', 'reset-password', '--email', member.email], { SPK_PASSWORD: 'a new password here' })).code).toBe(0);
    expect((await fetch(`${stack.control.internalUrl}/staff/api/me`, { headers: { cookie: session.cookie } })).status).toBe(401);
    const s2 = await signIn(member.email, 'a new password here');
    expect((await runCli(['staff', 'deactivate', '--email', member.email])).code).toBe(0);
    expect((await fetch(`${stack.control.internalUrl}/staff/api/me`, { headers: { cookie: s2.cookie } })).status).toBe(401);
    expect((await runCli(['staff', 'list'])).out).toMatch(new RegExp(`${member.email}\\s.*clinician.*\\sno\\s`));
    expect((await runCli(['staff', 'activate', '--email', member.email])).code).toBe(0);
    expect((await runCli(['staff', 'set', '--email', 'nobody@hospital.test', '--role', 'admin'])).code).toBe(2);
    expect((await stack.ds.query(`SELECT actor_kind, actor_id FROM audit_event WHERE action = 'staff.deactivated' ORDER BY id DESC LIMIT 1`))[0])
      .toEqual({ actor_kind: 'system', actor_id: 'cli' });

    const made = await runCli(['api-key', 'create', '--name', 'cli-key']);
    const key = made.out.trim().split('\n').at(-1)!;
    const list = await runCli(['api-key', 'list']);
    expect(list.out).toContain('cli-key');
    expect(list.out).toContain(key.slice(0, 8));
    expect(list.out).not.toContain(key);
    expect((await runCli(['api-key', 'revoke', '--id', key.slice(0, 8)])).code).toBe(0);
    const probe = await fetch(`${stack.control.internalUrl}/api/v1/appointments/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${key}` } });
    expect(probe.status).toBe(401);
  });
  test('clinic set: telephony webhook (secret printed once), rotate, clear; message schedule', async () => {
    const clinic = await buildClinic(stack.ds);
    const set = await runCli(['clinic', 'set', '--code', clinic.code, '--telephony-url', 'https://pbx.hospital.test/dial']);
    expect(set.code).toBe(0);
    expect(set.out).toContain('changed telephonyWebhookUrl, telephonySecret');
    const secret = set.out.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = async () => (await stack.ds.query(`SELECT telephony_webhook_url AS url, telephony_webhook_secret AS secret, message_schedule AS schedule FROM clinic WHERE id = $1`, [clinic.id]))[0];
    expect(await row()).toMatchObject({ url: 'https://pbx.hospital.test/dial', secret });
    const list = await runCli(['clinic', 'list']);
    expect(list.out).toContain('https://pbx.hospital.test/dial');
    expect(list.out).not.toContain(secret);
    // Same URL again: no new secret, nothing printed.
    const same = await runCli(['clinic', 'set', '--code', clinic.code, '--telephony-url', 'https://pbx.hospital.test/dial']);
    expect(same.out).toBe(`clinic ${clinic.code}: nothing to change`);

    const rotated = await runCli(['clinic', 'set', '--code', clinic.code, '--rotate-telephony-secret']);
    expect(rotated.code).toBe(0);
    const secret2 = rotated.out.trim().split('\n').at(-1)!;
    expect(secret2).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secret2).not.toBe(secret);
    expect((await row()).secret).toBe(secret2);
    expect((await stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = 'clinic.telephony_secret_rotated' ORDER BY id DESC LIMIT 1`))[0])
      .toEqual({ actor_id: 'cli', data: { clinicId: clinic.id } });

    const bad = await runCli(['clinic', 'set', '--code', clinic.code, '--telephony-url', 'http://pbx.hospital.test/dial']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^telephonyWebhookUrl: /);
    expect((await row()).url).toBe('https://pbx.hospital.test/dial');

    const schedule = await runCli(['clinic', 'set', '--code', clinic.code, '--message-schedule', '{"reminderMinutes":{"reminder_1d":1200},"channels":["sms"]}']);
    expect(schedule.out).toBe(`clinic ${clinic.code}: changed messageSchedule`);
    expect((await row()).schedule).toEqual({ reminderMinutes: { reminder_3d: 4320, reminder_1d: 1200, reminder_15m: 15 }, channels: ['sms'] });
    const badSchedule = await runCli(['clinic', 'set', '--code', clinic.code, '--message-schedule', '{"reminderMinutes":{"reminder_3d":60}}']);
    expect(badSchedule.code).toBe(2);
    expect(badSchedule.err).toContain('messageSchedule.reminderMinutes.reminder_3d: must be a whole number of minutes from 2880 to 20160');
    const notJson = await runCli(['clinic', 'set', '--code', clinic.code, '--message-schedule', '{oops']);
    expect(notJson.code).toBe(2);
    expect(notJson.err).toContain('--message-schedule must be JSON');
    expect((await runCli(['clinic', 'set', '--code', clinic.code, '--message-schedule', 'default'])).code).toBe(0);
    expect((await row()).schedule).toEqual({ reminderMinutes: { reminder_3d: 4320, reminder_1d: 1440, reminder_15m: 15 }, channels: ['email', 'sms'] });

    const cleared = await runCli(['clinic', 'set', '--code', clinic.code, '--telephony-url', 'none']);
    expect(cleared.out).toBe(`clinic ${clinic.code}: changed telephonyWebhookUrl`);
    expect(await row()).toMatchObject({ url: null, secret: null });
    const noUrl = await runCli(['clinic', 'set', '--code', clinic.code, '--rotate-telephony-secret']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toMatch(/^rotateTelephonySecret: /);
  });
});
