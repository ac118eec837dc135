/**
 * The arrival cue: two short soft tones made with WebAudio (no sound file to download).
 * Browsers allow audio only after a user gesture, so unlockAudio() runs from the
 * "turn on sound" button; before that the cue is silent (the highlight and the live region
 * still tell).
 */
let ctx: AudioContext | null = null;

export function unlockAudio(): void {
  try {
    ctx ??= new AudioContext();
    void ctx.resume();
  } catch {
    ctx = null;
  }
}

/** Plays the cue; false when audio is not unlocked (yet). */
export function playArrivalTone(): boolean {
  if (!ctx) return false;
  const now = ctx.currentTime;
  for (const [offset, freq] of [[0, 660], [0.18, 880]] as const) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + offset);
    osc.stop(now + offset + 0.17);
  }
  return true;
}
