/**
 * The admin page (/staff/admin, admins only): clinics and their settings, staff (roles,
 * clinics, deactivate, password, sign out everywhere), integration API keys (a new key is
 * shown once). Plain forms and tables over /staff/api/admin/*; every change carries the CSRF
 * token. The page re-renders from its data after each change and on a language switch.
 */
import { ApiError, jsonClient } from '../lib/http.js';
import { announce, byId, confirmText, h } from '../lib/dom.js';
import { lang, setLang, t, tn, type Key, type Lang } from './strings.js';

import type { ApiKeyView, ClinicView, StaffView, WritebackView } from '../../../control/src/admin/commands.js';
import type { StaffRole } from '../../../control/src/db/entities.js';
import type { presentStaff } from '../../../control/src/staff/auth.js';
import type { ReminderKind } from '../../../control/src/domain/reminders.js';
import type { WaitDisplay } from '../../../control/src/domain/waiting-line.js';
import type { WalkInAdminView } from '../../../control/src/walkin/commands.js';
import type { TimeRange, Weekday } from '../../../control/src/domain/walk-in.js';

const LANG_KEY = 'spk.lang.staff';
// The server's choices, listed once more for the pickers; a Record so that a role or display
// the server adds fails to compile here until it is offered.
const ROLE_CHOICES: Record<StaffRole, true> = { admin: true, clinician: true, assistant: true, manager: true };
const ROLES = Object.keys(ROLE_CHOICES) as StaffRole[];
type Role = StaffRole;
const WAIT_DISPLAY_CHOICES: Record<WaitDisplay, true> = { position_and_estimate: true, estimate: true, none: true };
const WAIT_DISPLAYS = Object.keys(WAIT_DISPLAY_CHOICES) as WaitDisplay[];
const WEEKDAY_CHOICES: Record<Weekday, true> = { mon: true, tue: true, wed: true, thu: true, fri: true, sat: true, sun: true };
const WEEKDAYS = Object.keys(WEEKDAY_CHOICES) as Weekday[];

/** Who is signed in (GET /staff/api/me). */
type Me = ReturnType<typeof presentStaff>;
type Clinic = ClinicView;
type StaffMember = StaffView;
type Writeback = WritebackView;
type ApiKey = ApiKeyView;

let csrf = '';
let me: Me | null = null;
let clinics: Clinic[] = [];
let staff: StaffMember[] = [];
let keys: ApiKey[] = [];
let editingClinic: string | null = null;
let editingStaff: string | null = null;
let freshKey: { name: string; key: string } | null = null;
let freshSecret: { name: string; secret: string } | null = null;

const api = jsonClient({ csrf: () => csrf, onUnauthorized: () => location.assign('/staff/login') });

// ---------------------------------------------------------------- small builders

function text(key: Key, params?: Record<string, string | number>): string {
  return t(key, params);
}

let fieldSeq = 0;

/** A labelled input; `hint` is tied to it with aria-describedby. */
function field(label: Key, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: Key): HTMLElement {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  const parts: Node[] = [h('label', { for: id }, text(label)), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { class: 'hint', id: hintId }, text(hint)));
  }
  return h('p', { class: 'field' }, ...parts);
}

function input(name: string, value: string | number, attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  const el = h('input', { name, 'data-testid': attrs['data-testid'] as string | undefined, ...attrs });
  el.value = String(value);
  return el;
}

function checkbox(name: string, checked: boolean, label: string, testid?: string, value?: string): HTMLElement {
  const id = `f${++fieldSeq}`;
  const box = h('input', { type: 'checkbox', id, name, 'data-testid': testid, value });
  box.checked = checked;
  return h('p', { class: 'check' }, box, h('label', { for: id }, label));
}

function problemBox(): HTMLElement {
  return h('p', { class: 'problem', role: 'alert', 'data-testid': 'form-problem', hidden: true });
}

function showProblem(box: HTMLElement, err: unknown): void {
  box.textContent = text('failed', { reason: err instanceof Error ? err.message : String(err) });
  box.hidden = false;
}

/** Runs a change: button busy, errors shown in the form, data reloaded, result announced. */
function submitting(form: HTMLFormElement, box: HTMLElement, run: () => Promise<string | void>): void {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    box.hidden = true;
    const buttons = Array.from(form.querySelectorAll('button'));
    buttons.forEach((b) => (b.disabled = true));
    run().then(
      async (message) => {
        await reload();
        if (message) announce(message);
        setStatus(message ?? text('saved'));
      },
      (err: unknown) => {
        buttons.forEach((b) => (b.disabled = false));
        showProblem(box, err);
        const path = err instanceof ApiError && err.field ? err.field.split('.') : [];
        const named = path.length ? form.querySelector<HTMLElement>(`[name="${path.at(-1)}"]`) ?? form.querySelector<HTMLElement>(`[name="${path[0]}"]`) : null;
        (named ?? box).focus?.();
      },
    );
  });
}

