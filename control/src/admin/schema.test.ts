import { describe, expect, it } from 'vitest';
import { check } from '../http/validate.js';
import { HttpError } from '../http/errors.js';
import { CreateClinic, CreateStaff, UpdateClinic, UpdateStaff, isPrivateOrLoopbackIp } from './schema.js';
import { isLoopbackUrl } from '../staff/oidc.js';

function refusal(fn: () => unknown): { field?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('admin input schemas', () => {
  it('accept a full set of clinic settings and name the field of a bad one', () => {
    expect(check(UpdateClinic, { noShowMinutes: 7, initialsOnly: true, delayMessage: null })).toEqual({ noShowMinutes: 7, initialsOnly: true, delayMessage: null });
    expect(refusal(() => check(UpdateClinic, { dropMinutes: 0 }))).toEqual({ field: 'dropMinutes', message: 'dropMinutes: must be at least 1' });
    expect(refusal(() => check(UpdateClinic, { linkGraceMinutes: 721 })).field).toBe('linkGraceMinutes');
    expect(refusal(() => check(UpdateClinic, { timezone: 'Europe/Atlantis' })).field).toBe('timezone');
    expect(refusal(() => check(UpdateClinic, { helpdeskPhone: '12' })).field).toBe('helpdeskPhone');
    expect(refusal(() => check(UpdateClinic, { extra: 1 })).message).toBe('extra: is not a known field');
    expect(refusal(() => check(UpdateClinic, {})).message).toMatch(/at least one setting/);
    expect(refusal(() => check(CreateClinic, { code: 'KNO', name: 'KNO', helpdeskPhone: '0881234567' })).field).toBe('code');
    expect(check(CreateClinic, { code: 'kno', name: ' KNO ', helpdeskPhone: '088-123 45 67' })).toMatchObject({ name: 'KNO' });
  });

  it('normalise staff e-mail addresses and refuse unknown roles and short passwords', () => {
    expect(check(CreateStaff, { email: ' A.Jansen@Hospital.NL ', name: 'A', role: 'admin' })).toEqual({ email: 'a.jansen@hospital.nl', name: 'A', role: 'admin', clinics: [] });
    expect(refusal(() => check(CreateStaff, { email: 'a@b.nl', name: 'A', role: 'root' })).field).toBe('role');
    expect(refusal(() => check(CreateStaff, { email: 'a@b.nl', name: 'A', role: 'admin', password: 'short' })).field).toBe('password');
    expect(refusal(() => check(UpdateStaff, { clinics: ['Bad Code'] })).field).toBe('clinics.0');
    expect(refusal(() => check(UpdateStaff, { active: 'no' })).field).toBe('active');
  });
});

describe('integration settings of a clinic', () => {
  it('take an https webhook URL, plain http only inside the hospital, and null', () => {
    expect(check(UpdateClinic, { telephonyWebhookUrl: ' https://pbx.hospital.test/dial ' })).toEqual({ telephonyWebhookUrl: 'https://pbx.hospital.test/dial' });
    expect(check(UpdateClinic, { telephonyWebhookUrl: 'http://10.1.2.3:8080/dial' }).telephonyWebhookUrl).toBe('http://10.1.2.3:8080/dial');
    expect(check(UpdateClinic, { telephonyWebhookUrl: 'http://[::1]/dial' }).telephonyWebhookUrl).toBe('http://[::1]/dial');
    expect(check(UpdateClinic, { telephonyWebhookUrl: null, rotateTelephonySecret: false })).toEqual({ telephonyWebhookUrl: null, rotateTelephonySecret: false });
    for (const bad of ['http://pbx.hospital.test/dial', 'http://8.8.8.8/', 'http://172.32.0.1/', 'ftp://10.0.0.1/', 'pbx/dial', '', 'https://user:pw@pbx.test/', 42]) {
      expect(refusal(() => check(UpdateClinic, { telephonyWebhookUrl: bad })).field, String(bad)).toBe('telephonyWebhookUrl');
    }
    expect(refusal(() => check(UpdateClinic, { rotateTelephonySecret: 'yes' })).field).toBe('rotateTelephonySecret');
  });

  it('know private and loopback addresses', () => {
    for (const ip of ['10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '[::1]']) expect(isPrivateOrLoopbackIp(ip), ip).toBe(true);
    for (const ip of ['172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', 'localhost', '[::2]', '10.0.0.1.nip.io']) expect(isPrivateOrLoopbackIp(ip), ip).toBe(false);
  });

  it('read the message schedule with the worker\'s parser and name the place of a problem', () => {
    expect(check(UpdateClinic, { messageSchedule: { reminderMinutes: { reminder_15m: 30 }, channels: ['email', 'email'] } }).messageSchedule).toEqual({
      reminderMinutes: { reminder_3d: 4320, reminder_1d: 1440, reminder_15m: 30 },
      channels: ['email'],
    });
    expect(check(UpdateClinic, { messageSchedule: null }).messageSchedule).toMatchObject({ channels: ['email', 'sms'] });
    const tooEarly = refusal(() => check(UpdateClinic, { messageSchedule: { reminderMinutes: { reminder_1d: 60 } } }));
    expect(tooEarly.field).toBe('messageSchedule.reminderMinutes.reminder_1d');
    expect(tooEarly.message).toMatch(/from 1080 to 1800/);
    expect(refusal(() => check(UpdateClinic, { messageSchedule: { channels: ['fax'] } })).field).toBe('messageSchedule.channels.0');
    expect(refusal(() => check(UpdateClinic, { messageSchedule: { colour: 'red' } })).field).toBe('messageSchedule.colour');
    expect(refusal(() => check(UpdateClinic, { messageSchedule: { reminderMinutes: { reminder_2h: 120 } } })).field).toBe('messageSchedule.reminderMinutes.reminder_2h');
    expect(refusal(() => check(UpdateClinic, { messageSchedule: 'often' })).field).toBe('messageSchedule');
  });
});

describe('isLoopbackUrl (plain-http identity providers are allowed only there)', () => {
  it('knows loopback from the rest', () => {
    expect(isLoopbackUrl('http://127.0.0.1:9000/')).toBe(true);
    expect(isLoopbackUrl('http://localhost/realms/x')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8080')).toBe(true);
    expect(isLoopbackUrl('http://10.0.0.5')).toBe(false);
    expect(isLoopbackUrl('http://127.0.0.1.evil.example')).toBe(false);
  });
});
