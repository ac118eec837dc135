/**
 * Administration on the real stack: the admin API (clinics and every setting, staff with
 * roles / clinics / deactivation / password reset, integration API keys shown once and
 * revocable), its input validation (400 naming the field, nothing written), the guards against
 * locking the last admin out, audit events for every change — then the same through the admin
 * page in real Chromium, and through the CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildClinic, buildStaff } from './support/factories.js';
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
    expect(created.body.clinic).toMatchObject({ code: 'cardio', waitingRoomOpensMinutes: 10, linkGraceMinutes: 30, noShowMinutes: 5, dropMinutes: 2 });
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
    };
    const patched = await call(s, 'PATCH', '/clinics/cardio', settings);
    expect(patched.status).toBe(200);
    expect(patched.body.clinic).toMatchObject(settings);
    const [row] = await stack.ds.query(`SELECT * FROM clinic WHERE code = 'cardio'`);
    expect(row).toMatchObject({
      name: settings.name, helpdesk_phone: settings.helpdeskPhone, waiting_room_opens_minutes: 15, link_grace_minutes: 45,
      no_show_minutes: 7, drop_minutes: 3, initials_only: true, assistants_may_admit: true, delay_message: settings.delayMessage,
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
    await form.getByTestId('clinic-delayMessage').fill('We lopen een kwartier uit.');
    await form.getByTestId('clinic-save').click();
    await expect.poll(async () => (await stack.ds.query(`SELECT no_show_minutes, assistants_may_admit, delay_message FROM clinic WHERE id = $1`, [clinic.id]))[0])
      .toEqual({ no_show_minutes: 12, assistants_may_admit: true, delay_message: 'We lopen een kwartier uit.' });
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
    const probe = await fetch(`${stack.control.internalUrl}/api/v1/appointments/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${shown}` } });
    expect(probe.status).toBe(401);

    // English too.
    await page.getByTestId('lang-switch').click();
    await page.getByRole('heading', { name: 'Integrations (API keys)' }).waitFor();
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
});
