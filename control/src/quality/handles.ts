/**
 * Which participant a Janus handle belongs to. Janus's event handler names handles only by
 * their numeric id; the relay knows whose handle it attached and writes it here (Redis, so the
 * process receiving Janus's events need not be the one that attached the handle). Ids only:
 * no names, no contact data.
 */
import { z } from 'zod';
import type { RedisClientType } from 'redis';

export const HandleOwner = z.object({
  appointmentId: z.string().uuid(),
  participantId: z.string().min(1).max(100),
  role: z.string().min(1).max(40),
  clinicId: z.string().uuid(),
});
export type HandleOwner = z.infer<typeof HandleOwner>;

/** Longer than any consult; refreshed whenever the participant attaches another handle. */
const HANDLE_TTL_SECONDS = 6 * 3600;
const key = (handleId: number) => `spk:janus-handle:${handleId}`;

type Redis = Pick<RedisClientType, 'multi' | 'mGet'>;

export async function rememberHandles(redis: Redis, handleIds: number[], owner: HandleOwner): Promise<void> {
  if (handleIds.length === 0) return;
  const value = JSON.stringify(HandleOwner.parse(owner));
  const m = redis.multi();
  for (const id of handleIds) m.set(key(id), value, { EX: HANDLE_TTL_SECONDS });
  await m.exec();
}

export async function handleOwners(redis: Redis, handleIds: number[]): Promise<Map<number, HandleOwner>> {
  const out = new Map<number, HandleOwner>();
  if (handleIds.length === 0) return out;
  const values = await redis.mGet(handleIds.map(key));
  values.forEach((v, i) => {
    if (!v) return;
    try {
      const parsed = HandleOwner.safeParse(JSON.parse(v));
      if (parsed.success) out.set(handleIds[i]!, parsed.data);
    } catch {
      /* not ours; ignore */
    }
  });
  return out;
}
