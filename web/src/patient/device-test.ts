/**
 * "Test uw apparaat": camera preview with a camera picker, a microphone level meter, a test
 * tone for the speaker ("did you hear it?") and the network test through the hospital's Janus.
 * Usable before the waiting room opens, on the start screen and inside the waiting room. The
 * outcome goes to the server (`device-test-result`) for the assistants' dashboard.
 */
import type { DeviceTestResult, NetworkGrade, NetworkMeasurement } from '../../../control/src/realtime/protocol.js';
import { mediaProblemBox } from '../lib/consult-view.js';
import { announce, h, tx, videoEl } from '../lib/dom.js';
import { bindAttr, bindText, t, unbind, type Key } from '../lib/i18n.js';
import { listCameras, type LocalMedia, type MediaProblem } from '../lib/media.js';
import { gradeNetwork } from '../../../shared/network-grade.js';
import { playTones } from '../lib/tones.js';
import type { Signalling } from '../lib/signalling.js';
import { Cancelled, runNetworkTest, TEST_SECONDS, type NetworkTestRun } from './network-test.js';

export interface DeviceTestHost {
  /** Camera and microphone (asked for once, shared with the waiting room and consult). */
  media(): Promise<LocalMedia>;
  /** Ask again after a problem. */
  retryMedia(): Promise<LocalMedia>;
  /** Use another camera (the picker). */
  pickCamera(deviceId: string): Promise<LocalMedia>;
  signalling(): Signalling | null;
  /** The test was closed; the page may let go of the camera. */
  closed?(): void;
}

let last: DeviceTestResult | null = null;
let speaker: DeviceTestResult['speaker'] = 'skipped';
let network: DeviceTestResult['network'] = null;
let media: LocalMedia | null = null;

/** The last outcome (window.spkDebug.deviceTest()). */
export function lastDeviceTest(): DeviceTestResult | null {
  return last;
}

/** A finished test that found nothing wrong: camera, microphone, a usable network, sound not missed. */
export function devicePassed(r: DeviceTestResult | null = last): boolean {
  return (
    !!r &&
    r.camera === 'ok' &&
    r.microphone === 'ok' &&
    r.speaker !== 'not_heard' &&
    (r.network?.grade === 'good' || r.network?.grade === 'fair')
  );
}

function deviceState(m: LocalMedia | null, kind: 'audio' | 'video'): DeviceTestResult['camera'] {
  if (!m) return 'skipped';
  const tracks = kind === 'audio' ? m.stream?.getAudioTracks() : m.stream?.getVideoTracks();
  if (tracks && tracks.length > 0) return 'ok';
  const map: Record<MediaProblem, DeviceTestResult['camera']> = {
    denied: 'denied',
    notFound: 'missing',
    inUse: 'in_use',
    unsupported: 'failed',
    failed: 'failed',
  };
  return m.problem ? map[m.problem] : 'missing';
}

function record(sig: Signalling | null, send: boolean): void {
  last = { camera: deviceState(media, 'video'), microphone: deviceState(media, 'audio'), speaker, network };
  if (send && sig) {
    // An older server may not know this message yet; the test itself still helps the patient.
    sig.request({ t: 'device-test-result', result: last }).catch(() => undefined);
  }
}

let audioCtx: AudioContext | null = null;
function audio(): AudioContext | null {
  const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return null;
  if (!audioCtx) audioCtx = new Ctor();
  void audioCtx.resume().catch(() => undefined);
  return audioCtx;
}

const ADVICE: Record<NetworkGrade, [Key, Key]> = {
  good: ['dt.net.good', 'dt.net.goodAdvice'],
  fair: ['dt.net.fair', 'dt.net.fairAdvice'],
  poor: ['dt.net.poor', 'dt.net.poorAdvice'],
};

