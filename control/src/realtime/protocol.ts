/**
 * The signalling protocol between a browser and the control plane.
 *
 * Browsers never speak the Janus API. They open one WebSocket to the control plane
 * (patients: `/ws` on the public listener; staff: `/staff/ws` on the internal listener)
 * and send only the requests below. The control plane checks each one against the
 * participant's visit state and forwards it through the gateway with parameters it sets
 * itself (room id, secret, display name). Anything else is refused with an error.
 *
 * Every client message carries a numeric `id`; the server answers it with exactly one
 * `reply` (ok) or `error` carrying the same id. Server pushes (`state`, `feed-joined`,
 * ...) carry no id.
 *
 * This file is imported (types only) by web/; keep it free of runtime imports. The visit
 * vocabulary (VisitState, TimePhase) belongs to control/src/domain/ and the network grade to
 * shared/network-grade.ts; they are re-exported here for the wire.
 */
import type { VisitState } from '../domain/visit-state.js';
import type { TimePhase } from '../domain/time-windows.js';
import type { WaitInfo } from '../domain/waiting-line.js';
import type { NetworkGrade, NetworkMeasurement } from '../../../shared/network-grade.js';

export type { VisitState, TimePhase, NetworkGrade, NetworkMeasurement };

export type Jsep = { type: 'offer' | 'answer'; sdp: string };
export type IceCandidate = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null;

/** Which peer connection a trickle candidate belongs to: our publisher, our screen share or a subscription. */
export type TrickleTarget = 'publisher' | 'screen' | { feed: number };

export type ClientRequest =
  /** First message on the socket. Patients send their link token; staff are known by cookie. */
  | {
      id: number;
      t: 'hello';
      token?: string;
      appointmentId?: string;
      /**
       * This page's own id, the same on each reconnect of one page and new for every page the
       * browser opens: only the page that made the Janus handles takes them over (hand-over.ts).
       */
      page?: string;
    }
  /** Patient: enter the waiting room (allowed only while the waiting room is open). */
  | { id: number; t: 'start-visit' }
  /**
   * Enter the media room. Allowed only for admitted participants of an open consult.
   * `publish`: publish this offer in the same step (the reply then carries Janus's answer as
   * `jsep`, as a `publish` reply would). `wait` (the patient in the waiting room, her publisher
   * prepared): the server keeps the request, sends nothing to the media server, and carries it
   * out the moment it learns the admission is committed; the reply comes then. A `leave`, or the
   * visit ending, drops a waiting join (answered with an error).
   */
  | { id: number; t: 'join'; wait?: boolean; publish?: { jsep: Jsep; audio?: boolean; video?: boolean } }
  /** Publish own camera and microphone: an SDP offer; the reply carries Janus's answer. */
  | { id: number; t: 'publish'; jsep: Jsep; audio?: boolean; video?: boolean }
  /** Receive another participant's media; the reply carries an SDP offer to answer. */
  | { id: number; t: 'subscribe'; feed: number }
  /** The browser's SDP answer to a subscription offer. */
  | { id: number; t: 'answer'; feed: number; jsep: Jsep }
  | { id: number; t: 'trickle'; target: TrickleTarget; candidate: IceCandidate }
  /** Mute / unmute own sound or picture at the media server (privacy pause = both false). */
  | { id: number; t: 'mute'; audio: boolean; video: boolean }
  /** Leave the media room (the visit itself is not ended by this). */
  | { id: number; t: 'leave' }
  | { id: number; t: 'ping' }
  // ---- device test (any time from the invitation until the appointment ends) ----
  /** Start the network test through the hospital's Janus (EchoTest): an SDP offer; reply {jsep}. */
  | { id: number; t: 'echo-start'; jsep: Jsep }
  | { id: number; t: 'echo-trickle'; candidate: IceCandidate }
  | { id: number; t: 'echo-stop' }
  /** The browser's device-test outcome, stored on the visit for staff to see. */
  | { id: number; t: 'device-test-result'; result: DeviceTestResult }
  // ---- waiting room ----
  /** Patient ⇄ poli assistant chat (text only; never written to PostgreSQL). */
  | { id: number; t: 'chat'; text: string }
  /** "Someone is with me" (a family member, a carer). */
  | { id: number; t: 'companion'; present: boolean }
  // ---- consult ----
  /** Staff only: privacy pause (own sound and picture off at Janus; the others are told). */
  | { id: number; t: 'pause'; paused: boolean }
  /** The page shows its first remote media since it joined (the admission-to-media metric). */
  | { id: number; t: 'first-media' }
  /**
   * Share a screen (issue 18.5): a video-only SDP offer; the reply carries Janus's answer as
   * `jsep`. The others get it as a feed with `screen: true`. Staff always; a patient or guest
   * only when the clinic allows it (refused with `screen_share_off`). One per participant: a
   * new share replaces the running one. Trickle its candidates with target `screen`.
   */
  | { id: number; t: 'share-start'; jsep: Jsep }
  /** Stop sharing the screen (nothing running is not an error). */
  | { id: number; t: 'share-stop' };

