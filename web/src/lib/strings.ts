/**
 * Every visible string of the browser apps, Dutch first. The Dutch follows the hospitals'
 * own patient leaflets: "u", short sentences, "zorgverlener", "videoconsult", "wachtkamer".
 * `{name}` marks a parameter; both languages must use the same parameters.
 */
export const nl = {
  'app.name': 'Spreekkamer',
  'lang.switch': 'English',
  'lang.switchLabel': 'Switch to English',
  'noscript': 'Zet JavaScript aan in uw browser om het videoconsult te gebruiken.',

  // Patient: page and appointment
  'patient.title': 'Videoconsult',
  'appt.with': 'Videoconsult met {clinician}',
  'appt.when': '{date} om {time} uur',
  'appt.duration': '{minutes} minuten',
  'contact.call': 'Vragen of problemen? Bel {clinic}:',
  'privacy': 'Het videoconsult wordt niet opgenomen of opgeslagen.',

  'loading.title': 'Uw afspraak wordt geladen…',

  'unknown.title': 'Deze link is niet geldig',
  'unknown.body':
    'Controleer of u de volledige link uit de e-mail of sms hebt geopend. Lukt het niet? Neem dan contact op met de afdeling waar u onder behandeling bent.',

  'tooEarly.title': 'Uw videoconsult',
  'tooEarly.body': 'Uw afspraak begint om {start}. U kunt vanaf {opens} de wachtkamer in.',
  'tooEarly.countdown': 'De wachtkamer gaat open over {time}',
  'tooEarly.countdownDay': 'De wachtkamer gaat open over 1 dag',
  'tooEarly.countdownDays': 'De wachtkamer gaat open over {days} dagen',
  'tooEarly.opening': 'De wachtkamer gaat nu open…',
  'tips.title': 'Tips voor het videoconsult',
  'tips.quiet': 'Zorg dat u in een rustige, afgesloten ruimte zit.',
  'tips.light': 'Zorg dat uw gezicht helemaal in beeld is en dat er genoeg licht op valt.',
  'tips.headset': 'Hoort u de zorgverlener slecht? Gebruik dan oortjes of een koptelefoon.',
  'tips.company': 'Wilt u dat een familielid of naaste bij het gesprek is? Dat mag.',

  'ready.title': 'U kunt de wachtkamer in',
  'ready.body':
    'Druk op ‘Start bezoek’. Uw zorgverlener ziet dan dat u klaar zit. Uw browser vraagt om toestemming voor uw camera en microfoon: kies ‘Toestaan’.',
  'ready.start': 'Start bezoek',
  'ready.starting': 'Even geduld…',

  'waiting.title': 'U bent in de wachtkamer',
  'waiting.ready': 'Uw zorgverlener kan zien dat u klaar bent.',
  'waiting.patience':
    'Blijf rustig wachten. Soms loopt een eerder spreekuur wat uit. Zodra uw zorgverlener u binnenlaat, ziet u hem of haar in beeld.',
  'waiting.time': 'Uw afspraak: {time} uur',
  'waiting.selfView': 'Zo ziet uw zorgverlener u',

  'consult.title': 'Videoconsult met {clinician}',
  'consult.remoteWaiting': 'Uw zorgverlener komt zo in beeld…',
  'consult.remoteLeft': 'De andere kant heeft geen verbinding meer. We wachten tot de verbinding terug is.',
  'consult.connecting': 'Verbinding maken…',
  'consult.reconnecting': 'De verbinding wordt hersteld…',
  'consult.playAudio': 'Tik hier om het geluid aan te zetten',
  'consult.selfView': 'Uw eigen beeld',
  'consult.remoteVideo': 'Beeld van {name}',
  'consult.micOff': 'Microfoon uit',
  'consult.micOn': 'Microfoon aan',
  'consult.camOff': 'Camera uit',
  'consult.camOn': 'Camera aan',
  'consult.hangup': 'Ophangen',
  'consult.hangupConfirm': 'Wilt u het gesprek verlaten?',
  'consult.hangupYes': 'Ja, ophangen',
  'consult.hangupNo': 'Nee, blijven',
  'consult.micIsOff': 'Uw microfoon staat uit.',
  'consult.camIsOff': 'Uw camera staat uit.',

  'left.title': 'U heeft het gesprek verlaten',
  'left.body': 'Het consult is nog niet afgelopen. Zolang uw zorgverlener het consult niet heeft beëindigd, kunt u weer deelnemen.',
  'left.rejoin': 'Opnieuw deelnemen',

  'ended.title': 'Het consult is afgelopen.',
  'ended.body': 'Uw zorgverlener heeft het videoconsult beëindigd. U kunt deze pagina nu sluiten.',

  'cancelled.title': 'Deze afspraak is geannuleerd',
  'cancelled.body': 'Het videoconsult gaat niet door.',

  'expired.title': 'Deze link is verlopen',
  'expired.body': 'De tijd voor dit videoconsult is voorbij.',

  'error.title': 'Er ging iets mis',
  'error.body': 'De pagina kon niet worden geladen. Controleer uw internetverbinding en probeer het opnieuw.',
  'error.retry': 'Opnieuw proberen',

  'conn.lost': 'Geen verbinding. We proberen opnieuw verbinding te maken…',

  // Camera and microphone problems
  'media.denied':
    'U heeft geen toestemming gegeven voor uw camera en microfoon. Zonder toestemming kan uw zorgverlener u niet zien en horen.',
  'media.notFound': 'Er is geen camera of microfoon gevonden.',
  'media.inUse': 'Uw camera of microfoon wordt al door een ander programma gebruikt. Sluit dat programma en probeer het opnieuw.',
  'media.unsupported':
    'Deze browser kan geen videoconsult starten. Gebruik een recente versie van Safari, Chrome, Edge of Firefox.',
  'media.failed': 'Uw camera of microfoon kon niet worden gestart.',
  'media.help.title': 'Zo geeft u toestemming',
  'media.help.generic':
    'Open de instellingen van uw browser voor deze website en zet Camera en Microfoon op ‘Toestaan’. Druk daarna op ‘Opnieuw proberen’.',
  'media.retry': 'Opnieuw proberen',

  // Server errors in plain words (codes from protocol.ts)
  'err.not_admitted': 'Uw zorgverlener heeft u nog niet binnengelaten. Blijf in de wachtkamer.',
  'err.too_early': 'De wachtkamer is nog niet open.',
  'err.expired': 'De tijd voor dit videoconsult is voorbij.',
  'err.ended': 'Het consult is afgelopen.',
  'err.cancelled': 'Deze afspraak is geannuleerd.',
  'err.not_allowed': 'Dit kan op dit moment niet.',
  'err.not_authenticated': 'U bent niet (meer) ingelogd.',
  'err.media_unavailable': 'De videoverbinding is even niet beschikbaar. We proberen het opnieuw.',
  'err.disconnected': 'De verbinding is verbroken. We proberen opnieuw verbinding te maken.',
  'err.timeout': 'Het duurt te lang. Probeer het opnieuw.',
  'err.generic': 'Er ging iets mis. Probeer het opnieuw.',

  // Staff
  'staff.title': 'Videoconsulten vandaag',
  'staff.signedInAs': 'Ingelogd als {name}',
  'login.title': 'Inloggen',
  'login.email': 'E-mailadres',
  'login.password': 'Wachtwoord',
  'login.submit': 'Inloggen',
  'login.busy': 'Bezig met inloggen…',
  'login.failed': 'Inloggen is niet gelukt. Probeer het opnieuw.',
  'list.empty': 'Vandaag zijn er geen videoconsulten.',
  'list.loading': 'De lijst wordt geladen…',
  'list.stale': 'De lijst kon niet worden bijgewerkt. We proberen het opnieuw.',
  'list.caption': 'Afspraken van vandaag',
  'col.time': 'Tijd',
  'col.patient': 'Patiënt',
  'col.status': 'Status',
  'col.action': 'Actie',
  'status.scheduled': 'Nog niet aangemeld',
  'status.waiting': 'Wacht al {duration} (sinds {since})',
  'status.waitingOffline': 'Wacht al {duration} (sinds {since}), geen verbinding',
  'status.admitted': 'Toegelaten',
  'status.in_consult': 'In consult',
  'status.dropped': 'Verbinding verbroken',
  'status.ended': 'Afgelopen',
  'status.cancelled': 'Geannuleerd',
  'status.expired': 'Verlopen',
  'action.admit': 'Toelaten',
  'action.admitLabel': '{name} toelaten',
  'action.open': 'Open consult',
  'action.openLabel': 'Open consult met {name}',
  'staff.consultWith': 'Consult met {name}',
  'staff.remoteWaiting': 'Wachten tot de patiënt in beeld komt…',
  'staff.end': 'Consult beëindigen',
  'staff.endConfirm': 'Weet u zeker dat u het consult wilt beëindigen? De patiënt kan daarna niet meer terug.',
  'staff.endYes': 'Ja, beëindigen',
  'staff.endNo': 'Annuleren',
  'staff.back': 'Terug naar de lijst',
  'staff.endedByServer': 'Het consult is afgelopen.',
};

