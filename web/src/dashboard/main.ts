/**
 * The poli assistant's live waiting-room dashboard (/staff/dashboard?clinic=CODE).
 *
 * Lanes per clinician, a card per appointment. The page reads the day over HTTP, then keeps
 * it live from /staff/ws/dashboard: the server pushes each changed card whole, so a change is
 * one message, not a re-read. On every (re)connect the page reads the day again, so nothing
 * missed while offline stays wrong. An arrival plays a short tone (WebAudio, no download),
 * shows a browser notification when allowed, highlights the card and is announced.
 */
import { ApiError, jsonClient } from '../lib/http.js';
import { idleSignOut, setupSignOut } from '../lib/staff-session.js';
import { en, lang, nl, setLang, t, tn, type Key, type Lang } from './strings.js';
import { playArrivalTone, unlockAudio } from './sound.js';

type Status =
  | 'not_arrived' | 'testing' | 'waiting' | 'in_consult' | 'dropped' | 'ended' | 'no_show' | 'expired' | 'phone' | 'cancelled';
type Grade = 'good' | 'fair' | 'poor';

interface Card {
  id: string;
  clinicianId: string;
  clinicianName: string;
  day: string;
  start: string;
  displayName: string;
  status: Status;
  waitingSince: string | null;
  deviceTest: { grade: Grade | null } | null;
  language: 'nl' | 'en';
  interpreter: boolean;
  companion: boolean;
  present: { patient: boolean; guests: number; clinician: boolean };
  failedMessages: Array<{ kind: string; channel: string }>;
  /** Latest live call quality (server's quality store); live 'quality' pushes update it. */
  quality: { grade: Grade; role: string } | null;
  /** Waiting: place in line and estimate, as the patient sees them; live 'line' pushes update it. */
  wait: WaitInfo | null;
}

/** The same as the patient's page shows (control/src/domain/waiting-line.ts). */
interface WaitInfo { position: number | null; minutes: number | null }

function waitText(w: WaitInfo): string {
  const parts: string[] = [];
  if (w.position === 1) parts.push(t('wait.next'));
  else if (w.position) parts.push(t('wait.position', { n: w.position }));
  if (w.minutes !== null && !(w.position === 1 && w.minutes === 0)) parts.push(w.minutes === 0 ? t('wait.soon') : t('wait.minutes', { n: w.minutes }));
  return parts.join(' · ');
}

interface Lane {
  clinicianId: string;
  clinicianName: string;
  /** This clinician's own delay message, shown to their patients instead of the clinic's. */
  delayMessage: string | null;
  cards: Card[];
}

interface Callback {
  id: string;
  appointmentId: string;
  patientDisplayName: string;
  phone: string | null;
  reason: string;
  createdAt: string;
  doneAt: string | null;
}

const LANG_KEY = 'spk.lang.staff';
const RECONNECT_MAX_MS = 5000;
const HIGHLIGHT_MS = 15_000;
const FULL_RELOAD_MS = 60_000;

// ---------------------------------------------------------------- state

let csrf = '';
let clinicCode = '';
let day = '';
let serverOffsetMs = 0;
let clinicTimeZone = 'Europe/Amsterdam';
const cards = new Map<string, Card>();
const laneNames = new Map<string, string>();
const laneDelays = new Map<string, string | null>();
/** The lane whose delay form is open (kept open across re-draws). */
let delayFormOpen: string | null = null;
/** What the assistant has typed into a lane's delay field, not yet saved: survives every re-draw. */
const delayDrafts = new Map<string, string>();
const unread = new Set<string>();
const selected = new Set<string>();
const highlighted = new Map<string, number>();
let chatOpen: string[] = [];
let callbacks: Callback[] = [];
let cuesOn = false;
/** The day's first answer is in: before it the lanes say "loading", never "no appointments". */
let loaded = false;
/** The live feed: 'connecting' (not there yet), 'up', 'lost'. */
let liveState: 'connecting' | 'up' | 'lost' = 'connecting';

