/**
 * Short sine notes through WebAudio: the device test's speaker check and the chat's new-message
 * chime. Each note rises to `peak` in `attack` seconds, falls to silence at `decay` and stops at
 * `stop` (seconds after its own start); the first starts `lead` seconds from now.
 */
export interface ToneShape {
  lead: number;
  peak: number;
  attack: number;
  decay: number;
  stop: number;
}

export function playTones(ctx: AudioContext, notes: ReadonlyArray<readonly [hz: number, at: number]>, shape: ToneShape): void {
  const t0 = ctx.currentTime + shape.lead;
  for (const [freq, at] of notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0, t0 + at);
    gain.gain.linearRampToValueAtTime(shape.peak, t0 + at + shape.attack);
    gain.gain.linearRampToValueAtTime(0, t0 + at + shape.decay);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + at);
    osc.stop(t0 + at + shape.stop);
  }
}
