/**
 * Invite a third party (interpreter, colleague, family) into the consult with a link of their
 * own: the clinician makes the link here, copies it and sends it; revoking takes them out.
 */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import { announce, h, tx } from '../lib/dom.js';
import { bindAttr, bindText, t, type Key } from '../lib/i18n.js';
import * as api from './api.js';
import type { Guest, GuestRole } from './api.js';

const ROLES: GuestRole[] = ['interpreter', 'colleague', 'family'];

export interface GuestPanel {
  node: HTMLElement;
  load(): Promise<void>;
}

export function guestPanel(appointmentId: string, onError: (err: unknown) => void): GuestPanel {
  const uid = `guests-${appointmentId.slice(0, 8)}`;
  const select = h('select', { id: `${uid}-role`, 'data-testid': 'guest-role' });
  for (const r of ROLES) select.append(tx('option', `role.${r}` as Key, { value: r }));
  const create = tx('button', 'guests.create', { type: 'submit', class: 'btn', 'data-testid': 'guest-create' });
  const list = h('ul', { class: 'guest-list', 'data-testid': 'guest-list' });
  const status = h('p', { role: 'status', class: 'guest-status', 'data-testid': 'guest-status' });

  const draw = (guests: Guest[]): void => {
    list.textContent = '';
    for (const g of guests) {
      const roleKey = `role.${g.role}` as Key;
      const li = h('li', { 'data-testid': 'guest', 'data-guest-id': g.id, 'data-revoked': String(!!g.revokedAt) });
      const label = tx('span', 'guests.linkLabel', { class: 'guest-role' }, () => ({ role: t(roleKey) }));
      li.append(label);
      if (g.link) {
        const field = h('input', { type: 'text', readonly: true, value: g.link, class: 'link-field', 'data-testid': 'guest-link', 'data-verbatim': '' });
        bindAttr(field, 'aria-label', 'guests.linkLabel', () => ({ role: t(roleKey) }));
        const copy = tx('button', 'guests.copy', { type: 'button', class: 'btn', 'data-testid': 'guest-copy' });
        copy.addEventListener('click', () => {
          const done = (): void => {
            bindText(status, 'guests.copied');
            announce(t('guests.copied'));
          };
          const fallback = (): void => {
            field.select();
            try {
              document.execCommand('copy');
            } catch {
              /* the link stays selected for Ctrl+C */
            }
            done();
          };
          if (navigator.clipboard?.writeText) navigator.clipboard.writeText(g.link!).then(done, fallback);
          else fallback();
        });
        const revoke = tx('button', 'guests.revoke', { type: 'button', class: 'btn', 'data-testid': 'guest-revoke' });
        revoke.addEventListener('click', () => {
          revoke.disabled = true;
          api.revokeGuest(appointmentId, g.id).then(({ guests }) => draw(guests), onError).finally(() => (revoke.disabled = false));
        });
        li.append(field, h('div', { class: 'guest-actions' }, copy, revoke));
      } else {
        li.append(' ', tx('span', 'guests.revoked', { class: 'guest-revoked' }));
      }
      list.append(li);
    }
  };

  const form = h(
    'form',
    { class: 'guests', 'data-testid': 'guest-panel' },
    tx('h2', 'guests.title'),
    tx('p', 'guests.help', { class: 'hint' }),
    h('div', { class: 'field field-inline' }, tx('label', 'guests.role', { for: select.id }), select, create),
    list,
    status,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    create.disabled = true;
    api
      .inviteGuest(appointmentId, select.value as GuestRole)
      .then(() => api.listGuests(appointmentId))
      .then(({ guests }) => draw(guests), onError)
      .finally(() => (create.disabled = false));
  });
  return {
    node: form,
    async load() {
      try {
        draw((await api.listGuests(appointmentId)).guests);
      } catch (err) {
        onError(err);
      }
    },
  };
}
