/**
 * Benchmark (issue 5): the EHR imports 10,000 appointments through the integration API and the
 * control plane schedules all their jobs (invitation, three reminders, the no-show check:
 * five per appointment). Reports wall time, API throughput and request latency, the jobs in
 * Redis, and the Redis memory the queues use (MEMORY USAGE summed over the queue keys, so the
 * hub's own keys do not count). No worker runs: every job is still pending, the worst case.
 *
 * Called by test/bench/run.ts (`make bench`); alone, inside the test namespace:
 *   scripts/with-netns.sh node --import tsx test/bench/import.ts
 * (BENCH_IMPORT_N, BENCH_IMPORT_CONCURRENCY change the size and the parallel clients.)
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createClient } from 'redis';
import { summary } from './stats.js';

export interface ImportBenchTarget {
  apiBase: string;
  apiKey: string;
  clinicCode: string;
  clinicianEmail: string;
  redisUrl: string;
  /** QUEUE_PREFIX of the control plane (default spk). */
  queuePrefix?: string;
}

export async function benchImport(t: ImportBenchTarget, n = 10_000, concurrency = 8) {
  const prefix = t.queuePrefix ?? 'spk';
  const redis = createClient({ url: t.redisUrl });
  await redis.connect();
  const queueKeys = async () => {
    let bytes = 0;
    let keys = 0;
    for (const queue of ['notifications', 'fallback']) {
      for await (const batch of redis.scanIterator({ MATCH: `${prefix}:${queue}:*`, COUNT: 1000 })) {
        for (const key of ([] as string[]).concat(batch)) {
          bytes += (await redis.memoryUsage(key)) ?? 0;
          keys++;
        }
      }
    }
    return { bytes, keys };
  };
  const before = await queueKeys();
  const usedBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);

  const run = randomBytes(3).toString('hex');
  const now = Date.now();
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      // Spread over the next 30 days during clinic hours, so each gets all three reminders.
      const start = new Date(now + (4 + (i % 26)) * 86_400_000 + (i % 32) * 15 * 60_000);
      const body = JSON.stringify({
        externalId: `bench-${run}-${i}`,
        clinic: t.clinicCode,
        clinician: t.clinicianEmail,
        start: start.toISOString().replace('Z', '+00:00'),
        durationMinutes: 15,
        patient: { name: `Patiënt ${i}`, birthDate: '1960-01-01', email: `p${i}@example.test`, phone: '0612345678', language: i % 5 ? 'nl' : 'en' },
      });
      const s = performance.now();
      const res = await fetch(`${t.apiBase}/api/v1/appointments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - s);
      if (res.status !== 201) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const wallMs = performance.now() - t0;

  const after = await queueKeys();
  const usedAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  let jobs = 0;
  for (const queue of ['notifications', 'fallback']) {
    jobs += await redis.zCard(`${prefix}:${queue}:delayed`);
    jobs += await redis.lLen(`${prefix}:${queue}:wait`);
  }
  await redis.quit();
  const queueBytes = after.bytes - before.bytes;
  return {
    import_appointments: { n, concurrency, failures, wall_s: Math.round(wallMs / 100) / 10, unit: 'appointments' },
    import_api_throughput: { p50: Math.round((n / wallMs) * 1000 * 10) / 10, p95: Math.round((n / wallMs) * 1000 * 10) / 10, unit: 'appointments/s' },
    import_request_latency: summary(latencies, 'ms'),
    import_jobs_pending: { p50: jobs, p95: jobs, unit: 'jobs' },
    import_queue_redis_bytes: { p50: queueBytes, p95: queueBytes, per_appointment: Math.round(queueBytes / n), redis_used_memory_delta: usedAfter - usedBefore, unit: 'bytes' },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startStack } = await import('../support/stack.js');
  const { seedClinic } = await import('../support/scenario.js');
  const stack = await startStack({ name: 'bench-import', basePort: 18500 });
  try {
    const seeded = await seedClinic(stack);
    const result = await benchImport(
      {
        apiBase: stack.control.internalUrl,
        apiKey: seeded.apiKey,
        clinicCode: seeded.clinicCode,
        clinicianEmail: seeded.clinician.email,
        redisUrl: stack.env.REDIS_URL!,
        queuePrefix: stack.env.QUEUE_PREFIX,
      },
      Number(process.env.BENCH_IMPORT_N ?? 10_000),
      Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 8),
    );
    console.log(JSON.stringify({ ...result, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version } }, null, 2));
  } finally {
    await stack.stop();
  }
  process.exit(0);
}