/** What tests and benchmarks look at: arrival cues played, notifications shown, render times. */
const probe = {
  cues: 0,
  /** Cues that played the tone (after "turn on sound"). */
  tones: 0,
  notifications: 0,
  rendered: {} as Record<string, { status: Status; at: number }>,
};
(window as unknown as { spkDashboard: typeof probe }).spkDashboard = probe;

// ---------------------------------------------------------------- helpers

function byId<E extends HTMLElement = HTMLElement>(id: string): E {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as E;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

function announce(text: string, region = 'announcer'): void {
  const el = document.getElementById(region);
  if (!el) return;
  el.textContent = '';
  window.setTimeout(() => (el.textContent = text), 50);
}

function toast(text: string): void {
  const el = byId('toast');
  el.textContent = text;
  el.hidden = false;
  window.clearTimeout(Number(el.dataset.timer ?? 0));
  el.dataset.timer = String(window.setTimeout(() => (el.hidden = true), 4000));
}

const call = jsonClient({ csrf: () => csrf, onUnauthorized: () => location.replace('/staff/login') });

function failed(err: unknown): void {
  toast(t('error.generic', { message: err instanceof Error ? err.message : String(err) }));
}

const timeFmt = () => new Intl.DateTimeFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: clinicTimeZone });

function mmss(sinceIso: string): string {
  const s = Math.max(0, Math.floor((Date.now() + serverOffsetMs - Date.parse(sinceIso)) / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

function statusText(c: Card): string {
  const text = c.status === 'waiting' && c.waitingSince ? t('status.waiting', { since: mmss(c.waitingSince) }) : t(`status.${c.status}` as Key, { since: '' });
  // The console's fact too: waiting, but the patient's page is not connected now.
  return offline(c) ? `${text}, ${t('status.offline')}` : text;
}

/** Waiting (or admitted) without the patient's page connected: "geen verbinding", as on the console. */
function offline(c: Card): boolean {
  return c.status === 'waiting' && !c.present.patient;
}

// ---------------------------------------------------------------- rendering

function renderCard(c: Card): HTMLLIElement {
  const name = c.displayName;
  const quality = c.quality?.grade ?? null;
  const grade = c.deviceTest?.grade ?? null;
  const isHighlighted = (highlighted.get(c.id) ?? 0) > Date.now();
  const check = h('input', { type: 'checkbox', 'data-testid': 'select', id: `sel-${c.id}`, disabled: c.status !== 'waiting' });
  check.checked = selected.has(c.id);
  check.addEventListener('change', () => {
    if (check.checked) selected.add(c.id);
    else selected.delete(c.id);
    renderToolbar();
  });
  const btn = (key: Key, testid: string, onClick: () => void, enabled = true, long: Key = key) => {
    const b = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': testid, disabled: !enabled, title: t(long) }, t(key));
    b.setAttribute('aria-label', `${t(long)}: ${name}`);
    b.addEventListener('click', onClick);
    return b;
  };
  const live = c.status !== 'ended' && c.status !== 'no_show' && c.status !== 'expired' && c.status !== 'cancelled';
  const li = h(
    'li',
    {
      class: `card status-${c.status}${isHighlighted ? ' arrived' : ''}${unread.has(c.id) ? ' unread' : ''}`,
      'data-appointment-id': c.id,
      'data-testid': 'card',
      'data-status': c.status,
      'data-online': String(c.present.patient),
      'aria-labelledby': `name-${c.id}`,
    },
    h(
      'div',
      { class: 'card-head' },
      h('label', { class: 'card-select', for: `sel-${c.id}` }, check, h('span', { class: 'sr-only' }, t('action.select'))),
      h('span', { class: 'card-time', 'data-testid': 'time' }, timeFmt().format(new Date(c.start))),
      h('span', { class: 'card-name', id: `name-${c.id}`, 'data-testid': 'name', title: name }, name),
    ),
    h('p', { class: `card-status badge-${c.status}${offline(c) ? ' offline' : ''}`, 'data-testid': 'status', 'data-status': c.status }, statusText(c)),
    h(
      'ul',
      { class: 'card-facts' },
      h('li', { 'data-testid': 'grade', 'data-grade': grade ?? 'none', class: `grade-${grade ?? 'none'}` }, t(grade ? (`grade.${grade}` as Key) : 'grade.none')),
      quality ? h('li', { 'data-testid': 'quality', 'data-grade': quality, class: `grade-${quality}` }, t(`quality.${quality}` as Key)) : null,
      h('li', { 'data-testid': 'language', 'data-language': c.language }, t(`lang.${c.language}` as Key)),
      c.wait ? h('li', { 'data-testid': 'wait-estimate', title: t('wait.title') }, waitText(c.wait)) : null,
      c.interpreter ? h('li', { 'data-testid': 'interpreter', class: 'flag' }, t('interpreter')) : null,
      c.companion ? h('li', { 'data-testid': 'companion' }, t('companion')) : null,
      c.present.patient ? h('li', { 'data-testid': 'present-patient', class: 'present' }, t('present.patient')) : null,
      c.present.guests > 0 ? h('li', { 'data-testid': 'present-guests', class: 'present' }, tn(c.present.guests, 'present.guestsOne', 'present.guests')) : null,
      c.present.clinician ? h('li', { 'data-testid': 'present-clinician', class: 'present' }, t('present.clinician')) : null,
      c.failedMessages.length > 0
        ? h('li', { 'data-testid': 'failed-messages', class: 'warn', title: c.failedMessages.map((f) => `${f.kind} (${f.channel})`).join(', ') }, tn(c.failedMessages.length, 'failed.messagesOne', 'failed.messages'))
        : null,
      unread.has(c.id) ? h('li', { 'data-testid': 'unread', class: 'warn' }, t('chat.new')) : null,
    ),
    h(
      'div',
      { class: 'card-actions', role: 'group', 'aria-label': t('action.actions', { name }) },
      btn('action.chat', 'chat', () => openChat([c.id]), live),
      btn('action.notify', 'notify-clinician', () => void notifyClinician(c), live, 'action.notifyLong'),
      btn('action.noShow', 'no-show', () => void noShow(c), c.status === 'not_arrived' || c.status === 'testing'),
      btn('action.phone', 'fallback', () => void fallback(c), c.status !== 'cancelled' && c.status !== 'phone'),
      btn('action.copyLink', 'copy-link', () => void copyLink(c), live),
    ),
  );
  probe.rendered[c.id] = { status: c.status, at: Date.now() };
  return li;
}

function renderLanes(): void {
  const board = byId('lanes');
  const byClinician = new Map<string, Card[]>();
  for (const c of [...cards.values()].sort((a, b) => a.start.localeCompare(b.start) || a.id.localeCompare(b.id))) {
    if (!byClinician.has(c.clinicianId)) byClinician.set(c.clinicianId, []);
    byClinician.get(c.clinicianId)!.push(c);
  }
  // Lanes are drawn anew on card changes: keep the focus (and the caret) where the assistant is typing.
  const active = document.activeElement as HTMLInputElement | null;
  const typingIn = active?.dataset.testid === 'lane-delay-input' && board.contains(active) ? active.id : null;
  const caret: [number | null, number | null] | null = typingIn ? [active!.selectionStart, active!.selectionEnd] : null;
  board.textContent = '';
  board.setAttribute('aria-busy', String(!loaded));
  if (!loaded) {
    board.append(h('p', { class: 'muted', role: 'status', 'data-testid': 'lanes-loading' }, t('lane.loading')));
    return;
  }
  if (byClinician.size === 0) board.append(h('p', { class: 'muted', 'data-testid': 'lanes-empty' }, t('lane.empty')));
  for (const [clinicianId, list] of byClinician) {
    const name = laneNames.get(clinicianId) ?? list[0]?.clinicianName ?? '';
    board.append(
      h(
        'section',
        { class: 'lane', 'data-testid': 'lane', 'data-clinician-id': clinicianId, 'aria-labelledby': `lane-${clinicianId}` },
        h('h2', { id: `lane-${clinicianId}` }, name, ' ', h('span', { class: 'muted', 'data-testid': 'lane-count' }, `(${tn(list.length, 'lane.countOne', 'lane.count')})`)),
        laneDelay(clinicianId, name),
        h('ul', { class: 'cards' }, ...list.map(renderCard)),
      ),
    );
  }
  if (typingIn) {
    const again = document.getElementById(typingIn) as HTMLInputElement | null;
    again?.focus({ preventScroll: true });
    if (again && caret) again.setSelectionRange(caret[0], caret[1]);
  }
}

/** A clinician's own delay message: what is in force, and a small form to set or clear it. */
function laneDelay(clinicianId: string, name: string): HTMLElement {
  const current = laneDelays.get(clinicianId) ?? null;
  const box = h('div', { class: 'lane-delay', 'data-testid': 'lane-delay' });
  if (current) box.append(h('p', { class: 'notice', 'data-testid': 'lane-delay-current' }, t('lane.delayInForce', { message: current })));
  if (delayFormOpen !== clinicianId) {
    const open = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'lane-delay-open' }, t('lane.delay'));
    open.addEventListener('click', () => {
      delayFormOpen = clinicianId;
      renderLanes();
      document.querySelector<HTMLInputElement>(`#lane-delay-${clinicianId}`)?.focus();
    });
    box.append(open);
    return box;
  }
  const input = h('input', { id: `lane-delay-${clinicianId}`, maxlength: '500', 'data-testid': 'lane-delay-input', placeholder: t('delay.placeholder') }) as HTMLInputElement;
  input.value = delayDrafts.get(clinicianId) ?? current ?? '';
  input.addEventListener('input', () => delayDrafts.set(clinicianId, input.value));
  const form = h(
    'form',
    { class: 'delay-form' },
    h('label', { for: `lane-delay-${clinicianId}` }, t('lane.delayLabel', { name })),
    input,
    h('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-testid': 'lane-delay-save' }, t('delay.save')),
  );
  const clear = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'lane-delay-clear' }, t('delay.clear'));
  form.append(clear);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    void saveDelay(v === '' ? null : v, clinicianId);
  });
  clear.addEventListener('click', () => void saveDelay(null, clinicianId));
  box.append(form);
  return box;
}

