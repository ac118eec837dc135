/**
 * "How was the video consult?" on the consult-has-ended screen: five large buttons (one tap
 * sends the score) and an optional short comment. Anonymous (see control/src/ratings): the
 * answer keeps clinic, clinician and date only. A score sent alone gets a one-time key from
 * the server, with which the comment can follow.
 */
import { h, tx } from '../lib/dom.js';
import { bindText, type Key } from '../lib/i18n.js';

export const RATING_COMMENT_MAX = 500;
const SCORES: Array<[number, Key]> = [
  [1, 'rating.score1'],
  [2, 'rating.score2'],
  [3, 'rating.score3'],
  [4, 'rating.score4'],
  [5, 'rating.score5'],
];

type Sent = { ok: true; commentKey?: string } | { ok: false; already: boolean };

async function post(path: string, body: unknown, token: string | null): Promise<Sent> {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
    if (res.ok) return { ok: true, ...((await res.json()) as { commentKey?: string }) };
    const err = ((await res.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code;
    return { ok: false, already: err === 'already_rated' };
  } catch {
    return { ok: false, already: false };
  }
}

export function ratingSection(token: string): HTMLElement {
  let commentKey: string | null = null;
  let busy = false;
  const status = h('p', { class: 'rating-status', role: 'status', 'data-testid': 'rating-status' });
  const scores = h('div', { class: 'rating-scores', role: 'group', 'aria-labelledby': 'rating-q' });
  const chosen = h('p', { class: 'rating-chosen', 'data-testid': 'rating-chosen', hidden: true });
  const input = h('textarea', { id: 'rating-comment', 'data-testid': 'rating-comment', maxlength: String(RATING_COMMENT_MAX), rows: '3' });
  const send = tx('button', 'rating.send', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'rating-send' });
  const form = h('form', { class: 'rating-form' }, tx('label', 'rating.commentLabel', { for: 'rating-comment' }), input, send);
  const section = h(
    'section',
    { class: 'rating', 'aria-labelledby': 'rating-q', 'data-testid': 'rating' },
    tx('h2', 'rating.question', { id: 'rating-q' }),
    tx('p', 'rating.anonymous', { class: 'rating-note' }),
    scores,
    chosen,
    form,
    status,
  );

  const say = (key: Key, params?: Record<string, number>): void => void bindText(status, key, params);
  const finish = (key: Key): void => {
    scores.hidden = true;
    form.hidden = true;
    chosen.hidden = true;
    section.dataset.state = 'done';
    say(key);
  };

  for (const [score, word] of SCORES) {
    const b = h(
      'button',
      { type: 'button', class: 'rating-score', 'data-testid': `rating-${score}`, 'data-score': String(score) },
      h('span', { class: 'rating-num' }, String(score)),
      tx('span', word, { class: 'rating-word' }),
    );
    b.addEventListener('click', () => {
      if (busy) return;
      busy = true;
      const comment = input.value.trim();
      void post('/api/patient/rating', comment ? { score, comment } : { score }, token).then((r) => {
        busy = false;
        if (r.ok && comment) return finish('rating.thanks');
        if (r.ok) {
          commentKey = r.commentKey ?? null;
          scores.hidden = true;
          chosen.hidden = false;
          bindText(chosen, 'rating.chosen', { score });
          section.dataset.state = 'scored';
          return say('rating.thanksScore');
        }
        if (r.already) return finish('rating.already');
        say('rating.failed');
      });
    });
    scores.append(b);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const comment = input.value.trim();
    if (busy) return;
    if (!comment) return say('rating.empty');
    busy = true;
    const sending = commentKey ? post('/api/patient/rating/comment', { key: commentKey, comment }, null) : post('/api/patient/rating', { comment }, token);
    void sending.then((r) => {
      busy = false;
      if (r.ok) return finish('rating.thanks');
      if (r.already) return finish('rating.already');
      say('rating.failed');
    });
  });
  return section;
}