function setStatus(message: string): void {
  const el = document.getElementById('status');
  if (el) el.textContent = message;
}

function confirmAction(question: string): Promise<boolean> {
  return confirmText(question, text('yes'), text('cancel'));
}

const when = (iso: string) => new Date(iso).toLocaleString(lang() === 'nl' ? 'nl-NL' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Amsterdam' });
const minutes = (n: number) => text('clinic.minutesShort', { n });
const yesNo = (b: boolean) => text(b ? 'yes' : 'no');

// ---------------------------------------------------------------- clinics

const NUMBER_SETTINGS = [
  ['waitingRoomOpensMinutes', 0, 240],
  ['linkGraceMinutes', 0, 720],
  ['noShowMinutes', 1, 240],
  ['dropMinutes', 1, 120],
] as const;

/** The reminders (clinic.message_schedule): minutes before the start, the range its text allows. */
const REMINDER_SETTINGS: ReadonlyArray<readonly [ReminderKind, number, number]> = [
  ['reminder_3d', 2880, 20160],
  ['reminder_1d', 1080, 1800],
  ['reminder_15m', 5, 120],
];

/** The PBX click-to-dial webhook: URL, whether a secret is set, "make a new secret". */
function telephonyFieldset(c: Clinic): HTMLElement {
  return h('fieldset', { class: 'clinic-checks', 'data-testid': 'clinic-telephony' },
    h('legend', {}, text('clinic.telephony')),
    field('clinic.telephonyWebhookUrl', input('telephonyWebhookUrl', c.telephonyWebhookUrl ?? '', { type: 'url', maxlength: '2000', autocomplete: 'off', 'data-testid': 'clinic-telephonyWebhookUrl' }), 'clinic.telephonyWebhookUrlHint'),
    h('p', { 'data-testid': 'clinic-telephonySecretState' }, text(c.telephonySecretSet ? 'clinic.telephonySecretSet' : 'clinic.telephonySecretNone')),
    checkbox('rotateTelephonySecret', false, text('clinic.rotateTelephonySecret'), 'clinic-rotateTelephonySecret'),
  );
}

/** Reminder times (empty: not sent) and channels. */
function scheduleFieldset(c: Clinic): HTMLElement {
  return h('fieldset', { class: 'clinic-checks', 'data-testid': 'clinic-schedule' },
    h('legend', {}, text('clinic.schedule')),
    ...REMINDER_SETTINGS.map(([k, min, max]) =>
      field(`clinic.${k}` as Key, input(k, c.messageSchedule.reminderMinutes[k] ?? '', { type: 'number', min: String(min), max: String(max), step: '1', 'data-testid': `clinic-${k}` }), `clinic.${k}Hint` as Key),
    ),
    checkbox('channels', c.messageSchedule.channels.includes('email'), text('clinic.channelEmail'), 'clinic-channel-email', 'email'),
    checkbox('channels', c.messageSchedule.channels.includes('sms'), text('clinic.channelSms'), 'clinic-channel-sms', 'sms'),
  );
}

function clinicForm(c: Clinic): HTMLFormElement {
  const box = problemBox();
  const form = h('form', { class: 'form admin-form', 'data-testid': 'clinic-form', 'aria-label': text('clinics.editTitle', { name: c.name }) });
  form.append(
    h('h3', {}, text('clinics.editTitle', { name: c.name })),
    field('clinic.name', input('name', c.name, { required: true, maxlength: '200' })),
    field('clinic.helpdeskPhone', input('helpdeskPhone', c.helpdeskPhone, { type: 'tel', required: true, maxlength: '40' })),
    field('clinic.timezone', input('timezone', c.timezone, { required: true, maxlength: '64' })),
    ...NUMBER_SETTINGS.map(([k, min, max]) =>
      field(`clinic.${k}` as Key, input(k, c[k], { type: 'number', min: String(min), max: String(max), step: '1', required: true, 'data-testid': `clinic-${k}` })),
    ),
    checkbox('initialsOnly', c.initialsOnly, text('clinic.initialsOnly'), 'clinic-initialsOnly'),
    checkbox('assistantsMayAdmit', c.assistantsMayAdmit, text('clinic.assistantsMayAdmit'), 'clinic-assistantsMayAdmit'),
    checkbox('patientScreenShare', c.patientScreenShare, text('clinic.patientScreenShare'), 'clinic-patientScreenShare'),
    checkbox('acceptsTransfers', c.acceptsTransfers, text('clinic.acceptsTransfers'), 'clinic-acceptsTransfers'),
    field('clinic.delayMessage', input('delayMessage', c.delayMessage ?? '', { maxlength: '500', 'data-testid': 'clinic-delayMessage' }), 'clinic.delayMessageHint'),
    field('clinic.waitDisplay', waitDisplaySelect(c.waitDisplay), 'clinic.waitDisplayHint'),
    telephonyFieldset(c),
    scheduleFieldset(c),
    box,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'clinic-save' }, text('save')),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'clinic-cancel' }, text('cancel')),
    ),
  );
  form.querySelector('[data-testid="clinic-cancel"]')!.addEventListener('click', () => {
    editingClinic = null;
    render();
  });
  submitting(form, box, async () => {
    const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement);
    const patch: Record<string, unknown> = {
      name: v('name').value.trim(),
      helpdeskPhone: v('helpdeskPhone').value.trim(),
      timezone: v('timezone').value.trim(),
      initialsOnly: v('initialsOnly').checked,
      assistantsMayAdmit: v('assistantsMayAdmit').checked,
      patientScreenShare: v('patientScreenShare').checked,
      acceptsTransfers: v('acceptsTransfers').checked,
      delayMessage: v('delayMessage').value.trim() || null,
      waitDisplay: v('waitDisplay').value,
    };
    for (const [k] of NUMBER_SETTINGS) patch[k] = Number(v(k).value);
    patch.telephonyWebhookUrl = v('telephonyWebhookUrl').value.trim() || null;
    if (v('rotateTelephonySecret').checked) patch.rotateTelephonySecret = true;
    const reminderMinutes: Record<string, number | null> = {};
    for (const [k] of REMINDER_SETTINGS) reminderMinutes[k] = v(k).value.trim() === '' ? null : Number(v(k).value);
    patch.messageSchedule = { reminderMinutes, channels: Array.from(form.querySelectorAll<HTMLInputElement>('input[name="channels"]')).filter((b) => b.checked).map((b) => b.value) };
    const r = await api<{ telephonySecret?: string }>('PATCH', `/staff/api/admin/clinics/${encodeURIComponent(c.code)}`, patch);
    editingClinic = null;
    if (r.telephonySecret) {
      freshSecret = { name: c.name, secret: r.telephonySecret };
      return text('clinic.telephonySecretShownOnce', { name: c.name });
    }
    return text('saved');
  });
  return form;
}