/** Replace one card in place (or re-draw the lanes when it is new, moved or gone). */
function updateCard(c: Card): void {
  const old = document.querySelector(`li.card[data-appointment-id="${c.id}"]`);
  const known = cards.get(c.id);
  if (c.status === 'cancelled' || c.day !== day) {
    if (known) {
      cards.delete(c.id);
      renderLanes();
    }
    return;
  }
  cards.set(c.id, c);
  if (old && known && known.clinicianId === c.clinicianId && known.start === c.start) old.replaceWith(renderCard(c));
  else renderLanes();
}

function renderToolbar(): void {
  const chatSel = byId<HTMLButtonElement>('chat-selected');
  const n = [...selected].filter((id) => cards.get(id)?.status === 'waiting').length;
  chatSel.disabled = n === 0;
  chatSel.textContent = n > 1 ? t('chat.titleMany', { n }) : t('action.chat');
}

function renderStatic(): void {
  document.documentElement.lang = lang();
  document.title = t('title');
  document.querySelectorAll<HTMLElement>('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t as Key)));
  document.querySelectorAll<HTMLElement>('[data-t-placeholder]').forEach((el) => el.setAttribute('placeholder', t(el.dataset.tPlaceholder as Key)));
  byId('cue-enable').textContent = cuesOn ? t('cue.on') : t('cue.enable');
  renderConn();
  byId('lang-switch').setAttribute('lang', lang() === 'nl' ? 'en' : 'nl');
}

/** The live connection's state, said in the banner (not there yet, or lost). */
function renderConn(): void {
  const banner = byId('conn');
  banner.dataset.state = liveState;
  banner.hidden = liveState === 'up';
  banner.textContent = t(liveState === 'connecting' ? 'conn.connecting' : 'conn.lost');
}

function renderAll(): void {
  renderStatic();
  renderLanes();
  renderToolbar();
  renderChat();
  renderCallbacks();
}

// ---------------------------------------------------------------- arrival cue

function arrival(c: Card): void {
  highlighted.set(c.id, Date.now() + HIGHLIGHT_MS);
  document.querySelector(`li.card[data-appointment-id="${c.id}"]`)?.classList.add('arrived');
  window.setTimeout(() => {
    const live = cards.get(c.id);
    if (live) updateCard(live);
  }, HIGHLIGHT_MS + 50);
  probe.cues++;
  if (cuesOn && playArrivalTone()) probe.tones++;
  announce(t('arrival.announce', { name: c.displayName }), 'arrivals');
  try {
    if ('Notification' in window && Notification.permission === 'granted') {
      const n = new Notification(t('arrival.notification'), { body: c.displayName, tag: `arrival-${c.id}` });
      n.onclick = () => {
        window.focus();
        document.querySelector<HTMLElement>(`li.card[data-appointment-id="${c.id}"] [data-testid="chat"]`)?.focus();
      };
      probe.notifications++;
    }
  } catch {
    // Some browsers allow notifications only from a service worker: the tone and highlight remain.
  }
}

async function enableCues(): Promise<void> {
  unlockAudio();
  cuesOn = true;
  try {
    if ('Notification' in window && Notification.permission === 'default') await Notification.requestPermission();
  } catch {
    // Quietly without notifications.
  }
  renderStatic();
}

// ---------------------------------------------------------------- actions

async function notifyClinician(c: Card): Promise<void> {
  try {
    await call('POST', `/staff/api/appointments/${c.id}/notify-clinician`, {});
    toast(t('notify.done'));
  } catch (err) {
    failed(err);
  }
}

async function noShow(c: Card): Promise<void> {
  if (!(await ask(t('noShow.confirm', { name: c.displayName })))) return;
  try {
    const r = await call<{ card: Card | null }>('POST', `/staff/api/appointments/${c.id}/no-show`, {});
    if (r.card) updateCard(r.card);
    toast(t('noShow.done', { name: c.displayName }));
  } catch (err) {
    failed(err);
  }
}

async function fallback(c: Card): Promise<void> {
  if (!(await ask(t('phone.confirm', { name: c.displayName })))) return;
  try {
    await call('POST', `/staff/api/appointments/${c.id}/fallback`, {});
    toast(t('phone.done'));
    void loadCallbacks();
  } catch (err) {
    failed(err);
  }
}

async function copyLink(c: Card): Promise<void> {
  try {
    const { link } = await call<{ link: string }>('POST', `/staff/api/appointments/${c.id}/link`, {});
    try {
      await navigator.clipboard.writeText(link);
      toast(t('link.copied'));
    } catch {
      // No clipboard access (http, or refused): show the link to copy by hand.
      const out = byId<HTMLInputElement>('link-out');
      out.value = link;
      byId('link-box').hidden = false;
      out.focus();
      out.select();
    }
  } catch (err) {
    failed(err);
  }
}

/** A yes/no question in the page (window.confirm is blocked in some kiosks). */
function ask(question: string): Promise<boolean> {
  const before = document.activeElement as HTMLElement | null;
  const yes = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'confirm-yes' }, t('yes'));
  const no = h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-no' }, t('cancel'));
  const box = h(
    'div',
    { class: 'dialog', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'ask-q', 'data-testid': 'confirm' },
    h('p', { id: 'ask-q' }, question),
    h('div', { class: 'dialog-actions' }, no, yes),
  );
  const backdrop = h('div', { class: 'backdrop' }, box);
  document.body.append(backdrop);
  no.focus();
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      before?.focus();
      resolve(v);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') done(false);
      if (e.key === 'Tab') {
        e.preventDefault();
        (document.activeElement === yes ? no : yes).focus();
      }
    };
    document.addEventListener('keydown', onKey, true);
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
  });
}

