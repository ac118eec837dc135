/**
 * Signing out of a staff page: the "Uitloggen" button every staff page has, and the idle
 * sign-out for shared poli PCs (after `/staff/api/me`'s `idleSignOutMinutes` without mouse,
 * keyboard or touch; never while `busy()` says a consult runs). Both end the session on the
 * server and land on the sign-in page (`?idle=1` says why).
 */
import type { Method } from './http.js';

type Call = <T>(method: Method, path: string, body?: unknown) => Promise<T>;

async function signOut(call: Call, idle: boolean): Promise<void> {
  try {
    await call('POST', '/staff/api/logout', {});
  } catch {
    // Already gone (expired, revoked): the sign-in page is the right place either way.
  }
  location.assign(idle ? '/staff/login?idle=1' : '/staff/login');
}

/** Wires the sign-out button (shown once the page knows who is signed in). */
export function setupSignOut(button: HTMLButtonElement, call: Call): void {
  button.hidden = false;
  button.addEventListener('click', () => {
    button.disabled = true;
    void signOut(call, false);
  });
}

const ACTIVITY = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focusin'] as const;

/** Signs out after `minutes` without use (0: never). Returns a stop function. */
export function idleSignOut(minutes: number, call: Call, busy: () => boolean = () => false): () => void {
  if (!(minutes > 0)) return () => undefined;
  const limit = minutes * 60_000;
  let last = Date.now();
  const touch = (): void => {
    last = Date.now();
  };
  for (const ev of ACTIVITY) window.addEventListener(ev, touch, { passive: true, capture: true });
  const timer = window.setInterval(() => {
    if (busy()) return touch();
    if (Date.now() - last >= limit) {
      window.clearInterval(timer);
      void signOut(call, true);
    }
  }, Math.min(15_000, Math.max(500, limit / 4)));
  return () => {
    window.clearInterval(timer);
    for (const ev of ACTIVITY) window.removeEventListener(ev, touch, { capture: true });
  };
}
