/**
 * Helpers for the assistant dashboard's tests and benchmark: an assistant who can sign in,
 * a Notification stub for Chromium, and a synthetic client of /staff/ws/dashboard.
 */
import argon2 from 'argon2';
import WebSocket from 'ws';
import type { Page } from 'playwright-core';
import type { Stack } from './stack.js';

/** An assistant of the given clinics who can sign in. */
export async function seedAssistant(s: Pick<Stack, 'ds'>, clinicIds: string[], tag: string): Promise<{ id: string; email: string; password: string }> {
  const password = 'assistent wachtwoord 123';
  const email = `assistent-${tag}-${Date.now()}@test.invalid`;
  const [row] = await s.ds.query(
    `INSERT INTO staff (email, name, role, password_hash, active) VALUES ($1, 'A. Assistent', 'assistant', $2, true) RETURNING id`,
    [email, await argon2.hash(password, { type: argon2.argon2id })],
  );
  for (const c of clinicIds) await s.ds.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [row.id, c]);
  return { id: row.id, email, password };
}

/** Init script: window.Notification becomes an always-allowed recorder (window.__notifications). */
export const NOTIFICATION_STUB = () => {
  const w = window as any;
  w.__notifications = [];
  class FakeNotification {
    static permission = 'granted';
    static requestPermission() {
      return Promise.resolve('granted');
    }
    onclick: unknown = null;
    constructor(title: string, opts?: { body?: string }) {
      w.__notifications.push({ title, body: opts?.body });
    }
  }
  w.Notification = FakeNotification;
};

/** Sign in on the login page and open the dashboard of a clinic. */
export async function openDashboard(page: Page, internalUrl: string, who: { email: string; password: string }, clinicCode: string): Promise<void> {
  await page.goto(`${internalUrl}/staff/login`);
  await page.getByTestId('login-email').fill(who.email);
  await page.getByTestId('login-password').fill(who.password);
  await page.getByTestId('login-submit').click();
  // Assistants land on the dashboard, admins on the admin page.
  await page.waitForURL((url) => url.pathname !== '/staff/login');
  await page.goto(`${internalUrl}/staff/dashboard?clinic=${clinicCode}`);
  await page.getByTestId('lanes').waitFor();
}

export interface Feed {
  messages: any[];
  waitFor(pred: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

/** A synthetic dashboard client of /staff/ws/dashboard; resolves once the server says ready. */
export function openFeed(
  baseUrl: string,
  cookie: string,
  clinic: string,
  opts: { origin?: string; onMessage?: (m: any, receivedAt: number) => void; keep?: boolean } = {},
): Promise<Feed> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/staff/ws/dashboard?clinic=${clinic}`, {
    headers: { ...(cookie ? { cookie } : {}), ...(opts.origin ? { origin: opts.origin } : {}) },
  });
  const messages: any[] = [];
  const keep = opts.keep ?? true;
  const waiters = new Set<{ pred: (m: any) => boolean; done: (m: any) => void }>();
  ws.on('message', (data) => {
    const at = Date.now();
    const m = JSON.parse(String(data));
    opts.onMessage?.(m, at);
    if (keep) messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.delete(w);
        w.done(m);
      }
    }
  });
  const feed: Feed = {
    messages,
    waitFor(pred, timeoutMs = 5000) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          done: (m: any) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching message; got ${JSON.stringify(messages.slice(-3))}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close: () => ws.close(),
  };
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', reject);
    const ready = { pred: (m: any) => m.t === 'ready', done: () => resolve(feed) };
    waiters.add(ready);
  });
}