function newClinicForm(): HTMLFormElement {
  const box = problemBox();
  const form = h('form', { class: 'form admin-form', 'data-testid': 'clinic-new', 'aria-labelledby': 'clinic-new-h' },
    h('h3', { id: 'clinic-new-h' }, text('clinics.new')),
    field('clinic.code', input('code', '', { required: true, pattern: '[a-z0-9-]{1,64}', 'data-testid': 'clinic-new-code' }), 'clinic.codeHint'),
    field('clinic.name', input('name', '', { required: true, maxlength: '200', 'data-testid': 'clinic-new-name' })),
    field('clinic.helpdeskPhone', input('helpdeskPhone', '', { type: 'tel', required: true, maxlength: '40', 'data-testid': 'clinic-new-phone' })),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'clinic-create' }, text('clinics.create')),
  );
  submitting(form, box, async () => {
    const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    const code = v('code');
    await api('POST', '/staff/api/admin/clinics', { code, name: v('name'), helpdeskPhone: v('helpdeskPhone') });
    return text('clinics.created', { code });
  });
  return form;
}

function renderClinics(section: HTMLElement): void {
  const rows = clinics.map((c) => {
    const edit = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'clinic-edit', 'aria-label': `${text('edit')}: ${c.name}` }, text('edit'));
    edit.addEventListener('click', () => {
      editingClinic = c.code;
      render();
      document.querySelector<HTMLInputElement>('[data-testid="clinic-form"] input')?.focus();
    });
    return h('tr', { 'data-clinic': c.code },
      h('td', {}, c.code), h('td', {}, c.name), h('td', {}, c.helpdeskPhone),
      h('td', {}, minutes(c.waitingRoomOpensMinutes)), h('td', {}, minutes(c.linkGraceMinutes)),
      h('td', {}, minutes(c.noShowMinutes)), h('td', {}, minutes(c.dropMinutes)),
      h('td', {}, yesNo(c.initialsOnly)), h('td', {}, yesNo(c.assistantsMayAdmit)),
      h('td', {}, c.delayMessage ?? text('none')),
      h('td', { 'data-testid': 'clinic-telephony-state' }, c.telephonyWebhookUrl ? (c.telephonySecretSet ? text('col.telephonyOn') : text('col.telephonyNoSecret')) : text('none')),
      h('td', {}, edit));
  });
  const head = (['clinic.code', 'clinic.name', 'col.phone', 'col.opens', 'col.grace', 'col.noShow', 'col.drop', 'col.initials', 'col.admit', 'col.delay', 'col.telephony', 'actions'] as Key[])
    .map((k) => h('th', { scope: 'col' }, text(k)));
  const editing = clinics.find((c) => c.code === editingClinic);
  let shown: HTMLElement | null = null;
  if (freshSecret) {
    const value = h('input', { readonly: true, class: 'key-value', 'data-testid': 'telephony-secret', 'aria-label': text('clinic.telephonySecretLabel', { name: freshSecret.name }) });
    value.value = freshSecret.secret;
    const copy = h('button', { type: 'button', class: 'btn btn-small' }, text('keys.copy'));
    copy.addEventListener('click', () => {
      value.select();
      void navigator.clipboard?.writeText(value.value).then(() => announce(text('keys.copied')), () => undefined);
    });
    shown = h('div', { class: 'key-once', role: 'status', 'data-testid': 'telephony-secret-once' },
      h('p', {}, text('clinic.telephonySecretShownOnce', { name: freshSecret.name })), h('div', { class: 'row' }, value, copy));
    // Shown once: gone from memory as soon as the page re-renders for anything else.
    freshSecret = null;
  }
  section.replaceChildren(
    h('h2', { id: 'clinics-h' }, text('clinics.title')),
    ...(shown ? [shown] : []),
    h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table', 'data-testid': 'clinics-table' }, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows))),
    editing ? clinicForm(editing) : newClinicForm(),
    ...(editing ? [walkInSection(editing)] : []),
  );
}

