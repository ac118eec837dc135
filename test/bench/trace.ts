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
    // Main-thread tasks over 50 ms (what delays a handler between a push and the next send).
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__trace.push([Math.round(performance.timeOrigin + e.startTime), `longtask:${Math.round(e.duration)}ms`]);
    }).observe({ type: 'longtask', buffered: true });
    const of = window.fetch.bind(window);
    window.fetch = async (...a: any[]) => { w.__trace.push([Date.now(), 'fetch ' + String(a[0]).slice(-30)]); const r = await of(...(a as [any])); w.__trace.push([Date.now(), 'fetched ' + String(a[0]).slice(-30)]); return r; };
  });
}

/** BENCH_PROFILE=1: the page's JavaScript CPU profile over one admission, top functions by self time. */
export async function profileAround<T>(page: Page, label: string, run: () => Promise<T>): Promise<T> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await cdp.send('Profiler.stop');
    const self = new Map<number, number>();
    const dt = profile.timeDeltas ?? [];
    (profile.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
    const byName = new Map<string, number>();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      byName.set(key, (byName.get(key) ?? 0) + (self.get(n.id) ?? 0));
    }
    const top = [...byName].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.log(`${label} profile:`, top.map(([k, us]) => `${(us / 1000).toFixed(1)}ms ${k}`).join(' | '));
    await cdp.detach();
  }
}