export interface DeviceTestResult {
  camera: 'ok' | 'denied' | 'missing' | 'in_use' | 'failed' | 'skipped';
  microphone: 'ok' | 'denied' | 'missing' | 'in_use' | 'failed' | 'skipped';
  /** The patient said they heard the test sound. */
  speaker: 'heard' | 'not_heard' | 'skipped';
  network: (NetworkMeasurement & { grade: NetworkGrade }) | null;
}

export interface ChatMessage {
  from: 'patient' | 'staff';
  text: string;
  /** ISO time, server clock. */
  at: string;
}

export type ClientRequestType = ClientRequest['t'];

export interface FeedInfo {
  /** Janus publisher id of the feed. */
  feed: number;
  /** 'patient' | 'clinician' | 'guest' */
  role: string;
  /**
   * What to show under the video (set by the server, never by the browser): the role, or for
   * a guest what they are ('interpreter' | 'colleague' | 'family'). Never a name.
   */
  label: string;
  /** The participant's shared screen (issue 18.5), not their camera: shown large. */
  screen?: boolean;
}

/** A waiting patient's place in her clinician's line (issue 18.4), owned by the domain. */
export type { WaitInfo };

export interface StateSnapshot {
  appointmentId: string;
  visitState: VisitState;
  phase: TimePhase;
  /** Server time when the snapshot was made (ISO). Browsers show countdowns from it. */
  serverTime: string;
  start: string;
  /** ISO time from which "start visit" is allowed. */
  opensAt: string;
  /** True when this participant may join the media room now. */
  mayJoin: boolean;
  /** The clinic's delay message ("the clinic is running 15 minutes late"), when set. */
  delayMessage?: string | null;
  /** The patient said someone is with them. */
  companion?: boolean;
  /** Device test allowed now (from the invitation until the appointment ends). */
  deviceTestAllowed?: boolean;
  /** How an ended consult ended: 'phone' = the clinician switched to a phone call. */
  endedReason?: 'clinician' | 'phone' | null;
  /** With endedReason 'phone': the last two digits of the number we will call ("06-…-78"). */
  phoneEnding?: string | null;
  /** A fallback call is on its way (callback list: no-show, drop, staff): "your clinician will call you". */
  callbackPending?: boolean;
  /** While waiting: place in line and estimate, when the clinic shows them (updated live). */
  wait?: WaitInfo | null;
  /**
   * The clinician she is waiting for or with (issue 18.1): a transfer to another lane changes
   * it live, and the page says "you are now waiting for …".
   */
  clinicianName?: string;
  /** Back in the waiting room after (part of) the consult (issue 18.2): the page says so. */
  waitingAgain?: boolean;
}

export type ServerMessage =
  | { t: 'reply'; id: number; data?: unknown }
  | { t: 'error'; id?: number; code: ErrorCode; message: string }
  | { t: 'state'; state: StateSnapshot }
  | { t: 'joined'; feeds: FeedInfo[]; me: number }
  | { t: 'feed-joined'; feed: FeedInfo }
  | { t: 'feed-left'; feed: number }
  /** The media server restarted or moved: drop all peer connections and join again. */
  | { t: 'renegotiate'; reason: string }
  /** The consult has ended; the link is dead from now on. 'phone': the clinician will call. */
  | { t: 'ended'; reason?: 'clinician' | 'phone' }
  /** A chat message (also our own, echoed with the server's time). */
  | { t: 'chat'; message: ChatMessage }
  /** Sent once after hello: the chat so far (kept in Redis until the consult ends). */
  | { t: 'chat-history'; messages: ChatMessage[] }
  /** The clinician paused / resumed their sound and picture (privacy pause). */
  | { t: 'peer-paused'; role: string; paused: boolean }
  /**
   * The server stopped this socket's network test: it ran into the time limit (30 s), the
   * media server went away, or the test is no longer allowed. Close the echo PeerConnection.
   */
  | { t: 'echo-ended'; reason: 'time_limit' | 'media_server' | 'not_allowed' };

/** Replies: `publish` → {jsep}; `subscribe` → {jsep, feed}; `join` → see `joined` (+ {jsep} with `publish`). */
export type ErrorCode =
  | 'bad_request'
  | 'unknown_action'
  | 'forbidden_parameter'
  | 'not_authenticated'
  | 'not_allowed'
  | 'too_early'
  | 'expired'
  | 'ended'
  | 'cancelled'
  | 'not_admitted'
  | 'not_joined'
  | 'media_unavailable'
  /** The device test is over for this appointment (it is allowed until the appointment ends). */
  | 'device_test_closed'
  /** Too many requests of this kind (network tests, chat messages); try again later. */
  | 'rate_limited'
  /** A patient's or guest's screen share, while her clinic does not allow it (the default). */
  | 'screen_share_off'
  | 'internal';
