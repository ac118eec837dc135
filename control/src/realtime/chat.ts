/**
 * The waiting-room chat between patient and poli assistant. SPEC section 2: chat text is never
 * written to PostgreSQL (nor to logs); it is kept in Redis until the consult ends, then deleted.
 * One list per appointment, with a day's TTL as a safety net should the delete be missed.
 * New messages reach every socket of the appointment, on every control-plane process, through
 * the hub.
 *
 * The clinician's privacy pause lives here too: per appointment in Redis, so a patient who
 * (re)connects while the clinician is paused is told at once.
 */
import type { RedisClientType } from 'redis';
import type { ChatMessage } from './protocol.js';
import type { Hub } from './hub.js';

export const CHAT_MAX_CHARS = 1000;
/** The most messages kept per appointment (older ones drop off). */
const CHAT_KEEP = 200;
const DAY_SECONDS = 24 * 60 * 60;

const chatKey = (appointmentId: string) => `spk:chat:${appointmentId}`;
const pauseKey = (appointmentId: string) => `spk:pause:${appointmentId}`;

/**
 * Trimmed, with control characters (except line breaks) and bidirectional-override
 * characters removed. Returns null when nothing (or too much) is left.
 */
export function cleanChatText(raw: string): string | null {
  const text = raw
    .replace(/\r\n?/g, '\n')
    // C0 and C1 controls except \n; bidi embeddings/overrides/isolates that can disguise text.
    .replace(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (text.length === 0 || text.length > CHAT_MAX_CHARS) return null;
  return text;
}

export async function postChat(
  redis: RedisClientType,
  hub: Hub,
  appointmentId: string,
  from: ChatMessage['from'],
  text: string,
  now = new Date(),
): Promise<ChatMessage> {
  const message: ChatMessage = { from, text, at: now.toISOString() };
  const key = chatKey(appointmentId);
  await redis
    .multi()
    .rPush(key, JSON.stringify(message))
    .lTrim(key, -CHAT_KEEP, -1)
    .expire(key, DAY_SECONDS)
    .exec();
  await hub.publish(appointmentId, { kind: 'chat', message });
  return message;
}

export async function chatHistory(redis: RedisClientType, appointmentId: string): Promise<ChatMessage[]> {
  const items = await redis.lRange(chatKey(appointmentId), 0, -1);
  const out: ChatMessage[] = [];
  for (const item of items) {
    try {
      out.push(JSON.parse(item) as ChatMessage);
    } catch {
      /* not ours */
    }
  }
  return out;
}

/** Pause state per role ('clinician', …) of an appointment. */
export async function setPause(redis: RedisClientType, appointmentId: string, role: string, paused: boolean): Promise<void> {
  const key = pauseKey(appointmentId);
  if (paused) {
    await redis.multi().hSet(key, role, '1').expire(key, DAY_SECONDS).exec();
  } else {
    await redis.hDel(key, role);
  }
}

export async function pausedRoles(redis: RedisClientType, appointmentId: string): Promise<string[]> {
  const all = await redis.hGetAll(pauseKey(appointmentId));
  return Object.keys(all).filter((role) => all[role] === '1');
}

/** The consult is over (ended, cancelled, expired): the chat text and pause state go. */
export async function forgetConsult(redis: RedisClientType, appointmentId: string): Promise<void> {
  await redis.del([chatKey(appointmentId), pauseKey(appointmentId)]);
}

/**
 * Chat and pause keys of visits that are over (ended, cancelled, expired) go. The end route
 * deletes at once; this catches cancellations by the EHR and expiry, which happen elsewhere.
 * Harmless when several processes run it.
 */
export async function sweepClosedConsults(
  redis: RedisClientType,
  closedAmong: (appointmentIds: string[]) => Promise<string[]>,
): Promise<number> {
  const ids = new Set<string>();
  for (const match of ['spk:chat:*', 'spk:pause:*']) {
    for await (const keys of redis.scanIterator({ MATCH: match, COUNT: 500 })) {
      for (const key of ([] as string[]).concat(keys)) ids.add(key.slice(key.lastIndexOf(':') + 1));
    }
  }
  if (ids.size === 0) return 0;
  const closed = await closedAmong([...ids].filter((id) => /^[0-9a-f-]{36}$/.test(id)));
  for (const id of closed) await forgetConsult(redis, id);
  return closed.length;
}
