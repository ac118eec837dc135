/** The staff API on the internal listener; the session is a cookie, writes carry the CSRF token. */
import type { TimePhase, VisitState } from '../../../control/src/realtime/protocol.js';

/** Where the staff pages remember the language choice. */
export const STAFF_LANG_KEY = 'spk.lang.staff';

export interface Staff {
  id: string;
  name: string;
  role: string;
}

export interface TodayAppointment {
  id: string;
  start: string;
  durationMinutes: number;
  patientName: string;
  visitState: VisitState;
  phase: TimePhase;
  waitingSince: string | null;
  online: boolean;
  /** The signed-in clinician's own appointment (not a colleague's). */
  mine?: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';

export function setCsrf(token: string): void {
  csrfToken = token;
}

/** JSON call; non-2xx becomes an ApiError with the server's `{error:{code,message}}`. */
export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network');
  }
  let data: unknown = null;
  try {
    data = res.status === 204 ? null : await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.message ?? res.statusText, err?.code);
  }
  return data as T;
}

export const me = (): Promise<{ staff: Staff; csrfToken: string }> => call('GET', '/staff/api/me');
export const today = (): Promise<{ appointments: TodayAppointment[] }> => call('GET', '/staff/api/today');
export const admit = (id: string): Promise<unknown> =>
  call('POST', `/staff/api/appointments/${encodeURIComponent(id)}/admit`, {});
export const endConsult = (id: string): Promise<unknown> =>
  call('POST', `/staff/api/appointments/${encodeURIComponent(id)}/end`, {});
export const login = (email: string, password: string): Promise<{ staff: Staff; csrfToken: string }> =>
  call('POST', '/staff/api/login', { email, password });
