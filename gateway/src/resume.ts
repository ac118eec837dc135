/**
 * Taking Janus sessions over from a control-plane process that stopped (an upgrade, a crash).
 *
 * Media flows between the browsers and Janus; the control plane only signals. Janus keeps a
 * session whose WebSocket went away for `reclaim_session_timeout` seconds (deploy/janus sets
 * it), with its handles and their PeerConnections untouched, so the consult goes on. The next
 * control-plane process `claim`s the session on its own connection and adopts the handles by
 * id (remembered in Redis by the relay), and nothing on the media path notices.
 *
 * janode has no claim and no way to adopt a handle; this file adds both on janode's own
 * classes (Session and the plugin Handle), registering them exactly as `connection.create()`
 * and `session.attach()` do. It depends on janode internals (`_sessions`, `_handles`), which
 * gateway.test.ts pins down.
 */
import type { JanodeConnection, JanodeHandle, JanodeSession } from 'janode';
import Janode from 'janode';

type SessionCtor = new (connection: JanodeConnection, id: number, kaIntervalSecs: number) => JanodeSession;

let sessionClass: Promise<SessionCtor> | null = null;

/** janode's Session class (not exported by the package: loaded from beside its entry file). */
function loadSessionClass(): Promise<SessionCtor> {
  sessionClass ??= import(new URL('./session.js', import.meta.resolve('janode')).href).then((m) => m.default as SessionCtor);
  return sessionClass;
}

type Internal<T> = T & { _sessions?: Map<number, unknown>; _handles?: Map<number, unknown>; sendRequest(r: object): Promise<unknown> };

/**
 * Claim session `id` on `connection`. Resolves with a janode session (keep-alives running),
 * or rejects when Janus no longer has it (restarted, or the reclaim time ran out).
 */
export async function claimSession(connection: JanodeConnection, id: number, kaIntervalSecs: number): Promise<JanodeSession> {
  const Session = await loadSessionClass();
  const conn = connection as Internal<JanodeConnection>;
  const session = new Session(connection, id, kaIntervalSecs) as Internal<JanodeSession>;
  conn._sessions!.set(id, session);
  connection.setMaxListeners(connection.getMaxListeners() + 2);
  session.once(Janode.EVENT.SESSION_DESTROYED, () => {
    conn._sessions!.delete(id);
    connection.setMaxListeners(connection.getMaxListeners() - 2);
  });
  try {
    await session.sendRequest({ janus: 'claim' });
  } catch (err) {
    // Not ours (any more): forget it without telling Janus anything.
    (session as unknown as { _signalDestroy(): void })._signalDestroy();
    throw err;
  }
  return session;
}

/** A janode handle object for handle `id`, which already exists in the claimed `session`. */
export function adoptHandle<H extends JanodeHandle>(
  session: JanodeSession,
  plugin: { Handle: new (...args: never[]) => H },
  id: number,
  fields: Record<string, unknown> = {},
): H {
  const s = session as Internal<JanodeSession>;
  const existing = s._handles!.get(id) as H | undefined;
  if (existing) return existing;
  const Handle = plugin.Handle as unknown as new (session: JanodeSession, id: number) => H;
  const handle = new Handle(session, id);
  Object.assign(handle, fields);
  s._handles!.set(id, handle);
  session.setMaxListeners(session.getMaxListeners() + 1);
  handle.once(Janode.EVENT.HANDLE_DETACHED, () => {
    s._handles!.delete(id);
    session.setMaxListeners(session.getMaxListeners() - 1);
  });
  return handle;
}
