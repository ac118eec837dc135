/**
 * The clinician console: today's video appointments (live: a Server-Sent Events feed says
 * when to re-read, with a 2 s poll behind it), admit a waiting patient, and the consult itself
 * over /staff/ws with the same media code as the patient; beside it the KNMG panel and the
 * third-party links; after it the consult report.
 */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import { createConsultView, mediaProblemBox, screenShareButton, type ConsultView } from '../lib/consult-view.js';
import { announce, byId, confirmDialog, h, tx, videoEl } from '../lib/dom.js';
import { bindAttr, bindText, lang, loadLang, onLangChange, setLang, setupLangSwitch, t } from '../lib/i18n.js';
import {
  ConsultMedia,
  discardPrepared,
  getLocalMedia,
  installDebug,
  preparePublisher,
  stopStream,
  takeIceServers,
  type LocalMedia,
  type PreparedPublisher,
} from '../lib/media.js';
import { errorKey, sameOriginWsUrl, Signalling, SignallingError } from '../lib/signalling.js';
import { formatTime } from '../lib/time.js';
import * as api from './api.js';
import { ApiError, STAFF_LANG_KEY, type TodayAppointment } from './api.js';
import { rowAction, statusText, whenText } from './status.js';
import { idleSignOut, setupSignOut } from '../lib/staff-session.js';
import { isFinal } from '../../../shared/visit-state.js';
import { knmgPanel } from './knmg.js';
import { guestPanel } from './guests.js';
import { handOverPanel } from './hand-over.js';
import { reportSections } from './report.js';

type View = 'loading' | 'list' | 'consult' | 'report' | 'error';

const REFRESH_MS = 2000;

const app = byId('app');
const connBanner = byId('conn');
const noticesBox = byId('notices');
let view: View = 'loading';
let appointments: TodayAppointment[] = [];
let refreshTimer = 0;
let tickTimer = 0;

// ---------------------------------------------------------------- views

function setView(next: View, nodes: Node[]): void {
  view = next;
  app.dataset.state = next;
  document.body.classList.toggle('in-consult', next === 'consult');
  app.textContent = '';
  app.append(...nodes);
  const heading = app.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
    announce(heading.textContent ?? '');
  }
}

function loginRedirect(err: unknown): boolean {
  if (err instanceof ApiError && err.status === 401) {
    location.replace('/staff/login');
    return true;
  }
  return false;
}

/** A server or network failure in plain words. */
function plain(err: unknown): string {
  if (err instanceof ApiError && err.status > 0 && err.status < 500 && err.message) return err.message;
  if (err instanceof SignallingError) return t(errorKey(err.code));
  return t('err.generic');
}

// ---------------------------------------------------------------- today's list

interface Row {
  tr: HTMLTableRowElement;
  status: HTMLElement;
  /** The patient's live call quality (good / fair / poor), while the consult runs. */
  quality: HTMLElement;
  name: HTMLElement;
  time: HTMLElement;
  actionCell: HTMLElement;
  action: ReturnType<typeof rowAction> | undefined;
}
const rows = new Map<string, Row>();
let tbody: HTMLTableSectionElement | null = null;
let listProblem: HTMLElement | null = null;
let listEmpty: HTMLElement | null = null;
let listLoading: HTMLElement | null = null;
/** The first answer of /staff/api/today is in (before it: "loading", never "no consultations"). */
let listLoaded = false;

function showList(notice?: string): void {
  rows.clear();
  tbody = h('tbody');
  listProblem = h('p', { class: 'problem', role: 'alert', 'data-testid': 'problem', hidden: !notice }, notice ?? '');
  listEmpty = tx('p', 'list.empty', { class: 'empty', hidden: true, 'data-testid': 'list-empty' });
  listLoading = tx('p', 'list.loading', { class: 'empty', role: 'status', hidden: listLoaded, 'data-testid': 'list-loading' });
  const th = (key: Parameters<typeof tx>[1]): HTMLElement => tx('th', key, { scope: 'col' });
  previewFigure = h('figure', { class: 'self-preview', hidden: true, 'data-testid': 'camera-preview' }, previewVideo, tx('figcaption', 'staff.preview'));
  setView('list', [
    tx('h1', 'staff.title'),
    previewFigure,
    listProblem,
    h(
      'table',
      { class: 'today', 'data-testid': 'today' },
      tx('caption', 'list.caption', { class: 'sr-only' }),
      h('thead', {}, h('tr', {}, th('col.time'), th('col.patient'), th('col.status'), th('col.action'))),
      tbody,
    ),
    listLoading,
    listEmpty,
  ]);
  drawRows();
  void refresh();
  window.clearInterval(refreshTimer);
  window.clearInterval(tickTimer);
  refreshTimer = window.setInterval(() => void refresh(), REFRESH_MS);
  // Waiting times tick every second between refreshes.
  tickTimer = window.setInterval(drawStatuses, 1000);
}

