/**
 * Pre-encoded media for the Janus capacity bench's load generator (./capacity-generator.ts):
 * VP8 video and Opus audio, encoded ONCE by Debian's `vpxenc` (vpx-tools) and `opusenc`
 * (opus-tools) from a synthetic source, cached under .run/bench/capacity-media/, then replayed
 * as RTP. The generator never encodes or decodes anything while it runs.
 *
 * The source is built to cost an encoder what a webcam does: a moving gradient with a block of
 * noise, so that VP8 in CBR mode fills its target bitrate (like Chrome at 640×480) instead of
 * idling at a few kbit/s on a still picture.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WIDTH = 640;
const HEIGHT = 480;
const FPS = 30;
const SECONDS = 10;
/** Payload bytes per RTP packet at most (Chrome packetizes video at about 1,200 bytes). */
export const MAX_RTP_PAYLOAD = 1188;

export interface EncodedMedia {
  /** VP8 frames in order, 30 per second; the first is a keyframe. */
  video: { data: Buffer; key: boolean }[];
  /** The same frames cut into RTP payloads once (vp8Payloads), so replaying them costs no copying. */
  videoPackets: Buffer[][];
  /** Opus packets of 20 ms each. */
  audio: Buffer[];
  videoKbps: number;
  audioKbps: number;
}

/** Packets per second one publisher sends (video + audio): what Janus forwards per consult is twice this. */
export function packetsPerSecond(media: EncodedMedia): number {
  const video = media.videoPackets.reduce((n, p) => n + p.length, 0) * (FPS / media.video.length);
  return video + 1000 / 20;
}

/** Encode (once per bitrate) and load the media. `videoKbps`: the VP8 target (700–1500 is realistic). */
export async function loadMedia(videoKbps = 1000, audioKbps = 40): Promise<EncodedMedia> {
  const dir = join(ROOT, '.run', 'bench', 'capacity-media');
  mkdirSync(dir, { recursive: true });
  const ivf = join(dir, `video-${videoKbps}k.ivf`);
  const opus = join(dir, `audio-${audioKbps}k.opus`);
  if (!existsSync(ivf)) await encodeVideo(ivf, videoKbps);
  if (!existsSync(opus)) encodeAudio(opus, dir, audioKbps);
  const video = parseIvf(readFileSync(ivf));
  const audio = parseOggOpus(readFileSync(opus));
  if (video.length < FPS || !video[0]!.key) throw new Error(`${ivf}: no usable VP8 stream`);
  if (audio.length < 50) throw new Error(`${opus}: no usable Opus stream`);
  const vBytes = video.reduce((n, f) => n + f.data.length, 0);
  const aBytes = audio.reduce((n, p) => n + p.length, 0);
  return {
    video,
    videoPackets: video.map((f) => vp8Payloads(f.data)),
    audio,
    videoKbps: Math.round((vBytes * 8 * FPS) / video.length / 1000),
    audioKbps: Math.round((aBytes * 8 * 50) / audio.length / 1000),
  };
}

function need(tool: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} not found: install the Debian package ${pkg} (scripts/lib.sh BENCH_PACKAGES)`);
  }
}

/** 640×480 I420 at 30 fps from a y4m stream on vpxenc's stdin; real-time CBR, as a browser encodes. */
async function encodeVideo(out: string, kbps: number): Promise<void> {
  need('vpxenc', 'vpx-tools');
  const tmp = `${out}.tmp`;
  const enc = spawn(
    'vpxenc',
    [
      '--codec=vp8', '--rt', '--cpu-used=8', '--end-usage=cbr', `--target-bitrate=${kbps}`,
      '--lag-in-frames=0', '--error-resilient=1', '--kf-max-dist=100000', '--undershoot-pct=5',
      '--buf-sz=1000', '--buf-initial-sz=500', '--buf-optimal-sz=600', '--threads=1', '--ivf', '--quiet',
      '-o', tmp, '-',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  enc.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const done = new Promise<number | null>((ok) => enc.on('close', ok));
  const write = (b: Buffer) => (enc.stdin.write(b) ? Promise.resolve() : new Promise<void>((ok) => enc.stdin.once('drain', ok)));
  await write(Buffer.from(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F${FPS}:1 Ip A1:1 C420jpeg\n`));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const ySize = WIDTH * HEIGHT;
  for (let f = 0; f < FPS * SECONDS; f++) {
    const frame = Buffer.alloc(6 + ySize * 1.5);
    frame.write('FRAME\n');
    const y = frame.subarray(6, 6 + ySize);
    // A gradient that drifts, a "face" of noise that wanders, and sensor noise everywhere.
    const bx = Math.round(240 + 120 * Math.sin(f / 25));
    const by = Math.round(160 + 80 * Math.cos(f / 31));
    for (let r = 0; r < HEIGHT; r++) {
      for (let c = 0; c < WIDTH; c++) {
        let v = ((c + r + f * 3) & 0xff) >> 1;
        if (c >= bx && c < bx + 160 && r >= by && r < by + 160) v = rnd();
        else v += rnd() >> 5;
        y[r * WIDTH + c] = v;
      }
    }
    frame.fill(128, 6 + ySize);
    await write(frame);
  }
  enc.stdin.end();
  const code = await done;
  if (code !== 0) throw new Error(`vpxenc failed (${code}): ${stderr.slice(-500)}`);
  renameSync(tmp, out);
}

