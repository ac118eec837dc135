/** Small, pure checks on patient data that several inputs share. */

/**
 * Dutch or international phone numbers to E.164: "06-12345678" → "+31612345678",
 * "088 123 45 67" → "+31881234567", "0031 6 1234 5678" / "+31 (0)6 12345678" → "+31612345678".
 * Returns null for anything else.
 */
export function normalisePhone(raw: string): string | null {
  let s = raw.trim().replace(/\(0\)/g, '').replace(/[\s().\-\/]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  if (/^0[1-9]\d{8}$/.test(s)) return `+31${s.slice(1)}`;
  if (/^\+[1-9]\d{7,14}$/.test(s)) {
    if (s.startsWith('+31') && s.length !== 12) return null; // Dutch numbers: 9 digits after +31
    return s;
  }
  return null;
}

/** "…12" → last digits only, for "your clinician will call you on 06-…-12". */
export function phoneTail(phone: string, digits = 2): string {
  return phone.slice(-digits);
}

/** A real calendar date in YYYY-MM-DD (no 2023-02-30). */
export function isRealDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string, now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

const PARTICLES = new Set(['de', 'der', 'den', 'van', 'von', 'het', 'ten', 'ter', "'t", 'te', 'la', 'le', 'du', 'op', 'in']);
const TITLES = /^(mevrouw|meneer|mevr|mw|dhr|mr|mrs|ms|dr|prof|ir|drs)\.?$/i;

/**
 * Initials for clinics that show only those, the same on every list (dashboard card, call-back
 * list): "Mevrouw J. de Vries" → "J.V." — titles and particles dropped.
 */
export function initialsOf(name: string): string {
  const letters = name
    .split(/\s+/)
    .filter((w) => w && !TITLES.test(w) && !PARTICLES.has(w.toLowerCase()))
    .map((w) => w.replace(/^[^\p{L}]+/u, '').charAt(0).toUpperCase())
    .filter(Boolean);
  return letters.length ? `${letters.join('.')}.` : '?';
}