// ---------------------------------------------------------------- chat

interface ChatMessage {
  from: 'patient' | 'staff';
  text: string;
  at: string;
}

function openChat(ids: string[]): void {
  chatOpen = ids;
  for (const id of ids) unread.delete(id);
  for (const id of ids) {
    const c = cards.get(id);
    if (c) updateCard(c);
  }
  renderChat();
  byId('chat-input').focus();
  void loadChatHistory();
}

async function loadChatHistory(): Promise<void> {
  const list = byId('chat-log');
  if (chatOpen.length !== 1) return;
  const id = chatOpen[0]!;
  try {
    const { messages } = await call<{ messages: ChatMessage[] }>('GET', `/staff/api/appointments/${id}/chat`);
    if (chatOpen.length !== 1 || chatOpen[0] !== id) return;
    list.textContent = '';
    if (messages.length === 0) list.append(h('li', { class: 'muted' }, t('chat.empty')));
    for (const m of messages) {
      list.append(
        h(
          'li',
          { class: `chat-msg from-${m.from}`, 'data-testid': 'chat-message', 'data-from': m.from },
          h('span', { class: 'chat-who' }, `${m.from === 'patient' ? t('chat.patient') : t('chat.staff')} ${timeFmt().format(new Date(m.at))}`),
          h('span', { class: 'chat-text' }, m.text),
        ),
      );
    }
    list.scrollTop = list.scrollHeight;
  } catch (err) {
    failed(err);
  }
}

