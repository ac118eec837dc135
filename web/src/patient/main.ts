/**
 * The patient page (/p/<token>): appointment, countdown, waiting room, consult, end.
 * The server holds the visit's state and pushes it; this page only draws the screen that
 * state asks for, so a reload or a dropped connection lands on the same screen again.
 */
import type { StateSnapshot } from '../../../control/src/realtime/protocol.js';
import type { ConsultView } from '../lib/consult-view.js';
import * as dom from '../lib/dom.js';
import { announce, byId, confirmDialog, h, phoneLink, tx, videoEl } from '../lib/dom.js';
import * as i18n from '../lib/i18n.js';
import { bindText, isLang, lang, loadLang, setLang, setupLangSwitch, t, type Key } from '../lib/i18n.js';
// The patient's and shared strings (they add themselves to i18n's tables).
import '../lib/strings.js';
import type { ConsultMedia, LocalMedia, PreparedPublisher } from '../lib/media.js';
import type { Signalling } from '../lib/signalling.js';
import * as time from '../lib/time.js';
import { formatDate, formatDuration, formatTime, ServerClock, wholeDays } from '../lib/time.js';
import * as platform from '../lib/platform.js';
import { thisBrowser } from '../lib/platform.js';
import { embeddedAppointment, fetchAppointment, tokenFromPath, type Appointment } from './api.js';
import type * as LaterModule from './later.js';
import { FINAL, screenFor, type Screen } from './screens.js';

// ---------------------------------------------------------------- the second script

/** What /assets/patient-later.js holds (./later.ts): everything the first screen does not draw. */
type Later = typeof LaterModule;

declare global {
  interface Window {
    /** This script's modules that the second one uses (web/build.mjs, SHARED). */
    spkShared?: Record<string, unknown>;
    /** What the second script defines when it arrives (web/build.mjs); called once spkShared is set. */
    spkLaterFactory?: () => Later;
  }
}

/** The second script once it is in; null before. */
let L: Later | null = null;
let laterPending: Promise<Later> | null = null;

/**
 * The second script, run once. The page names it (`<script id="spk-later" async>`, fetched
 * while this one runs: the server puts it after this script, see patient-page.ts); when that
 * failed or is not there, it is fetched again here.
 */
function later(): Promise<Later> {
  if (L) return Promise.resolve(L);
  laterPending ??= parsed().then(() => new Promise<Later>(runLater));
  return laterPending;
}

/** Once the parser is past the page's tags (the second script's comes after this one). */
function parsed(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (document.readyState !== 'loading') resolve();
    else document.addEventListener('DOMContentLoaded', () => resolve(), { once: true });
  });
}

function runLater(resolve: (l: Later) => void, reject: (err: Error) => void): void {
  window.spkShared = { dom, i18n, time, platform };
  const run = (): boolean => {
    if (!window.spkLaterFactory) return false;
    L = window.spkLaterFactory();
    resolve(L);
    return true;
  };
  if (run()) return;
  const named = document.getElementById('spk-later');
  // Still on its way, unless it failed (or the page's load event, which waits for it, has passed).
  const pending = named instanceof HTMLScriptElement && !named.dataset.failed && document.readyState !== 'complete';
  const script = pending ? named : document.createElement('script');
  script.addEventListener('load', () => {
    if (!run()) reject(new Error('patient-later.js did not define its factory'));
  });
  script.addEventListener('error', () => {
    laterPending = null;
    script.dataset.failed = '1';
    reject(new Error('patient-later.js did not load'));
  });
  if (script !== named) {
    script.src = named instanceof HTMLScriptElement ? named.src : '/assets/patient-later.js';
    script.async = true;
    document.head.append(script);
  }
}

/** The second script where a screen needs it and the caller knows it is in (see show()). */
function lib(): Later {
  if (!L) throw new Error('patient-later.js is not loaded yet');
  return L;
}

/**
 * `fill`'s part of a screen; before the second script is in, an empty place that it fills
 * when it comes (if that screen is still shown): the first screen does not wait for it.
 */
function laterPart(fill: (l: Later) => HTMLElement): HTMLElement {
  if (L) return fill(L);
  const box = h('div');
  void later().then(
    (l) => {
      if (box.isConnected) box.replaceWith(fill(l));
    },
    () => undefined,
  );
  return box;
}

const app = byId('app');
const connBanner = byId('conn');
/** A fallback call is on its way (no-show, drop, the assistant asked): "your clinician will call you". */
const callbackBanner = h('div', { class: 'banner', role: 'status', 'data-testid': 'callback-message', hidden: true });
connBanner.after(callbackBanner);
const clock = new ServerClock();
const token = tokenFromPath(location.pathname);
const browser = thisBrowser();

