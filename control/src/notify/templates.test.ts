import { describe, expect, it } from 'vitest';
import { calendarInvite } from './ics.js';
import { formatTime, renderMessage, type MessageContext } from './templates.js';

const base: MessageContext = {
  kind: 'invitation', language: 'nl', link: 'https://video.test/p/abc', start: new Date('2027-03-28T08:00:00Z'),
  durationMinutes: 15, timeZone: 'Europe/Amsterdam', clinicName: 'Cardiologie & Vaat', clinicianName: 'Dr. <Visser>',
  helpdeskPhone: '088-123 45 67', waitingRoomOpensMinutes: 10,
};

describe('renderMessage', () => {
  it('shows Amsterdam time on both sides of the spring change', () => {
    expect(formatTime(new Date('2027-03-28T00:30:00Z'), 'nl', 'Europe/Amsterdam')).toBe('01:30'); // CET
    expect(formatTime(new Date('2027-03-28T01:30:00Z'), 'nl', 'Europe/Amsterdam')).toBe('03:30'); // CEST
    expect(renderMessage(base).subject).toBe('Uitnodiging videoconsult zondag 28 maart 2027 om 10:00');
  });

  it('escapes HTML and keeps the plain text plain', () => {
    const m = renderMessage(base);
    expect(m.html).toContain('Dr. &lt;Visser&gt;');
    expect(m.html).toContain('Cardiologie &amp; Vaat');
    expect(m.text).toContain('Dr. <Visser>');
  });

  it('gives no link in a cancellation', () => {
    const m = renderMessage({ ...base, kind: 'cancellation', language: 'en' });
    expect(m.text).not.toContain('https://video.test/p/abc');
    expect(m.html).not.toContain('href=');
  });
});

describe('calendarInvite', () => {
  it('writes UTC times, escapes text and folds long lines', () => {
    const ics = calendarInvite({ uid: 'x@y', start: base.start, durationMinutes: 15, summary: 'A, B; C', description: 'x'.repeat(200), url: base.link, now: base.start });
    expect(ics).toContain('DTSTART:20270328T080000Z\r\n');
    expect(ics).toContain('DTEND:20270328T081500Z\r\n');
    expect(ics).toContain('SUMMARY:A\\, B\\; C\r\n');
    for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
  });
});
