/**
 * Back to the waiting room, and the hand-over (issue 18.2): the clinician sends her patient back
 * to the waiting room ("I'll consult a colleague") or hands her over to a colleague (the nurse's
 * intake, then the doctor). The patient's media leaves the room; she waits again on the same
 * link and is admitted anew by whoever has her now.
 */
import '../lib/strings-staff.js';
import { h, tx } from '../lib/dom.js';
import { bindText } from '../lib/i18n.js';
import * as api from './api.js';

export interface HandOverPanel {
  node: HTMLElement;
  load(): Promise<void>;
}

/** `done(colleague)`: the server has her back in the waiting room (with the colleague's name after a hand-over). */
export function handOverPanel(appointmentId: string, done: (colleague: string | null) => void, onError: (err: unknown) => void): HandOverPanel {
  const uid = `handover-${appointmentId.slice(0, 8)}`;
  const select = h('select', { id: `${uid}-to`, 'data-testid': 'hand-over-to' });
  const send = tx('button', 'handOver.send', { type: 'submit', class: 'btn', 'data-testid': 'return-to-waiting' });
  const draw = (clinicians: Array<{ id: string; name: string }>): void => {
    select.textContent = '';
    select.append(tx('option', 'handOver.keep', { value: '' }), ...clinicians.map((c) => h('option', { value: c.id, 'data-verbatim': '' }, c.name)));
  };
  draw([]);
  const form = h(
    'form',
    { class: 'hand-over', 'data-testid': 'hand-over-panel' },
    tx('h2', 'handOver.title'),
    tx('p', 'handOver.help', { class: 'hint' }),
    h('div', { class: 'field' }, tx('label', 'handOver.to', { for: select.id }), select),
    send,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    send.disabled = true;
    const to = select.value || undefined;
    const name = to ? (select.selectedOptions[0]?.textContent ?? null) : null;
    api
      .returnToWaiting(appointmentId, to)
      .then(() => done(name), onError)
      .finally(() => {
        send.disabled = false;
        bindText(send, 'handOver.send');
      });
  });
  return {
    node: form,
    async load() {
      try {
        draw((await api.transferTargets(appointmentId)).clinicians);
      } catch (err) {
        onError(err);
      }
    },
  };
}