let appt: Appointment | null = null;
let snap: StateSnapshot | null = null;
let screen: Screen = 'loading';
/** The patient hung up themselves; cleared by "join again" (a reload also clears it). */
let hungUp = false;
let sig: Signalling | null = null;
let consult: ConsultMedia | null = null;
let local: LocalMedia | null = null;
let localPending: Promise<LocalMedia> | null = null;
/** Timer of the current screen (countdown); cleared when the screen changes. */
let screenTimer = 0;

/** One self-view element for waiting room and consult, so the picture never blinks. */
const localVideo = videoEl({ 'data-testid': 'local-video', class: 'self-video' }, true);

const langKey = (): string | null => (appt ? `spk.lang.${appt.appointmentId}` : null);

// ---------------------------------------------------------------- screens

/** Screens that need camera and WebRTC; an unsupported browser gets 'unsupported' instead. */
const NEEDS_WEBRTC: ReadonlySet<Screen> = new Set<Screen>(['too-early', 'ready', 'waiting', 'consult', 'left', 'guest-wait']);

/** This link is a third party's (interpreter, colleague, family), not the patient's. */
const isGuest = (): boolean => appt?.participant?.kind === 'guest';

/** Screens drawn only with the second script in (camera, consult, chat); the others fill their parts in later. */
const NEEDS_LATER: ReadonlySet<Screen> = new Set<Screen>(['waiting', 'consult', 'guest-wait', 'left']);

function show(next: Screen, force = false): void {
  if (browser.problem && NEEDS_WEBRTC.has(next)) next = 'unsupported';
  if (!L && NEEDS_LATER.has(next)) {
    // Usually in long before: only a page opened straight into these screens waits here.
    later().then(
      // What the state asks for by then (it may have moved on meanwhile).
      () => show(snap ? screenFor(snap, hungUp, isGuest()) : next, force),
      () => show('error'),
    );
    return;
  }
  if (next === screen && !force) {
    updateLive();
    // Same screen, fresher data (a moved appointment): refresh the texts in place.
    setLang(lang());
    return;
  }
  const prev = screen;
  window.clearInterval(screenTimer);
  if (next !== 'waiting') L?.clearChatAlert();
  if (prev === 'consult' && next !== 'consult') {
    consult?.stop();
    consult = null;
  }
  screen = next;
  app.dataset.state = next;
  document.body.classList.toggle('in-consult', next === 'consult');
  const nodes = render(next);
  // Into the consult before the page is drawn: with the camera already on (waiting room),
  // join and publish leave synchronously, so the clinician is not kept waiting on layout.
  if (next === 'consult') enterConsult();
  app.textContent = '';
  app.append(...nodes);
  const heading = app.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    // Move focus only once the page is in use; on first load the heading is read anyway.
    if (prev !== 'loading') heading.focus();
    announce(heading.textContent ?? '');
  }
  if (FINAL.has(next) || next === 'left' || next === 'error' || next === 'unsupported') releaseMedia();
  if (FINAL.has(next)) {
    sig?.close();
    sig = null;
    connBanner.hidden = true;
  }
  if (next === 'waiting' || next === 'guest-wait') void showSelf();
  updateLive();
}

function render(s: Screen): Node[] {
  switch (s) {
    case 'loading':
      return [tx('h1', 'loading.title')];
    case 'unknown':
      return [tx('h1', 'unknown.title'), tx('p', 'unknown.body')];
    case 'too-early':
      return tooEarly();
    case 'ready':
      return ready();
    case 'waiting':
      return waiting();
    case 'consult':
      return consultScreen();
    case 'left':
      return [
        tx('h1', 'left.title'),
        tx('p', 'left.body'),
        actionButton('left.rejoin', 'rejoin', () => {
          hungUp = false;
          if (snap) show(screenFor(snap, false, isGuest()));
        }),
        card(),
      ];
    case 'ended':
      return [tx('h1', 'ended.title'), tx('p', 'ended.body'), !isGuest() && token ? laterPart((l) => l.ratingSection(token)) : null, contact()].filter((n): n is HTMLElement => !!n);
    case 'phone':
      return [
        tx('h1', 'phone.title'),
        snap?.phoneEnding
          ? tx('p', 'phone.body', { class: 'lead', 'data-testid': 'phone-message' }, { digits: snap.phoneEnding })
          : tx('p', 'phone.bodyNoDigits', { class: 'lead', 'data-testid': 'phone-message' }),
        contact(),
      ];
    case 'guest-wait':
      return [
        tx('h1', 'guest.title'),
        tx('p', 'guest.body', { class: 'lead' }),
        h('figure', { class: 'self-view self-view-waiting' }, localVideo, tx('figcaption', 'guest.selfView')),
        h('div', { id: 'media-problem' }),
        card(),
        contact(),
      ];
    case 'unsupported':
      return unsupported();
    case 'cancelled':
      return [tx('h1', 'cancelled.title'), tx('p', 'cancelled.body'), card(), contact()];
    case 'expired':
      return [tx('h1', 'expired.title'), tx('p', 'expired.body'), contact()];
    case 'missed':
      // The no-show put her on the callback list when it did: then she is told she will be called.
      return [
        tx('h1', 'missed.title'),
        !snap?.callbackPending
          ? tx('p', 'missed.body', { class: 'lead', 'data-testid': 'missed-message' })
          : snap.phoneEnding
            ? tx('p', 'callback.body', { class: 'lead', 'data-testid': 'missed-message' }, { digits: snap.phoneEnding })
            : tx('p', 'callback.bodyNoDigits', { class: 'lead', 'data-testid': 'missed-message' }),
        card(),
        contact(),
      ];
    case 'error':
      return [
        tx('h1', 'error.title'),
        tx('p', 'error.body'),
        actionButton('error.retry', 'retry', () => location.reload()),
        contact(),
      ];
  }
}