// ---------------------------------------------------------------- walk-in hours

/** "09:00-10:30, 14:00-15:00" → ranges (what does not parse goes to the server as typed, which names it). */
function parseRanges(text: string): TimeRange[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [from = '', to = ''] = p.split(/\s*[-–]\s*/);
      return { from: from.trim(), to: to.trim() };
    });
}
const rangesText = (ranges: TimeRange[]) => ranges.map((r) => `${r.from}-${r.to}`).join(', ');

/** The walk-in settings of the clinic being edited: a form of its own (PUT …/walk-in) and the close-now buttons. */
function walkInSection(c: Clinic): HTMLElement {
  const section = h('section', { class: 'form admin-form', 'data-testid': 'walk-in', 'aria-labelledby': 'walk-in-h' },
    h('h3', { id: 'walk-in-h' }, text('walkIn.title')),
    h('p', { role: 'status' }, text('walkIn.loading')));
  void api<WalkInAdminView & { link: string }>('GET', `/staff/api/admin/clinics/${encodeURIComponent(c.code)}/walk-in`).then(
    (v) => section.replaceChildren(...walkInForm(c, v)),
    (err: unknown) => {
      const box = problemBox();
      showProblem(box, err);
      section.append(box);
    },
  );
  return section;
}

function walkInStatusText(v: WalkInAdminView): string {
  const at = (iso: string | null) => (iso ? when(iso) : text('walkIn.unknown'));
  if (v.status.open) return text('walkIn.statusOpen', { time: at(v.status.closesAt), n: v.queue });
  if (v.status.reason === 'off') return text('walkIn.statusOff');
  return text(v.status.reason === 'closed_now' ? 'walkIn.statusClosedNow' : 'walkIn.statusClosed', { when: at(v.status.opensAt) });
}

