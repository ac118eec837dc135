/**
 * The realtime hub against a real Redis: a SUBSCRIBE that Redis refuses leaves nothing behind,
 * so a later subscriber to the same channel subscribes afresh and hears the channel (issue 14,
 * defect 8). Redis refuses through an ACL user of this test's own that may not use the channel
 * at first (the default user, which other tests use, is left alone).
 */
import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Hub, type HubEvent } from '../control/src/realtime/hub.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const user = `hubtest-${randomBytes(3).toString('hex')}`;
const password = randomBytes(12).toString('hex');
let admin: RedisClientType;
let hub: Hub;

beforeAll(async () => {
  admin = createClient({ url: REDIS_URL });
  await admin.connect();
  // Every command and key, but pub/sub only on channels other than spk:visit:*.
  await admin.sendCommand(['ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '+@all', 'resetchannels', '&spk:clinic:*']);
  const url = new URL(REDIS_URL);
  url.username = user;
  url.password = password;
  hub = new Hub(url.toString(), pino({ level: 'silent' }));
  await hub.start();
});

afterAll(async () => {
  await hub?.stop();
  await admin?.sendCommand(['ACL', 'DELUSER', user]).catch(() => undefined);
  await admin?.quit();
});

test('a refused subscribe leaves no empty listener set behind', async () => {
  const appointmentId = '6f1c3b1e-0000-4000-8000-000000000001';
  await expect(hub.subscribe(appointmentId, () => undefined)).rejects.toThrow(/NOPERM|permission/i);
  // Redis allows the channel now; the next subscriber must really subscribe and hear it.
  await admin.sendCommand(['ACL', 'SETUSER', user, 'allchannels']);
  const heard: HubEvent[] = [];
  await hub.subscribe(appointmentId, (e) => void heard.push(e));
  await hub.publish(appointmentId, { kind: 'changed' });
  await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
});