/** The appointment in words: clinician, clinic, date and time in the hospital's zone. */
function card(): HTMLElement {
  if (!appt) return h('div');
  const a = appt;
  const when = h('p', { class: 'card-when' });
  // Date and time just after the screen is painted: the first Intl.DateTimeFormat in the
  // hospital's zone loads ICU data (50–300 ms on a slow phone) and "Start bezoek" need not wait.
  requestAnimationFrame(() =>
    setTimeout(() =>
      bindText(when, 'appt.when', () => ({
        date: formatDate(snap?.start ?? a.start, lang()),
        time: formatTime(snap?.start ?? a.start, lang()),
      })),
    ),
  );
  return h(
    'section',
    { class: 'card', 'data-testid': 'appointment' },
    tx('h2', 'appt.with', { class: 'card-title' }, { clinician: a.clinician.name }),
    h('p', { class: 'card-clinic', 'data-verbatim': '' }, a.clinic.name),
    when,
    tx('p', 'privacy', { class: 'card-note' }),
  );
}

/** "Questions? Call <clinic>: <phone>" — shown wherever the patient may be stuck. */
function contact(): HTMLElement {
  if (!appt?.clinic.helpdeskPhone) return h('div');
  return h(
    'p',
    { class: 'contact', 'data-testid': 'helpdesk' },
    tx('span', 'contact.call', {}, { clinic: appt.clinic.name }),
    ' ',
    phoneLink(appt.clinic.helpdeskPhone, { 'data-verbatim': '' }),
  );
}

function actionButton(key: Key, testid: string, onClick: () => void, extra = ''): HTMLButtonElement {
  const b = tx('button', key, { type: 'button', class: `btn btn-primary btn-big ${extra}`, 'data-testid': testid });
  b.addEventListener('click', onClick);
  return b;
}

function tips(): HTMLElement {
  return h(
    'section',
    { class: 'tips' },
    tx('h2', 'tips.title'),
    h('ul', {}, tx('li', 'tips.quiet'), tx('li', 'tips.light'), tx('li', 'tips.headset'), tx('li', 'tips.company')),
  );
}

function tooEarly(): Node[] {
  const start = (): string => snap?.start ?? appt?.start ?? '';
  const countdown = h('p', { class: 'countdown', role: 'timer', 'data-testid': 'countdown' });
  let refetchAt = 0;
  const tick = (): void => {
    if (!snap) return;
    const ms = clock.until(snap.opensAt);
    const days = wholeDays(ms);
    if (ms <= 0) {
      bindText(countdown, 'tooEarly.opening');
      // The server pushes the new phase; if that push got lost, ask once in a while.
      const now = Date.now();
      if (!refetchAt) refetchAt = now + 2000;
      if (now >= refetchAt) {
        refetchAt = now + 5000;
        void refreshState();
      }
    } else if (days >= 2) bindText(countdown, 'tooEarly.countdownDays', { days });
    else if (days === 1) bindText(countdown, 'tooEarly.countdownDay');
    else bindText(countdown, 'tooEarly.countdown', () => ({ time: formatDuration(ms) }));
  };
  tick();
  screenTimer = window.setInterval(tick, 1000);
  return [
    tx('h1', 'tooEarly.title'),
    tx('p', 'tooEarly.body', { class: 'lead' }, () => ({
      start: formatTime(start(), lang()),
      opens: formatTime(snap?.opensAt ?? start(), lang()),
    })),
    countdown,
    card(),
    deviceTest(),
    tips(),
    contact(),
  ];
}

