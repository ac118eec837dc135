/**
 * The poli assistant's live waiting-room dashboard (/staff/dashboard?clinic=CODE).
 *
 * Lanes per clinician, a card per appointment. The page reads the day over HTTP, then keeps
 * it live from /staff/ws/dashboard: the server pushes each changed card whole, so a change is
 * one message, not a re-read. On every (re)connect the page reads the day again, so nothing
 * missed while offline stays wrong. An arrival plays a short tone (WebAudio, no download),
 * shows a browser notification when allowed, highlights the card and is announced.
 */
import type { CallbackView } from '../../../control/src/callbacks/tasks.js';
import type { DashboardPush } from '../../../control/src/dashboard/feed.js';
import type { DashboardDay } from '../../../control/src/dashboard/routes.js';
import type { ChatMessage } from '../../../control/src/realtime/protocol.js';
import { announce, byId, confirmText, h } from '../lib/dom.js';
import { ApiError, jsonClient } from '../lib/http.js';
import { idleSignOut, setupSignOut } from '../lib/staff-session.js';
import { renderCallbacks as drawCallbacks } from './callbacks.js';
import { movable, renderLanes as drawLanes, type Card, type LanesModel } from './lanes.js';
import { lang, setLang, t, type Key, type Lang } from './strings.js';
import { playArrivalTone, unlockAudio } from './sound.js';

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
/** The clinic shown, and its clinicians (where patients may be moved to). */
let clinicId = '';
let clinicians: Array<{ id: string; name: string }> = [];
const laneDelays = new Map<string, string | null>();
/** The lane whose delay form is open (kept open across re-draws). */
let delayFormOpen: string | null = null;
/** What the assistant has typed into a lane's delay field, not yet saved: survives every re-draw. */
const delayDrafts = new Map<string, string>();
const unread = new Set<string>();
const selected = new Set<string>();
const highlighted = new Map<string, number>();
let chatOpen: string[] = [];
let callbacks: CallbackView[] = [];
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
  rendered: {} as Record<string, { status: Card['status']; at: number }>,
};
(window as unknown as { spkDashboard: typeof probe }).spkDashboard = probe;

// ---------------------------------------------------------------- helpers

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

// ---------------------------------------------------------------- rendering

/** The clinic's walk-in lane (control/src/dashboard/cards.ts WALK_IN_LANE). */
const WALK_IN_LANE = 'walk-in';

/** The lanes from the page's state, by clinician, cards by start time (Preact: lanes.tsx). */
function renderLanes(): void {
  const byClinician = new Map<string, Card[]>();
  for (const c of [...cards.values()].sort((a, b) => a.start.localeCompare(b.start) || a.id.localeCompare(b.id))) {
    // A walk-in nobody has admitted yet is in the clinic's walk-in lane (c.lane), the others in their clinician's.
    if (!byClinician.has(c.lane)) byClinician.set(c.lane, []);
    byClinician.get(c.lane)!.push(c);
  }
  const model: LanesModel = {
    loaded,
    lanes: [...byClinician]
      .map(([clinicianId, list]) => ({
        clinicianId,
        walkIn: clinicianId === WALK_IN_LANE,
        name: clinicianId === WALK_IN_LANE ? '' : (laneNames.get(clinicianId) ?? list[0]?.clinicianName ?? ''),
        delay: laneDelays.get(clinicianId) ?? null,
        cards: list,
      }))
      .sort((a, b) => Number(b.walkIn) - Number(a.walkIn)),
    timeZone: clinicTimeZone,
    serverOffsetMs,
    selected,
    unread,
    highlighted,
    delayFormOpen,
    delayDrafts,
    on: {
      select: (id, on) => {
        if (on) selected.add(id);
        else selected.delete(id);
        renderToolbar();
        renderLanes();
      },
      selectLane: (clinicianId) => {
        for (const c of cards.values()) if (c.lane === clinicianId && movable(c)) selected.add(c.id);
        renderToolbar();
        renderLanes();
      },
      chat: (c) => openChat([c.id]),
      notify: (c) => void notifyClinician(c),
      noShow: (c) => void noShow(c),
      fallback: (c) => void fallback(c),
      copyLink: (c) => void copyLink(c),
      openDelay: (clinicianId) => {
        delayFormOpen = clinicianId;
        renderLanes();
      },
      saveDelay: (clinicianId, message) => void saveDelay(message, clinicianId),
    },
    drawn: (c) => {
      if (probe.rendered[c.id]?.status !== c.status) probe.rendered[c.id] = { status: c.status, at: Date.now() };
    },
  };
  drawLanes(byId('lanes'), model);
}

