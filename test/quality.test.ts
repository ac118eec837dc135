/**
 * The live call-quality pipeline against the real (namespace) Redis, without Janus: Janus
 * stats events as they arrive at the intake → loss per period from cumulative counters → the
 * participant's worst-of grade → latestQuality() and the clinic's hub event. The end-to-end
 * version with Janus, nftables packet loss and the dashboard is in metrics.test.ts.
 *
 *   scripts/with-netns.sh npx vitest run test/quality.test.ts
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient, type RedisClientType } from 'redis';
import type { ClinicEvent } from '../control/src/realtime/hub.js';
import { parseJanusEvent, type JanusEvent } from '../control/src/quality/events.js';
import { handleOwners, rememberHandles } from '../control/src/quality/handles.js';
import { processEvents } from '../control/src/quality/intake.js';
import { latestQuality, QUALITY_FRESH_MS } from '../control/src/quality/store.js';

let redis: RedisClientType;
const published: Array<{ clinicId: string; event: ClinicEvent }> = [];
const hub = { publishClinic: async (clinicId: string, event: ClinicEvent) => void published.push({ clinicId, event }) };

beforeAll(async () => {
  redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
});
afterAll(async () => {
  await redis?.quit();
});

let nextHandle = Math.floor(Math.random() * 1e12);
const newHandle = () => ++nextHandle;

/** A combined stats event as Janus 1.1 posts it for one handle. */
function stats(handleId: number, c: { recv?: number; lost?: number; sent?: number; lostRemote?: number; rtt?: number; jitter?: number }): JanusEvent {
  const e = parseJanusEvent({
    emitter: 'spreekkamer',
    type: 32,
    subtype: 3,
    session_id: 1,
    handle_id: handleId,
    event: [
      { mid: '0', mindex: 0, media: 'audio', codec: 'opus', rtt: c.rtt ?? 0, lost: c.lost ?? 0, 'lost-by-remote': c.lostRemote ?? 0, 'jitter-local': c.jitter ?? 0, 'jitter-remote': 0, 'packets-received': c.recv ?? 0, 'packets-sent': c.sent ?? 0 },
      { mid: '2', mindex: 2, media: 'data', 'packets-received': 5, 'packets-sent': 5 },
    ],
  });
  if (!e) throw new Error('test event did not parse');
  return e;
}

function consult() {
  const appointmentId = randomUUID();
  const clinicId = randomUUID();
  const patient = { appointmentId, clinicId, participantId: randomUUID(), role: 'patient' };
  const clinician = { appointmentId, clinicId, participantId: `staff:${randomUUID()}`, role: 'clinician' };
  return { appointmentId, clinicId, patient, clinician };
}