function ready(): Node[] {
  const problem = h('p', { class: 'problem', role: 'alert', 'data-testid': 'problem', hidden: true });
  const button = actionButton('ready.start', 'start-visit', () => {
    button.disabled = true;
    bindText(button, 'ready.starting');
    problem.hidden = true;
    // Ask for camera and microphone inside the tap (iOS wants a user gesture; with the second
    // script still on its way the gesture is over, and the browser asks as it would anyway).
    void ensureLocal();
    void startVisit().catch((err: unknown) => {
      button.disabled = false;
      bindText(button, 'ready.start');
      const code = L && err instanceof L.SignallingError ? err.code : 'internal';
      bindText(problem, L ? L.errorKey(code) : 'error.body');
      problem.hidden = false;
    });
  });
  return [
    tx('h1', 'ready.title'),
    tx('p', 'ready.body', { class: 'lead' }),
    button,
    problem,
    card(),
    deviceTest(),
    tips(),
    contact(),
  ];
}

async function startVisit(): Promise<void> {
  // A tap before the second script is in waits for it and for the socket it opens.
  const l = await (socketOpened ?? later());
  if (!sig) throw new l.SignallingError('disconnected', 'no socket');
  const data = await sig.request({ t: 'start-visit' });
  applyReplyState(data);
}

function waiting(): Node[] {
  const start = (): string => snap?.start ?? appt?.start ?? '';
  delayText = h('span', { 'data-verbatim': '', 'data-testid': 'delay-text' });
  delayBox = h(
    'div',
    { class: 'delay', role: 'status', 'data-testid': 'delay-message', hidden: true },
    tx('strong', 'waiting.delay'),
    ' ',
    delayText,
  );
  lineBox = h('div', { class: 'wait-line', role: 'status', 'data-testid': 'wait-line', hidden: true });
  lineShown = '';
  waitingForBox = h('p', { class: 'waiting-for', role: 'status', 'data-testid': 'waiting-for' });
  waitingForShown = '';
  return [
    tx('h1', 'waiting.title'),
    ...(snap?.waitingAgain ? [tx('p', 'waiting.again', { class: 'notice', 'data-testid': 'waiting-again' })] : []),
    tx('p', 'waiting.ready', { class: 'lead', 'data-testid': 'waiting-ready' }),
    waitingForBox,
    lineBox,
    delayBox,
    h('figure', { class: 'self-view self-view-waiting' }, localVideo, tx('figcaption', 'waiting.selfView')),
    h('div', { id: 'media-problem' }),
    tx('p', 'waiting.time', { class: 'waiting-time' }, () => ({ time: formatTime(start(), lang()) })),
    tx('p', 'waiting.patience'),
    companionChoice(),
    lib().chatSection(() => sig),
    deviceTest(),
    contact(),
  ];
}

let delayBox: HTMLElement | null = null;
let delayText: HTMLElement | null = null;
/** "You are waiting for Dr. X", and "now waiting for" once a transfer moved her (issue 18.1). */
let waitingForBox: HTMLElement | null = null;
let waitingForShown = '';
/** The clinician a transfer moved her to while this page was open; null before any. */
let movedTo: string | null = null;

function showWaitingFor(): void {
  const name = appt?.clinician.name ?? '';
  if (!waitingForBox?.isConnected || !name) return;
  const key = `${name}/${movedTo === name}`;
  if (key === waitingForShown) return;
  const first = waitingForShown === '';
  waitingForShown = key;
  bindText(waitingForBox, movedTo === name ? 'waiting.nowFor' : 'waiting.for', { clinician: name });
  if (!first) announce(waitingForBox.textContent ?? '');
}
/** Place in line and expected wait (when the clinic shows them); `lineShown` is what it says now. */
let lineBox: HTMLElement | null = null;
let lineShown = '';

/** "You are next" / "number 3 in line" and "about 15 minutes", from the server's estimate. */
function showLine(w: StateSnapshot['wait']): void {
  if (!lineBox?.isConnected) return;
  const key = w ? `${w.position}/${w.minutes}` : '';
  if (key === lineShown) return;
  lineShown = key;
  lineBox.hidden = !w;
  lineBox.textContent = '';
  if (!w) return;
  const next = w.position === 1;
  if (next) lineBox.append(bindText(h('p', { 'data-testid': 'wait-position' }), 'line.next'));
  else if (w.position) lineBox.append(bindText(h('p', { 'data-testid': 'wait-position' }), 'line.position', { n: w.position }));
  if (w.minutes !== null && !(next && w.minutes === 0)) {
    lineBox.append(bindText(h('p', { 'data-testid': 'wait-minutes' }), w.minutes === 0 ? 'line.soon' : 'line.minutes', { n: w.minutes }));
  }
  lineBox.append(tx('p', 'line.note', { class: 'hint' }));
}
let companionBox: HTMLInputElement | null = null;

