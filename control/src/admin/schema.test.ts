import { describe, expect, it } from 'vitest';
import { check } from '../http/validate.js';
import { HttpError } from '../http/errors.js';
import { CreateClinic, CreateStaff, UpdateClinic, UpdateStaff } from './schema.js';
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

describe('isLoopbackUrl (plain-http identity providers are allowed only there)', () => {
  it('knows loopback from the rest', () => {
    expect(isLoopbackUrl('http://127.0.0.1:9000/')).toBe(true);
    expect(isLoopbackUrl('http://localhost/realms/x')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8080')).toBe(true);
    expect(isLoopbackUrl('http://10.0.0.5')).toBe(false);
    expect(isLoopbackUrl('http://127.0.0.1.evil.example')).toBe(false);
  });
});
