/**
 * The patient's own actions around the visit: start it (into the waiting room), chat with the
 * poli assistant (Redis only: chat.ts), and say someone is with them. The visit's rules and
 * its database writes are the consult commands' (consult/commands.ts).
 */
import { arrive, setCompanion } from '../consult/commands.js';
import { postChat } from './chat.js';
import { openVisit, RelayError, type ConnectionDeps, type Who } from './socket.js';

/** `start-visit`: into the waiting room, if it is open; this socket gets the new state at once. */
export async function startVisit(deps: ConnectionDeps, who: Who, pushState: () => Promise<unknown>) {
  if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient starts the visit');
  const r = await arrive(deps.ds, who.appointmentId, who.participantId);
  if (r.changed) await deps.hub.publish(who.appointmentId, { kind: 'changed' });
  await pushState();
  return { visitState: r.state };
}

/** `chat` from the patient (staff chat through the staff API). */
export async function patientChat(deps: ConnectionDeps, who: Who, text: string) {
  if (who.kind !== 'patient') throw new RelayError('not_allowed', 'staff chat through the staff API');
  await openVisit(deps, who);
  const message = await postChat(deps.hub.redis, deps.hub, who.appointmentId, 'patient', text);
  return { message };
}

/** `companion`: "someone is with me" (a family member, a carer), shown to staff. */
export async function companion(deps: ConnectionDeps, who: Who, present: boolean) {
  if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient says who is with them');
  const r = await setCompanion(deps.ds, who.appointmentId, present);
  if (r.changed) await deps.hub.publish(who.appointmentId, { kind: 'changed' });
  return { companion: present };
}