/** "Someone is with me": told to the server, which shows it to the clinician. */
function companionChoice(): HTMLElement {
  const box = h('input', { type: 'checkbox', id: 'companion', 'data-testid': 'companion' });
  box.checked = !!snap?.companion;
  companionBox = box;
  const status = h('p', { role: 'status', class: 'companion-status', 'data-testid': 'companion-status' });
  box.addEventListener('change', () => {
    const present = box.checked;
    if (!sig) {
      box.checked = !present;
      bindText(status, 'companion.failed');
      return;
    }
    sig.request({ t: 'companion', present }).then(
      () => {
        if (snap) snap = { ...snap, companion: present };
        bindText(status, present ? 'companion.on' : 'companion.off');
      },
      () => {
        box.checked = !present;
        bindText(status, 'companion.failed');
      },
    );
  });
  return h(
    'fieldset',
    { class: 'companion card' },
    tx('legend', 'companion.title'),
    h('div', { class: 'check' }, box, tx('label', 'companion.label', { for: 'companion' })),
    status,
  );
}

/** What the server may change while a screen stays: the delay message, the companion choice. */
function updateLive(): void {
  // Not in the consult: a patient who is back in the video needs no call.
  const calling = !!snap?.callbackPending && !isGuest() && !FINAL.has(screen) && screen !== 'consult';
  callbackBanner.hidden = !calling;
  if (calling) {
    if (snap?.phoneEnding) bindText(callbackBanner, 'callback.body', { digits: snap.phoneEnding });
    else bindText(callbackBanner, 'callback.bodyNoDigits');
  }
  const delay = snap?.delayMessage?.trim() ?? '';
  if (delayBox && delayText && delayBox.isConnected) {
    if (delayText.textContent !== delay) delayText.textContent = delay;
    delayBox.hidden = !delay;
  }
  if (companionBox?.isConnected && typeof snap?.companion === 'boolean') companionBox.checked = snap.companion;
  showLine(snap?.visitState === 'waiting' ? (snap.wait ?? null) : null);
  showWaitingFor();
}

// ---------------------------------------------------------------- device test

let deviceTestView: { close(): void } | null = null;

function deviceTest(): HTMLElement {
  deviceTestView?.close();
  deviceTestView = null;
  return laterPart(openDeviceTest);
}

function openDeviceTest(l: Later): HTMLElement {
  deviceTestView?.close();
  const v = l.deviceTestSection({
    media: () => ensureLocal(),
    retryMedia: () => {
      local = null;
      return ensureLocal().then((m) => {
        attachSelf(m);
        return m;
      });
    },
    pickCamera: (deviceId) => switchCamera({ deviceId }),
    signalling: () => sig,
    closed: () => {
      // Before the waiting room the camera light goes off again when the test is closed.
      if (screen === 'too-early' || screen === 'ready') releaseMedia();
    },
  });
  deviceTestView = v;
  return v.node;
}

// ---------------------------------------------------------------- unsupported browsers

function unsupported(): Node[] {
  if (browser.problem === 'insecure') {
    // Opened over http from another device (how IT tries it): the address is the problem.
    return [
      tx('h1', 'unsupported.insecureTitle'),
      tx('p', 'unsupported.insecure', { class: 'lead', 'data-testid': 'unsupported-reason', 'data-reason': 'insecure' }),
      tx('p', 'unsupported.insecureIt', { 'data-testid': 'unsupported-it' }),
      card(),
      contact(),
    ];
  }
  const p = browser.platform;
  const steps: Key[] =
    p === 'ios'
      ? ['unsupported.ios.1', 'unsupported.ios.2', 'unsupported.ios.3']
      : p === 'android'
        ? ['unsupported.android.1', 'unsupported.android.2', 'unsupported.android.3']
        : ['unsupported.desktop.1', 'unsupported.desktop.2', 'unsupported.desktop.3'];
  const link = h('input', {
    type: 'text',
    id: 'copy-link-field',
    class: 'link-field',
    readonly: true,
    value: location.href,
    'data-testid': 'copy-link-field',
    'data-verbatim': '',
  });
  const status = h('p', { role: 'status', 'data-testid': 'copy-link-status' });
  const copy = actionButton('unsupported.copy', 'copy-link', () => {
    const fallback = (): void => {
      link.focus();
      link.select();
      let ok = false;
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      bindText(status, ok ? 'unsupported.copied' : 'unsupported.selectHint');
    };
    if (navigator.clipboard?.writeText) {
      navigator.clipboard.writeText(location.href).then(() => bindText(status, 'unsupported.copied'), fallback);
    } else fallback();
  });
  return [
    tx('h1', 'unsupported.title'),
    tx('p', browser.problem === 'in-app' ? 'unsupported.inApp' : 'unsupported.noWebrtc', {
      class: 'lead',
      'data-testid': 'unsupported-reason',
      'data-reason': browser.problem ?? '',
    }),
    h('ol', { class: 'steps', 'data-testid': 'unsupported-steps' }, ...steps.map((k) => tx('li', k))),
    copy,
    status,
    h('div', { class: 'field' }, tx('label', 'unsupported.linkLabel', { for: 'copy-link-field' }), link),
    card(),
    contact(),
  ];
}

// ---------------------------------------------------------------- consult

