/**
 * A minimal relay client *inside* a test page, for tests that need the browser's own
 * RTCPeerConnection on the relay's signalling (RelayClient in relay-client.ts speaks from
 * Node). page.evaluate bodies cannot share a closure, so it is installed as an init script:
 * `await window.__spkRelay('/ws')` gives `{ ws, req }`, where `req(msg)` sends a numbered
 * request and resolves with its reply or error.
 */
import type { Page } from 'playwright-core';

declare global {
  interface Window {
    __spkRelay(path: string): Promise<{ ws: WebSocket; req(m: object): Promise<any> }>;
  }
}

/** Call before the page navigates: the client is there on every page it loads. */
export async function installPageRelay(page: Page): Promise<void> {
  await page.addInitScript(() => {
    window.__spkRelay = async (path: string) => {
      const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + path);
      let next = 1;
      const pending = new Map<number, (m: any) => void>();
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        const done = pending.get(m.id);
        if ((m.t === 'reply' || m.t === 'error') && done) {
          pending.delete(m.id);
          done(m);
        }
      };
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      const req = (m: object) =>
        new Promise<any>((resolve) => {
          const id = next++;
          pending.set(id, resolve);
          ws.send(JSON.stringify({ id, ...m }));
        });
      return { ws, req };
    };
  });
}
