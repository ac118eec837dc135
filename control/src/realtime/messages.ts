/**
 * Validation of browser → control-plane messages. Strict: a request with any field that is
 * not in the short list (e.g. `record`, `filename`, `room`) is refused and names the field.
 */
import { z } from 'zod';
import type { ClientRequest } from './protocol.js';
import { cleanChatText, CHAT_MAX_CHARS } from './chat.js';

const Jsep = z.object({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(100_000) }).strict();
const Candidate = z
  .object({
    candidate: z.string().max(1000),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  })
  .strict()
  .nullable();
const Feed = z.number().int().positive();
const id = z.number().int().nonnegative();

const DeviceState = z.enum(['ok', 'denied', 'missing', 'in_use', 'failed', 'skipped']);
const DeviceTestResult = z
  .object({
    camera: DeviceState,
    microphone: DeviceState,
    speaker: z.enum(['heard', 'not_heard', 'skipped']),
    network: z
      .object({
        rttMs: z.number().min(0).max(60_000),
        lossPct: z.number().min(0).max(100),
        bitrateKbps: z.number().min(0).max(100_000),
        // Checked against network-grade.ts by the relay, which stores its own grade.
        grade: z.enum(['good', 'fair', 'poor']),
      })
      .strict()
      .nullable(),
  })
  .strict();

/** Trimmed and cleaned here, so the relay only ever sees text it may store. */
const ChatText = z
  .string()
  .max(CHAT_MAX_CHARS * 4)
  .transform((raw, ctx) => {
    const text = cleanChatText(raw);
    if (text === null) {
      ctx.addIssue({ code: 'custom', message: `must be 1 to ${CHAT_MAX_CHARS} characters` });
      return z.NEVER;
    }
    return text;
  });

const Request = z.discriminatedUnion('t', [
  z
    .object({
      id,
      t: z.literal('hello'),
      token: z.string().max(200).optional(),
      appointmentId: z.string().uuid().optional(),
      page: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/).optional(),
    })
    .strict(),
  z.object({ id, t: z.literal('start-visit') }).strict(),
  z
    .object({
      id,
      t: z.literal('join'),
      wait: z.boolean().optional(),
      publish: z.object({ jsep: Jsep, audio: z.boolean().optional(), video: z.boolean().optional() }).strict().optional(),
    })
    .strict(),
  z.object({ id, t: z.literal('publish'), jsep: Jsep, audio: z.boolean().optional(), video: z.boolean().optional() }).strict(),
  z.object({ id, t: z.literal('subscribe'), feed: Feed }).strict(),
  z.object({ id, t: z.literal('answer'), feed: Feed, jsep: Jsep }).strict(),
  z
    .object({
      id,
      t: z.literal('trickle'),
      target: z.union([z.literal('publisher'), z.literal('screen'), z.object({ feed: Feed }).strict()]),
      candidate: Candidate,
    })
    .strict(),
  z.object({ id, t: z.literal('mute'), audio: z.boolean(), video: z.boolean() }).strict(),
  z.object({ id, t: z.literal('leave') }).strict(),
  z.object({ id, t: z.literal('ping') }).strict(),
  z.object({ id, t: z.literal('echo-start'), jsep: Jsep }).strict(),
  z.object({ id, t: z.literal('echo-trickle'), candidate: Candidate }).strict(),
  z.object({ id, t: z.literal('echo-stop') }).strict(),
  z.object({ id, t: z.literal('device-test-result'), result: DeviceTestResult }).strict(),
  z.object({ id, t: z.literal('chat'), text: ChatText }).strict(),
  z.object({ id, t: z.literal('companion'), present: z.boolean() }).strict(),
  z.object({ id, t: z.literal('pause'), paused: z.boolean() }).strict(),
  z.object({ id, t: z.literal('first-media') }).strict(),
  z.object({ id, t: z.literal('share-start'), jsep: Jsep }).strict(),
  z.object({ id, t: z.literal('share-stop') }).strict(),
]);

export const ALLOWED_ACTIONS = [
  'hello', 'start-visit', 'join', 'publish', 'subscribe', 'answer', 'trickle', 'mute', 'leave', 'ping',
  'echo-start', 'echo-trickle', 'echo-stop', 'device-test-result', 'chat', 'companion', 'pause', 'first-media',
  'share-start', 'share-stop',
];

/** Parameters that would reach Janus features we never allow. Named in the refusal. */
const FORBIDDEN = new Set(['record', 'filename', 'rec_dir', 'room', 'secret', 'admin_key', 'pin', 'display', 'request', 'janus', 'plugin']);

export type ParseResult =
  | { ok: true; msg: ClientRequest }
  | { ok: false; id?: number; code: 'bad_request' | 'unknown_action' | 'forbidden_parameter'; message: string };

export function parseClientMessage(raw: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'bad_request', message: 'message is not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: 'bad_request', message: 'message must be a JSON object' };
  }
  const obj = data as Record<string, unknown>;
  const msgId = typeof obj.id === 'number' ? obj.id : undefined;
  const forbidden = findForbidden(obj);
  if (forbidden) {
    return { ok: false, id: msgId, code: 'forbidden_parameter', message: `parameter not allowed: ${forbidden}` };
  }
  if (typeof obj.t !== 'string' || !ALLOWED_ACTIONS.includes(obj.t)) {
    return { ok: false, id: msgId, code: 'unknown_action', message: `unknown action: ${String(obj.t).slice(0, 40)}` };
  }
  const parsed = Request.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys.join(', ') : '';
    const where = [issue.path.join('.'), keys].filter(Boolean).join(' ');
    return { ok: false, id: msgId, code: 'bad_request', message: `${where || 'message'}: ${issue.message}` };
  }
  return { ok: true, msg: parsed.data as ClientRequest };
}

function findForbidden(obj: unknown, depth = 0): string | null {
  if (depth > 4 || typeof obj !== 'object' || obj === null) return null;
  for (const [k, v] of Object.entries(obj)) {
    if (FORBIDDEN.has(k)) return k;
    const inner = findForbidden(v, depth + 1);
    if (inner) return inner;
  }
  return null;
}
