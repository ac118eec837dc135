/**
 * The consult screen both sides share: the other side large, self-view small, and the
 * microphone / camera buttons. The page adds its own heading and its hang-up or end button.
 */
import { announce, h, tx, videoEl } from './dom.js';
import { bindAttr, bindText, t, unbind, type Key } from './i18n.js';
import type { ConsultMedia, MediaHandlers, MediaProblem } from './media.js';
import { thisBrowser, type Platform } from './platform.js';
import { errorKey, SignallingError } from './signalling.js';

export interface ConsultView {
  nodes: Node[];
  /** Give these to `new ConsultMedia(...)`. */
  handlers: MediaHandlers;
  /** Connects the buttons to a running consult (`stream` decides which can be used). */
  attach(consult: ConsultMedia, stream: MediaStream | null): void;
  /** Shows a sentence (role=alert) under the picture; `null` hides it. */
  say(key: Key | null): void;
  /** Same with a sentence from the server (already in words). */
  sayText(text: string): void;
  /** Where camera/microphone trouble is shown. */
  problemSlot: HTMLElement;
  /** The picture area (the page may lay notices over it). */
  stage: HTMLElement;
}

export interface ConsultViewOptions {
  heading: HTMLElement;
  localVideo: HTMLVideoElement;
  /** Shown while the other side is not (yet) in the picture. */
  waitingKey: Key;
  /** Hang up (patient) or end consult (staff), and anything else for the control bar. */
  buttons: HTMLButtonElement[];
  /** Return true when the page handled the problem itself (e.g. the consult has ended). */
  onProblem?(err: SignallingError): boolean;
}

