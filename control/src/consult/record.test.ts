import type { Encounter } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ConsultRecordInput } from './record.js';
import { reportAsFhirEncounter, type ConsultReport } from './report.js';

describe('the KNMG panel input', () => {
  const ok = { identityMethod: 'bsn_details', consentVideo: true };

  it('fills the defaults: nobody else present, no note', () => {
    expect(ConsultRecordInput.parse(ok)).toEqual({
      identityMethod: 'bsn_details',
      patientSide: [],
      clinicSide: [],
      othersConsent: null,
      consentVideo: true,
      fallbackExplained: false,
      note: null,
    });
  });

  it('asks whether the patient agrees when others are present', () => {
    const r = ConsultRecordInput.safeParse({ ...ok, clinicSide: ['student'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['othersConsent']);
    expect(ConsultRecordInput.safeParse({ ...ok, clinicSide: ['student'], othersConsent: true }).success).toBe(true);
  });

  it('refuses unknown values, repeats, extra fields and overlong notes; trims the note', () => {
    for (const bad of [
      { ...ok, identityMethod: 'passport' },
      { ...ok, patientSide: ['carer', 'carer'], othersConsent: true },
      { ...ok, clinicSide: ['nurse'], othersConsent: true },
      { ...ok, record: true },
      { ...ok, consentVideo: 'yes' },
      { ...ok, note: 'x'.repeat(1001) },
    ]) {
      expect(ConsultRecordInput.safeParse(bad).success, JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
    expect(ConsultRecordInput.parse({ ...ok, note: '  ok\u0007 ' }).note).toBe('ok');
    expect(ConsultRecordInput.parse({ ...ok, note: '   ' }).note).toBeNull();
  });
});

describe('the report as a FHIR Encounter', () => {
  const report: ConsultReport = {
    appointmentId: 'a1',
    externalId: 'HIX-1',
    status: 'ended',
    clinic: 'cardio',
    clinician: { id: 's1', name: 'Dr. A' },
    parts: [],
    scheduledStart: '2031-05-06T10:30:00+02:00',
    durationMinutes: 15,
    times: {
      waitingSince: null,
      admittedAt: null,
      consultStartedAt: '2031-05-06T08:31:00.000Z',
      endedAt: '2031-05-06T08:45:00.000Z',
      waitedSeconds: null,
      consultSeconds: 840,
    },
    participants: [
      { role: 'patient', joined: true, companion: false },
      { role: 'clinician', id: 's1', name: 'Dr. A' },
      { role: 'guest', guestRole: 'interpreter', invitedAt: '2031-05-06T08:32:00.000Z', joined: true, revokedAt: null },
    ],
    identity: { method: 'known', physicallyVerified: true },
    presence: { patientSide: [], clinicSide: [], othersConsent: null },
    consent: { video: true, fallbackExplained: false },
    note: null,
    record: null,
    connection: { drops: 0, rejoins: 0, events: [] },
    fallback: { kind: 'phone', at: '2031-05-06T08:45:00.000Z' },
    endedBy: 'phone',
  };

  it('is a finished virtual encounter with its participants, length and our facts as extensions', () => {
    const e = reportAsFhirEncounter(report, 'https://video.hospital.nl') as any;
    expect(e).toMatchObject({
      resourceType: 'Encounter',
      id: 'a1',
      identifier: [{ value: 'HIX-1' }],
      status: 'finished',
      class: { code: 'VR' },
      period: { start: '2031-05-06T08:31:00.000Z', end: '2031-05-06T08:45:00.000Z' },
      length: { value: 14, unit: 'min' },
    });
    expect(e.participant.map((p: any) => p.type[0].coding[0].code)).toEqual(['PPRF', 'TRANS']);
    expect(e.extension.map((x: any) => x.url.split('/').pop())).toEqual(['identity-check', 'consent-video', 'connection-drops', 'fallback']);
  });

  it('lists a clinician per part of the consult, each with its period (issue 18.2)', () => {
    const e = reportAsFhirEncounter({
      ...report,
      clinician: { id: 's2', name: 'Dr. B' },
      parts: [
        { clinician: { id: 's1', name: 'Verpleegkundige A' }, admittedAt: '2031-05-06T08:31:00.000Z', endedAt: '2031-05-06T08:36:00.000Z', endReason: 'returned' },
        { clinician: { id: 's2', name: 'Dr. B' }, admittedAt: '2031-05-06T08:38:00.000Z', endedAt: '2031-05-06T08:45:00.000Z', endReason: 'ended' },
      ],
    }, 'https://video.hospital.nl') as unknown as Encounter;
    expect(e.participant!.map((p) => [p.type![0]!.coding![0]!.code, p.individual?.display ?? null, p.period?.start ?? null])).toEqual([
      ['PPRF', 'Verpleegkundige A', '2031-05-06T08:31:00.000Z'],
      ['PPRF', 'Dr. B', '2031-05-06T08:38:00.000Z'],
      ['TRANS', null, null],
    ]);
    expect(e.participant![0]!.period!.end).toBe('2031-05-06T08:36:00.000Z');
  });
});
