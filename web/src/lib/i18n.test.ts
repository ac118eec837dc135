import { describe, expect, it } from 'vitest';
import { format, placeholders, t, type Key } from './i18n.js';
import { en, nl } from './strings.js';
import { staffEn, staffNl } from './strings-staff.js';
import * as dashboard from '../dashboard/strings.js';
import * as admin from '../admin/strings.js';
import * as reports from '../reports/strings.js';
import * as walkIn from '../patient/walk-in-strings.js';

// Every table of every page: the patient's and shared strings, the console's, and the staff
// pages' own. Each language has every key of its table, with the same {parameters}.
const TABLES: Record<string, { nl: Record<string, string>; en: Record<string, string> }> = {
  patient: { nl, en },
  console: { nl: staffNl, en: staffEn },
  dashboard,
  admin,
  reports,
  walkIn,
};
const keys = [...Object.keys(nl), ...Object.keys(staffNl)] as Key[];

describe('string tables', () => {
  for (const [name, table] of Object.entries(TABLES)) {
    it(`${name}: the same keys and {parameters} in Dutch and English, none empty`, () => {
      expect(Object.keys(table.en).sort()).toEqual(Object.keys(table.nl).sort());
      for (const k of Object.keys(table.nl)) {
        expect(placeholders(table.en[k] ?? ''), `${name}:${k}`).toEqual(placeholders(table.nl[k] ?? ''));
        for (const l of ['nl', 'en'] as const) expect(table[l][k]?.trim(), `${name}:${l}:${k}`).toBeTruthy();
      }
    });
  }

  it('keep the staff pages\' strings out of the patient\'s table (and so out of its bundle)', () => {
    expect(Object.keys(nl).filter((k) => Object.prototype.hasOwnProperty.call(staffNl, k))).toEqual([]);
    expect(Object.keys(nl).some((k) => /^(staff|knmg|report|login)\./.test(k))).toBe(false);
  });

  it('has every patient and console string loaded for t()', () => {
    for (const l of ['nl', 'en'] as const) {
      for (const k of keys) expect(t(k, undefined, l), `${l}:${k} missing`).not.toBe(k);
    }
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

  it("gives a staff page's own table its own t and plurals", () => {
    expect(dashboard.tn(1, 'lane.countOne', 'lane.count')).toBe('1 afspraak');
    expect(dashboard.tn(3, 'lane.countOne', 'lane.count')).toBe('3 afspraken');
    expect(reports.t('minutes', { n: 4 })).toBe('4 min');
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