describe('live call quality from Janus stats', () => {
  test('handles map to their participants; unknown handles are nobody', async () => {
    const c = consult();
    const [pub, sub] = [newHandle(), newHandle()];
    await rememberHandles(redis, [pub, sub], c.patient);
    const owners = await handleOwners(redis, [pub, sub, newHandle()]);
    expect(owners.size).toBe(2);
    expect(owners.get(pub)).toEqual(c.patient);
    expect(await redis.ttl(`spk:janus-handle:${pub}`)).toBeGreaterThan(3600);
    await expect(rememberHandles(redis, [newHandle()], { ...c.patient, appointmentId: 'not-a-uuid' })).rejects.toThrow();
  });

  test('loss is counted per period from cumulative counters; the grade is the worst of the participant’s handles', async () => {
    const c = consult();
    const pub = newHandle(); // Janus receives the patient's media here
    const sub = newHandle(); // Janus sends the clinician's media to the patient here
    await rememberHandles(redis, [pub, sub], c.patient);

    await processEvents([stats(pub, { recv: 1000, lost: 0, jitter: 4 }), stats(sub, { sent: 1000, lostRemote: 0, rtt: 40 })], { redis, hub });
    let q = (await latestQuality(redis, [c.appointmentId])).get(c.appointmentId)!;
    expect(q).toEqual([{ participantId: c.patient.participantId, role: 'patient', grade: 'good', rttMs: 40, lossRatio: 0, jitterMs: 4 }]);

    // Next period: 60 more lost of 1000 expected on the way in (6 %): fair.
    await processEvents([stats(pub, { recv: 1940, lost: 60, jitter: 6 })], { redis, hub });
    q = (await latestQuality(redis, [c.appointmentId])).get(c.appointmentId)!;
    expect(q[0]).toMatchObject({ grade: 'fair', lossRatio: 0.06, rttMs: 40 });

    // The download side: the browser reports 120 of 1000 lost (12 %): poor.
    await processEvents([stats(sub, { sent: 2000, lostRemote: 120, rtt: 45 })], { redis, hub });
    q = (await latestQuality(redis, [c.appointmentId])).get(c.appointmentId)!;
    expect(q[0]).toMatchObject({ grade: 'poor', lossRatio: 0.12, rttMs: 45 });

    // A new PeerConnection on the handle (counters start again): no negative loss, a fresh start.
    await processEvents([stats(sub, { sent: 500, lostRemote: 0, rtt: 20 })], { redis, hub });
    await processEvents([stats(pub, { recv: 2940, lost: 60 })], { redis, hub });
    q = (await latestQuality(redis, [c.appointmentId])).get(c.appointmentId)!;
    expect(q[0]).toMatchObject({ grade: 'good', lossRatio: 0 });

    // A long round trip alone makes it fair (300 ms, the device test's limit).
    await processEvents([stats(sub, { sent: 1500, lostRemote: 0, rtt: 300 })], { redis, hub });
    expect((await latestQuality(redis, [c.appointmentId])).get(c.appointmentId)![0]).toMatchObject({ grade: 'fair', rttMs: 300 });
  });

  test('each participant apart; the clinic hears of a change of grade at once, and of no change only now and then', async () => {
    const c = consult();
    const [p, d] = [newHandle(), newHandle()];
    await rememberHandles(redis, [p], c.patient);
    await rememberHandles(redis, [d], c.clinician);
    const before = published.length;
    await processEvents([stats(p, { recv: 100 }), stats(d, { recv: 100 })], { redis, hub });
    await processEvents([stats(p, { recv: 200 }), stats(d, { recv: 200 })], { redis, hub }); // unchanged: not told
    await processEvents([stats(p, { recv: 250, lost: 50 })], { redis, hub }); // 50 % lost: poor, told
    const mine = published.slice(before).filter((x) => x.clinicId === c.clinicId).map((x) => x.event);
    expect(mine).toEqual([
      { kind: 'quality', appointmentId: c.appointmentId, participantId: c.patient.participantId, role: 'patient', grade: 'good', lossRatio: 0 },
      { kind: 'quality', appointmentId: c.appointmentId, participantId: c.clinician.participantId, role: 'clinician', grade: 'good', lossRatio: 0 },
      { kind: 'quality', appointmentId: c.appointmentId, participantId: c.patient.participantId, role: 'patient', grade: 'poor', lossRatio: 0.5 },
    ]);
    const all = (await latestQuality(redis, [c.appointmentId, randomUUID()]));
    expect(all.size).toBe(1);
    expect(all.get(c.appointmentId)!.map((q) => `${q.role}:${q.grade}`).sort()).toEqual(['clinician:good', 'patient:poor']);
  });

  test('stale entries are not "latest"; handles that are not ours only feed the metrics', async () => {
    const c = consult();
    const h = newHandle();
    await rememberHandles(redis, [h], c.patient);
    await processEvents([stats(h, { recv: 100 })], { redis, hub });
    expect((await latestQuality(redis, [c.appointmentId], Date.now() + QUALITY_FRESH_MS + 1)).size).toBe(0);
    const stranger = newHandle();
    const before = published.length;
    await processEvents([stats(stranger, { recv: 100, lost: 50 })], { redis, hub });
    expect(published.length).toBe(before);
    expect(await latestQuality(redis, [])).toEqual(new Map());
  });
});
