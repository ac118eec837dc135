import { describe, expect, it } from 'vitest';
import { browserProblem } from './platform.js';

const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';

describe('browserProblem', () => {
  it('blames plain http, not the browser, when there is no secure context (no camera API then)', () => {
    expect(browserProblem(CHROME_ANDROID, 5, { peerConnection: true, getUserMedia: false, secureContext: false })).toBe('insecure');
  });

  it('keeps the browser message for browsers that really cannot', () => {
    expect(browserProblem(CHROME_ANDROID, 5, { peerConnection: false, getUserMedia: false, secureContext: true })).toBe('no-webrtc');
    expect(browserProblem(CHROME_ANDROID, 5, { peerConnection: true, getUserMedia: true, secureContext: true })).toBe(null);
  });
});