/** A card changed: keep it (or drop it when cancelled or of another day) and draw what changed. */
function updateCard(c: Card): void {
  // Cancelled, another day, or moved to another clinic (a transfer): not on this dashboard.
  if (c.status === 'cancelled' || c.day !== day || (clinicId && c.clinicId !== clinicId)) {
    selected.delete(c.id);
    if (cards.delete(c.id)) renderLanes();
    return;
  }
  cards.set(c.id, c);
  renderLanes();
}

function renderToolbar(): void {
  const chatSel = byId<HTMLButtonElement>('chat-selected');
  const n = [...selected].filter((id) => cards.get(id)?.status === 'waiting').length;
  chatSel.disabled = n === 0;
  chatSel.textContent = n > 1 ? t('chat.titleMany', { n }) : t('action.chat');
  const target = byId<HTMLSelectElement>('move-target');
  const chosen = target.value;
  target.textContent = '';
  target.append(h('option', { value: '' }, t('move.pick')), ...clinicians.map((c) => h('option', { value: c.id }, c.name)));
  target.value = clinicians.some((c) => c.id === chosen) ? chosen : '';
  byId<HTMLButtonElement>('move-selected').disabled = movableSelected().length === 0 || !target.value;
}

function movableSelected(): string[] {
  return [...selected].filter((id) => {
    const c = cards.get(id);
    return !!c && movable(c);
  });
}

/** Move the selected patients to the chosen clinician's lane: one request, all or nothing (issue 18.1). */
async function moveSelected(): Promise<void> {
  const ids = movableSelected();
  const to = clinicians.find((c) => c.id === byId<HTMLSelectElement>('move-target').value);
  if (ids.length === 0 || !to) return;
  if (!(await ask(t('move.confirm', { n: ids.length, name: to.name })))) return;
  try {
    await call('POST', '/staff/api/transfers', { appointmentIds: ids, toClinician: to.id });
    for (const id of ids) selected.delete(id);
    toast(t('move.done', { n: ids.length, name: to.name }));
    announce(t('move.done', { n: ids.length, name: to.name }));
    renderToolbar();
    renderLanes();
  } catch (err) {
    failed(err);
  }
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
  renderLanes();
  window.setTimeout(renderLanes, HIGHLIGHT_MS + 50);
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
    await call('POST', `/staff/api/appointments/${c.id}/callback`, {});
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
  return confirmText(question, t('yes'), t('cancel'));
}

// ---------------------------------------------------------------- chat

function openChat(ids: string[]): void {
  chatOpen = ids;
  for (const id of ids) unread.delete(id);
  renderLanes();
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
    const r = await call<{ callbacks: CallbackView[] }>('GET', `/staff/api/callbacks?clinic=${encodeURIComponent(clinicCode)}`);
    callbacks = r.callbacks;
  } catch {
    callbacks = [];
  }
  renderCallbacks();
}

function renderCallbacks(): void {
  drawCallbacks(byId('callbacks'), callbacks, (cb, done) => void setCallbackDone(cb, done));
}

async function setCallbackDone(cb: CallbackView, done: boolean): Promise<void> {
  try {
    await call('POST', `/staff/api/callbacks/${cb.id}/done`, { done });
    void loadCallbacks();
  } catch (err) {
    // Not saved: the box shows what is true again.
    renderCallbacks();
    failed(err);
  }
}

// ---------------------------------------------------------------- loading and the live feed

async function loadDay(): Promise<void> {
  const r = await call<DashboardDay>(
    'GET',
    `/staff/api/dashboard?clinic=${encodeURIComponent(clinicCode)}${day ? `&date=${day}` : ''}`,
  );
  serverOffsetMs = Date.parse(r.serverTime) - Date.now();
  clinicTimeZone = r.clinic.timezone;
  clinicId = r.clinic.id;
  clinicians = r.clinicians;
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
    let m: DashboardPush;
    try {
      m = JSON.parse(String(ev.data)) as DashboardPush;
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

function onPush(m: DashboardPush): void {
  switch (m.t) {
    case 'ready':
      backoff = 500;
      liveState = 'up';
      renderConn();
      void loadDay().catch(failed);
      void loadCallbacks();
      return;
    case 'card': {
      const c = m.card;
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
      const waits = m.waits;
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
      // The form is gone; the keyboard goes on from the lane's "report a delay" button.
      document.querySelector<HTMLElement>(`[data-clinician-id="${clinicianId}"] [data-testid="lane-delay-open"]`)?.focus();
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
  byId('move-target').addEventListener('change', () => renderToolbar());
  byId('move-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void moveSelected();
  });
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
    if ([...cards.values()].some((c) => c.status === 'waiting')) renderLanes();
  }, 1000);
}

start().catch((err) => {
  if (!(err instanceof ApiError && err.status === 401)) failed(err);
});
