/** The staff API on the internal listener; the session is a cookie, writes carry the CSRF token. */
import type { ConsultRecord, ConsultRecordInput } from '../../../control/src/consult/record.js';
import type { GuestJson } from '../../../control/src/consult/guests.js';
import type { presentStaff } from '../../../control/src/staff/auth.js';
import type { TodayAppointment, TodayList } from '../../../control/src/staff/routes.js';

export type { TodayAppointment };

/** Where the staff pages remember the language choice. */
export const STAFF_LANG_KEY = 'spk.lang.staff';

/** Who is signed in (GET /staff/api/me, POST /staff/api/login). */
export type Staff = ReturnType<typeof presentStaff>;

/** The KNMG panel, as sent and as stored (control/src/consult/record.ts). */
export type { ConsultRecord, ConsultRecordInput };
export type IdentityMethod = ConsultRecord['identityMethod'];

/** A third party's link (control/src/consult/guests.ts). */
export type Guest = GuestJson;
export type GuestRole = GuestJson['role'];

/** The consult report as the server makes it (types only: nothing of control/ is bundled). */
import type { ConsultReport } from '../../../control/src/consult/report.js';
import { ApiError, jsonClient } from '../lib/http.js';
export type { ConsultReport };

export { ApiError };

let csrfToken = '';

export function setCsrf(token: string): void {
  csrfToken = token;
}

/** JSON call; non-2xx becomes an ApiError with the server's `{error:{code,message}}`. */
export const call = jsonClient({ csrf: () => csrfToken });

export const me = (): Promise<{ staff: Staff; csrfToken: string; idleSignOutMinutes?: number }> => call('GET', '/staff/api/me');
export const today = (): Promise<TodayList> => call('GET', '/staff/api/today');
export const admit = (id: string): Promise<unknown> =>
  call('POST', `/staff/api/appointments/${encodeURIComponent(id)}/admit`, {});
export const endConsult = (id: string): Promise<unknown> =>
  call('POST', `/staff/api/appointments/${encodeURIComponent(id)}/end`, {});
export const login = (email: string, password: string): Promise<{ staff: Staff; csrfToken: string }> =>
  call('POST', '/staff/api/login', { email, password });

const appt = (id: string): string => `/staff/api/appointments/${encodeURIComponent(id)}`;
export const switchToPhone = (id: string): Promise<unknown> => call('POST', `${appt(id)}/phone`, {});
export const getRecord = (id: string): Promise<{ record: ConsultRecord | null }> => call('GET', `${appt(id)}/record`);
export const saveRecord = (id: string, record: ConsultRecordInput): Promise<{ record: ConsultRecord }> =>
  call('PUT', `${appt(id)}/record`, record);
export const listGuests = (id: string): Promise<{ guests: Guest[] }> => call('GET', `${appt(id)}/guests`);
export const inviteGuest = (id: string, role: GuestRole): Promise<{ guest: Guest }> => call('POST', `${appt(id)}/guests`, { role });
export const revokeGuest = (id: string, guestId: string): Promise<{ guests: Guest[] }> =>
  call('POST', `${appt(id)}/guests/${encodeURIComponent(guestId)}/revoke`, {});
export const report = (id: string): Promise<{ report: ConsultReport }> => call('GET', `${appt(id)}/report`);
/** Back to the waiting room; with `toClinician` handed over to that colleague (issue 18.2). */
export const returnToWaiting = (id: string, toClinician?: string): Promise<unknown> =>
  call('POST', `${appt(id)}/return`, toClinician ? { toClinician } : {});
export const transferTargets = (id: string): Promise<{ clinicians: Array<{ id: string; name: string }> }> =>
  call('GET', `${appt(id)}/transfer-targets`);
