/**
 * Staff sign-in: the hospital account (OpenID Connect, when configured) or a local account
 * (e-mail + password → session cookie). A refused SSO sign-in comes back here as
 * `?sso=<reason>` and is explained; too many wrong passwords is a 429 with its own sentence.
 */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import { byId } from '../lib/dom.js';
import { bindAttr, bindText, loadLang, setLang, setupLangSwitch, unbind, type Key } from '../lib/i18n.js';
import { ApiError, call, login, STAFF_LANG_KEY } from './api.js';

const SSO_REASONS = ['not_registered', 'inactive', 'failed', 'expired', 'unavailable', 'not_configured', 'too_many'] as const;
type SsoReason = (typeof SSO_REASONS)[number];

/** Back to a launch link from the record after signing in (only there: no open redirect). */
function launchNext(): string | null {
  const next = new URLSearchParams(location.search).get('next');
  return next && /^\/staff\/launch\?[A-Za-z0-9=&%._@~:+/-]+$/.test(next) ? next : null;
}

function main(): void {
  setupLangSwitch(byId<HTMLButtonElement>('lang-switch'), () => STAFF_LANG_KEY);
  const form = byId<HTMLFormElement>('login-form');
  const email = byId<HTMLInputElement>('email');
  const password = byId<HTMLInputElement>('password');
  const submit = byId<HTMLButtonElement>('submit');
  const problem = byId('problem');
  bindText(document.querySelector('title') ?? document.createElement('title'), 'login.title');
  bindText(byId('heading'), 'login.title');
  bindText(byId('email-label'), 'login.email');
  bindText(byId('password-label'), 'login.password');
  bindText(submit, 'login.submit');
  bindText(byId('sso-link'), 'login.sso');
  bindText(byId('or-local'), 'login.orLocal');
  bindAttr(form, 'aria-label', 'login.title');
  setLang(loadLang(STAFF_LANG_KEY) ?? 'nl');

  if (new URLSearchParams(location.search).get('idle') === '1') {
    const box = byId('sso-problem');
    bindText(box, 'login.idle');
    box.hidden = false;
  }
  const reason = new URLSearchParams(location.search).get('sso');
  if (reason && (SSO_REASONS as readonly string[]).includes(reason)) {
    const box = byId('sso-problem');
    bindText(box, `login.sso.${reason as SsoReason}` as Key);
    box.hidden = false;
  }
  call<{ sso: boolean }>('GET', '/staff/api/login-options').then(
    (o) => {
      byId('sso').hidden = !o.sso;
    },
    () => undefined,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    problem.hidden = true;
    submit.disabled = true;
    bindText(submit, 'login.busy');
    login(email.value.trim(), password.value).then(
      (r) => location.assign(launchNext() ?? (r.staff.role === 'admin' ? '/staff/admin' : r.staff.role === 'assistant' ? '/staff/dashboard' : r.staff.role === 'manager' ? '/staff/reports' : '/staff/')),
      (err: unknown) => {
        submit.disabled = false;
        bindText(submit, 'login.submit');
        // 401 carries the server's own sentence; 429 and anything else get ours.
        if (err instanceof ApiError && err.status === 401 && err.message) {
          unbind(problem);
          problem.textContent = err.message;
        } else if (err instanceof ApiError && err.status === 429) bindText(problem, 'login.tooMany');
        else bindText(problem, 'login.failed');
        problem.hidden = false;
        password.select();
        password.focus();
      },
    );
  });
}

main();
