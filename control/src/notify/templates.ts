/**
 * Patient e-mail in Dutch and English: plain text and accessible HTML (lang attribute, one
 * heading, a descriptive link, no images, no layout tables). Dates and times are shown in the
 * clinic's time zone with Intl, so daylight saving is right on both sides of the change.
 * Pure: everything it needs is passed in, read from the database at send time.
 */
import type { Language, NotificationKind } from '../db/entities.js';
import { fitSms } from './sms.js';
import { DEFAULT_REMINDER_MINUTES } from '../domain/reminders.js';

export interface MessageContext {
  kind: NotificationKind;
  language: Language;
  /** The patient's link; null once it is dead (cancellation). */
  link: string | null;
  start: Date;
  durationMinutes: number;
  timeZone: string;
  clinicName: string;
  clinicianName: string;
  helpdeskPhone: string | null;
  waitingRoomOpensMinutes: number;
  /** The clinic's days before the start of the first reminder (default 3). */
  reminderDays?: number;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

const LOCALE: Record<Language, string> = { nl: 'nl-NL', en: 'en-GB' };

export function formatDate(d: Date, language: Language, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALE[language], { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}

export function formatTime(d: Date, language: Language, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALE[language], { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

interface Strings {
  subject: string;
  heading: string;
  /** Paragraphs before the details. */
  lead: string[];
  /** Paragraphs after the details. */
  after: string[];
  showLink: boolean;
}

function strings(c: MessageContext, date: string, time: string, opensTime: string): Strings {
  const nl = c.language === 'nl';
  const mins = c.waitingRoomOpensMinutes;
  const days = c.reminderDays ?? 3;
  const daysNl = ['nul', 'een', 'twee', 'drie', 'vier', 'vijf', 'zes', 'zeven'][days] ?? String(days);
  const daysEn = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'][days] ?? String(days);
  const deviceTest = nl
    ? 'Test vooraf uw camera, microfoon en internetverbinding: open de link en kies de apparaattest. Dat kan vanaf nu tot het einde van de afspraak.'
    : 'Test your camera, microphone and internet connection beforehand: open the link and choose the device test. You can do this from now until the end of the appointment.';
  const waitingRoom = nl
    ? `De digitale wachtkamer gaat ${mins} minuten voor de afspraak open, om ${opensTime}. Klik dan op de link en op "Start bezoek"; uw zorgverlener ziet dat u klaarzit.`
    : `The digital waiting room opens ${mins} minutes before the appointment, at ${opensTime}. Then open the link and choose "Start visit"; your clinician will see that you are ready.`;
  switch (c.kind) {
    case 'invitation':
      return {
        subject: nl ? `Uitnodiging videoconsult ${date} om ${time}` : `Invitation: video consultation on ${date} at ${time}`,
        heading: nl ? 'Uitnodiging voor een videoconsult' : 'Invitation to a video consultation',
        lead: [nl
          ? `U heeft een videoconsult met ${c.clinicianName} van ${c.clinicName}. U heeft geen app of account nodig: de link hieronder opent in uw browser op telefoon, tablet of computer.`
          : `You have a video consultation with ${c.clinicianName} of ${c.clinicName}. You need no app or account: the link below opens in the browser on your phone, tablet or computer.`],
        after: [deviceTest, waitingRoom],
        showLink: true,
      };
    case 'reminder_3d':
      return {
        subject: nl ? `Herinnering: videoconsult ${date} om ${time} — test nu uw apparaat` : `Reminder: video consultation on ${date} at ${time} — test your device now`,
        heading: nl ? `Over ${daysNl} dagen: uw videoconsult` : `In ${daysEn} days: your video consultation`,
        lead: [nl
          ? `Over ${daysNl} dagen heeft u een videoconsult met ${c.clinicianName} van ${c.clinicName}. Test nu uw apparaat, dan is er tijd om een probleem op te lossen.`
          : `In ${daysEn} days you have a video consultation with ${c.clinicianName} of ${c.clinicName}. Test your device now, so there is time to fix a problem.`],
        after: [deviceTest, waitingRoom],
        showLink: true,
      };
    case 'reminder_1d':
      return {
        subject: nl ? `Herinnering: morgen videoconsult om ${time}` : `Reminder: video consultation tomorrow at ${time}`,
        heading: nl ? 'Morgen: uw videoconsult' : 'Tomorrow: your video consultation',
        lead: [nl
          ? `Morgen heeft u een videoconsult met ${c.clinicianName} van ${c.clinicName}. Zoek een rustige plek met goed licht.`
          : `Tomorrow you have a video consultation with ${c.clinicianName} of ${c.clinicName}. Find a quiet place with good light.`],
        after: [deviceTest, waitingRoom],
        showLink: true,
      };
    case 'reminder_15m':
      return {
        subject: nl ? `Uw videoconsult begint om ${time}; u kunt starten vanaf ${opensTime}` : `Your video consultation starts at ${time}; you can start from ${opensTime}`,
        heading: nl ? `U kunt starten vanaf ${opensTime}` : `You can start from ${opensTime}`,
        lead: [nl
          ? `Uw videoconsult met ${c.clinicianName} begint om ${time}. Vanaf ${opensTime} kunt u in de digitale wachtkamer plaatsnemen.`
          : `Your video consultation with ${c.clinicianName} starts at ${time}. From ${opensTime} you can take a seat in the digital waiting room.`],
        after: [waitingRoom],
        showLink: true,
      };
    case 'cancellation':
      return {
        subject: nl ? `Geannuleerd: videoconsult ${date} om ${time}` : `Cancelled: video consultation on ${date} at ${time}`,
        heading: nl ? 'Uw videoconsult is geannuleerd' : 'Your video consultation has been cancelled',
        lead: [nl
          ? `Het videoconsult met ${c.clinicianName} van ${c.clinicName} op ${date} om ${time} gaat niet door. De link in eerdere berichten werkt niet meer.`
          : `The video consultation with ${c.clinicianName} of ${c.clinicName} on ${date} at ${time} will not take place. The link in earlier messages no longer works.`],
        after: [],
        showLink: false,
      };
  }
}

export function renderMessage(c: MessageContext): RenderedMessage {
  const nl = c.language === 'nl';
  const date = formatDate(c.start, c.language, c.timeZone);
  const time = formatTime(c.start, c.language, c.timeZone);
  const opensTime = formatTime(new Date(c.start.getTime() - c.waitingRoomOpensMinutes * 60_000), c.language, c.timeZone);
  const s = strings(c, date, time, opensTime);
  const link = s.showLink ? c.link : null;

  const details: Array<[string, string]> = [
    [nl ? 'Datum' : 'Date', date],
    [nl ? 'Tijd' : 'Time', `${time} (${c.durationMinutes} ${nl ? 'minuten' : 'minutes'})`],
    [nl ? 'Polikliniek' : 'Clinic', c.clinicName],
    [nl ? 'Zorgverlener' : 'Clinician', c.clinicianName],
  ];
  const helpdesk = c.helpdeskPhone
    ? nl
      ? `Lukt het niet of heeft u vragen? Bel ${c.clinicName}: ${c.helpdeskPhone}.`
      : `Having trouble, or a question? Call ${c.clinicName}: ${c.helpdeskPhone}.`
    : null;
  const linkLabel = nl ? 'Open uw videoconsult' : 'Open your video consultation';
  const footer = nl
    ? 'Dit bericht is automatisch verstuurd; u kunt er niet op antwoorden. Als de video niet lukt, belt uw zorgverlener u.'
    : 'This message was sent automatically; replies are not read. If the video fails, your clinician will phone you.';

  const text = [
    s.heading,
    '',
    ...s.lead.flatMap((p) => [p, '']),
    ...details.map(([k, v]) => `${k}: ${v}`),
    '',
    ...(link ? [`${linkLabel}:`, link, ''] : []),
    ...s.after.flatMap((p) => [p, '']),
    ...(helpdesk ? [helpdesk, ''] : []),
    footer,
    '',
  ].join('\n');

  const p = (t: string) => `<p>${esc(t)}</p>`;
  const html = `<!DOCTYPE html>
<html lang="${c.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(s.subject)}</title>
</head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:17px;line-height:1.5;color:#1a1a1a;background:#ffffff">
<main style="max-width:36em">
<h1 style="font-size:1.4em;line-height:1.25;margin:0 0 .75em">${esc(s.heading)}</h1>
${s.lead.map(p).join('\n')}
<dl style="margin:1em 0">
${details.map(([k, v]) => `<dt style="font-weight:bold">${esc(k)}</dt><dd style="margin:0 0 .5em">${esc(v)}</dd>`).join('\n')}
</dl>
${link ? `<p><a href="${esc(link)}" style="display:inline-block;padding:.6em 1em;background:#0b5394;color:#ffffff;text-decoration:underline;border-radius:4px">${esc(linkLabel)}</a></p>
<p style="font-size:.9em;word-break:break-all">${esc(nl ? 'Werkt de knop niet? Kopieer dan deze link in uw browser:' : 'Button not working? Copy this link into your browser:')}<br>${esc(link)}</p>` : ''}
${s.after.map(p).join('\n')}
${helpdesk ? p(helpdesk) : ''}
<p style="font-size:.9em;color:#4a4a4a">${esc(footer)}</p>
</main>
</body>
</html>
`;
  return { subject: s.subject, text, html };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/**
 * The SMS of each message: one part of at most 160 GSM-7 characters (see sms.ts: fitSms).
 * The link always fits; the helpdesk number and the clinic name go first when space runs out.
 */
export function renderSms(c: MessageContext, reminderMinutes?: number | null): string {
  const nl = c.language === 'nl';
  const day = new Intl.DateTimeFormat(LOCALE[c.language], { timeZone: c.timeZone, weekday: 'short', day: 'numeric', month: 'short' })
    .format(c.start)
    .replace(/\.(?=\s|$)/g, '');
  const time = formatTime(c.start, c.language, c.timeZone);
  const opensTime = formatTime(new Date(c.start.getTime() - c.waitingRoomOpensMinutes * 60_000), c.language, c.timeZone);
  const link = c.link ?? '';
  const helpdesk = c.helpdeskPhone ? { text: nl ? `Vragen? Bel ${c.helpdeskPhone}` : `Questions? Call ${c.helpdeskPhone}`, optional: true } : null;
  const withClinic = (full: string, short: string) => ({ text: full, shorter: short });
  const days = Math.round((reminderMinutes ?? DEFAULT_REMINDER_MINUTES.reminder_3d) / (24 * 60));
  let pieces: Array<{ text: string; shorter?: string; optional?: boolean }>;
  switch (c.kind) {
    case 'invitation':
      pieces = [
        withClinic(
          nl ? `Videoconsult ${c.clinicName} ${day} om ${time}. Test vooraf uw apparaat en start via:` : `Video consultation ${c.clinicName} ${day} at ${time}. Test your device first and start here:`,
          nl ? `Videoconsult ${day} om ${time}. Test vooraf uw apparaat en start via:` : `Video consultation ${day} at ${time}. Test your device first and start here:`,
        ),
        { text: link },
      ];
      break;
    case 'reminder_3d':
      pieces = [
        withClinic(
          nl ? `Over ${days} dagen videoconsult ${c.clinicName}, ${day} om ${time}. Test nu uw apparaat:` : `In ${days} days: video consultation ${c.clinicName}, ${day} at ${time}. Test your device now:`,
          nl ? `Over ${days} dagen videoconsult, ${day} om ${time}. Test nu uw apparaat:` : `In ${days} days: video consultation, ${day} at ${time}. Test your device now:`,
        ),
        { text: link },
      ];
      break;
    case 'reminder_1d':
      pieces = [
        withClinic(
          nl ? `Morgen om ${time} videoconsult ${c.clinicName}. Start vanaf ${opensTime} via:` : `Tomorrow at ${time}: video consultation ${c.clinicName}. Start from ${opensTime} here:`,
          nl ? `Morgen om ${time} videoconsult. Start vanaf ${opensTime} via:` : `Tomorrow at ${time}: video consultation. Start from ${opensTime} here:`,
        ),
        { text: link },
      ];
      break;
    case 'reminder_15m':
      pieces = [
        { text: nl ? `Uw videoconsult begint om ${time}. U kunt starten vanaf ${opensTime}:` : `Your video consultation starts at ${time}. You can start from ${opensTime}:` },
        { text: link },
      ];
      break;
    case 'cancellation':
      pieces = [
        withClinic(
          nl ? `Uw videoconsult ${c.clinicName} op ${day} om ${time} gaat niet door.` : `Your video consultation ${c.clinicName} on ${day} at ${time} is cancelled.`,
          nl ? `Uw videoconsult op ${day} om ${time} gaat niet door.` : `Your video consultation on ${day} at ${time} is cancelled.`,
        ),
      ];
      break;
  }
  if (helpdesk) pieces.push(helpdesk);
  return fitSms(pieces);
}
