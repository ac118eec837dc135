/**
 * The gateway's placement store in Redis (gateway/src/types.ts `PlacementStore`): which Janus
 * server each room is pinned to, and which servers an operator marked draining. Every
 * control-plane process reads and writes the same keys, so they place a room alike and all
 * honour a drain. The CLI (`janus drain NAME`) writes the draining mark here too.
 */
import type { RedisClientType } from 'redis';
import type { PlacementStore } from '../../../gateway/src/types.js';

const pinKey = (roomId: number) => `spk:janus-room:${roomId}`;
export const DRAINING_KEY = 'spk:janus-draining';
/** A pin outlives any consult (rooms are destroyed, and unpinned, when the consult ends). */
const PIN_TTL_SECONDS = 24 * 3600;

/**
 * Pin KEYS[1] to ARGV[1] unless it is pinned already to a server other than those in ARGV[3..]
 * (the caller knows they are down). Returns the server pinned now.
 */
const PIN = `
local cur = redis.call('GET', KEYS[1])
local replace = cur == false
if not replace then
  for i = 3, #ARGV do if cur == ARGV[i] then replace = true end end
end
if replace then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return ARGV[1]
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return cur
`;

type Redis = Pick<RedisClientType, 'eval' | 'del' | 'sMembers' | 'sAdd' | 'sRem'>;

export function redisPlacements(redis: Redis): PlacementStore {
  return {
    async pin(roomId, server, replace) {
      const res = await redis.eval(PIN, { keys: [pinKey(roomId)], arguments: [server, String(PIN_TTL_SECONDS), ...replace] });
      return String(res);
    },
    async unpin(roomId) {
      await redis.del(pinKey(roomId));
    },
    draining: () => redis.sMembers(DRAINING_KEY),
    async setDraining(server, draining) {
      if (draining) await redis.sAdd(DRAINING_KEY, server);
      else await redis.sRem(DRAINING_KEY, server);
    },
  };
}

/**
 * The operator's drain/undrain from the command line (`janus drain NAME`): the same Redis mark
 * the gateway's setDraining writes; every control-plane process picks it up within a health
 * check (3 s). `names`: the configured servers (JANUS_URL order: janus-1, janus-2, …).
 */
export async function setDrainingMark(redis: Redis, names: string[], server: string, draining: boolean): Promise<void> {
  if (!names.includes(server)) throw new Error(`no Janus server named ${server}; configured: ${names.join(', ')}`);
  await redisPlacements(redis).setDraining(server, draining);
}
