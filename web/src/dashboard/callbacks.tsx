/**
 * The dashboard's call-back list, drawn with Preact and keyed by task: a re-read (after every
 * 'callbacks-changed' push) keeps the keyboard on the checkbox the assistant just ticked.
 */
import { render } from 'preact';
import type { CallbackView } from '../../../control/src/callbacks/tasks.js';
import { nl, t, type Key } from './strings.js';

export function renderCallbacks(target: HTMLElement, callbacks: CallbackView[], setDone: (cb: CallbackView, done: boolean) => void): void {
  render(<Callbacks callbacks={callbacks} setDone={setDone} />, target);
}

function Callbacks({ callbacks, setDone }: { callbacks: CallbackView[]; setDone: (cb: CallbackView, done: boolean) => void }) {
  if (callbacks.length === 0) return <li class="muted">{t('callbacks.empty')}</li>;
  return (
    <>
      {callbacks.map((cb) => {
        const reasonKey = `callbacks.reason.${cb.reason}`;
        return (
          <li key={cb.id} class={`callback${cb.doneAt ? ' done' : ''}`} data-testid="callback" data-callback-id={cb.id} data-appointment-id={cb.appointmentId}>
            <label for={`cb-${cb.id}`}>
              <input type="checkbox" id={`cb-${cb.id}`} data-testid="callback-done" checked={cb.doneAt !== null} onChange={(ev) => setDone(cb, ev.currentTarget.checked)} />{' '}
              {t('callbacks.done')}
            </label>
            <span class="callback-name">{cb.patientDisplayName}</span>
            {cb.phone ? (
              <a href={`tel:${cb.phone.replace(/[^\d+]/g, '')}`} class="phone">
                {cb.phone}
              </a>
            ) : null}
            <span class="muted">{reasonKey in nl ? t(reasonKey as Key) : cb.reason}</span>
          </li>
        );
      })}
    </>
  );
}