function stopList(): void {
  window.clearInterval(refreshTimer);
  window.clearInterval(tickTimer);
}

async function refresh(): Promise<void> {
  try {
    const data = await api.today();
    if (view !== 'list') return;
    appointments = data.appointments;
    listLoaded = true;
    if (listProblem && listProblem.dataset.kind === 'stale') listProblem.hidden = true;
    drawRows();
    followLaunch();
  } catch (err) {
    if (loginRedirect(err) || view !== 'list' || !listProblem) return;
    bindText(listProblem, 'list.stale');
    listProblem.dataset.kind = 'stale';
    listProblem.hidden = false;
  }
}

/**
 * Opened from the patient's record (/staff/launch → /staff/?consult=<id>): once the list is in,
 * that consult's row is marked and brought into view; a consult in progress or its report opens
 * at once, a waiting patient's "let in" gets the focus (admitting stays the clinician's click).
 */
let launchTarget: string | null = ((id) => (id && /^[0-9a-f-]{36}$/i.test(id) ? id : null))(new URLSearchParams(location.search).get('consult'));

function followLaunch(): void {
  const id = launchTarget;
  if (!id) return;
  launchTarget = null;
  history.replaceState(null, '', '/staff/');
  const a = appointments.find((x) => x.id === id);
  const row = rows.get(id);
  if (!a || !row) {
    if (listProblem) {
      bindText(listProblem, 'list.launchNotToday');
      listProblem.dataset.kind = 'launch';
      listProblem.hidden = false;
    }
    return;
  }
  row.tr.dataset.launched = 'true';
  row.tr.scrollIntoView({ block: 'center' });
  const button = row.actionCell.querySelector('button');
  const action = rowAction(a);
  if (button && (action === 'open' || action === 'report')) button.click();
  else if (button) button.focus();
  else {
    row.tr.tabIndex = -1;
    row.tr.focus();
  }
}

function drawRows(): void {
  if (!tbody || !listEmpty) return;
  const sorted = appointments.slice().sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const seen = new Set<string>();
  let position = 0;
  for (const a of sorted) {
    seen.add(a.id);
    let row = rows.get(a.id);
    if (!row) {
      const time = h('td', { class: 'time' });
      const name = h('td', { class: 'name' });
      const status = h('span', { 'data-testid': 'status' });
      const quality = h('span', { class: 'quality', 'data-testid': 'quality', hidden: true });
      const actionCell = h('td', { class: 'action' });
      const tr = h(
        'tr',
        { 'data-testid': 'appointment-row', 'data-appointment-id': a.id },
        time,
        name,
        h('td', { class: 'status' }, status, ' ', quality),
        actionCell,
      );
      row = { tr, status, quality, name, time, actionCell, action: undefined };
      rows.set(a.id, row);
    }
    // In order by time, moving only rows out of place: a moved row loses the keyboard focus
    // (it used to be re-appended on every refresh, every 2 s, taking the focus off "let in").
    const here = tbody.children[position] ?? null;
    if (here !== row.tr) tbody.insertBefore(row.tr, here);
    position++;
    row.tr.dataset.state = a.visitState;
    row.tr.dataset.phase = a.phase;
    row.tr.dataset.online = String(a.online);
    row.time.textContent = whenText(a.start, Date.now(), lang());
    if (row.name.textContent !== a.patientName) row.name.textContent = a.patientName;
    drawStatus(row, a);
    const action = rowAction(a);
    if (action !== row.action) {
      row.action = action;
      row.actionCell.textContent = '';
      if (action) row.actionCell.append(actionButton(a, action));
    }
  }
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  listEmpty.hidden = !listLoaded || appointments.length > 0;
  if (listLoading) listLoading.hidden = listLoaded;
  syncPreview();
}

