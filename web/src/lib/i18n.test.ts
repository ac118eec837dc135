import { describe, expect, it } from 'vitest';
import { format, placeholders, t, tables, type Key } from './i18n.js';
import { nl } from './strings.js';
import { staffEn, staffNl } from './strings-staff.js';

// Importing strings-staff.ts added the staff pages' strings to the tables: check them all.
const keys = [...Object.keys(nl), ...Object.keys(staffNl)] as Key[];

describe('string tables', () => {
  it('have the same keys in Dutch and English', () => {
    expect(Object.keys(tables.en).sort()).toEqual(Object.keys(tables.nl).sort());
    expect(Object.keys(staffEn).sort()).toEqual(Object.keys(staffNl).sort());
  });

  it('keep the staff pages\' strings out of the patient\'s table (and so out of its bundle)', () => {
    expect(Object.keys(nl).filter((k) => Object.prototype.hasOwnProperty.call(staffNl, k))).toEqual([]);
    expect(Object.keys(nl).some((k) => /^(staff|knmg|report|login)\./.test(k))).toBe(false);
  });

  it('have no empty strings', () => {
    for (const l of ['nl', 'en'] as const) {
      for (const k of keys) {
        const s = t(k, undefined, l);
        expect(s.trim(), `${l}:${k}`).not.toBe('');
        expect(s, `${l}:${k} missing`).not.toBe(k);
      }
    }
  });

  it('use the same {parameters} in both languages', () => {
    for (const k of keys) expect(placeholders(t(k, undefined, 'en')), k).toEqual(placeholders(t(k, undefined, 'nl')));
  });

  it('has a plain-language message for every refusal the patient can meet', () => {
    for (const code of ['not_admitted', 'too_early', 'expired', 'ended', 'cancelled', 'not_allowed', 'media_unavailable']) {
      expect(keys).toContain(`err.${code}`);
    }
  });

  it('names the other language on the language switch, in that language', () => {
    expect(t('lang.switch', undefined, 'nl')).toBe('English');
    expect(t('lang.switch', undefined, 'en')).toBe('Nederlands');
  });
});

describe('t / format', () => {
  it('fills parameters', () => {
    expect(t('appt.with', { clinician: 'dr. Jansen' }, 'nl')).toBe('Videoconsult met dr. Jansen');
    expect(t('tooEarly.body', () => ({ start: '14:30', opens: '14:20' }), 'nl')).toBe(
      'Uw afspraak begint om 14:30. U kunt vanaf 14:20 de wachtkamer in.',
    );
  });

  it('leaves unknown parameters visible rather than blank', () => {
    expect(format('a {x} b', {})).toBe('a {x} b');
    expect(format('a {x} b', { x: 0 })).toBe('a 0 b');
  });
});
