/**
 * Janus event-handler events (janus_sampleevh: one JSON object per POST, or an array of them
 * when grouping is on), validated with zod. Only what we use is read; every field is optional
 * where Janus may leave it out, numbers must be numbers, strings short. Anything else is a
 * malformed event: counted and dropped, never thrown at the caller.
 *
 * Types (Janus 1.1 src/events.h): 16 WebRTC state (ice, dtls, connection up/hangup, pairs),
 * 32 media (receiving, slow_link, per-handle stats), 256 core (started/shutdown).
 */
import { z } from 'zod';

export const JANUS_EVENT_WEBRTC = 16;
export const JANUS_EVENT_MEDIA = 32;
export const JANUS_EVENT_CORE = 256;

const count = z.number().finite().nonnegative();
const short = z.string().max(200);

/** One media's statistics (one m-line, or a simulcast layer). */
export const MediaStats = z.object({
  mid: short.optional(),
  mindex: z.number().int().nonnegative().optional(),
  media: short,
  codec: short.optional(),
  base: count.optional(),
  rtt: count.optional(),
  lost: count.optional(),
  'lost-by-remote': count.optional(),
  'jitter-local': count.optional(),
  'jitter-remote': count.optional(),
  'packets-received': count.optional(),
  'packets-sent': count.optional(),
  'bytes-received-lastsec': count.optional(),
  'bytes-sent-lastsec': count.optional(),
});
export type MediaStats = z.infer<typeof MediaStats>;

const SlowLink = z.object({ media: short.optional(), slow_link: z.enum(['uplink', 'downlink']), lost_lastsec: count.optional() });
const Receiving = z.object({ media: short.optional(), receiving: z.union([z.boolean(), z.string().max(10)]) });

const WebrtcBody = z
  .object({
    ice: short.optional(),
    connection: short.optional(),
    dtls: short.optional(),
  })
  .passthrough();

const Envelope = z.object({
  emitter: short.optional(),
  type: z.number().int().positive(),
  subtype: z.number().int().optional(),
  timestamp: z.number().optional(),
  session_id: z.number().int().nonnegative().optional(),
  handle_id: z.number().int().nonnegative().optional(),
  event: z.unknown(),
});

export type JanusEvent =
  | { kind: 'stats'; emitter: string; handleId: number; stats: MediaStats[] }
  | { kind: 'slow-link'; emitter: string; handleId: number; direction: 'uplink' | 'downlink' }
  | { kind: 'ice'; emitter: string; handleId: number; state: string }
  | { kind: 'connection'; emitter: string; handleId: number; state: string }
  | { kind: 'core'; emitter: string }
  /** Valid, but nothing we act on (dtls states, candidates, receiving on/off, …). */
  | { kind: 'other'; emitter: string };

/** The emitter (Janus `server_name`) as a label value: short and plain, or 'unknown'. */
function emitterLabel(e: string | undefined): string {
  return e && /^[A-Za-z0-9_.:-]{1,60}$/.test(e) ? e : 'unknown';
}

/** Parses one event; null when it is malformed. */
export function parseJanusEvent(raw: unknown): JanusEvent | null {
  const env = Envelope.safeParse(raw);
  if (!env.success) return null;
  const { type, event } = env.data;
  const emitter = emitterLabel(env.data.emitter);
  const handleId = env.data.handle_id;
  if (type === JANUS_EVENT_MEDIA) {
    if (handleId === undefined) return null;
    if (Array.isArray(event)) {
      // combine_media_stats: one array per handle
      const stats = z.array(MediaStats).max(20).safeParse(event);
      return stats.success ? { kind: 'stats', emitter, handleId, stats: stats.data } : null;
    }
    const slow = SlowLink.safeParse(event);
    if (slow.success) return { kind: 'slow-link', emitter, handleId, direction: slow.data.slow_link };
    if (Receiving.safeParse(event).success) return { kind: 'other', emitter };
    const one = MediaStats.safeParse(event);
    return one.success ? { kind: 'stats', emitter, handleId, stats: [one.data] } : null;
  }
  if (type === JANUS_EVENT_WEBRTC) {
    if (handleId === undefined) return null;
    const body = WebrtcBody.safeParse(event);
    if (!body.success) return null;
    if (body.data.ice) return { kind: 'ice', emitter, handleId, state: body.data.ice };
    if (body.data.connection) return { kind: 'connection', emitter, handleId, state: body.data.connection };
    return { kind: 'other', emitter };
  }
  if (type === JANUS_EVENT_CORE) return { kind: 'core', emitter };
  return { kind: 'other', emitter };
}

/** The POST body: one event or an array (grouping); at most `max` events. */
export function eventsOf(body: unknown, max = 1000): unknown[] | null {
  if (Array.isArray(body)) return body.length <= max ? body : null;
  if (body && typeof body === 'object') return [body];
  return null;
}