export function createConsultView(o: ConsultViewOptions): ConsultView {
  const tiles = new Map<number, { tile: HTMLElement; video: HTMLVideoElement; screen: boolean }>();
  const message = tx('p', o.waitingKey, { class: 'stage-msg', 'data-testid': 'stage-message' });
  const stage = h('div', { class: 'stage' }, message);
  // Self-view inside the stage (bottom corner), so it never covers the buttons.
  const pip = h('figure', { class: 'self-view self-view-pip' }, o.localVideo);
  stage.append(pip);
  const problem = h('p', { class: 'consult-problem', role: 'alert', 'data-testid': 'problem', hidden: true });
  // Shown while the media recovers by itself (ICE restart or rebuild) after it had worked.
  const reconnecting = tx('p', 'consult.reconnectBanner', {
    class: 'reconnecting',
    role: 'status',
    'data-testid': 'reconnecting',
    hidden: true,
  });
  let everConnected = false;
  const problemSlot = h('div', { class: 'problem-slot' });
  const playAudio = tx('button', 'consult.playAudio', {
    type: 'button',
    class: 'btn btn-primary play-audio',
    'data-testid': 'play-audio',
    hidden: true,
  });
  playAudio.addEventListener('click', () => {
    playAudio.hidden = true;
    for (const { video } of tiles.values()) void video.play().catch(() => undefined);
  });
  const mute = tx('button', 'consult.micOff', { type: 'button', class: 'ctl', 'data-testid': 'mute', 'data-on': 'true', disabled: true });
  const camera = tx('button', 'consult.camOff', { type: 'button', class: 'ctl', 'data-testid': 'camera', 'data-on': 'true', disabled: true });

  const say = (key: Key | null): void => {
    if (key) bindText(problem, key);
    problem.hidden = !key;
  };

  let consult: ConsultMedia | null = null;
  const toggle = (kind: 'audio' | 'video'): void => {
    if (!consult) return;
    const audio = kind === 'audio' ? !consult.audio : consult.audio;
    const video = kind === 'video' ? !consult.video : consult.video;
    void consult.mute(audio, video);
    bindText(mute, audio ? 'consult.micOff' : 'consult.micOn');
    mute.dataset.on = String(audio);
    bindText(camera, video ? 'consult.camOff' : 'consult.camOn');
    camera.dataset.on = String(video);
    o.localVideo.classList.toggle('off', !video);
    if (kind === 'audio') announce(t(audio ? 'consult.micOn' : 'consult.micIsOff'));
    else announce(t(video ? 'consult.camOn' : 'consult.camIsOff'));
  };
  mute.addEventListener('click', () => toggle('audio'));
  camera.addEventListener('click', () => toggle('video'));

  /**
   * A shared screen (issue 18.5) is shown large, fitted whole (pinch to zoom on a phone), the
   * cameras small in a corner; without one, the cameras share the stage.
   */
  const layout = (): void => {
    let cameras = 0;
    let screens = 0;
    for (const e of tiles.values()) {
      if (e.screen) screens++;
      else e.tile.style.setProperty('--i', String(cameras++));
    }
    stage.classList.toggle('many', screens === 0 && cameras > 1);
    stage.classList.toggle('sharing', screens > 0);
  };

  const handlers: MediaHandlers = {
    remote(info, stream) {
      let entry = tiles.get(info.feed);
      if (!entry) {
        const screen = info.screen === true;
        const video = videoEl(
          { 'data-testid': screen ? 'screen-video' : 'remote-video', 'data-feed': String(info.feed), class: 'remote-video' },
          false,
        );
        // The server sends a role, never a name; say it in the page's language.
        const role = roleKey(info.role, info.label);
        bindAttr(video, 'aria-label', screen ? 'consult.screenOf' : 'consult.remoteVideo', () => ({ name: t(role) }));
        const tile = h('figure', { class: screen ? 'tile tile-screen' : 'tile' }, video, tx('figcaption', screen ? 'consult.screen' : role));
        entry = { tile, video, screen };
        tiles.set(info.feed, entry);
        stage.insertBefore(tile, screen ? stage.firstChild : pip);
        layout();
        if (screen) announce(t('consult.screenStarted'));
      }
      if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
      message.hidden = true;
      // Sound needs a user gesture in some browsers; after a reload there may not have been one.
      entry.video.play().catch(() => {
        playAudio.hidden = false;
      });
    },
    remoteGone(feed, why) {
      const entry = tiles.get(feed);
      if (entry) {
        entry.video.srcObject = null;
        entry.tile.remove();
        tiles.delete(feed);
        layout();
        if (entry.screen && why === 'left') announce(t('consult.screenStopped'));
      }
      if (tiles.size === 0) {
        bindText(message, why === 'left' ? 'consult.remoteLeft' : 'consult.reconnecting');
        message.hidden = false;
        if (why === 'left' && !entry?.screen) announce(t('consult.remoteLeft'));
      }
    },
    problem(err) {
      if (o.onProblem?.(err)) return;
      say(errorKey(err.code));
    },
    status(connected) {
      if (connected) {
        say(null);
        everConnected = true;
        reconnecting.hidden = true;
      } else if (everConnected) {
        reconnecting.hidden = false;
      }
    },
  };

  return {
    nodes: [
      o.heading,
      reconnecting,
      stage,
      playAudio,
      problem,
      problemSlot,
      h('div', { class: 'controls' }, mute, camera, ...o.buttons),
    ],
    handlers,
    attach(c, stream) {
      consult = c;
      mute.disabled = !stream?.getAudioTracks().length;
      camera.disabled = !stream?.getVideoTracks().length;
    },
    say,
    sayText(text) {
      unbind(problem);
      problem.textContent = text;
      problem.hidden = false;
    },
    problemSlot,
    stage,
  };
}

export interface ShareButtonOptions {
  /** The running consult (null: none, the click does nothing). */
  consult(): ConsultMedia | null;
  /** Button and announcements: share, stop, "you are sharing", "you no longer share". */
  keys: { share: Key; stop: Key; sharing: Key; stopped: Key };
  onProblem(err: SignallingError): void;
}

