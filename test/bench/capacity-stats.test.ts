/**
 * The capacity bench's arithmetic (pure logic, no services): the receivers' loss accounting and
 * the fit of Janus's CPU into a part per consult and a part per packet.
 */
import { describe, expect, it } from 'vitest';
import { RxStats } from './capacity-generator.js';
import { fitCpu } from './capacity.js';

describe('RxStats', () => {
  it('counts gaps as loss, ignores duplicates and follows the 16-bit wrap', () => {
    const rx = new RxStats(90_000);
    let t = 0;
    // 65530 … 65535, 0 … 9, with 2 and 3 missing and 4 arriving twice (a NACK retransmission).
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 4, 4, 5, 6, 7, 8, 9];
    for (const seq of seqs) rx.add(seq, (t += 3000), 1000, t / 90);
    expect(rx.expected).toBe(16);
    expect(rx.unique).toBe(14);
    expect(rx.packets).toBe(15);
  });

  it('reports no jitter for packets that arrive exactly on their timestamps', () => {
    const rx = new RxStats(48_000);
    for (let i = 0; i < 100; i++) rx.add(i, i * 960, 100, i * 20);
    expect(rx.jitterMs).toBeLessThan(0.001);
  });
});

describe('fitCpu', () => {
  it('recovers the cost per consult and per packet from steps where the generator sent less than a full rate', () => {
    const a = 0.002; // cores per consult
    const b = 30e-6; // cores per packet/s
    const idle = 0.4; // % of a core
    const steps = [
      { consults: 5, forwarded_pps: 800 },
      { consults: 10, forwarded_pps: 500 },
      { consults: 20, forwarded_pps: 1100 },
    ].map((s) => ({ ...s, janus_cpu_core_pct: (a * s.consults + b * s.forwarded_pps) * 100 + idle }));
    const fit = fitCpu(steps, idle)!;
    expect(fit.a).toBeCloseTo(a, 6);
    expect(fit.b).toBeCloseTo(b, 9);
  });

  it('gives nothing when packets are proportional to consults (the steps cannot separate the two)', () => {
    const steps = [5, 10, 20].map((n) => ({ consults: n, forwarded_pps: n * 338, janus_cpu_core_pct: n * 1.2 }));
    expect(fitCpu(steps, 0)).toBeNull();
  });
});
