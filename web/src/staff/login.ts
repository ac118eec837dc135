/** Staff sign-in (local accounts): email + password → session cookie → the console. */
import { byId } from '../lib/dom.js';
import { bindAttr, bindText, loadLang, setLang, setupLangSwitch, unbind } from '../lib/i18n.js';
import { ApiError, login, STAFF_LANG_KEY } from './api.js';

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
  bindAttr(form, 'aria-label', 'login.title');
  setLang(loadLang(STAFF_LANG_KEY) ?? 'nl');

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    problem.hidden = true;
    submit.disabled = true;
    bindText(submit, 'login.busy');
    login(email.value.trim(), password.value).then(
      () => location.assign('/staff/'),
      (err: unknown) => {
        submit.disabled = false;
        bindText(submit, 'login.submit');
        // 401 carries the server's own sentence; anything else gets ours.
        if (err instanceof ApiError && err.status === 401 && err.message) {
          unbind(problem);
          problem.textContent = err.message;
        }
        else bindText(problem, 'login.failed');
        problem.hidden = false;
        password.select();
        password.focus();
      },
    );
  });
}

main();
