/**
 * Which kind of device and browser the patient uses, from the user agent: enough to give
 * the right steps for camera permission (iOS Safari, Android Chrome, desktop) and to spot
 * browsers that cannot hold a video consult (no WebRTC; the in-app browsers of social apps
 * on iOS, which have no camera access for web pages).
 */
export type Platform = 'ios' | 'android' | 'desktop';

/** Tokens the in-app browsers of social and chat apps put in their user agent. */
const IN_APP = /FBAN|FBAV|FB_IAB|FBIOS|Instagram|LinkedInApp|\bLine\/|Twitter|Snapchat|Pinterest|TikTok|musical_ly|BytedanceWebview|GSA\/|WhatsApp|MicroMessenger|KAKAOTALK/i;

export function platformOf(ua: string, maxTouchPoints = 0): Platform {
  if (/iPhone|iPad|iPod/.test(ua)) return 'ios';
  // iPadOS 13+ says "Macintosh"; only the touch screen gives it away.
  if (/Macintosh/.test(ua) && maxTouchPoints > 1) return 'ios';
  if (/Android/.test(ua)) return 'android';
  return 'desktop';
}

export function isInAppBrowser(ua: string): boolean {
  return IN_APP.test(ua);
}

/**
 * 'insecure': the page was opened over plain http from another machine (no secure context),
 * so the browser hides the camera; that is the server's address, not the browser.
 */
export type BrowserProblem = 'in-app' | 'insecure' | 'no-webrtc' | null;

/**
 * Why this browser cannot hold the consult, or null. In-app browsers count on iOS only:
 * there WKWebView gives a web page no camera; on Android they mostly work.
 */
export function browserProblem(
  ua: string,
  maxTouchPoints: number,
  has: { peerConnection: boolean; getUserMedia: boolean; secureContext?: boolean },
): BrowserProblem {
  if (platformOf(ua, maxTouchPoints) === 'ios' && isInAppBrowser(ua)) return 'in-app';
  // Without a secure context getUserMedia is missing in every browser: say why.
  if (has.secureContext === false) return 'insecure';
  if (!has.peerConnection || !has.getUserMedia) return 'no-webrtc';
  return null;
}

/** The same, for this browser. */
export function thisBrowser(): { platform: Platform; problem: BrowserProblem } {
  const ua = navigator.userAgent;
  const touch = navigator.maxTouchPoints ?? 0;
  return {
    platform: platformOf(ua, touch),
    problem: browserProblem(ua, touch, {
      peerConnection: typeof window.RTCPeerConnection === 'function',
      getUserMedia: typeof navigator.mediaDevices?.getUserMedia === 'function',
      secureContext: window.isSecureContext,
    }),
  };
}