/** 10 s of 48 kHz mono (tones and noise, like speech fills a codec) → Opus, 20 ms frames, CBR. */
function encodeAudio(out: string, dir: string, kbps: number): void {
  need('opusenc', 'opus-tools');
  const rate = 48_000;
  const n = rate * SECONDS;
  const wav = Buffer.alloc(44 + n * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + n * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(n * 2, 40);
  let seed = 777;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const t = i / rate;
    const s = 0.3 * Math.sin(2 * Math.PI * (180 + 60 * Math.sin(t * 3)) * t) + 0.1 * ((seed >>> 16) / 32768 - 1);
    wav.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), 44 + i * 2);
  }
  const src = join(dir, 'audio.wav');
  writeFileSync(src, wav);
  const tmp = `${out}.tmp`;
  execFileSync('opusenc', ['--quiet', '--hard-cbr', '--bitrate', String(kbps), '--framesize', '20', src, tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(tmp, out);
}

/** IVF: 32-byte file header, then per frame 4 bytes size (LE), 8 bytes pts, the frame. */
export function parseIvf(buf: Buffer): { data: Buffer; key: boolean }[] {
  if (buf.toString('latin1', 0, 4) !== 'DKIF') throw new Error('not an IVF file');
  const frames: { data: Buffer; key: boolean }[] = [];
  let at = buf.readUInt16LE(6);
  while (at + 12 <= buf.length) {
    const size = buf.readUInt32LE(at);
    const data = buf.subarray(at + 12, at + 12 + size);
    // VP8 frame tag: bit 0 of the first byte is 0 for a keyframe (RFC 6386 9.1).
    frames.push({ data, key: (data[0]! & 1) === 0 });
    at += 12 + size;
  }
  return frames;
}

/** Ogg pages → Opus packets (lacing values of 255 continue a packet); the two header packets skipped. */
export function parseOggOpus(buf: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let at = 0;
  while (at + 27 <= buf.length) {
    if (buf.toString('latin1', at, at + 4) !== 'OggS') throw new Error(`not an Ogg page at ${at}`);
    const segments = buf[at + 26]!;
    const table = buf.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const lace of table) {
      pending.push(buf.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    at = body;
  }
  return packets.filter((p) => !p.subarray(0, 8).equals(Buffer.from('OpusHead')) && !p.subarray(0, 8).equals(Buffer.from('OpusTags')));
}

/**
 * One VP8 frame as RTP payloads (RFC 7741): a one-byte payload descriptor, S set on the first
 * packet of the frame; the frame split into near-equal packets of at most MAX_RTP_PAYLOAD bytes.
 */
export function vp8Payloads(frame: Buffer): Buffer[] {
  const parts = Math.max(1, Math.ceil(frame.length / (MAX_RTP_PAYLOAD - 1)));
  const size = Math.ceil(frame.length / parts);
  const out: Buffer[] = [];
  for (let i = 0; i < parts; i++) {
    const chunk = frame.subarray(i * size, Math.min(frame.length, (i + 1) * size));
    const p = Buffer.allocUnsafe(chunk.length + 1);
    p[0] = i === 0 ? 0x10 : 0x00;
    chunk.copy(p, 1);
    out.push(p);
  }
  return out;
}