function renderChat(): void {
  const panel = byId('chat-panel');
  const title = byId('chat-title');
  if (chatOpen.length === 0) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const names = chatOpen.map((id) => cards.get(id)?.displayName ?? '');
  title.textContent = chatOpen.length === 1 ? t('chat.with', { name: names[0] ?? '' }) : t('chat.titleMany', { n: chatOpen.length });
  if (chatOpen.length > 1) {
    const list = byId('chat-log');
    list.textContent = '';
    list.append(h('li', { class: 'muted' }, names.join(', ')));
  }
}

async function sendChat(ev: Event): Promise<void> {
  ev.preventDefault();
  const input = byId<HTMLTextAreaElement>('chat-input');
  const text = input.value.trim();
  if (!text || chatOpen.length === 0) return;
  try {
    await Promise.all(chatOpen.map((id) => call('POST', `/staff/api/appointments/${id}/chat`, { text })));
    input.value = '';
    announce(t('chat.sent'));
    void loadChatHistory();
  } catch (err) {
    failed(err);
  }
}

// ---------------------------------------------------------------- callbacks

async function loadCallbacks(): Promise<void> {
  try {
    const r = await call<{ callbacks: Callback[] }>('GET', `/staff/api/callbacks?clinic=${encodeURIComponent(clinicCode)}`);
    callbacks = r.callbacks;
  } catch {
    callbacks = [];
  }
  renderCallbacks();
}

