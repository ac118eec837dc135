/**
 * Short-lived TURN credentials for browsers behind strict firewalls, in the form coturn's
 * `use-auth-secret` checks (the "REST API for access to TURN services" draft,
 * draft-uberti-behave-turn-rest-00): the user name is `<expiry unix time>:<tag>` and the
 * password is base64(HMAC-SHA1(shared secret, user name)). The control plane and coturn share
 * the secret; nothing is stored. The tag is opaque (a hash of the participant id), so the TURN
 * server's logs carry no names.
 */
import { createHash, createHmac } from 'node:crypto';

export interface TurnConfig {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

export function turnIceServers(turn: TurnConfig | null, participantId: string, nowMs = Date.now()): IceServer[] {
  if (!turn) return [];
  const expires = Math.floor(nowMs / 1000) + turn.ttlSeconds;
  const tag = createHash('sha256').update(`spreekkamer-turn:${participantId}`).digest('hex').slice(0, 16);
  const username = `${expires}:${tag}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return [{ urls: turn.urls, username, credential }];
}
