/**
 * The waiting room's chat with the poli assistant. The server keeps the conversation (in
 * Redis, until the consult ends) and sends it after every hello (`chat-history`), so a reload
 * shows the same conversation; our own messages come back as `chat` pushes with the server's
 * time, so they are drawn only once, in the server's order. Newest at the bottom.
 */
import type { ChatMessage } from '../../../control/src/realtime/protocol.js';
import { h, tx } from '../lib/dom.js';
import { bindText, lang, onLangChange, t } from '../lib/i18n.js';
import { SignallingError, type Signalling } from '../lib/signalling.js';
import { formatTime } from '../lib/time.js';

export const CHAT_MAX = 1000;

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
    }
  };
  draw(null);
  const view = (m: ChatMessage | null): void => {
    if (!log.isConnected && !form.isConnected) {
      views.delete(view);
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
    tx('h2', 'chat.title', { id: 'chat-title' }),
    empty,
    log,
    live,
    form,
  );
}
