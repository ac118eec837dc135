/**
 * The waiting room's chat with the poli assistant. The server keeps the conversation (in
 * Redis, until the consult ends) and sends it after every hello (`chat-history`), so a reload
 * shows the same conversation; our own messages come back as `chat` pushes with the server's
 * time, so they are drawn only once, in the server's order. Newest at the bottom.
 */
import type { ChatMessage } from '../../../control/src/realtime/protocol.js';
import { h, tx } from '../lib/dom.js';
import { bindText, lang, onLangChange, pluralKey, t } from '../lib/i18n.js';
import { SignallingError, type Signalling } from '../lib/signalling.js';
import { formatTime } from '../lib/time.js';
import { playTones } from '../lib/tones.js';

export const CHAT_MAX = 1000;

// ---- a new message from the clinic must be noticed
// The chat sits below the self-view; a patient looking at herself misses a new line there.
// So a message she has not seen gets a banner at the top of the viewport (fixed), a short
// chime and a vibration where the browser allows, and an unread marker on the chat until
// the chat has been in view (or she pressed "Lees het bericht").

let unread = 0;
/** Cues given (sound, vibration), for window.spkDebug.chatCues(). */
const cues = { sound: 0, vibrate: 0 };
export const chatCues = (): { sound: number; vibrate: number; unread: number } => ({ ...cues, unread });

let alertBox: HTMLElement | null = null;
let alertText: HTMLElement | null = null;
let markers: HTMLElement[] = [];
let goToChat: (() => void) | null = null;

function alertBanner(): HTMLElement {
  if (alertBox) return alertBox;
  alertText = h('span', { class: 'chat-alert-text', 'data-verbatim': '', 'data-testid': 'chat-alert-text' });
  const read = tx('button', 'chat.alertRead', { type: 'button', class: 'btn btn-primary', 'data-testid': 'chat-alert-read' });
  read.addEventListener('click', () => goToChat?.());
  alertBox = h(
    'div',
    { class: 'chat-alert', 'data-testid': 'chat-alert', hidden: true },
    h('p', {}, tx('strong', 'chat.alertTitle'), ' ', alertText),
    read,
  );
  (document.getElementById('conn') ?? document.body.firstElementChild)?.after(alertBox);
  return alertBox;
}

function setUnread(n: number, latest?: string): void {
  unread = n;
  const box = alertBanner();
  if (latest !== undefined && alertText) alertText.textContent = latest;
  box.hidden = n === 0;
  markers = markers.filter((m) => m.isConnected);
  for (const m of markers) {
    m.hidden = n === 0;
    if (n > 0) bindText(m, pluralKey(n, 'chat.unreadOne', 'chat.unreadMany'), { n });
  }
}

/** The waiting room is left (consult, end): nothing is unread there any more. */
export function clearChatAlert(): void {
  if (unread || alertBox?.hidden === false) setUnread(0);
}

let audioCtx: AudioContext | null = null;

/** A short two-note chime (WebAudio; allowed after the patient's tap on "Start bezoek") and a buzz. */
function cue(): void {
  try {
    const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (Ctor) {
      audioCtx ??= new Ctor();
      const ctx = audioCtx;
      void ctx.resume().catch(() => undefined);
      playTones(ctx, [[784, 0], [1047, 0.18]], { lead: 0.02, peak: 0.25, attack: 0.02, decay: 0.3, stop: 0.32 });
      cues.sound++;
    }
  } catch {
    // No sound here; the banner and the live region still tell.
  }
  if (typeof navigator.vibrate === 'function' && navigator.vibrate([150, 80, 150])) cues.vibrate++;
}

/** Is (the bottom of) the chat log on screen, not under the banner? */
function inView(el: HTMLElement): boolean {
  if (!el.isConnected || el.hidden || document.visibilityState === 'hidden') return false;
  const r = el.getBoundingClientRect();
  const top = alertBox && !alertBox.hidden ? alertBox.getBoundingClientRect().bottom : 0;
  return r.bottom > top + 24 && r.bottom <= window.innerHeight + 1 && r.height > 0;
}

let messages: ChatMessage[] = [];
const views = new Set<(m: ChatMessage | null) => void>();

/** The whole conversation (after hello). */
export function setChatHistory(list: ChatMessage[]): void {
  messages = list.slice();
  for (const v of views) v(null);
}

/** One new message. */
export function addChatMessage(m: ChatMessage): void {
  messages.push(m);
  for (const v of views) v(m);
}

