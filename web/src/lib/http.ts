/**
 * JSON over fetch for the staff pages (console, dashboard, admin): the session cookie, the
 * CSRF token on every change, and a non-2xx answer as an ApiError carrying the server's
 * `{error: {code, message, field}}`. A network failure is status 0.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export function jsonClient(opts: {
  /** The CSRF token of the session (empty until known). */
  csrf: () => string;
  /** Called on 401 before the ApiError is thrown (e.g. to go to the sign-in page). */
  onUnauthorized?: () => void;
}) {
  return async function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const csrf = opts.csrf();
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
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
    if (res.status === 401) opts.onUnauthorized?.();
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      throw new ApiError(res.status, err?.message ?? res.statusText, err?.code, err?.field);
    }
    return data as T;
  };
}
