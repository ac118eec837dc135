/**
 * The walk-in page, /inloop/<clinic code> (control/src/walkin/routes.ts): open or closed by the
 * server's clock, a short form (name; birth date and phone as the clinic asks; consent to a
 * video consult), then on to the patient's own page /p/<token>, which goes on exactly like an
 * appointment (device test, waiting room, consult). Plain DOM like the patient page.
 */
import { h, byId, announce } from '../lib/dom.js';
import { loadLang, locale, onLangChange, pageStrings, setLang, setupLangSwitch, isLang, lang } from '../lib/i18n.js';
import { nl, en } from './walk-in-strings.js';
import type { WalkInView } from '../../../control/src/walkin/commands.js';

type K = keyof typeof nl;
const { t } = pageStrings<K>({ nl, en });
const LANG_KEY = 'spk-walk-in-lang';
const code = decodeURIComponent(location.pathname.replace(/^\/inloop\//, '').replace(/\/$/, ''));
const app = byId('app');

/** Texts to redo on a language switch (those of elements no longer on the page are dropped then). */
let texts: Array<[HTMLElement, () => void]> = [];
/** Sets an element's text now and on every language switch. */
function say<E extends HTMLElement>(el: E, key: K, params?: () => Record<string, string>): E {
  const apply = () => void (el.textContent = t(key, params?.()));
  apply();
  texts.push([el, apply]);
  return el;
}

type Screen = 'loading' | 'form' | 'closed' | 'full' | 'limited' | 'notFound' | 'error';

function show(screen: Screen, ...children: Node[]): void {
  app.replaceChildren(...children);
  app.dataset.state = screen;
}

let view: WalkInView | null = null;

const fmtTime = (iso: string) => new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', timeZone: view?.clinic.timezone }).format(new Date(iso));
const fmtDay = (iso: string) => new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', timeZone: view?.clinic.timezone }).format(new Date(iso));

function callUs(): HTMLElement {
  const phone = view?.clinic.helpdeskPhone;
  if (!phone) return say(h('p', { 'data-testid': 'call' }), 'walkIn.callClinic');
  return h('p', { 'data-testid': 'call' }, say(h('span'), 'walkIn.call'), ' ', h('a', { class: 'phone', href: `tel:${phone.replace(/[^+\d]/g, '')}` }, phone));
}

function showClosed(): void {
  const v = view!;
  const body = v.opensAt
    ? say(h('p', { class: 'lead', 'data-testid': 'opens-at' }), 'walkIn.closed.next', () => ({ clinic: v.clinic.name, day: fmtDay(v.opensAt!), time: fmtTime(v.opensAt!) }))
    : say(h('p', { class: 'lead', 'data-testid': 'opens-at' }), 'walkIn.closed.unknown', () => ({ clinic: v.clinic.name }));
  show('closed', say(h('h1'), 'walkIn.closed.title'), body, ...(v.opensAt ? [say(h('p'), 'walkIn.closed.again')] : []), callUs());
}

function showFull(): void {
  show('full', say(h('h1'), 'walkIn.full.title'), say(h('p', { class: 'lead' }), 'walkIn.full.body'), callUs());
}

function showSimple(screen: 'notFound' | 'error' | 'limited'): void {
  const [title, body] = ({ notFound: ['walkIn.notFound.title', 'walkIn.notFound.body'], error: ['walkIn.error.title', 'walkIn.error.body'], limited: ['walkIn.limited.title', 'walkIn.limited.body'] } as const)[screen];
  const again = h('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'try-again' });
  again.addEventListener('click', () => void load());
  show(screen, say(h('h1'), title), say(h('p', { class: 'lead' }), body), ...(screen === 'notFound' ? [] : [callUs(), say(again, 'walkIn.tryAgain')]));
}

const FIELDS = ['name', 'birthDate', 'phone', 'consent'] as const;
type Field = (typeof FIELDS)[number];
const BAD: Record<Field, K> = { name: 'walkIn.bad.name', birthDate: 'walkIn.bad.birthDate', phone: 'walkIn.bad.phone', consent: 'walkIn.bad.consent' };

function textField(id: Field, label: K, type: string, autocomplete: string, required: boolean, hint?: K): { wrap: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { id: `f-${id}`, name: id, type, autocomplete, 'data-testid': `field-${id}`, required, 'aria-describedby': `${hint ? `h-${id} ` : ''}e-${id}` });
  const lab = h('label', { for: `f-${id}` }, say(h('span'), label), ...(required ? [] : [' ', say(h('span', { class: 'muted' }), 'walkIn.field.optional')]));
  const wrap = h('div', { class: 'field' }, lab, ...(hint ? [say(h('p', { id: `h-${id}`, class: 'muted' }), hint)] : []), input, h('p', { id: `e-${id}`, class: 'problem-slot', 'data-testid': `error-${id}` }));
  return { wrap, input };
}

function showForm(): void {
  const v = view!;
  const name = textField('name', 'walkIn.field.name', 'text', 'name', true);
  const birth = textField('birthDate', 'walkIn.field.birthDate', 'date', 'bday', v.require.birthDate);
  const phone = textField('phone', 'walkIn.field.phone', 'tel', 'tel', v.require.phone, 'walkIn.field.phoneHint');
  const consent = h('input', { id: 'f-consent', type: 'checkbox', name: 'consent', 'data-testid': 'field-consent', required: true, 'aria-describedby': 'e-consent' });
  const consentRow = h('div', { class: 'field' }, h('div', { class: 'check' }, consent, say(h('label', { for: 'f-consent' }), 'walkIn.consent')), h('p', { id: 'e-consent', class: 'problem-slot', 'data-testid': 'error-consent' }));
  const summary = h('div', { class: 'problem-slot', role: 'alert', 'data-testid': 'problems' });
  const submit = say(h('button', { type: 'submit', class: 'btn btn-primary btn-big', 'data-testid': 'submit' }), 'walkIn.submit');
  const form = h('form', { class: 'form walk-in-form', novalidate: true, 'data-testid': 'walk-in-form' }, name.wrap, birth.wrap, phone.wrap, consentRow, summary, submit);
  const inputs: Record<Field, HTMLInputElement> = { name: name.input, birthDate: birth.input, phone: phone.input, consent };

  const mark = (bad: Field[]) => {
    for (const f of FIELDS) {
      const slot = byId(`e-${f}`);
      slot.textContent = '';
      inputs[f].removeAttribute('aria-invalid');
      if (bad.includes(f)) {
        inputs[f].setAttribute('aria-invalid', 'true');
        slot.append(say(h('span', { class: 'problem' }), BAD[f]));
      }
    }
    summary.textContent = '';
    if (bad.length) {
      summary.append(h('div', { class: 'problem-box' }, say(h('p'), 'walkIn.problems'), h('ul', {}, ...bad.map((f) => say(h('li'), BAD[f])))));
      inputs[bad[0]!].focus();
    }
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    // The page checks what it can; the server checks everything again and names what it refuses.
    const bad: Field[] = [];
    if (name.input.value.trim().length < 2) bad.push('name');
    if (v.require.birthDate && !birth.input.value) bad.push('birthDate');
    if (v.require.phone && !phone.input.value.trim()) bad.push('phone');
    if (!consent.checked) bad.push('consent');
    mark(bad);
    if (bad.length) return;
    submit.disabled = true;
    announce(t('walkIn.sending'));
    void register({
      name: name.input.value.trim(),
      birthDate: birth.input.value || null,
      phone: phone.input.value.trim() || null,
      language: lang(),
      consent: true,
    }).then((badField) => {
      submit.disabled = false;
      if (badField) mark([badField]);
    });
  });

  show(
    'form',
    say(h('h1'), 'walkIn.form.title', () => ({ clinic: v.clinic.name })),
    say(h('p', { class: 'lead' }), 'walkIn.form.intro'),
    ...(v.closesAt ? [say(h('p', { 'data-testid': 'closes-at' }), 'walkIn.form.closesAt', () => ({ time: fmtTime(v.closesAt!) }))] : []),
    form,
  );
}

/** Registers; on success the patient's own page takes over. Returns the field the server refused, if any. */
async function register(body: Record<string, unknown>): Promise<Field | null> {
  let res: Response;
  try {
    res = await fetch(`/api/walk-in/${encodeURIComponent(code)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    showSimple('error');
    return null;
  }
  const json = (await res.json().catch(() => ({}))) as { path?: string; error?: { code?: string; field?: string } };
  if (res.status === 201 && json.path) {
    location.assign(json.path);
    return null;
  }
  const err = json.error ?? {};
  if (res.status === 400) return (FIELDS as readonly string[]).includes(err.field ?? '') ? (err.field as Field) : 'name';
  if (res.status === 429) return void showSimple('limited'), null;
  if (err.code === 'queue_full') return void (await load()), null;
  if (err.code === 'walk_in_closed') return void (await load()), null;
  if (res.status === 404) return void showSimple('notFound'), null;
  showSimple('error');
  return null;
}

async function load(): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`/api/walk-in/${encodeURIComponent(code)}`, { headers: { Accept: 'application/json' } });
  } catch {
    return showSimple('error');
  }
  if (res.status === 404) return showSimple('notFound');
  if (!res.ok) return showSimple('error');
  view = (await res.json()) as WalkInView;
  if (!view.open) showClosed();
  else if (view.queueFull) showFull();
  else showForm();
  app.focus();
}

function main(): void {
  const asked = new URLSearchParams(location.search).get('lang');
  // Dutch unless asked (?lang=en, a link the clinic hands out) or chosen before on this phone.
  setLang(isLang(asked) ? asked : (loadLang(LANG_KEY) ?? 'nl'));
  setupLangSwitch(byId<HTMLButtonElement>('lang-switch'), () => LANG_KEY);
  const title = document.querySelector('title');
  onLangChange(() => {
    texts = texts.filter(([el]) => el.isConnected);
    for (const [, apply] of texts) apply();
    if (title) title.textContent = t('walkIn.title');
  });
  if (title) title.textContent = t('walkIn.title');
  void load();
}

main();