function renderCallbacks(): void {
  const list = byId('callbacks');
  list.textContent = '';
  if (callbacks.length === 0) list.append(h('li', { class: 'muted' }, t('callbacks.empty')));
  for (const cb of callbacks) {
    const box = h('input', { type: 'checkbox', id: `cb-${cb.id}`, 'data-testid': 'callback-done' });
    box.checked = cb.doneAt !== null;
    box.addEventListener('change', async () => {
      try {
        await call('POST', `/staff/api/callbacks/${cb.id}/done`, { done: box.checked });
        void loadCallbacks();
      } catch (err) {
        box.checked = !box.checked;
        failed(err);
      }
    });
    const reasonKey = `callbacks.reason.${cb.reason}` as Key;
    list.append(
      h(
        'li',
        { class: `callback${cb.doneAt ? ' done' : ''}`, 'data-testid': 'callback', 'data-callback-id': cb.id, 'data-appointment-id': cb.appointmentId },
        h('label', { for: `cb-${cb.id}` }, box, ' ', t('callbacks.done')),
        h('span', { class: 'callback-name' }, cb.patientDisplayName),
        cb.phone ? h('a', { href: `tel:${cb.phone.replace(/[^\d+]/g, '')}`, class: 'phone' }, cb.phone) : null,
        h('span', { class: 'muted' }, reasonKey in nl ? t(reasonKey) : cb.reason),
      ),
    );
  }
}

