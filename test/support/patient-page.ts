/**
 * Checks the patient page tests share: axe-core (WCAG 2.1 AA), the language switch changing
 * every visible string, and keyboard reach. Kept beside the tests that use them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';

const AXE = resolve(import.meta.dirname, '..', '..', 'node_modules', 'axe-core', 'axe.min.js');

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function expectScreen(page: Page, state: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(`[data-testid="screen"][data-state="${state}"]`, { timeout });
}

/** axe-core violations (WCAG 2.0/2.1 A and AA) as short strings; [] when clean. */
export async function axeViolations(page: Page): Promise<string[]> {
  // page.evaluate is not bound by the page's CSP (addScriptTag would inline a script, which
  // our script-src 'self' forbids — as it should).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE, 'utf8'));
  return page.evaluate(async () => {
    const axe = (window as any).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map(
      (v: any) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')).join(' | ')}`,
    );
  });
}

/**
 * Every visible text (and aria-label) of the page, in document order. Text inside
 * `[data-verbatim]` (names, phone numbers, chat text, device labels) is left out: it is the
 * same in every language by nature.
 */
export async function visibleTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const skip = (el: Element | null): boolean =>
      !el || !!el.closest('[data-verbatim], script, style, noscript, #announcer, [hidden], [data-testid="chat-live"]');
    const shown = (el: Element): boolean => el.getClientRects().length > 0 || !!el.closest('.sr-only');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = (n.textContent ?? '').replace(/\s+/g, ' ').trim();
      const el = n.parentElement;
      if (!text || skip(el) || !shown(el!)) continue;
      out.push(text);
    }
    for (const el of Array.from(document.querySelectorAll('[aria-label]'))) {
      if (skip(el) || !shown(el)) continue;
      out.push(`[aria-label] ${el.getAttribute('aria-label')}`);
    }
    out.push(`[title] ${document.title}`);
    return out;
  });
}

/** Numbers, times and punctuation only: the same in both languages. */
const NEUTRAL = /^[\d\s:.,%\-–()+/·]*$/;

/**
 * Renders the page in Dutch and in English (the language switch) and returns every string
 * that stayed the same — untranslated — plus a note when the screens differ in shape.
 */
export async function untranslated(page: Page): Promise<string[]> {
  const start = await page.evaluate(() => document.documentElement.lang);
  if (start !== 'nl') await page.getByTestId('lang-switch').click();
  const nl = await visibleTexts(page);
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  const en = await visibleTexts(page);
  const problems: string[] = [];
  if (nl.length !== en.length) problems.push(`different number of strings: nl ${nl.length}, en ${en.length}`);
  for (let i = 0; i < Math.min(nl.length, en.length); i++) {
    if (nl[i] === en[i] && !NEUTRAL.test(nl[i]!)) problems.push(`untranslated: "${nl[i]}"`);
  }
  // Back to Dutch.
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'nl');
  return problems;
}

/**
 * Presses Tab until focus comes round again and returns the controls that were never
 * focused (described by test id or text). Every visible, enabled control must be reached.
 */
export async function unreachableByKeyboard(page: Page, maxTabs = 80): Promise<string[]> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    document.querySelectorAll('[data-kbd-seen]').forEach((el) => el.removeAttribute('data-kbd-seen'));
    window.scrollTo(0, 0);
  });
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const again = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return false;
      if (el.hasAttribute('data-kbd-seen')) return true;
      el.setAttribute('data-kbd-seen', '');
      return false;
    });
    if (again) break;
  }
  return page.evaluate(() => {
    const controls = Array.from(
      document.querySelectorAll<HTMLElement>('button, a[href], input, select, textarea, [tabindex="0"]'),
    ).filter((el) => el.getClientRects().length > 0 && !(el as HTMLButtonElement).disabled && !el.closest('[hidden]'));
    return controls
      .filter((el) => !el.hasAttribute('data-kbd-seen'))
      .map((el) => el.dataset.testid ?? el.id ?? el.textContent?.trim() ?? el.tagName);
  });
}

/** Buttons smaller than 44×44 CSS pixels (WCAG 2.5.5 target size, our own rule). */
export async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('button, select, input[type="checkbox"], a.btn'))
      .filter((el) => el.getClientRects().length > 0 && !el.closest('[hidden]'))
      .filter((el) => {
        const r = el.getBoundingClientRect();
        // A checkbox counts with its label (the label is the target).
        if (el instanceof HTMLInputElement) {
          const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.getBoundingClientRect() : undefined;
          return (label?.height ?? r.height) < 44 && r.height < 28;
        }
        return r.width < 44 || r.height < 44;
      })
      .map((el) => el.dataset.testid ?? el.textContent?.trim() ?? el.tagName),
  );
}


/** The text a person sees on the screen now (rendered text only: nothing hidden). */
export async function shownText(page: Page): Promise<string> {
  return (await page.locator('body').innerText()).replace(/\s+/g, ' ');
}

/**
 * Remote pictures on the screen now: visible `remote-video` tiles that are playing a picture
 * (a decoded frame with a size), as a screenshot would show them.
 */
export async function remotePictures(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      Array.from(document.querySelectorAll<HTMLVideoElement>('[data-testid="remote-video"]')).filter(
        (v) => v.getClientRects().length > 0 && v.videoWidth > 0 && v.readyState >= 2 && !v.paused,
      ).length,
  );
}
