/** BENCH_TRACE=1: a timeline of every signalling message and fetch in both pages, per round. */
import type { Page } from 'playwright-core';
export async function installTrace(page: Page) {
  await page.addInitScript(() => {
    const w = window as any;
    w.__trace = [];
    const NativeWS = window.WebSocket;
    const P = new Proxy(NativeWS, {
      construct(t, args) {
        const ws = Reflect.construct(t, args) as WebSocket;
        w.__trace.push([Date.now(), 'ws-open-start']);
        ws.addEventListener('open', () => w.__trace.push([Date.now(), 'ws-open']));
        ws.addEventListener('message', (e) => { const m = JSON.parse(e.data); w.__trace.push([Date.now(), '<' + m.t + (m.state ? ':' + m.state.visitState : '') + (m.id ? '#' + m.id : '')]); });
        const send = ws.send.bind(ws);
        ws.send = (d: any) => { const m = JSON.parse(d); w.__trace.push([Date.now(), '>' + m.t + '#' + m.id]); send(d); };
        return ws;
      },
    });
    window.WebSocket = P;
    const of = window.fetch.bind(window);
    window.fetch = async (...a: any[]) => { w.__trace.push([Date.now(), 'fetch ' + String(a[0]).slice(-30)]); const r = await of(...(a as [any])); w.__trace.push([Date.now(), 'fetched ' + String(a[0]).slice(-30)]); return r; };
  });
}