// ---------------------------------------------------------------- loading and the live feed

async function loadDay(): Promise<void> {
  const r = await call<{ serverTime: string; date: string; clinic: { delayMessage: string | null; timezone: string }; lanes: Lane[] }>(
    'GET',
    `/staff/api/dashboard?clinic=${encodeURIComponent(clinicCode)}${day ? `&date=${day}` : ''}`,
  );
  serverOffsetMs = Date.parse(r.serverTime) - Date.now();
  clinicTimeZone = r.clinic.timezone;
  day = r.date;
  byId<HTMLInputElement>('date').value = day;
  const delay = byId<HTMLInputElement>('delay-input');
  if (document.activeElement !== delay) delay.value = r.clinic.delayMessage ?? '';
  const before = new Map(cards);
  loaded = true;
  cards.clear();
  laneDelays.clear();
  for (const lane of r.lanes) {
    laneNames.set(lane.clinicianId, lane.clinicianName);
    laneDelays.set(lane.clinicianId, lane.delayMessage ?? null);
    for (const c of lane.cards) cards.set(c.id, c);
  }
  renderLanes();
  renderToolbar();
  // Arrivals that happened while the feed was away still get their cue.
  if (before.size > 0) for (const c of cards.values()) if (c.status === 'waiting' && before.get(c.id)?.status !== 'waiting') arrival(c);
}

let socket: WebSocket | null = null;
let backoff = 500;