function walkInForm(c: Clinic, v: WalkInAdminView & { link: string }): Node[] {
  const s = v.settings;
  const box = problemBox();
  const clinicians = staff.filter((m) => m.role === 'clinician' && m.active && m.clinics.includes(c.code));
  const select = h('select', { name: 'clinicianId', 'data-testid': 'walk-in-clinician' }, h('option', { value: '' }, text('walkIn.noClinician')));
  for (const m of clinicians) {
    const o = h('option', { value: m.id }, m.name);
    o.selected = m.id === s.clinicianId;
    select.append(o);
  }
  const exceptions = h('textarea', { name: 'exceptions', rows: '4', 'data-testid': 'walk-in-exceptions' });
  exceptions.value = s.exceptions.map((e) => `${e.date}${e.hours.length ? ` ${rangesText(e.hours)}` : ''}`).join('\n');
  const form = h('form', { 'data-testid': 'walk-in-form', 'aria-labelledby': 'walk-in-h' },
    h('p', { role: 'status', 'data-testid': 'walk-in-status' }, walkInStatusText(v)),
    h('p', { 'data-testid': 'walk-in-link' }, text('walkIn.link', { link: v.link })),
    checkbox('enabled', s.enabled, text('walkIn.enabled'), 'walk-in-enabled'),
    field('walkIn.clinician', select, 'walkIn.clinicianHint'),
    h('fieldset', { class: 'clinic-checks' },
      h('legend', {}, text('walkIn.week')),
      h('p', { class: 'hint', id: 'walk-in-week-hint' }, text('walkIn.weekHint')),
      ...WEEKDAYS.map((d) => field(`walkIn.day.${d}` as Key, input(`week-${d}`, rangesText(s.week[d]), { 'data-testid': `walk-in-${d}`, 'aria-describedby': 'walk-in-week-hint', autocomplete: 'off' }))),
    ),
    field('walkIn.exceptions', exceptions, 'walkIn.exceptionsHint'),
    field('walkIn.maxQueue', input('maxQueue', s.maxQueue, { type: 'number', min: '1', max: '100', step: '1', required: true, 'data-testid': 'walk-in-maxQueue' })),
    checkbox('requireBirthDate', s.require.birthDate, text('walkIn.requireBirthDate'), 'walk-in-requireBirthDate'),
    checkbox('requirePhone', s.require.phone, text('walkIn.requirePhone'), 'walk-in-requirePhone'),
    box,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'walk-in-save' }, text('walkIn.save'))),
  );
  submitting(form, box, async () => {
    const el = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    const lines = exceptions.value.split('\n').map((l) => l.trim()).filter(Boolean);
    const exceptionList = lines.map((line) => {
      const [date = '', ...rest] = line.split(/\s+/);
      return { date, hours: parseRanges(rest.join(' ')) };
    });
    await api('PUT', `/staff/api/admin/clinics/${encodeURIComponent(c.code)}/walk-in`, {
      enabled: el('enabled').checked,
      clinicianId: select.value || null,
      week: Object.fromEntries(WEEKDAYS.map((d) => [d, parseRanges(el(`week-${d}`).value)])),
      exceptions: exceptionList,
      maxQueue: Number(el('maxQueue').value),
      require: { birthDate: el('requireBirthDate').checked, phone: el('requirePhone').checked },
    });
    return text('walkIn.saved');
  });
  const closeBox = problemBox();
  const button = (key: Key, testid: string, body: { closed: boolean; until?: 'next_opening' | 'reopen' }, done: Key) => {
    const b = h('button', { type: 'button', class: 'btn', 'data-testid': testid }, text(key));
    b.addEventListener('click', () => {
      closeBox.hidden = true;
      void api('POST', `/staff/api/admin/clinics/${encodeURIComponent(c.code)}/walk-in/close`, body).then(
        async () => {
          await reload();
          announce(text(done));
          setStatus(text(done));
        },
        (err: unknown) => showProblem(closeBox, err),
      );
    });
    return b;
  };
  const closing = h('div', { class: 'row', 'data-testid': 'walk-in-close' },
    s.closed
      ? button('walkIn.reopen', 'walk-in-reopen', { closed: false }, 'walkIn.reopenedDone')
      : button('walkIn.closeNow', 'walk-in-close-now', { closed: true, until: 'next_opening' }, 'walkIn.closedDone'),
    ...(s.closed ? [] : [button('walkIn.closeUntilReopen', 'walk-in-close-reopen', { closed: true, until: 'reopen' }, 'walkIn.closedDone')]),
  );
  return [h('h3', { id: 'walk-in-h' }, text('walkIn.title')), form, closing, closeBox];
}

// ---------------------------------------------------------------- staff

function waitDisplaySelect(value: WaitDisplay): HTMLSelectElement {
  const sel = h('select', { name: 'waitDisplay', 'data-testid': 'clinic-waitDisplay' });
  for (const d of WAIT_DISPLAYS) {
    const o = h('option', { value: d }, text(`clinic.waitDisplay.${d}` as Key));
    o.selected = d === value;
    sel.append(o);
  }
  return sel;
}

function roleSelect(value: Role): HTMLSelectElement {
  const sel = h('select', { name: 'role', 'data-testid': 'staff-role' });
  for (const r of ROLES) {
    const o = h('option', { value: r }, text(`role.${r}` as Key));
    o.selected = r === value;
    sel.append(o);
  }
  return sel;
}

function clinicChecks(selected: string[]): HTMLElement {
  return h('fieldset', { class: 'clinic-checks', 'data-testid': 'staff-clinics' },
    h('legend', {}, text('staff.clinics')),
    ...clinics.map((c) => checkbox('clinics', selected.includes(c.code), `${c.name} (${c.code})`, `clinic-check-${c.code}`, c.code)),
  );
}