export function chatSection(sig: () => Signalling | null): HTMLElement {
  const log = h('ol', { class: 'chat-log', 'data-testid': 'chat-log', 'aria-labelledby': 'chat-title', tabindex: '0' });
  const empty = tx('p', 'chat.empty', { class: 'chat-empty', 'data-testid': 'chat-empty' });
  // Incoming messages are read out here (the log itself is not live: no double reading).
  const live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'data-testid': 'chat-live' });
  const input = h('textarea', {
    id: 'chat-input',
    'data-testid': 'chat-input',
    maxlength: String(CHAT_MAX),
    rows: '2',
    'aria-describedby': 'chat-count',
  });
  const count = h('p', { id: 'chat-count', class: 'chat-count', 'data-testid': 'chat-count' });
  const send = tx('button', 'chat.send', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'chat-send' });
  const problem = h('p', { class: 'problem', role: 'alert', 'data-testid': 'chat-problem', hidden: true });
  const form = h(
    'form',
    { class: 'chat-form' },
    tx('label', 'chat.label', { for: 'chat-input' }),
    input,
    count,
    send,
    problem,
  );

  const updateCount = (): void => {
    bindText(count, 'chat.left', () => ({ n: CHAT_MAX - input.value.length }));
  };
  input.addEventListener('input', updateCount);
  updateCount();

  const item = (m: ChatMessage): HTMLElement => {
    const who = tx('span', m.from === 'patient' ? 'chat.you' : 'chat.staff', { class: 'chat-who' });
    const time = h('time', { class: 'chat-time', datetime: m.at, 'data-verbatim': '' }, formatTime(m.at, lang()));
    return h(
      'li',
      { class: `chat-msg chat-${m.from}`, 'data-from': m.from, 'data-testid': 'chat-message' },
      h('p', { class: 'chat-meta' }, who, ' ', time),
      h('p', { class: 'chat-text', 'data-verbatim': '' }, m.text),
    );
  };
  const marker = h('span', { class: 'chat-unread', 'data-testid': 'chat-unread', hidden: true });
  markers.push(marker);
  const seen = (): void => {
    if (unread && inView(log)) setUnread(0);
  };
  // Seen once the chat has been on screen: scrolled to, or brought there by the banner.
  const observer = typeof IntersectionObserver === 'function' ? new IntersectionObserver(seen, { threshold: [0, 0.5, 1] }) : null;
  observer?.observe(log);
  window.addEventListener('scroll', seen, { passive: true });
  goToChat = () => {
    const section = log.closest('section');
    (section ?? log).scrollIntoView({ block: 'start', behavior: 'smooth' });
    setUnread(0);
    log.focus({ preventScroll: true });
  };
  const draw = (added: ChatMessage | null): void => {
    if (added) log.append(item(added));
    else {
      log.textContent = '';
      for (const m of messages) log.append(item(m));
    }
    empty.hidden = messages.length > 0;
    log.hidden = messages.length === 0;
    log.scrollTop = log.scrollHeight;
    if (added && added.from === 'staff') {
      live.textContent = t('chat.incoming', { text: added.text });
      cue();
      if (!inView(log)) setUnread(unread + 1, added.text);
    }
  };
  draw(null);
  const view = (m: ChatMessage | null): void => {
    if (!log.isConnected && !form.isConnected) {
      views.delete(view);
      observer?.disconnect();
      window.removeEventListener('scroll', seen);
      return;
    }
    draw(m);
  };
  views.add(view);
  // Times follow the page language (they are formatted per locale).
  onLangChange(() => {
    if (log.isConnected) draw(null);
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim().slice(0, CHAT_MAX);
    const s = sig();
    if (!text) return;
    problem.hidden = true;
    if (!s) {
      bindText(problem, 'chat.failed');
      problem.hidden = false;
      return;
    }
    send.disabled = true;
    s.request({ t: 'chat', text }).then(
      () => {
        input.value = '';
        updateCount();
        send.disabled = false;
        input.focus();
      },
      (err: unknown) => {
        send.disabled = false;
        bindText(problem, 'chat.failed');
        problem.hidden = false;
        if (!(err instanceof SignallingError)) console.error(err);
      },
    );
  });

  return h(
    'section',
    { class: 'chat card', 'data-testid': 'chat', 'aria-labelledby': 'chat-title' },
    h('h2', { id: 'chat-title' }, tx('span', 'chat.title'), ' ', marker),
    empty,
    log,
    live,
    form,
  );
}