// ---------------------------------------------------------------- camera preview

/**
 * While one of the clinician's own patients is waiting, the camera is on with a small
 * self-view in the list (check your picture before letting someone in), and admitting needs
 * no camera start-up. It goes off again when nobody is waiting.
 */
const previewVideo = videoEl({ class: 'self-video' }, true);
let previewFigure: HTMLElement | null = null;
let preview: Promise<LocalMedia> | null = null;

/** The KNMG and third-party panels load this long after the patient's first picture (see openConsult)… */
const SIDE_PANELS_DELAY_MS = 300;
/** …or after this long at the latest (no camera on the other side, no media at all). */
const SIDE_PANELS_MAX_WAIT_MS = 5000;

/** Resolves when a remote video in `stage` has a picture, or after `maxMs`. */
function firstPicture(stage: HTMLElement, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const look = (): void => {
      const shown = Array.from(stage.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]')).some(
        (video) => video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0,
      );
      if (shown || Date.now() - started >= maxMs) resolve();
      else window.setTimeout(look, 100);
    };
    look();
  });
}

/** A consult socket already open (and hello'd) for the patient waiting longest. */
let ready: { id: string; sig: Signalling; connected: Promise<unknown> } | null = null;

function syncReadySocket(): void {
  const next = appointments
    .filter((a) => a.mine && a.visitState === 'waiting')
    .sort((a, b) => Date.parse(a.waitingSince ?? a.start) - Date.parse(b.waitingSince ?? b.start))[0];
  if (ready && ready.id === next?.id) return;
  ready?.sig.close();
  ready = null;
  if (!next) return;
  const s = new Signalling(sameOriginWsUrl('/staff/ws'), () => ({ t: 'hello', appointmentId: next.id }));
  const connected = s.connect();
  connected.catch(() => undefined);
  ready = { id: next.id, sig: s, connected };
}

function takeSocket(id: string): { sig: Signalling; connected: Promise<unknown> } {
  if (ready?.id === id) {
    const r = ready;
    ready = null;
    return r;
  }
  const s = new Signalling(sameOriginWsUrl('/staff/ws'), () => ({ t: 'hello', appointmentId: id }));
  const connected = s.connect();
  connected.catch(() => undefined);
  return { sig: s, connected };
}

function syncPreview(): void {
  syncReadySocket();
  const someoneWaiting = appointments.some((a) => a.mine && a.visitState === 'waiting');
  if (someoneWaiting && !preview) {
    const p = getLocalMedia();
    preview = p;
    void p.then(async (m) => {
      if (preview !== p) return;
      previewVideo.srcObject = m.stream;
      if (previewFigure) previewFigure.hidden = !m.stream?.getVideoTracks().length;
      // The publisher connection too, so admitting leaves only the signalling to do.
      const pub = m.stream ? await preparePublisher(m.stream).catch(() => null) : null;
      if (preview === p && !prepared) prepared = pub;
      else discardPrepared(pub);
    });
  } else if (!someoneWaiting && preview) {
    void preview.then((m) => stopStream(m.stream));
    dropPreview();
  }
}

let prepared: PreparedPublisher | null = null;

function dropPreview(): void {
  discardPrepared(prepared);
  prepared = null;
  preview = null;
  previewVideo.srcObject = null;
  if (previewFigure) previewFigure.hidden = true;
}

/** The prepared publisher handed from the preview to the consult being opened. */
let heldPublisher: PreparedPublisher | null = null;

function takeHeldPublisher(stream: MediaStream | null): PreparedPublisher | null {
  const p = heldPublisher;
  heldPublisher = null;
  if (p && p.stream === stream) return p;
  discardPrepared(p);
  return null;
}

/** The preview's camera for the consult, if it is still live; else a fresh request. */
function takePreviewOrNew(): Promise<LocalMedia> {
  const p = preview;
  discardPrepared(heldPublisher);
  heldPublisher = prepared;
  prepared = null;
  dropPreview();
  if (!p) return getLocalMedia();
  return p.then((m) => (m.stream?.getTracks().some((tr) => tr.readyState === 'live') ? m : getLocalMedia()));
}