function checkedClinics(form: HTMLFormElement): string[] {
  const boxes = Array.from(form.querySelectorAll<HTMLInputElement>('input[name="clinics"]'));
  return boxes.filter((b) => b.checked).map((b) => b.value);
}

function staffForm(s: StaffMember): HTMLElement {
  const box = problemBox();
  const form = h('form', { class: 'form admin-form', 'data-testid': 'staff-form', 'aria-label': text('staff.editTitle', { name: s.name }) },
    h('h3', {}, text('staff.editTitle', { name: s.name })),
    field('staff.name', input('name', s.name, { required: true, maxlength: '200' })),
    field('staff.role', roleSelect(s.role)),
    clinicChecks(s.clinics),
    checkbox('active', s.active, text('staff.active'), 'staff-active'),
    box,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'staff-save' }, text('save')),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'staff-cancel' }, text('cancel')),
    ),
  );
  form.querySelector('[data-testid="staff-cancel"]')!.addEventListener('click', () => {
    editingStaff = null;
    render();
  });
  submitting(form, box, async () => {
    const el = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    await api('PATCH', `/staff/api/admin/staff/${s.id}`, {
      name: el('name').value.trim(),
      role: (form.elements.namedItem('role') as HTMLSelectElement).value,
      clinics: checkedClinics(form),
      active: el('active').checked,
    });
    editingStaff = null;
    return text('saved');
  });

  const pwBox = problemBox();
  const pw = h('form', { class: 'form admin-form', 'data-testid': 'password-form', 'aria-label': text('staff.resetPassword') },
    field('staff.newPassword', input('password', '', { type: 'password', autocomplete: 'new-password', minlength: '10', required: true, 'data-testid': 'staff-new-password' })),
    pwBox,
    h('button', { type: 'submit', class: 'btn', 'data-testid': 'staff-reset-password' }, text('staff.resetPassword')),
  );
  submitting(pw, pwBox, async () => {
    await api('POST', `/staff/api/admin/staff/${s.id}/password`, { password: (pw.elements.namedItem('password') as HTMLInputElement).value });
    return text('staff.passwordReset', { name: s.name });
  });
  const parts: HTMLElement[] = [form, pw];
  if (s.ssoLinked) {
    const unlink = h('button', { type: 'button', class: 'btn', 'data-testid': 'staff-unlink-sso' }, text('staff.unlinkSso'));
    unlink.addEventListener('click', () => {
      void confirmAction(text('staff.unlinkSsoConfirm', { name: s.name })).then(async (ok) => {
        if (!ok) return;
        try {
          await api('POST', `/staff/api/admin/staff/${s.id}/unlink-sso`, {});
          editingStaff = null;
          await reload();
          const msg = text('staff.unlinkedSso', { name: s.name });
          announce(msg);
          setStatus(msg);
        } catch (err) {
          setStatus(text('failed', { reason: (err as Error).message }));
        }
      });
    });
    parts.push(h('div', { class: 'admin-form' }, unlink));
  }
  return h('div', { class: 'admin-edit' }, ...parts);
}

function newStaffForm(): HTMLFormElement {
  const box = problemBox();
  const form = h('form', { class: 'form admin-form', 'data-testid': 'staff-new', 'aria-labelledby': 'staff-new-h' },
    h('h3', { id: 'staff-new-h' }, text('staff.new')),
    field('staff.email', input('email', '', { type: 'email', required: true, autocomplete: 'off', 'data-testid': 'staff-new-email' })),
    field('staff.name', input('name', '', { required: true, maxlength: '200', 'data-testid': 'staff-new-name' })),
    field('staff.role', roleSelect('assistant')),
    clinicChecks([]),
    field('staff.password', input('password', '', { type: 'password', autocomplete: 'new-password', minlength: '10', 'data-testid': 'staff-new-password' }), 'staff.passwordHint'),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'staff-create' }, text('staff.create')),
  );
  submitting(form, box, async () => {
    const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    const name = v('name').trim();
    await api('POST', '/staff/api/admin/staff', {
      email: v('email').trim(),
      name,
      role: (form.elements.namedItem('role') as HTMLSelectElement).value,
      clinics: checkedClinics(form),
      password: v('password') || null,
    });
    return text('staff.created', { name });
  });
  return form;
}

