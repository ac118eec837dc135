/**
 * Translation, one module for every page: `t(key, params)` over the string tables the page
 * loads, and bindings that keep elements' text and attributes in the current language, so
 * switching the language never rebuilds a screen (a running video keeps playing).
 *
 * Tables add themselves when imported (addStrings): the patient's and shared strings
 * (strings.ts), the console's (strings-staff.ts), a staff page's own (dashboard/strings.ts,
 * admin/strings.ts, reports/strings.ts through `pageStrings`). A page downloads only the tables
 * it imports. Every table has the same keys and {parameters} in both languages (i18n.test.ts).
 */
import type { Key } from './strings.js';

export type { Key };
export type Lang = 'nl' | 'en';
export type Params = Record<string, string | number>;
/** Parameters that depend on the language (formatted dates) are given as a function. */
export type ParamsArg = Params | (() => Params);

/** Every string the page has loaded, by language. */
const added: Record<Lang, Record<string, string>> = { nl: {}, en: {} };

/** Adds a table of strings (same keys in both languages). */
export function addStrings(extra: Record<Lang, Record<string, string>>): void {
  Object.assign(added.nl, extra.nl);
  Object.assign(added.en, extra.en);
}
export const LANGS: readonly Lang[] = ['nl', 'en'];

let current: Lang = 'nl';
const listeners = new Set<(lang: Lang) => void>();

export function isLang(v: unknown): v is Lang {
  return v === 'nl' || v === 'en';
}

export function lang(): Lang {
  return current;
}

/** BCP 47 locale for Intl formatting. */
export function locale(l: Lang = current): string {
  return l === 'nl' ? 'nl-NL' : 'en-GB';
}

export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

export function t(key: Key, params?: ParamsArg, l: Lang = current): string {
  return lookup(key, params, l);
}

function lookup(key: string, params: ParamsArg | undefined, l: Lang): string {
  // A key whose table was not loaded shows as itself rather than breaking the page.
  return format(added[l][key] ?? key, typeof params === 'function' ? params() : params);
}

const pluralRules = new Map<Lang, Intl.PluralRules>();

/**
 * The key for `n` by the language's plural rules (Intl.PluralRules): `one` for the singular
 * form, `other` for the rest ("1 afspraak", "3 afspraken"). Dutch and English have only these two.
 */
export function pluralKey<K extends string>(n: number, one: K, other: K, l: Lang = current): K {
  let rules = pluralRules.get(l);
  if (!rules) pluralRules.set(l, (rules = new Intl.PluralRules(locale(l))));
  return rules.select(n) === 'one' ? one : other;
}

/** `t` of the plural form for `n`, with `{n}` filled in. */
export function tn(n: number, one: Key, other: Key, params: Params = {}, l: Lang = current): string {
  return t(pluralKey(n, one, other, l), { n, ...params }, l);
}

/**
 * A staff page's own table (same keys in both languages, checked by i18n.test.ts): adds it and
 * gives `t` and `tn` typed to its keys. Language, switching and bindings are this module's.
 */
export function pageStrings<K extends string>(table: { nl: Record<K, string>; en: Record<K, string> }): {
  t: (key: K, params?: ParamsArg) => string;
  tn: (n: number, one: K, other: K, params?: Params) => string;
} {
  addStrings(table);
  return {
    t: (key, params) => lookup(key, params, current),
    tn: (n, one, other, params = {}) => lookup(pluralKey(n, one, other), { n, ...params }, current),
  };
}

/** The `{name}` parameters a string uses (for the completeness test). */
export function placeholders(template: string): string[] {
  return Array.from(template.matchAll(/\{(\w+)\}/g), (m) => m[1] ?? '').sort();
}

// ---- bindings (browser only) ----

interface Binding {
  key: Key;
  params?: ParamsArg;
}
const bound = new Map<Element, Map<string, Binding>>();

function apply(el: Element, slot: string, b: Binding): void {
  const text = t(b.key, b.params);
  if (slot === '') {
    if (el.textContent !== text) el.textContent = text;
  } else if (el.getAttribute(slot) !== text) {
    el.setAttribute(slot, text);
  }
}

function bind(el: Element, slot: string, key: Key, params?: ParamsArg): void {
  let slots = bound.get(el);
  if (!slots) bound.set(el, (slots = new Map()));
  const b: Binding = { key, params };
  slots.set(slot, b);
  apply(el, slot, b);
}

/** Sets the element's text now and again on every language switch. */
export function bindText<E extends Element>(el: E, key: Key, params?: ParamsArg): E {
  bind(el, '', key, params);
  return el;
}

/** Same for an attribute (aria-label, title, placeholder). */
export function bindAttr<E extends Element>(el: E, attr: string, key: Key, params?: ParamsArg): E {
  bind(el, attr, key, params);
  return el;
}

/** Stops keeping the element translated (its text now comes from elsewhere). */
export function unbind(el: Element): void {
  bound.delete(el);
}

export function onLangChange(fn: (lang: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setLang(l: Lang): void {
  current = l;
  if (typeof document === 'undefined') return;
  document.documentElement.lang = l;
  for (const [el, slots] of bound) {
    if (!el.isConnected) {
      bound.delete(el);
      continue;
    }
    for (const [slot, b] of slots) apply(el, slot, b);
  }
  for (const fn of listeners) fn(l);
}

/** Reads a remembered language choice; storage may be unavailable (private mode). */
export function loadLang(storageKey: string): Lang | null {
  try {
    const v = localStorage.getItem(storageKey);
    return isLang(v) ? v : null;
  } catch {
    return null;
  }
}

export function saveLang(storageKey: string, l: Lang): void {
  try {
    localStorage.setItem(storageKey, l);
  } catch {
    // Private mode or storage full: the choice just is not remembered.
  }
}

/**
 * Wires a `<button data-testid="lang-switch">`: it shows the other language's name in that
 * language ("English" / "Nederlands") and switches on click. `storageKey()` is read at click
 * time (the patient's key depends on the appointment, known only after loading).
 */
export function setupLangSwitch(button: HTMLButtonElement, storageKey: () => string | null): void {
  const render = (): void => {
    const other: Lang = current === 'nl' ? 'en' : 'nl';
    button.textContent = t('lang.switch');
    button.lang = other;
    button.setAttribute('aria-label', t('lang.switchLabel'));
  };
  render();
  onLangChange(render);
  button.addEventListener('click', () => {
    const next: Lang = current === 'nl' ? 'en' : 'nl';
    const k = storageKey();
    if (k) saveLang(k, next);
    setLang(next);
  });
}