function connect(): void {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/staff/ws/dashboard?clinic=${encodeURIComponent(clinicCode)}`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (ev) => {
    let m: any;
    try {
      m = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    onPush(m);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    // Never connected yet: still "connecting"; after it was up: "lost".
    if (liveState === 'up') liveState = 'lost';
    renderConn();
    window.setTimeout(connect, backoff);
    backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
  };
}

function onPush(m: any): void {
  switch (m.t) {
    case 'ready':
      backoff = 500;
      liveState = 'up';
      renderConn();
      void loadDay().catch(failed);
      void loadCallbacks();
      return;
    case 'card': {
      const c = m.card as Card;
      const before = cards.get(c.id);
      if (m.chatFrom === 'patient' && !chatOpen.includes(c.id)) unread.add(c.id);
      updateCard(c);
      if (c.status === 'waiting' && c.day === day && (m.arrived || (before && before.status !== 'waiting'))) arrival(c);
      if (m.chatFrom && chatOpen.length === 1 && chatOpen[0] === c.id) void loadChatHistory();
      return;
    }
    case 'quality': {
      // The patient's connection is what the card shows; another participant's only without it.
      const c = cards.get(m.appointmentId);
      if (c && (m.role === 'patient' || c.quality?.role !== 'patient')) updateCard({ ...c, quality: { grade: m.grade, role: m.role } });
      return;
    }
    case 'callbacks-changed':
      void loadCallbacks();
      return;
    case 'line': {
      // One clinician's waiting line moved: every waiting card of that lane shows its new place.
      const waits = m.waits as Record<string, WaitInfo>;
      for (const c of [...cards.values()]) {
        if (c.clinicianId !== m.clinicianId || c.status !== 'waiting') continue;
        const w = waits[c.id] ?? null;
        if (JSON.stringify(w) !== JSON.stringify(c.wait ?? null)) updateCard({ ...c, wait: w });
      }
      return;
    }
    case 'clinician-notified': {
      const c = cards.get(m.appointmentId);
      if (c) announce(t('clinician.notified', { name: c.displayName }));
      return;
    }
    case 'clinic-changed':
      void loadDay().catch(failed);
      return;
  }
}

// ---------------------------------------------------------------- start

/** The clinic-wide delay message, or (clinicianId) one clinician's. */
async function saveDelay(message: string | null, clinicianId?: string): Promise<void> {
  try {
    await call('PUT', `/staff/api/clinics/${encodeURIComponent(clinicCode)}/delay-message`, clinicianId ? { message, clinician: clinicianId } : { message });
    toast(message ? t('delay.saved') : t('delay.cleared'));
    if (clinicianId) {
      laneDelays.set(clinicianId, message);
      delayDrafts.delete(clinicianId);
      delayFormOpen = null;
      renderLanes();
    } else if (!message) byId<HTMLInputElement>('delay-input').value = '';
  } catch (err) {
    failed(err);
  }
}

async function start(): Promise<void> {
  const stored = localStorage.getItem(LANG_KEY);
  setLang(stored === 'en' ? 'en' : 'nl');
  renderConn();
  const meRes = await call<{ csrfToken: string; idleSignOutMinutes?: number }>('GET', '/staff/api/me');
  csrf = meRes.csrfToken;
  setupSignOut(byId<HTMLButtonElement>('sign-out'), call);
  idleSignOut(meRes.idleSignOutMinutes ?? 0, call);
  const { clinics } = await call<{ clinics: Array<{ code: string; name: string }> }>('GET', '/staff/api/dashboard/clinics');
  const params = new URLSearchParams(location.search);
  const wanted = params.get('clinic');
  const chosen = clinics.find((c) => c.code === wanted) ?? clinics[0];
  const select = byId<HTMLSelectElement>('clinic');
  for (const c of clinics) select.append(h('option', { value: c.code }, c.name));
  if (!chosen) {
    renderStatic();
    byId('lanes').textContent = t('error.noClinic');
    return;
  }
  clinicCode = chosen.code;
  select.value = clinicCode;
  select.addEventListener('change', () => {
    location.search = `?clinic=${encodeURIComponent(select.value)}`;
  });
  const dateParam = params.get('date');
  if (dateParam && /^\d{4}-\d{2}-\d{2}$/.test(dateParam)) day = dateParam;
  byId('date').addEventListener('change', () => {
    const v = byId<HTMLInputElement>('date').value;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      day = v;
      void loadDay().catch(failed);
    }
  });
  byId('cue-enable').addEventListener('click', () => void enableCues());
  byId('lang-switch').addEventListener('click', () => {
    const next: Lang = lang() === 'nl' ? 'en' : 'nl';
    setLang(next);
    localStorage.setItem(LANG_KEY, next);
    renderAll();
  });
  byId('delay-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = byId<HTMLInputElement>('delay-input').value.trim();
    void saveDelay(v || null);
  });
  byId('delay-clear').addEventListener('click', () => void saveDelay(null));
  byId('chat-selected').addEventListener('click', () => openChat([...selected].filter((id) => cards.get(id)?.status === 'waiting')));
  byId('chat-form').addEventListener('submit', (ev) => void sendChat(ev));
  byId('chat-close').addEventListener('click', () => {
    chatOpen = [];
    renderChat();
  });
  byId('link-close').addEventListener('click', () => (byId('link-box').hidden = true));
  cuesOn = false;
  renderAll();
  await loadDay();
  void loadCallbacks();
  connect();
  // New, moved and cancelled appointments come from the EHR without a visit event: re-read
  // the day now and then (one query per dashboard).
  window.setInterval(() => void loadDay().catch(() => undefined), FULL_RELOAD_MS);
  // Waiting times tick on the server clock.
  window.setInterval(() => {
    document.querySelectorAll<HTMLElement>('li.card[data-status="waiting"]').forEach((li) => {
      const c = cards.get(li.dataset.appointmentId ?? '');
      const el = li.querySelector('[data-testid="status"]');
      if (c && el) el.textContent = statusText(c);
    });
  }, 1000);
}

void en;
start().catch((err) => {
  if (!(err instanceof ApiError && err.status === 401)) failed(err);
});