export function deviceTestSection(host: DeviceTestHost, opts: { startOpen?: boolean } = {}): { node: HTMLElement; close(): void } {
  const panelId = 'device-test-panel';
  const openBtn = tx('button', 'dt.open', {
    type: 'button',
    class: 'btn btn-secondary',
    'data-testid': 'device-test-open',
    'aria-expanded': 'false',
    'aria-controls': panelId,
  });
  const closeBtn = tx('button', 'dt.close', { type: 'button', class: 'btn', 'data-testid': 'device-test-close' });

  // -- camera
  const preview = videoEl({ class: 'self-video', 'data-testid': 'dt-camera-video' }, true);
  bindAttr(preview, 'aria-label', 'dt.camera.preview');
  const select = h('select', { id: 'dt-camera-select', 'data-testid': 'dt-camera-select' });
  const pick = h(
    'div',
    { class: 'field', hidden: true },
    tx('label', 'dt.camera.pick', { for: 'dt-camera-select' }),
    select,
  );
  const problemSlot = h('div', { 'data-testid': 'dt-media-problem-slot' });

  // -- microphone
  const fill = h('div', { class: 'meter-fill' });
  const meter = h('div', { class: 'meter', 'aria-hidden': 'true', 'data-testid': 'dt-mic-meter' }, fill);
  const micStatus = tx('p', 'dt.mic.body', { role: 'status', 'data-testid': 'dt-mic-status' });

  // -- speaker
  const play = tx('button', 'dt.speaker.play', { type: 'button', class: 'btn', 'data-testid': 'dt-speaker-play' });
  const yes = tx('button', 'dt.speaker.yes', { type: 'button', class: 'btn', 'data-testid': 'dt-speaker-yes' });
  const no = tx('button', 'dt.speaker.no', { type: 'button', class: 'btn', 'data-testid': 'dt-speaker-no' });
  const question = h(
    'div',
    { class: 'question', role: 'group', 'aria-labelledby': 'dt-speaker-q', hidden: true },
    tx('p', 'dt.speaker.question', { id: 'dt-speaker-q', class: 'question-q' }),
    h('div', { class: 'row' }, yes, no),
  );
  const speakerStatus = h('p', { role: 'status', 'data-testid': 'dt-speaker-status' });

  // -- network
  const netStart = tx('button', 'dt.net.start', { type: 'button', class: 'btn btn-primary', 'data-testid': 'dt-net-start' });
  const netCancel = tx('button', 'dt.net.cancel', { type: 'button', class: 'btn', 'data-testid': 'dt-net-cancel', hidden: true });
  const progress = h('progress', { max: String(TEST_SECONDS), value: '0', 'data-testid': 'dt-net-progress', hidden: true });
  bindAttr(progress, 'aria-label', 'dt.net.progressLabel');
  const seconds = h('p', { class: 'net-seconds', 'data-testid': 'dt-net-seconds', hidden: true });
  const netStatus = h('p', { role: 'status', 'data-testid': 'dt-net-status' });
  const netResult = h('div', { class: 'net-result', 'data-testid': 'dt-net-result', hidden: true });

  const section = (key: Key, ...children: Node[]): HTMLElement =>
    h('section', { class: 'dt-part' }, tx('h3', key), ...children);

  const panel = h(
    'div',
    { id: panelId, class: 'dt-panel', hidden: true, 'data-testid': 'device-test-panel' },
    problemSlot,
    section('dt.camera.title', tx('p', 'dt.camera.body'), h('figure', { class: 'dt-preview' }, preview), pick),
    section('dt.mic.title', meter, micStatus),
    section('dt.speaker.title', tx('p', 'dt.speaker.body'), play, question, speakerStatus),
    section('dt.net.title', tx('p', 'dt.net.body'), h('div', { class: 'row' }, netStart, netCancel), progress, seconds, netStatus, netResult),
    closeBtn,
  );
  const intro = h('p', { 'data-testid': 'dt-intro' });
  // Tested before (on this page): say it passed, and offer to test again.
  const updateIntro = (): void => {
    const passed = devicePassed();
    bindText(intro, passed ? 'dt.introPassed' : 'dt.intro');
    bindText(openBtn, passed ? 'dt.openAgain' : 'dt.open');
    node.dataset.passed = String(passed);
  };
  const node = h(
    'section',
    { class: 'device-test card', 'data-testid': 'device-test', 'aria-labelledby': 'dt-title' },
    tx('h2', 'dt.title', { id: 'dt-title' }),
    intro,
    openBtn,
    panel,
  );
  updateIntro();

  let meterFrame = 0;
  let source: MediaStreamAudioSourceNode | null = null;
  let run: NetworkTestRun | null = null;
  let heardFrames = 0;

  const stopMeter = (): void => {
    window.cancelAnimationFrame(meterFrame);
    meterFrame = 0;
    source?.disconnect();
    source = null;
    fill.style.width = '0%';
  };

  const startMeter = (stream: MediaStream | null): void => {
    stopMeter();
    const ctx = audio();
    if (!ctx || !stream?.getAudioTracks().length) return;
    source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    const loop = (): void => {
      analyser.getByteTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += ((v - 128) / 128) ** 2;
      const rms = Math.sqrt(sum / data.length);
      const level = Math.min(1, rms * 4);
      fill.style.width = `${Math.round(level * 100)}%`;
      if (level > 0.08 && ++heardFrames === 8) bindText(micStatus, 'dt.mic.heard');
      meterFrame = window.requestAnimationFrame(loop);
    };
    loop();
  };

  const useMedia = async (m: LocalMedia): Promise<void> => {
    media = m;
    record(null, false);
    problemSlot.textContent = '';
    if (m.problem) {
      problemSlot.append(mediaProblemBox(m.problem, () => void host.retryMedia().then(useMedia)));
    }
    preview.srcObject = m.stream;
    preview.parentElement!.hidden = !m.stream?.getVideoTracks().length;
    if (m.stream) void preview.play().catch(() => undefined);
    startMeter(m.stream);
    await fillCameras(m.stream);
  };

  const fillCameras = async (stream: MediaStream | null): Promise<void> => {
    const cams = await listCameras();
    const current = stream?.getVideoTracks()[0]?.getSettings().deviceId;
    select.textContent = '';
    cams.forEach((c, i) => {
      const opt = h('option', { value: c.deviceId, 'data-verbatim': c.label ? '' : undefined });
      if (c.label) opt.textContent = c.label;
      else bindText(opt, 'dt.camera.name', { n: i + 1 });
      if (c.deviceId === current) opt.selected = true;
      select.append(opt);
    });
    pick.hidden = cams.length < 2;
  };
  select.addEventListener('change', () => {
    void host.pickCamera(select.value).then(useMedia);
  });

  // -- speaker: a short two-note chime made here (no sound file to fetch).
  play.addEventListener('click', () => {
    const ctx = audio();
    if (ctx) {
      playTones(ctx, [[660, 0], [880, 0.45]], { lead: 0.05, peak: 0.4, attack: 0.03, decay: 0.4, stop: 0.45 });
    }
    question.hidden = false;
    speakerStatus.textContent = '';
  });
  const answer = (heard: boolean): void => {
    speaker = heard ? 'heard' : 'not_heard';
    question.hidden = true;
    bindText(speakerStatus, heard ? 'dt.speaker.ok' : 'dt.speaker.help');
    record(host.signalling(), true);
    play.focus();
  };
  yes.addEventListener('click', () => answer(true));
  no.addEventListener('click', () => answer(false));

  // -- network
  const netDone = (): void => {
    run = null;
    netCancel.hidden = true;
    progress.hidden = true;
    seconds.hidden = true;
    netStart.disabled = false;
  };
  netStart.addEventListener('click', () => {
    void (async () => {
      netResult.hidden = true;
      netStart.disabled = true;
      const m = await host.media();
      if (!media || media !== m) await useMedia(m);
      const sig = host.signalling();
      if (!m.stream || !sig) {
        bindText(netStatus, m.stream ? 'dt.net.failed' : 'dt.net.needMedia');
        netStart.disabled = false;
        return;
      }
      netCancel.hidden = false;
      progress.hidden = false;
      progress.value = 0;
      const r = runNetworkTest(sig, m.stream, {
        connecting: () => bindText(netStatus, 'dt.net.connecting'),
        tick: (left) => {
          progress.value = TEST_SECONDS - left;
          seconds.hidden = left === 0;
          bindText(seconds, 'dt.net.progress', { seconds: left });
          // The live region speaks at the start and half way, not every second.
          if (left === TEST_SECONDS || left === Math.ceil(TEST_SECONDS / 2)) bindText(netStatus, 'dt.net.progress', { seconds: left });
        },
      });
      run = r;
      try {
        const measured = await r.result;
        if (run !== r) return;
        showGrade(measured);
      } catch (err) {
        if (run !== r && !(err instanceof Cancelled)) return;
        bindText(netStatus, err instanceof Cancelled ? 'dt.net.cancelled' : 'dt.net.failed');
      } finally {
        if (run === r) netDone();
      }
    })();
  });
  netCancel.addEventListener('click', () => {
    run?.cancel();
    netStart.focus();
  });

  const showGrade = (m: NetworkMeasurement): void => {
    const grade = gradeNetwork(m);
    network = { ...m, grade };
    record(host.signalling(), true);
    const [verdict, advice] = ADVICE[grade];
    netResult.textContent = '';
    netResult.dataset.grade = grade;
    netResult.append(
      tx('p', verdict, { class: 'net-grade' }),
      tx('p', advice),
      tx('p', 'dt.net.details', { class: 'net-details' }, { rtt: m.rttMs, loss: m.lossPct, kbps: m.bitrateKbps }),
    );
    netResult.hidden = false;
    // The progress line is done: no binding may bring "Nog 5 seconden" back on the next redraw.
    unbind(netStatus);
    netStatus.textContent = '';
    unbind(seconds);
    seconds.textContent = '';
    updateIntro();
    announce(`${t(verdict)} ${t(advice)}`);
    bindText(netStart, 'dt.net.again');
  };

  const open = (): void => {
    panel.hidden = false;
    openBtn.hidden = true;
    openBtn.setAttribute('aria-expanded', 'true');
    void host.media().then(useMedia);
    panel.querySelector('h3')?.setAttribute('tabindex', '-1');
    (panel.querySelector('h3') as HTMLElement | null)?.focus();
  };
  const close = (): void => {
    run?.cancel();
    stopMeter();
    preview.srcObject = null;
    const wasOpen = !panel.hidden;
    panel.hidden = true;
    openBtn.hidden = false;
    openBtn.setAttribute('aria-expanded', 'false');
    if (wasOpen) host.closed?.();
  };
  openBtn.addEventListener('click', open);
  closeBtn.addEventListener('click', () => {
    close();
    openBtn.focus();
  });
  if (opts.startOpen) window.setTimeout(open, 0);

  return { node, close };
}