/**
 * "Scherm delen" / "Stop delen" (issue 18.5): the browser's own picker (a screen, a window or a
 * tab), sent as a second feed that the others see large. It stops on the button, on the
 * browser's own "stop sharing" (the track ends), and when the consult's media is rebuilt.
 * Hidden where the browser cannot share a screen (phones).
 */
export function screenShareButton(o: ShareButtonOptions): HTMLButtonElement {
  const button = tx('button', o.keys.share, { type: 'button', class: 'ctl', 'data-testid': 'screen-share', 'aria-pressed': 'false' });
  button.hidden = !canShareScreen();
  const ended = (): void => {
    bindText(button, o.keys.share);
    button.setAttribute('aria-pressed', 'false');
  };
  const toggle = async (): Promise<void> => {
    const c = o.consult();
    if (!c) return;
    if (c.sharing) {
      await c.stopScreen();
      announce(t(o.keys.stopped));
      return;
    }
    let track: MediaStreamTrack | undefined;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
      track = stream.getVideoTracks()[0];
    } catch {
      return; // the picker was cancelled
    }
    if (!track) return;
    // Text and images stay sharp rather than smooth.
    track.contentHint = 'detail';
    track.addEventListener('ended', () => void (o.consult() === c ? c.stopScreen() : undefined), { once: true });
    bindText(button, o.keys.stop);
    button.setAttribute('aria-pressed', 'true');
    await c.shareScreen(track, ended);
    announce(t(o.keys.sharing));
  };
  button.addEventListener('click', () => {
    button.disabled = true;
    toggle()
      .catch((err: unknown) => o.onProblem(err instanceof SignallingError ? err : new SignallingError('internal', String(err))))
      .finally(() => (button.disabled = false));
  });
  return button;
}

export function canShareScreen(): boolean {
  return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

/**
 * Camera/microphone trouble in plain words, the steps that fix it on this kind of device
 * (iOS Safari, Android Chrome, desktop browsers) as a numbered list, and "Try again".
 */
export function mediaProblemBox(problem: MediaProblem, onRetry: () => void, platform: Platform = thisBrowser().platform): HTMLElement {
  const retry = tx('button', 'media.retry', { type: 'button', class: 'btn', 'data-testid': 'media-retry' });
  retry.addEventListener('click', onRetry);
  const key: Key = `media.${problem}`;
  const steps = helpSteps(problem, platform);
  return h(
    'div',
    { class: 'problem-box', role: 'alert', 'data-testid': 'media-problem', 'data-problem': problem },
    tx('p', key),
    steps.length > 0 &&
      h(
        'div',
        { class: 'media-help', 'data-testid': 'media-help', 'data-platform': platform },
        tx('h2', 'help.title'),
        h('ol', { class: 'steps' }, ...steps.map((k) => tx('li', k))),
      ),
    retry,
  );
}

export function helpSteps(problem: MediaProblem, platform: Platform): Key[] {
  switch (problem) {
    case 'denied':
      if (platform === 'ios') return ['help.ios.1', 'help.ios.2', 'help.ios.3', 'help.ios.4'];
      if (platform === 'android') return ['help.android.1', 'help.android.2', 'help.android.3', 'help.android.4'];
      return ['help.desktop.1', 'help.desktop.2', 'help.desktop.3'];
    case 'inUse':
    case 'failed':
      return ['help.inUse.1', 'help.inUse.2', 'help.inUse.3'];
    case 'notFound':
      return ['help.notFound.1', 'help.notFound.2'];
    default:
      return [];
  }
}

function roleKey(role: string, label = ''): Key {
  // A guest's tile says what they are (interpreter, colleague, family), never a name.
  if (role === 'guest' && (label === 'interpreter' || label === 'colleague' || label === 'family')) return `role.${label}`;
  switch (role) {
    case 'clinician':
    case 'patient':
    case 'guest':
      return `role.${role}`;
    default:
      return 'role.staff';
  }
}