function drawStatus(row: Row, a: TodayAppointment): void {
  const s = statusText(a, Date.now(), lang());
  bindText(row.status, s.key, () => statusText(a, Date.now(), lang()).params ?? {});
  const grade = a.quality ?? null;
  row.quality.hidden = !grade;
  row.quality.dataset.grade = grade ?? '';
  if (grade) bindText(row.quality, `quality.${grade}`);
}

function drawStatuses(): void {
  for (const a of appointments) {
    const row = rows.get(a.id);
    if (row) drawStatus(row, a);
  }
}

function actionButton(a: TodayAppointment, action: 'admit' | 'open' | 'report'): HTMLButtonElement {
  if (action === 'report') {
    const r = tx('button', 'action.report', { type: 'button', class: 'btn', 'data-testid': 'open-report' });
    bindAttr(r, 'aria-label', 'action.reportLabel', { name: a.patientName });
    r.addEventListener('click', () => void openReport(a));
    return r;
  }
  const admit = action === 'admit';
  const b = tx('button', admit ? 'action.admit' : 'action.open', {
    type: 'button',
    class: admit ? 'btn btn-primary' : 'btn',
    'data-testid': admit ? 'admit' : 'open-consult',
  });
  bindAttr(b, 'aria-label', admit ? 'action.admitLabel' : 'action.openLabel', { name: a.patientName });
  b.addEventListener('click', () => {
    b.disabled = true;
    // On success the list is gone; on failure the button must work again.
    void openConsult(a, admit).finally(() => {
      b.disabled = false;
    });
  });
  return b;
}

// ---------------------------------------------------------------- the consult

let sig: Signalling | null = null;
let consult: ConsultMedia | null = null;
let local: LocalMedia | null = null;
let consultView: ConsultView | null = null;
let current: TodayAppointment | null = null;
const localVideo = videoEl({ 'data-testid': 'local-video', class: 'self-video' }, true);