export type Key = keyof typeof nl;

export const en: { [K in Key]: string } = {
  'app.name': 'Spreekkamer',
  'lang.switch': 'Nederlands',
  'lang.switchLabel': 'Wissel naar Nederlands',
  'noscript': 'Please turn on JavaScript in your browser to use the video consultation.',

  'patient.title': 'Video consultation',
  'appt.with': 'Video consultation with {clinician}',
  'appt.when': '{date} at {time}',
  'appt.duration': '{minutes} minutes',
  'contact.call': 'Questions or problems? Call {clinic}:',
  'privacy': 'The video consultation is not recorded or stored.',

  'loading.title': 'Loading your appointment…',

  'unknown.title': 'This link is not valid',
  'unknown.body':
    'Please check that you opened the complete link from the email or text message. Still not working? Please contact the department that is treating you.',

  'tooEarly.title': 'Your video consultation',
  'tooEarly.body': 'Your appointment starts at {start}. You can enter the waiting room from {opens}.',
  'tooEarly.countdown': 'The waiting room opens in {time}',
  'tooEarly.countdownDay': 'The waiting room opens in 1 day',
  'tooEarly.countdownDays': 'The waiting room opens in {days} days',
  'tooEarly.opening': 'The waiting room is opening…',
  'tips.title': 'Tips for the video consultation',
  'tips.quiet': 'Sit in a quiet room where you will not be disturbed.',
  'tips.light': 'Make sure your whole face is on screen and well lit.',
  'tips.headset': 'Hard to hear your clinician? Use earphones or a headset.',
  'tips.company': 'You are welcome to have a family member or someone close to you with you.',

  'ready.title': 'You can enter the waiting room',
  'ready.body':
    'Press ‘Start visit’. Your clinician will then see that you are ready. Your browser will ask for permission to use your camera and microphone: choose ‘Allow’.',
  'ready.start': 'Start visit',
  'ready.starting': 'One moment…',

  'waiting.title': 'You are in the waiting room',
  'waiting.ready': 'Your clinician can see that you are ready.',
  'waiting.patience':
    'Please wait. Sometimes an earlier clinic runs a little late. As soon as your clinician lets you in, you will see them on screen.',
  'waiting.time': 'Your appointment: {time}',
  'waiting.selfView': 'This is how your clinician sees you',

  'consult.title': 'Video consultation with {clinician}',
  'consult.remoteWaiting': 'Your clinician will appear in a moment…',
  'consult.remoteLeft': 'The other side has lost the connection. We are waiting for it to come back.',
  'consult.connecting': 'Connecting…',
  'consult.reconnecting': 'Restoring the connection…',
  'consult.playAudio': 'Tap here to turn on the sound',
  'consult.selfView': 'Your own picture',
  'consult.remoteVideo': 'Video of {name}',
  'consult.micOff': 'Microphone off',
  'consult.micOn': 'Microphone on',
  'consult.camOff': 'Camera off',
  'consult.camOn': 'Camera on',
  'consult.hangup': 'Hang up',
  'consult.hangupConfirm': 'Do you want to leave the call?',
  'consult.hangupYes': 'Yes, hang up',
  'consult.hangupNo': 'No, stay',
  'consult.micIsOff': 'Your microphone is off.',
  'consult.camIsOff': 'Your camera is off.',

  'left.title': 'You have left the call',
  'left.body': 'The consultation has not ended. As long as your clinician has not ended it, you can join again.',
  'left.rejoin': 'Join again',

  'ended.title': 'The consultation has ended.',
  'ended.body': 'Your clinician has ended the video consultation. You can close this page now.',

  'cancelled.title': 'This appointment has been cancelled',
  'cancelled.body': 'The video consultation will not take place.',

  'expired.title': 'This link has expired',
  'expired.body': 'The time for this video consultation has passed.',

  'error.title': 'Something went wrong',
  'error.body': 'The page could not be loaded. Please check your internet connection and try again.',
  'error.retry': 'Try again',

  'conn.lost': 'No connection. Trying to reconnect…',

  'media.denied':
    'You have not given permission to use your camera and microphone. Without permission your clinician cannot see or hear you.',
  'media.notFound': 'No camera or microphone was found.',
  'media.inUse': 'Your camera or microphone is being used by another program. Close that program and try again.',
  'media.unsupported':
    'This browser cannot start a video consultation. Please use a recent version of Safari, Chrome, Edge or Firefox.',
  'media.failed': 'Your camera or microphone could not be started.',
  'media.help.title': 'How to give permission',
  'media.help.generic':
    'Open your browser’s settings for this website and set Camera and Microphone to ‘Allow’. Then press ‘Try again’.',
  'media.retry': 'Try again',

  'err.not_admitted': 'Your clinician has not let you in yet. Please stay in the waiting room.',
  'err.too_early': 'The waiting room is not open yet.',
  'err.expired': 'The time for this video consultation has passed.',
  'err.ended': 'The consultation has ended.',
  'err.cancelled': 'This appointment has been cancelled.',
  'err.not_allowed': 'This is not possible right now.',
  'err.not_authenticated': 'You are not signed in (any more).',
  'err.media_unavailable': 'The video connection is briefly unavailable. We are trying again.',
  'err.disconnected': 'The connection was lost. Trying to reconnect.',
  'err.timeout': 'This is taking too long. Please try again.',
  'err.generic': 'Something went wrong. Please try again.',

  'staff.title': 'Video consultations today',
  'staff.signedInAs': 'Signed in as {name}',
  'login.title': 'Sign in',
  'login.email': 'Email address',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.busy': 'Signing in…',
  'login.failed': 'Signing in did not work. Please try again.',
  'list.empty': 'There are no video consultations today.',
  'list.loading': 'Loading the list…',
  'list.stale': 'The list could not be updated. Trying again.',
  'list.caption': 'Today’s appointments',
  'col.time': 'Time',
  'col.patient': 'Patient',
  'col.status': 'Status',
  'col.action': 'Action',
  'status.scheduled': 'Not arrived',
  'status.waiting': 'Waiting {duration} (since {since})',
  'status.waitingOffline': 'Waiting {duration} (since {since}), no connection',
  'status.admitted': 'Admitted',
  'status.in_consult': 'In consult',
  'status.dropped': 'Connection lost',
  'status.ended': 'Ended',
  'status.cancelled': 'Cancelled',
  'status.expired': 'Expired',
  'action.admit': 'Admit',
  'action.admitLabel': 'Admit {name}',
  'action.open': 'Open consult',
  'action.openLabel': 'Open consult with {name}',
  'staff.consultWith': 'Consult with {name}',
  'staff.remoteWaiting': 'Waiting for the patient to appear…',
  'staff.end': 'End consult',
  'staff.endConfirm': 'Are you sure you want to end the consult? The patient cannot come back afterwards.',
  'staff.endYes': 'Yes, end it',
  'staff.endNo': 'Cancel',
  'staff.back': 'Back to the list',
  'staff.endedByServer': 'The consult has ended.',
};
