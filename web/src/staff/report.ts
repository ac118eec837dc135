/**
 * The consult report in the console (the same facts the EHR gets from
 * GET /api/v1/appointments/{id}/report): times, participants, identity method, who was
 * present, consent, connection problems, fallback. No media, no chat text.
 */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import { h, tx } from '../lib/dom.js';
import { t, lang, type Key } from '../lib/i18n.js';
import { formatClock, formatDate, formatTime } from '../lib/time.js';
import type { ConsultReport } from './api.js';

const yesNo = (v: boolean | null | undefined): string => t(v ? 'report.yes' : 'report.no');

function row(key: Key, value: string | Node, testid?: string): HTMLElement[] {
  return [tx('dt', key), h('dd', testid ? { 'data-testid': testid } : {}, value)];
}

function time(iso: string | null): string {
  return iso ? formatTime(iso, lang()) : '–';
}

function duration(seconds: number | null): string {
  return seconds === null ? '–' : formatClock(seconds * 1000, false);
}

/** The report's sections; re-render on a language switch (the caller does). */
export function reportSections(r: ConsultReport, patientName: string): Node[] {
  const sideWords = (prefix: 'ps' | 'cs', values: string[]): string =>
    values.length ? values.map((v) => t(`knmg.${prefix}.${v}` as Key)).join(', ') : t('report.alone');
  const participants = h('ul', { 'data-testid': 'report-participants' });
  for (const p of r.participants) {
    if (p.role === 'patient') participants.append(tx('li', p.companion ? 'report.patientCompanion' : 'report.patient'));
    else if (p.role === 'clinician') participants.append(tx('li', 'report.clinician', {}, { name: p.name }));
    else {
      const role = t(`role.${p.guestRole}` as Key);
      participants.append(tx('li', p.joined ? 'report.guestJoined' : 'report.guestAbsent', { 'data-testid': 'report-guest' }, { role }));
    }
  }
  const record: Node[] = r.identity
    ? [
        h(
          'dl',
          { class: 'report-dl' },
          ...row('report.identity', t(`knmg.id.${r.identity.method}` as Key), 'report-identity'),
          ...row('report.presence', [
            t('report.presencePatient', { who: sideWords('ps', r.presence?.patientSide ?? []) }),
            t('report.presenceClinic', { who: sideWords('cs', r.presence?.clinicSide ?? []) }),
            ...(r.presence?.othersConsent !== null && r.presence?.othersConsent !== undefined
              ? [t('report.othersConsent', { answer: yesNo(r.presence.othersConsent) })]
              : []),
          ].join('. '), 'report-presence'),
          ...row('report.consent', [
            t('report.consentVideo', { answer: yesNo(r.consent?.video) }),
            t('report.fallbackExplained', { answer: yesNo(r.consent?.fallbackExplained) }),
          ].join('. '), 'report-consent'),
          ...(r.note ? row('report.note', h('span', { 'data-verbatim': '' }, r.note), 'report-note') : []),
        ),
        ...(r.identity.physicallyVerified ? [] : [tx('p', 'knmg.notPhysical', { class: 'hint' })]),
      ]
    : [tx('p', 'report.noRecord', { class: 'problem', 'data-testid': 'report-no-record' })];
  return [
    tx('p', 'report.for', { class: 'lead' }, {
      name: patientName,
      date: formatDate(r.scheduledStart, lang()),
      time: formatTime(r.scheduledStart, lang()),
    }),
    h(
      'section',
      { class: 'report-section' },
      tx('h2', 'report.times'),
      h(
        'dl',
        { class: 'report-dl', 'data-testid': 'report-times' },
        ...row('report.waitingSince', time(r.times.waitingSince)),
        ...row('report.admittedAt', time(r.times.admittedAt)),
        ...row('report.consultStartedAt', time(r.times.consultStartedAt)),
        ...row('report.endedAt', time(r.times.endedAt)),
        ...row('report.waited', duration(r.times.waitedSeconds)),
        ...row('report.duration', duration(r.times.consultSeconds)),
      ),
    ),
    h('section', { class: 'report-section' }, tx('h2', 'report.participants'), participants),
    h('section', { class: 'report-section', 'data-testid': 'report-record' }, tx('h2', 'knmg.title'), ...record),
    h(
      'section',
      { class: 'report-section' },
      tx('h2', 'report.connection'),
      r.connection.drops > 0
        ? tx('p', 'report.drops', { 'data-testid': 'report-connection' }, { drops: r.connection.drops, rejoins: r.connection.rejoins })
        : tx('p', 'report.noDrops', { 'data-testid': 'report-connection' }),
      tx('h2', 'report.fallback'),
      r.fallback
        ? tx('p', 'report.fallbackPhone', { 'data-testid': 'report-fallback' }, { time: time(r.fallback.at) })
        : tx('p', 'report.noFallback', { 'data-testid': 'report-fallback' }),
    ),
    tx('p', 'report.noMedia', { class: 'hint' }),
  ];
}