let view: ConsultView | null = null;

function consultScreen(): Node[] {
  const hangup = tx('button', 'consult.hangup', { type: 'button', class: 'ctl ctl-hangup', 'data-testid': 'hangup' });
  hangup.addEventListener('click', () => void hangUp());
  // Front/back camera: only offered when the device has more than one camera.
  const flip = tx('button', 'consult.switchCamera', { type: 'button', class: 'ctl', 'data-testid': 'switch-camera', hidden: true });
  flip.addEventListener('click', () => {
    flip.disabled = true;
    void flipCamera().finally(() => {
      flip.disabled = false;
    });
  });
  const l = lib();
  void l.listCameras().then((cams) => {
    flip.hidden = cams.length < 2;
  });
  // Her own screen, only where the clinic allows it (the hello reply says so) and the browser can.
  shareButton = l.screenShareButton({
    consult: () => consult,
    keys: { share: 'consult.share', stop: 'consult.shareStop', sharing: 'consult.sharing', stopped: 'consult.shareStopped' },
    onProblem: (err) => view?.handlers.problem(err),
  });
  showShareButton();
  pausedNotice = tx('p', 'consult.paused', { class: 'paused-notice', role: 'status', 'data-testid': 'peer-paused', hidden: !peerPaused });
  view = l.createConsultView({
    heading: tx('h1', 'consult.title', { class: 'sr-only' }, { clinician: appt?.clinician.name ?? '' }),
    localVideo,
    waitingKey: 'consult.remoteWaiting',
    buttons: [flip, shareButton, hangup],
    onProblem: (err) => {
      if (err.code !== 'ended' && err.code !== 'cancelled' && err.code !== 'expired') return false;
      // The state push follows; ask now rather than show an error first.
      void refreshState();
      return true;
    },
  });
  view.stage.append(pausedNotice);
  return view.nodes;
}

/** Screen sharing (issue 18.5): the clinic lets patients and guests share (hello reply). */
let shareAllowed = false;
let shareButton: HTMLButtonElement | null = null;

function showShareButton(): void {
  if (shareButton) shareButton.hidden = !shareAllowed || typeof navigator.mediaDevices?.getDisplayMedia !== 'function';
}

function takeShareAllowed(data: unknown): void {
  shareAllowed = (data as { screenShare?: unknown } | null)?.screenShare === true;
  showShareButton();
}

/** The clinician's privacy pause: they stopped their sound and picture, we stay visible. */
let peerPaused = false;
let pausedNotice: HTMLElement | null = null;

function setPeerPaused(paused: boolean): void {
  if (paused === peerPaused) return;
  peerPaused = paused;
  if (pausedNotice) pausedNotice.hidden = !paused;
  document.body.classList.toggle('peer-paused', paused);
  if (screen === 'consult') announce(t(paused ? 'consult.paused' : 'consult.resumed'));
}

let facing: 'user' | 'environment' = 'user';

/** Phones: front ↔ back (facingMode). Computers: the next camera in the list. */
async function flipCamera(): Promise<void> {
  if (browser.platform === 'desktop') {
    const cams = await lib().listCameras();
    const current = local?.stream?.getVideoTracks()[0]?.getSettings().deviceId;
    const i = cams.findIndex((c) => c.deviceId === current);
    const next = cams[(i + 1) % cams.length];
    if (!next) return;
    await switchCamera({ deviceId: next.deviceId });
  } else {
    await switchCamera({ facingMode: facing === 'user' ? 'environment' : 'user' });
  }
  announce(t('consult.cameraSwitched'));
}

/**
 * Another camera for the same stream: the old track stops first (phones cannot run two
 * cameras at once), the new one replaces it in the stream, the self-view, the prepared
 * publisher and the running consult (RTCRtpSender.replaceTrack, no renegotiation).
 */
async function switchCamera(want: { deviceId?: string; facingMode?: 'user' | 'environment' }): Promise<LocalMedia> {
  const m = await ensureLocal();
  const l = lib();
  const stream = m.stream;
  if (!stream) return m;
  const old = stream.getVideoTracks()[0];
  old?.stop();
  let track: MediaStreamTrack;
  try {
    track = await l.getCameraTrack(want);
  } catch (err) {
    // Back to what worked before, if it still can.
    if (old) stream.removeTrack(old);
    try {
      const again = await l.getCameraTrack({ deviceId: old?.getSettings().deviceId });
      stream.addTrack(again);
      await consult?.replaceVideoTrack(again);
    } catch {
      // no camera at all now
    }
    return { stream, problem: l.mediaProblem(err) };
  }
  if (old) stream.removeTrack(old);
  stream.addTrack(track);
  if (want.facingMode) facing = want.facingMode;
  else facing = track.getSettings().facingMode === 'environment' ? 'environment' : 'user';
  localVideo.classList.toggle('rear', facing === 'environment');
  if (consult) await consult.replaceVideoTrack(track);
  if (prepared) {
    // Simplest to prepare again with the new track.
    l.discardPrepared(prepared);
    prepared = null;
    if (screen === 'waiting') void showSelf();
  }
  localVideo.srcObject = null;
  localVideo.srcObject = stream;
  void localVideo.play().catch(() => undefined);
  return { stream, problem: null };
}