async function openConsult(a: TodayAppointment, admitFirst: boolean): Promise<void> {
  // Admit click → first frame is what patients wait for, so everything that can run in
  // parallel does: the camera, the consult socket, the admission, and taking our place in the
  // room (the server lets the clinician in while the patient waits; the patient only after
  // admission). A failed admission closes it all again.
  const media = takePreviewOrNew();
  const { sig: s, connected } = takeSocket(a.id);
  const admitted = admitFirst ? api.admit(a.id) : Promise.resolve(undefined);
  admitted.catch(() => undefined);
  const admissionFailed = async (): Promise<boolean> => {
    try {
      await admitted;
      return false;
    } catch (err) {
      if (sig === s) closeConsult();
      else s.close();
      void media.then((m) => stopStream(m.stream));
      if (loginRedirect(err)) return true;
      showList();
      showProblemInList(plain(err));
      drawRows();
      return true;
    }
  };
  stopList();
  current = a;
  const end = tx('button', 'staff.end', { type: 'button', class: 'ctl ctl-hangup', 'data-testid': 'end-consult' });
  const back = tx('button', 'staff.back', { type: 'button', class: 'ctl', 'data-testid': 'back-to-list' });
  // Privacy pause (someone walked in): own sound and picture off at the media server; the
  // patient is told. Sent on this consult's socket: the server pauses what this socket publishes.
  const pause = tx('button', 'staff.pause', { type: 'button', class: 'ctl', 'data-testid': 'privacy-pause', 'aria-pressed': 'false' });
  let paused = false;
  pause.addEventListener('click', () => {
    const next = !paused;
    pause.disabled = true;
    s.request({ t: 'pause', paused: next })
      .then(() => {
        paused = next;
        bindText(pause, next ? 'staff.resume' : 'staff.pause');
        pause.setAttribute('aria-pressed', String(next));
        localVideo.classList.toggle('off', next);
        announce(t(next ? 'staff.paused' : 'staff.resumed'));
      })
      .catch((err) => v.handlers.problem(err instanceof SignallingError ? err : new SignallingError('internal', String(err))))
      .finally(() => (pause.disabled = false));
  });
  // Screen sharing (issue 18.5): a result, an image, an explanation as a second feed that the
  // patient sees large.
  const share = screenShareButton({
    consult: () => (sig === s ? consult : null),
    keys: { share: 'staff.share', stop: 'staff.shareStop', sharing: 'staff.sharing', stopped: 'staff.shareStopped' },
    onProblem: (err) => v.handlers.problem(err),
  });
  // Switch to phone: the video stops, the patient is told they will be called, and the call
  // goes on the callback list.
  const phone = tx('button', 'staff.phone', { type: 'button', class: 'ctl', 'data-testid': 'switch-to-phone' });
  phone.addEventListener('click', () => void switchToPhone());
  end.addEventListener('click', () => void endConsult());
  back.addEventListener('click', () => void leaveConsult());
  const v = createConsultView({
    heading: tx('h1', 'staff.consultWith', { class: 'consult-heading' }, { name: a.patientName }),
    localVideo,
    waitingKey: 'staff.remoteWaiting',
    buttons: [share, pause, phone, end, back],
    onProblem: (err) => {
      if (err.code !== 'ended' && err.code !== 'cancelled' && err.code !== 'expired') return false;
      closeConsult();
      showList(t('staff.endedByServer'));
      return true;
    },
  });
  consultView = v;
  const onSideError = (err: unknown): void => {
    if (!loginRedirect(err)) v.sayText(plain(err));
  };
  const knmg = knmgPanel(a.id, onSideError);
  const guests = guestPanel(a.id, onSideError);
  // Back to the waiting room, or a hand-over to a colleague (issue 18.2): the consult screen
  // closes here; the list shows her waiting (to let in again, or in the colleague's lane).
  const handOver = handOverPanel(
    a.id,
    (colleague) => {
      if (sig !== s) return;
      closeConsult();
      showList(colleague ? t('handOver.doneTo', { name: colleague }) : t('handOver.done'));
    },
    onSideError,
  );
  // Drawn in the next task: with the socket and the camera ready (the usual case), `join` and
  // `publish` below leave first, before the consult screen's layout (its heading takes the
  // focus, which lays the whole screen out at once) keeps this page's main thread.
  window.setTimeout(() => {
    if (sig !== s || current !== a) return;
    setView('consult', [
      h(
        'div',
        { class: 'consult-layout' },
        h('div', { class: 'consult-main' }, ...v.nodes),
        h('aside', { class: 'consult-side', 'data-testid': 'consult-side' }, knmg.node, guests.node, handOver.node),
      ),
    ]);
  }, 0);
  // The side panels wait until the admission is through and the patient's picture is on (at
  // most SIDE_PANELS_MAX_WAIT_MS): their requests and their drawing would otherwise share the
  // server and this page's main thread with the admission and the media setting up.
  void admitted
    .catch(() => undefined)
    .then(() => firstPicture(v.stage, SIDE_PANELS_MAX_WAIT_MS))
    .then(() => new Promise((r) => setTimeout(r, SIDE_PANELS_DELAY_MS)))
    .then(() => {
      if (sig !== s) return;
      void knmg.load();
      void guests.load();
      void handOver.load();
    });

  sig = s;
  s.on('connection', ({ up }) => {
    connBanner.hidden = up || view !== 'consult';
  });
  s.on('ended', () => {
    closeConsult();
    showList(t('staff.endedByServer'));
  });
  s.on('state', ({ state }) => {
    if (state.appointmentId === a.id && isFinal(state.visitState)) {
      closeConsult();
      showList(t('staff.endedByServer'));
    }
  });
  s.on('error', (m) => {
    // Signed out elsewhere, or an admin ended the session: back to the sign-in page.
    if (m.code === 'not_authenticated') {
      s.close();
      location.replace('/staff/login');
      return;
    }
    v.handlers.problem(new SignallingError(m.code, m.message));
  });
  s.on('reconnected', ({ data }) => {
    takeIceServers(data);
    // The server left the media room with the old socket (or a new process could not take our
    // handles over after a restart): back in. 'resumed': the media never stopped.
    if (consult && (data as { media?: string } | null)?.media !== 'resumed') consult.rebuild();
  });
  try {
    takeIceServers(await connected);
  } catch (err) {
    if (await admissionFailed()) return;
    if (sig === s) v.say(errorKey(err instanceof SignallingError ? err.code : 'internal'));
    return;
  }
  local = await media;
  if (sig !== s) return stopStream(local.stream);
  localVideo.srcObject = local.stream;
  if (localVideo.parentElement) localVideo.parentElement.hidden = !local.stream?.getVideoTracks().length;
  if (local.problem) v.problemSlot.append(mediaProblemBox(local.problem, () => void retryMedia()));
  const c = new ConsultMedia(s, local.stream, v.handlers, takeHeldPublisher(local.stream));
  consult = c;
  v.attach(c, local.stream);
  const started = c.start();
  if (await admissionFailed()) return;
  await started;
}

