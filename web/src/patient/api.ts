/** The patient API: one call, authorised by the link token. */
import type { StateSnapshot } from '../../../control/src/realtime/protocol.js';

export interface Appointment {
  appointmentId: string;
  clinic: { name: string; helpdeskPhone: string };
  clinician: { name: string };
  start: string;
  durationMinutes: number;
  language: string;
  state: StateSnapshot;
  /** Whose link this is: the patient's, or a third party's ('guest'). */
  participant?: { kind: 'patient' | 'guest'; guestRole: string | null };
}

export type AppointmentResult =
  | { ok: true; appointment: Appointment }
  | { ok: false; reason: 'unknown' | 'failed' };

/** The token from `/p/<token>` (anything after it, such as a trailing slash, is ignored). */
export function tokenFromPath(pathname: string): string | null {
  const m = /^\/p\/([^/?#]+)/.exec(pathname);
  if (!m || !m[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

/** A body from the server is an appointment only if it has what the page needs. */
function asAppointment(v: unknown): Appointment | null {
  const a = v as Appointment | null;
  return a && typeof a.appointmentId === 'string' && a.state ? a : null;
}

/**
 * The appointment the server put into the page (`<script type="application/json"
 * id="spk-appointment">`): no round trip before the first screen. Null when it is not there
 * (then ask the API).
 */
export function embeddedAppointment(): AppointmentResult | null {
  const el = document.getElementById('spk-appointment');
  if (!el?.textContent) return null;
  el.remove();
  try {
    const v = JSON.parse(el.textContent) as unknown;
    if ((v as { unknown?: boolean } | null)?.unknown === true) return { ok: false, reason: 'unknown' };
    const appointment = asAppointment(v);
    return appointment ? { ok: true, appointment } : null;
  } catch {
    return null;
  }
}

export async function fetchAppointment(token: string): Promise<AppointmentResult> {
  let res: Response;
  try {
    res = await fetch('/api/patient/appointment', {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    return { ok: false, reason: 'failed' };
  }
  // 404 unknown_link; 401/403 treated the same: the page says only "this link is not valid".
  if (res.status === 404 || res.status === 401 || res.status === 403) return { ok: false, reason: 'unknown' };
  if (!res.ok) return { ok: false, reason: 'failed' };
  try {
    const appointment = asAppointment(await res.json());
    return appointment ? { ok: true, appointment } : { ok: false, reason: 'failed' };
  } catch {
    return { ok: false, reason: 'failed' };
  }
}
