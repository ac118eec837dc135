/**
 * The few DOM helpers the pages share: element creation, the live region, an in-page
 * confirmation dialog (window.confirm is blocked or ugly on phones and in test browsers)
 * and video elements that play inline on iOS.
 */
import { bindText, type Key } from './i18n.js';

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

/** An element whose text is the translation of `key`, kept in the current language. */
export function tx<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  key: Key,
  attrs: Attrs = {},
  params?: Parameters<typeof bindText>[2],
): HTMLElementTagNameMap[K] {
  return bindText(h(tag, attrs), key, params);
}

export function byId<E extends HTMLElement = HTMLElement>(id: string): E {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as E;
}

/** Says `text` through the page's polite live region (`#announcer`), or another one by id. */
export function announce(text: string, regionId = 'announcer'): void {
  const region = document.getElementById(regionId);
  if (!region) return;
  // Clear first so repeating the same sentence is announced again.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** A muted-or-not video that plays inline (iOS) and starts by itself. */
export function videoEl(attrs: Attrs, muted: boolean): HTMLVideoElement {
  const v = h('video', { autoplay: true, playsinline: true, ...attrs });
  v.muted = muted;
  v.playsInline = true;
  if (muted) v.setAttribute('muted', '');
  return v;
}

/**
 * Asks a yes/no question in the page. Resolves true on yes; false on no or Escape.
 * Focus moves into the dialog and back to where it was afterwards. The texts are keys of the
 * shared tables, kept in the current language.
 */
export function confirmDialog(question: Key, yes: Key, no: Key): Promise<boolean> {
  const id = `confirm-${Date.now()}`;
  return askIn(
    tx('p', question, { id, class: 'dialog-q' }),
    tx('button', yes, { type: 'button', class: 'btn btn-danger', 'data-testid': 'confirm-yes' }),
    tx('button', no, { type: 'button', class: 'btn', 'data-testid': 'confirm-no' }),
  );
}

/** The same with texts a page has already translated (a staff page's own table). */
export function confirmText(question: string, yes: string, no: string): Promise<boolean> {
  const id = `confirm-${Date.now()}`;
  return askIn(
    h('p', { id, class: 'dialog-q' }, question),
    h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'confirm-yes' }, yes),
    h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-no' }, no),
  );
}

function askIn(question: HTMLParagraphElement, yesBtn: HTMLButtonElement, noBtn: HTMLButtonElement): Promise<boolean> {
  const before = document.activeElement as HTMLElement | null;
  const box = h(
    'div',
    { class: 'dialog', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': question.id, 'data-testid': 'confirm' },
    question,
    h('div', { class: 'dialog-actions' }, noBtn, yesBtn),
  );
  const backdrop = h('div', { class: 'backdrop' }, box);
  document.body.append(backdrop);
  noBtn.focus();
  return new Promise((resolve) => {
    const done = (answer: boolean): void => {
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      before?.focus?.();
      resolve(answer);
    };
    const onKey = (ev: KeyboardEvent): void => {
      if (ev.key === 'Escape') {
        ev.preventDefault();
        done(false);
      } else if (ev.key === 'Tab') {
        // Keep focus inside the two buttons.
        ev.preventDefault();
        (document.activeElement === yesBtn ? noBtn : yesBtn).focus();
      }
    };
    document.addEventListener('keydown', onKey, true);
    yesBtn.addEventListener('click', () => done(true));
    noBtn.addEventListener('click', () => done(false));
  });
}

/** A `tel:` link for a phone number as written ("(020) 444 3336"). */
export function phoneLink(phone: string, attrs: Attrs = {}): HTMLAnchorElement {
  return h('a', { href: `tel:${phone.replace(/[^\d+]/g, '')}`, class: 'phone', ...attrs }, phone);
}