function enterConsult(): void {
  const live = local?.stream?.getTracks().some((tr) => tr.readyState === 'live');
  if (local && live) startConsult(local);
  else void ensureLocal().then(startConsult);
}

function startConsult(media: LocalMedia): void {
  if (screen !== 'consult' || !sig || !view) return;
  const c = new (lib().ConsultMedia)(sig, media.stream, view.handlers, takePrepared(media.stream));
  consult = c;
  void c.start();
  attachSelf(media);
  view.attach(c, media.stream);
}

async function hangUp(): Promise<void> {
  if (!(await confirmDialog('consult.hangupConfirm', 'consult.hangupYes', 'consult.hangupNo'))) return;
  const c = consult;
  consult = null;
  hungUp = true;
  show('left');
  await c?.leave();
}

// ---------------------------------------------------------------- camera and microphone

/** Camera and microphone, asked for once and reused from waiting room to consult. */
function ensureLocal(): Promise<LocalMedia> {
  if (local?.stream && local.stream.getTracks().some((tr) => tr.readyState === 'live')) return Promise.resolve(local);
  if (!localPending) {
    localPending = later().then(async (l) => {
      const m = await l.getLocalMedia();
      localPending = null;
      // The page moved on to a screen without camera meanwhile: let go of it at once.
      if (FINAL.has(screen) || screen === 'left') {
        l.stopStream(m.stream);
        return { stream: null, problem: m.problem };
      }
      local = m;
      return m;
    });
  }
  return localPending;
}

async function showSelf(): Promise<void> {
  const m = await ensureLocal();
  attachSelf(m);
  // Get the publisher connection ready while waiting: on admission only signalling remains.
  const waitingScreen = (): boolean => screen === 'waiting' || screen === 'guest-wait';
  if (waitingScreen() && m.stream && !prepared) {
    const l = lib();
    const p = await l.preparePublisher(m.stream).catch(() => null);
    if (waitingScreen() && !prepared && local?.stream === p?.stream) prepared = p;
    else l.discardPrepared(p);
    holdJoin();
  }
}

/**
 * The prepared publisher's join and publish go to the server now and wait there: it sends
 * them on to the media server the moment the admission is committed, not after its state push
 * has reached this page and the page has asked (l.holdJoin). Nothing reaches Janus before.
 */
function holdJoin(): void {
  const p = prepared;
  if (screen === 'waiting' && p && sig && !isGuest()) void lib().holdJoin(sig, p, () => screen === 'waiting' && prepared === p);
}

/** The publisher made ready in the waiting room (see preparePublisher). */
let prepared: PreparedPublisher | null = null;

function takePrepared(stream: MediaStream | null): PreparedPublisher | null {
  const p = prepared;
  prepared = null;
  if (p && p.stream === stream) return p;
  L?.discardPrepared(p);
  return null;
}

function attachSelf(m: LocalMedia): void {
  if (localVideo.srcObject !== m.stream) localVideo.srcObject = m.stream;
  if (m.stream) void localVideo.play().catch(() => undefined);
  showSelfView(!!m.stream?.getVideoTracks().length);
  const slot = screen === 'consult' ? view?.problemSlot : document.getElementById('media-problem');
  if (!slot) return;
  slot.textContent = '';
  if (m.problem) slot.append(lib().mediaProblemBox(m.problem, retryMedia));
}

/** Without a camera picture the self-view frame goes, rather than stand there black. */
function showSelfView(on: boolean): void {
  const frame = localVideo.parentElement;
  if (frame) frame.hidden = !on;
}

function retryMedia(): void {
  local = null;
  void ensureLocal().then((fresh) => {
    attachSelf(fresh);
    if (screen === 'consult' && consult && fresh.stream) {
      consult.setLocal(fresh.stream);
      view?.attach(consult, fresh.stream);
      consult.rebuild();
    }
  });
}

function releaseMedia(): void {
  // Without the second script no camera was taken, nor anything prepared.
  if (!L) return;
  L.discardPrepared(prepared);
  prepared = null;
  consult?.stop();
  consult = null;
  L.stopStream(local?.stream ?? null);
  local = null;
  localVideo.srcObject = null;
}

// ---------------------------------------------------------------- state from the server

function applyState(s: StateSnapshot): void {
  // Moved to another clinician's lane (a transfer or a hand-over): the page says whom she waits
  // for now; nothing else restarts (same link, same socket, same camera).
  if (appt && s.clinicianName && s.clinicianName !== appt.clinician.name) {
    appt = { ...appt, clinician: { name: s.clinicianName } };
    movedTo = s.clinicianName;
  }
  snap = s;
  clock.sync(s.serverTime);
  show(screenFor(s, hungUp, isGuest()));
}