async function retryMedia(): Promise<void> {
  const m = await getLocalMedia();
  if (!consult || !consultView) return stopStream(m.stream);
  stopStream(local?.stream ?? null);
  local = m;
  localVideo.srcObject = m.stream;
  if (localVideo.parentElement) localVideo.parentElement.hidden = !m.stream?.getVideoTracks().length;
  consultView.problemSlot.textContent = '';
  if (m.problem) consultView.problemSlot.append(mediaProblemBox(m.problem, () => void retryMedia()));
  else {
    consult.setLocal(m.stream);
    consultView.attach(consult, m.stream);
    consult.rebuild();
  }
}

function showProblemInList(text: string): void {
  if (!listProblem) return;
  listProblem.textContent = text;
  listProblem.dataset.kind = 'action';
  listProblem.hidden = false;
  announce(text);
}

function closeConsult(): void {
  consult?.stop();
  consult = null;
  sig?.close();
  sig = null;
  stopStream(local?.stream ?? null);
  local = null;
  localVideo.srcObject = null;
  consultView = null;
  current = null;
  connBanner.hidden = true;
}

async function endConsult(): Promise<void> {
  const a = current;
  if (!a || !(await confirmDialog('staff.endConfirm', 'staff.endYes', 'staff.endNo'))) return;
  try {
    await api.endConsult(a.id);
  } catch (err) {
    if (loginRedirect(err)) return;
    consultView?.sayText(plain(err));
    return;
  }
  closeConsult();
  // Straight to the report: the KNMG panel can be completed there right after the consult.
  void openReport(a);
}

async function switchToPhone(): Promise<void> {
  const a = current;
  if (!a || !(await confirmDialog('staff.phoneConfirm', 'staff.phoneYes', 'staff.endNo'))) return;
  try {
    await api.switchToPhone(a.id);
  } catch (err) {
    if (loginRedirect(err)) return;
    consultView?.sayText(plain(err));
    return;
  }
  closeConsult();
  void openReport(a, 'staff.phoneDone');
}

// ---------------------------------------------------------------- the consult report

let redrawReport: (() => void) | null = null;

async function openReport(a: TodayAppointment, notice?: 'staff.phoneDone'): Promise<void> {
  stopList();
  const body = h('div', { class: 'report', 'data-testid': 'report' });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  const back = tx('button', 'report.back', { type: 'button', class: 'btn', 'data-testid': 'report-back' });
  back.addEventListener('click', () => {
    redrawReport = null;
    showList();
  });
  const onError = (err: unknown): void => {
    if (loginRedirect(err)) return;
    problem.textContent = plain(err);
    problem.hidden = false;
  };
  const knmg = knmgPanel(a.id, onError);
  let latest: api.ConsultReport | null = null;
  redrawReport = () => {
    if (!latest) return;
    body.textContent = '';
    body.append(...reportSections(latest, a.patientName));
  };
  const load = async (): Promise<void> => {
    try {
      latest = (await api.report(a.id)).report;
      body.dataset.loaded = 'true';
      redrawReport?.();
    } catch (err) {
      onError(err);
    }
  };
  // A saved panel shows in the report at once.
  knmg.node.addEventListener('submit', () => window.setTimeout(() => void load(), 300));
  setView('report', [
    tx('h1', 'report.title'),
    notice ? tx('p', notice, { class: 'notice', role: 'status', 'data-testid': 'report-notice' }) : h('span'),
    problem,
    h('div', { class: 'report-layout' }, body, h('div', { class: 'report-side' }, knmg.node)),
    back,
  ]);
  await Promise.all([load(), knmg.load()]);
}

