import { describe, expect, it } from 'vitest';
import { fitSms, gsm7Length, toGsm7 } from './sms.js';
import { renderSms } from './templates.js';
import { ALL_KINDS } from '../jobs/plan.js';

describe('GSM-7', () => {
  it('counts septets, extension characters twice, and refuses what GSM-7 lacks', () => {
    expect(gsm7Length('Hallo é ü à')).toBe(11);
    expect(gsm7Length('€[]')).toBe(6);
    expect(gsm7Length('Zoë')).toBeNull();
    expect(gsm7Length('it’s')).toBeNull();
  });
  it('turns other characters into their nearest GSM-7 form', () => {
    expect(toGsm7('Zoë’s “test” — ok…')).toBe('Zoe\'s "test" - ok...');
    expect(toGsm7('Ĳsselland 😀')).toBe('IJsselland ?');
    expect(gsm7Length(toGsm7('ŁódŹ ñ ç'))).not.toBeNull();
  });
  it('drops optional pieces and takes shorter forms to stay in one part; the link stays whole', () => {
    const link = 'https://video.example-hospital.nl/p/' + 'x'.repeat(43);
    const text = fitSms([{ text: 'A'.repeat(90), shorter: 'B'.repeat(40) }, { text: link }, { text: 'Vragen? Bel 088-123 45 67', optional: true }]);
    expect(gsm7Length(text)).toBeLessThanOrEqual(160);
    expect(text).toContain(link);
    expect(text.startsWith('B')).toBe(true);
  });
});

describe('SMS texts', () => {
  const base = {
    link: 'https://videoconsult.ziekenhuis-voorbeeld.nl/p/' + 'k'.repeat(43),
    start: new Date('2027-03-28T08:00:00Z'),
    durationMinutes: 15,
    timeZone: 'Europe/Amsterdam',
    clinicianName: 'Dr. A. Visser',
    helpdeskPhone: '088-123 45 67',
    waitingRoomOpensMinutes: 10,
  };
  for (const language of ['nl', 'en'] as const) {
    for (const clinicName of ['Cardiologie', 'Polikliniek Maag-, Darm- en Leverziekten — Ziekenhuis Sint-Geërtruiden']) {
      it(`fits one part in ${language} for every kind (clinic "${clinicName.slice(0, 20)}…")`, () => {
        for (const kind of ALL_KINDS) {
          const text = renderSms({ ...base, kind, language, clinicName, link: kind === 'cancellation' ? null : base.link });
          const n = gsm7Length(text);
          expect(n, `${kind}: ${text}`).not.toBeNull();
          expect(n!).toBeLessThanOrEqual(160);
          if (kind !== 'cancellation') expect(text).toContain(base.link);
          expect(text).toContain(kind === 'reminder_1d' || kind === 'reminder_15m' ? '10:00' : language === 'nl' ? 'zo 28 mrt' : 'Sun 28 Mar');
        }
      });
    }
  }
  it('says the time in the clinic time zone and when the waiting room opens', () => {
    expect(renderSms({ ...base, kind: 'reminder_15m', language: 'nl', clinicName: 'KNO' })).toContain('begint om 10:00. U kunt starten vanaf 09:50');
    expect(renderSms({ ...base, kind: 'reminder_3d', language: 'en', clinicName: 'KNO' }, 5 * 1440)).toContain('In 5 days');
  });
});
