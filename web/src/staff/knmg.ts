/**
 * The KNMG panel beside the consult (KNMG-handreiking Videoconsulten): how the identity was
 * established, who else is present on either side and whether the patient agrees, consent to
 * a consult by video. Saved with the consult; can be completed right after the end too.
 */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import { h, tx } from '../lib/dom.js';
import { bindText, lang, type Key } from '../lib/i18n.js';
import { formatTime } from '../lib/time.js';
import * as api from './api.js';
import type { ConsultRecord, ConsultRecordInput, IdentityMethod } from './api.js';

const IDENTITY: IdentityMethod[] = ['id_document', 'bsn_details', 'known', 'not_verified'];
const PATIENT_SIDE = ['partner_family', 'carer', 'interpreter', 'other'] as const;
const CLINIC_SIDE = ['colleague', 'student', 'interpreter', 'other'] as const;

export interface KnmgPanel {
  node: HTMLElement;
  /** Loads what was saved before (a reopened consult, the report's "change"). */
  load(): Promise<void>;
}

export function knmgPanel(appointmentId: string, onError: (err: unknown) => void): KnmgPanel {
  const uid = `knmg-${appointmentId.slice(0, 8)}`;
  const radios = IDENTITY.map((m) => {
    const input = h('input', { type: 'radio', name: `${uid}-id`, id: `${uid}-id-${m}`, value: m, 'data-testid': `knmg-identity-${m}` });
    return { m, input, row: h('div', { class: 'check' }, input, tx('label', `knmg.id.${m}` as Key, { for: input.id })) };
  });
  const notPhysical = tx('p', 'knmg.notPhysical', { class: 'hint', 'data-testid': 'knmg-not-physical', hidden: true });
  const boxes = <T extends string>(side: 'ps' | 'cs', values: readonly T[]) =>
    values.map((v) => {
      const input = h('input', { type: 'checkbox', id: `${uid}-${side}-${v}`, value: v, 'data-testid': `knmg-${side}-${v}` });
      return { v, input, row: h('div', { class: 'check' }, input, tx('label', `knmg.${side}.${v}` as Key, { for: input.id })) };
    });
  const patientSide = boxes('ps', PATIENT_SIDE);
  const clinicSide = boxes('cs', CLINIC_SIDE);
  const checkbox = (key: Key, testid: string) => {
    const input = h('input', { type: 'checkbox', id: `${uid}-${testid}`, 'data-testid': testid });
    return { input, row: h('div', { class: 'check' }, input, tx('label', key, { for: input.id })) };
  };
  const othersConsent = checkbox('knmg.othersConsent', 'knmg-others-consent');
  const consentVideo = checkbox('knmg.consentVideo', 'knmg-consent-video');
  const fallbackExplained = checkbox('knmg.fallbackExplained', 'knmg-fallback-explained');
  const note = h('textarea', { id: `${uid}-note`, rows: '2', maxlength: '1000', 'data-testid': 'knmg-note' });
  const status = tx('p', 'knmg.notSaved', { role: 'status', class: 'knmg-status', 'data-testid': 'knmg-status' });
  const save = tx('button', 'knmg.save', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'knmg-save' });

  const others = (): boolean => [...patientSide, ...clinicSide].some((b) => b.input.checked);
  const sync = (): void => {
    const method = radios.find((r) => r.input.checked)?.m;
    notPhysical.hidden = !(method === 'id_document' || method === 'bsn_details');
    othersConsent.row.hidden = !others();
  };
  const fill = (r: ConsultRecord): void => {
    for (const x of radios) x.input.checked = x.m === r.identityMethod;
    for (const b of patientSide) b.input.checked = r.patientSide.includes(b.v);
    for (const b of clinicSide) b.input.checked = r.clinicSide.includes(b.v);
    othersConsent.input.checked = r.othersConsent === true;
    consentVideo.input.checked = r.consentVideo;
    fallbackExplained.input.checked = r.fallbackExplained;
    note.value = r.note ?? '';
    bindText(status, 'knmg.saved', () => ({ time: formatTime(r.updatedAt, lang()) }));
    sync();
  };

  const form = h(
    'form',
    { class: 'knmg', 'data-testid': 'knmg-panel', novalidate: true },
    tx('h2', 'knmg.title'),
    h('fieldset', {}, tx('legend', 'knmg.identity'), ...radios.map((r) => r.row), notPhysical),
    h('fieldset', {}, tx('legend', 'knmg.patientSide'), ...patientSide.map((b) => b.row)),
    h('fieldset', {}, tx('legend', 'knmg.clinicSide'), ...clinicSide.map((b) => b.row), othersConsent.row),
    h('fieldset', {}, tx('legend', 'knmg.consent'), consentVideo.row, fallbackExplained.row),
    h('div', { class: 'field' }, tx('label', 'knmg.note', { for: note.id }), note),
    save,
    status,
  );
  form.addEventListener('change', sync);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const method = radios.find((r) => r.input.checked)?.m;
    if (!method) {
      bindText(status, 'knmg.needIdentity');
      radios[0]?.input.focus();
      return;
    }
    const input: ConsultRecordInput = {
      identityMethod: method,
      patientSide: patientSide.filter((b) => b.input.checked).map((b) => b.v),
      clinicSide: clinicSide.filter((b) => b.input.checked).map((b) => b.v),
      othersConsent: others() ? othersConsent.input.checked : null,
      consentVideo: consentVideo.input.checked,
      fallbackExplained: fallbackExplained.input.checked,
      note: note.value.trim() || null,
    };
    save.disabled = true;
    api
      .saveRecord(appointmentId, input)
      .then(({ record }) => fill(record), onError)
      .finally(() => (save.disabled = false));
  });
  sync();
  return {
    node: form,
    async load() {
      try {
        const { record } = await api.getRecord(appointmentId);
        if (record) fill(record);
      } catch (err) {
        onError(err);
      }
    },
  };
}