/** Some replies may carry a fresh snapshot (as `state` or as the snapshot itself). */
function applyReplyState(data: unknown): void {
  const d = data as { state?: StateSnapshot; visitState?: string } | null;
  if (d?.state && typeof d.state.visitState === 'string') applyState(d.state);
  else if (d && typeof d.visitState === 'string') applyState(d as StateSnapshot);
}

async function refreshState(): Promise<void> {
  if (!token || FINAL.has(screen)) return;
  const r = await fetchAppointment(token);
  if (r.ok) {
    appt = r.appointment;
    applyState(r.appointment.state);
  } else if (r.reason === 'unknown') show('unknown');
}

function connectSignalling(l: Later, t0: string): void {
  const s = new l.Signalling(l.sameOriginWsUrl('/ws'), () => ({ t: 'hello', token: t0 }));
  sig = s;
  s.on('state', (m) => applyState(m.state));
  s.on('ended', (m) => {
    if (snap) snap = { ...snap, visitState: 'ended', mayJoin: false, endedReason: m.reason ?? snap.endedReason ?? null };
    show(m.reason === 'phone' && !isGuest() ? 'phone' : 'ended');
  });
  s.on('error', (m) => {
    if (m.code === 'ended' || m.code === 'cancelled' || m.code === 'expired') show(m.code);
    else if (m.code === 'not_authenticated') show('unknown');
    else if (screen === 'consult') view?.handlers.problem(new l.SignallingError(m.code, m.message));
  });
  s.on('connection', ({ up }) => {
    connBanner.hidden = up || FINAL.has(screen);
  });
  s.on('reconnected', ({ data }) => {
    l.takeIceServers(data);
    takeShareAllowed(data);
    applyReplyState(data);
    // The server left the media room with the old socket: back in, without a new admission.
    // 'resumed' (the control plane restarted and took our handles over): the media never stopped.
    if (screen === 'consult' && consult && (data as { media?: string } | null)?.media !== 'resumed') consult.rebuild(false);
    // A join held by the old socket went with it.
    holdJoin();
  });
  s.on('chat-history', (m) => l.setChatHistory(m.messages));
  s.on('chat', (m) => l.addChatMessage(m.message));
  s.on('peer-paused', (m) => {
    if (m.role !== 'patient') setPeerPaused(m.paused);
  });
  s.connect().then(
    (data) => {
      l.takeIceServers(data);
      takeShareAllowed(data);
      applyReplyState(data);
    },
    () => undefined, // a refused hello is handled by the 'error' listener
  );
}

// ---------------------------------------------------------------- start

/**
 * Back from a locked phone or another app: the socket checks itself (signalling.ts); the
 * camera may have been stopped by the system (iOS does), so take it again where it is shown.
 */
function onVisible(): void {
  if (document.visibilityState !== 'visible') return;
  const video = local?.stream?.getVideoTracks()[0];
  if (L && local?.stream && video?.readyState === 'ended' && (screen === 'waiting' || screen === 'consult')) {
    L.stopStream(local.stream);
    local = null;
    L.discardPrepared(prepared);
    prepared = null;
    if (screen === 'waiting') void showSelf();
    else retryMedia();
  }
}

async function main(): Promise<void> {
  document.addEventListener('visibilitychange', onVisible);
  setupLangSwitch(byId<HTMLButtonElement>('lang-switch'), langKey);
  bindText(connBanner, 'conn.lost');
  bindText(document.querySelector('title') ?? h('title'), 'patient.title');
  setLang(lang());
  if (!token) return show('unknown');
  // Usually the appointment came with the page; otherwise (an older server, a refused lookup) ask.
  const r = embeddedAppointment() ?? (await fetchAppointment(token));
  if (!r.ok) return show(r.reason === 'unknown' ? 'unknown' : 'error');
  appt = r.appointment;
  const key = langKey();
  const chosen = (key && loadLang(key)) || (isLang(appt.language) ? appt.language : 'nl');
  setLang(chosen);
  applyState(appt.state);
  // The first screen is drawn (it is painted when this task ends); now the rest, and the socket.
  const t0 = token;
  socketOpened = later().then((l) => {
    l.installDebug(() => screen, { deviceTest: l.lastDeviceTest, recoveries: () => ({ ...l.recoveries }), chatCues: l.chatCues });
    if (!FINAL.has(screen) && screen !== 'unsupported') connectSignalling(l, t0);
    return l;
  });
  await socketOpened.catch(() => show('error'));
}

/** The second script in and the socket opening (set once the first screen is drawn). */
let socketOpened: Promise<Later> | null = null;

void main();