function renderStaff(section: HTMLElement): void {
  const rows = staff.map((s) => {
    const edit = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'staff-edit', 'aria-label': `${text('edit')}: ${s.name}` }, text('edit'));
    edit.addEventListener('click', () => {
      editingStaff = s.id;
      render();
      document.querySelector<HTMLInputElement>('[data-testid="staff-form"] input')?.focus();
    });
    const revoke = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'staff-revoke', 'aria-label': `${text('staff.revoke')}: ${s.name}` }, text('staff.revoke'));
    revoke.disabled = s.liveSessions === 0;
    revoke.addEventListener('click', () => {
      void confirmAction(text('staff.revokeConfirm', { name: s.name })).then(async (ok) => {
        if (!ok) return;
        try {
          const r = await api<{ sessionsRevoked: number }>('POST', `/staff/api/admin/staff/${s.id}/revoke-sessions`, {});
          await reload();
          const n = r.sessionsRevoked;
          const msg = tn(n, 'staff.revokedOne', 'staff.revoked', { name: s.name });
          announce(msg);
          setStatus(msg);
        } catch (err) {
          setStatus(text('failed', { reason: (err as Error).message }));
        }
      });
    });
    const via = [s.ssoLinked ? text('staff.viaSso') : '', s.hasPassword ? text('staff.viaPassword') : ''].filter(Boolean).join(', ') || text('none');
    return h('tr', { 'data-staff': s.email, 'data-active': String(s.active) },
      h('td', {}, s.name), h('td', {}, s.email), h('td', {}, text(`role.${s.role}` as Key)),
      h('td', {}, s.clinics.join(', ') || text('none')),
      h('td', { 'data-testid': 'staff-status' }, text(s.active ? 'staff.activeYes' : 'staff.activeNo')),
      h('td', {}, via), h('td', {}, String(s.liveSessions)),
      h('td', { class: 'actions' }, edit, ' ', revoke));
  });
  const head = (['staff.name', 'staff.email', 'staff.role', 'staff.clinics', 'staff.status', 'staff.signIn', 'staff.sessions', 'actions'] as Key[])
    .map((k) => h('th', { scope: 'col' }, text(k)));
  const editing = staff.find((s) => s.id === editingStaff);
  section.replaceChildren(
    h('h2', { id: 'staff-h' }, text('staff.title')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table', 'data-testid': 'staff-table' }, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows))),
    editing ? staffForm(editing) : newStaffForm(),
  );
}

// ---------------------------------------------------------------- API keys

/** Write-back to the EHR: configured or not, backlog, failed deliveries, oldest pending, last error. */
function writebackCell(w: Writeback | undefined): HTMLElement {
  const cell = h('td', { 'data-testid': 'key-writeback' });
  if (!w || (!w.kind && w.backlog === 0)) {
    cell.append(text('keys.wbOff'));
    return cell;
  }
  const lines: string[] = [w.kind ? text(w.kind === 'fhir' ? 'keys.wbFhir' : 'keys.wbWebhook') : text('keys.wbOff')];
  if (w.backlog === 0) lines.push(text('keys.wbUpToDate'));
  else {
    const minutes = Math.max(1, Math.round((w.oldestPendingSeconds ?? 0) / 60));
    lines.push(text('keys.wbBacklog', { n: w.backlog, minutes }));
  }
  if (w.failed > 0) lines.push(text('keys.wbFailed', { n: w.failed }));
  if (w.lastError) lines.push(text('keys.wbLastError', { error: w.lastError, when: w.lastErrorAt ? when(w.lastErrorAt) : '' }));
  cell.classList.toggle('problem', w.failed > 0 || Boolean(w.lastError));
  for (const l of lines) cell.append(h('div', {}, l));
  return cell;
}

