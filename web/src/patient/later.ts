/**
 * The patient page's second script (/assets/patient-later.js): everything the first screen
 * does not draw — camera and consult media, signalling, the device and network test, chat,
 * rating. main.ts (inline in the page) fetches it once the first screen is on, so a phone on
 * a weak line shows "Start bezoek" without first receiving and compiling all of this.
 *
 * Built as its own bundle (web/build.mjs): the modules both scripts use (dom, i18n, time,
 * platform) are not bundled twice but taken from the first script (`window.spkShared`), so
 * there is one language, one set of translated bindings, one clock.
 */
export { createConsultView, mediaProblemBox, screenShareButton } from '../lib/consult-view.js';
export {
  ConsultMedia,
  discardPrepared,
  getCameraTrack,
  getLocalMedia,
  holdJoin,
  installDebug,
  listCameras,
  mediaProblem,
  preparePublisher,
  recoveries,
  stopStream,
  takeIceServers,
} from '../lib/media.js';
export { errorKey, sameOriginWsUrl, Signalling, SignallingError } from '../lib/signalling.js';
export { addChatMessage, chatCues, chatSection, clearChatAlert, setChatHistory } from './chat.js';
export { deviceTestSection, lastDeviceTest } from './device-test.js';
export { ratingSection } from './rating.js';