// ---------------------------------------------------------------- live feed and notices

/**
 * The console's feed (/staff/api/console/events): re-read the list when a visit changes or a
 * call-quality grade arrives, and show an assistant's "please look" notice. EventSource
 * reconnects by itself; the 2 s poll covers the gaps.
 */
function startFeed(): void {
  if (typeof EventSource === 'undefined') return;
  const es = new EventSource('/staff/api/console/events');
  let pending = 0;
  const soon = (): void => {
    if (pending || view !== 'list') return;
    pending = window.setTimeout(() => {
      pending = 0;
      void refresh();
    }, 50);
  };
  let hellos = 0;
  es.addEventListener('hello', () => {
    document.body.dataset.feed = 'up';
    document.body.dataset.feedConnects = String(++hellos);
  });
  es.addEventListener('error', () => (document.body.dataset.feed = 'down'));
  es.addEventListener('changed', soon);
  es.addEventListener('quality', soon);
  es.addEventListener('notice', (ev) => {
    try {
      const d = JSON.parse((ev as MessageEvent<string>).data) as { appointmentId?: string };
      if (typeof d.appointmentId === 'string') void addNotice(d.appointmentId);
    } catch {
      /* not ours */
    }
  });
}

const notices = new Map<string, HTMLElement>();

async function addNotice(appointmentId: string): Promise<void> {
  let a = appointments.find((x) => x.id === appointmentId);
  if (!a) {
    await refresh().catch(() => undefined);
    a = appointments.find((x) => x.id === appointmentId);
  }
  if (!a) return;
  notices.get(appointmentId)?.remove();
  const found = a;
  const dismiss = tx('button', 'notice.dismiss', { type: 'button', class: 'btn', 'data-testid': 'notice-dismiss' });
  const el = h(
    'div',
    { class: 'notice-item', 'data-testid': 'notice', 'data-appointment-id': appointmentId },
    tx('p', 'notice.look', {}, () => ({ name: found.patientName, time: formatTime(found.start, lang()) })),
    dismiss,
  );
  dismiss.addEventListener('click', () => {
    el.remove();
    notices.delete(appointmentId);
  });
  notices.set(appointmentId, el);
  noticesBox.append(el);
  announce(t('notice.look', { name: found.patientName, time: formatTime(found.start, lang()) }));
}

/** Back to the list without ending: the consult stays open, the patient waits in it. */
async function leaveConsult(): Promise<void> {
  await consult?.leave();
  closeConsult();
  showList();
}

// ---------------------------------------------------------------- start

async function main(): Promise<void> {
  installDebug(() => view);
  setupLangSwitch(byId<HTMLButtonElement>('lang-switch'), () => STAFF_LANG_KEY);
  bindText(connBanner, 'conn.lost');
  bindText(document.querySelector('title') ?? h('title'), 'staff.title');
  setLang(loadLang(STAFF_LANG_KEY) ?? 'nl');
  onLangChange(() => redrawReport?.());
  try {
    const who = await api.me();
    api.setCsrf(who.csrfToken);
    setupSignOut(bindText(byId<HTMLButtonElement>('sign-out'), 'staff.signOut'), api.call);
    // Never in the middle of a consult: a clinician listening does not touch the mouse.
    idleSignOut(who.idleSignOutMinutes ?? 0, api.call, () => view === 'consult');
    bindText(byId('who'), 'staff.signedInAs', { name: who.staff.name });
    // Assistants work from the waiting-room dashboard; this page is the clinician's list.
    if (who.staff.role === 'assistant') {
      location.replace('/staff/dashboard');
      return;
    }
    const navDashboard = bindText(byId('nav-dashboard'), 'staff.navDashboard');
    navDashboard.hidden = who.staff.role !== 'admin';
    const navAdmin = bindText(byId('nav-admin'), 'staff.navAdmin');
    navAdmin.hidden = who.staff.role !== 'admin';
    startFeed();
  } catch (err) {
    if (loginRedirect(err)) return;
    setView('error', [tx('h1', 'error.title'), h('p', { role: 'alert' }, plain(err))]);
    return;
  }
  showList();
}

void main();