function renderKeys(section: HTMLElement): void {
  const rows = keys.map((k) => {
    const cell = h('td', { class: 'actions' });
    if (!k.revokedAt) {
      const revoke = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'key-revoke', 'aria-label': `${text('keys.revoke')}: ${k.name}` }, text('keys.revoke'));
      revoke.addEventListener('click', () => {
        void confirmAction(text('keys.revokeConfirm', { name: k.name })).then(async (ok) => {
          if (!ok) return;
          try {
            await api('POST', `/staff/api/admin/api-keys/${k.id}/revoke`, {});
            await reload();
            const msg = text('keys.revokedDone', { name: k.name });
            announce(msg);
            setStatus(msg);
          } catch (err) {
            setStatus(text('failed', { reason: (err as Error).message }));
          }
        });
      });
      cell.append(revoke);
    }
    return h('tr', { 'data-key': k.name, 'data-revoked': String(Boolean(k.revokedAt)) },
      h('td', {}, k.name), h('td', {}, h('code', {}, `${k.prefix}…`)), h('td', {}, when(k.createdAt)),
      h('td', { 'data-testid': 'key-status' }, k.revokedAt ? text('keys.revokedAt', { when: when(k.revokedAt) }) : text('keys.active')),
      writebackCell(k.writeback), cell);
  });
  const head = (['keys.name', 'keys.prefix', 'keys.created', 'keys.status', 'keys.writeback', 'actions'] as Key[]).map((k) => h('th', { scope: 'col' }, text(k)));

  const box = problemBox();
  const form = h('form', { class: 'form admin-form', 'data-testid': 'key-new', 'aria-labelledby': 'key-new-h' },
    h('h3', { id: 'key-new-h' }, text('keys.new')),
    field('keys.name', input('name', '', { required: true, maxlength: '100', 'data-testid': 'key-new-name' })),
    box,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'key-create' }, text('keys.create')),
  );
  submitting(form, box, async () => {
    const name = (form.elements.namedItem('name') as HTMLInputElement).value.trim();
    const r = await api<{ key: string }>('POST', '/staff/api/admin/api-keys', { name });
    freshKey = { name, key: r.key };
    return text('keys.shownOnce', { name });
  });

  let shown: HTMLElement | null = null;
  if (freshKey) {
    const value = h('input', { readonly: true, class: 'key-value', 'data-testid': 'key-value', 'aria-label': freshKey.name });
    value.value = freshKey.key;
    const copy = h('button', { type: 'button', class: 'btn btn-small' }, text('keys.copy'));
    copy.addEventListener('click', () => {
      value.select();
      void navigator.clipboard?.writeText(value.value).then(() => announce(text('keys.copied')), () => undefined);
    });
    shown = h('div', { class: 'key-once', role: 'status', 'data-testid': 'key-once' }, h('p', {}, text('keys.shownOnce', { name: freshKey.name })), h('div', { class: 'row' }, value, copy));
    // Shown once: gone from memory as soon as the page re-renders for anything else.
    freshKey = null;
  }
  section.replaceChildren(
    h('h2', { id: 'keys-h' }, text('keys.title')),
    h('p', {}, text('keys.intro')),
    ...(shown ? [shown] : []),
    keys.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table', 'data-testid': 'keys-table' }, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows)))
      : h('p', { class: 'empty' }, text('keys.empty')),
    form,
  );
}

// ---------------------------------------------------------------- page

function renderChrome(): void {
  document.title = `${text('title')} — Spreekkamer`;
  byId('heading').textContent = text('title');
  byId('nav').setAttribute('aria-label', text('nav.label'));
  byId('nav-today').textContent = text('nav.today');
  byId('nav-dashboard').textContent = text('nav.dashboard');
  byId('nav-admin').textContent = text('nav.admin');
  byId('logout').textContent = text('logout');
  const sw = byId('lang-switch');
  sw.textContent = text('lang.switch');
  sw.setAttribute('lang', lang() === 'nl' ? 'en' : 'nl');
  sw.setAttribute('aria-label', text('lang.switchLabel'));
  if (me) byId('who').textContent = text('signedInAs', { name: me.name });
}

function render(): void {
  renderChrome();
  renderClinics(byId('clinics'));
  renderStaff(byId('staff'));
  renderKeys(byId('keys'));
}

async function reload(): Promise<void> {
  const [c, s, k] = await Promise.all([
    api<{ clinics: Clinic[] }>('GET', '/staff/api/admin/clinics'),
    api<{ staff: StaffMember[] }>('GET', '/staff/api/admin/staff'),
    api<{ apiKeys: ApiKey[] }>('GET', '/staff/api/admin/api-keys'),
  ]);
  clinics = c.clinics;
  staff = s.staff;
  keys = k.apiKeys;
  render();
}

function storedLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'nl';
  } catch {
    return 'nl';
  }
}

async function main(): Promise<void> {
  setLang(storedLang());
  renderChrome();
  byId('lang-switch').addEventListener('click', () => {
    const next: Lang = lang() === 'nl' ? 'en' : 'nl';
    try {
      localStorage.setItem(LANG_KEY, next);
    } catch {
      // Private mode: not remembered.
    }
    setLang(next);
    render();
  });
  byId('logout').addEventListener('click', () => {
    void api('POST', '/staff/api/logout', {}).finally(() => location.assign('/staff/login'));
  });
  const app = byId('app');
  try {
    const who = await api<{ staff: Me; csrfToken: string }>('GET', '/staff/api/me');
    me = who.staff;
    csrf = who.csrfToken;
    await reload();
    setStatus('');
    app.dataset.state = 'ready';
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      setStatus(text('loadFailed'));
      app.dataset.state = 'error';
    }
  }
}

void main();
