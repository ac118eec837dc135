/**
 * Every visible string of the browser apps, Dutch first. The Dutch follows the hospitals'
 * own patient leaflets: "u", short sentences, "zorgverlener", "videoconsult", "wachtkamer".
 * `{name}` marks a parameter; both languages must use the same parameters.
 */
import type { StaffKey } from './strings-staff.js';

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
  'role.clinician': 'Uw zorgverlener',
  'role.patient': 'Patiënt',
  'role.guest': 'Gast',
  'role.staff': 'Medewerker',
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
  'media.retry': 'Opnieuw proberen',

  // Device test
  'dt.title': 'Test uw apparaat',
  'dt.intro': 'Test vóór uw afspraak of uw camera, microfoon, geluid en internet goed werken. Dit duurt ongeveer 1 minuut.',
  'dt.open': 'Start de test',
  'dt.close': 'Sluit de test',
  'dt.camera.title': 'Uw camera',
  'dt.camera.body': 'Ziet u uzelf? Dan werkt uw camera.',
  'dt.camera.pick': 'Kies een camera',
  'dt.camera.name': 'Camera nummer {n}',
  'dt.camera.preview': 'Beeld van uw camera',
  'dt.mic.title': 'Uw microfoon',
  'dt.mic.body': 'Zeg iets. Beweegt de balk? Dan werkt uw microfoon.',
  'dt.mic.heard': 'We horen u. Uw microfoon werkt.',
  'dt.speaker.title': 'Uw geluid',
  'dt.speaker.body': 'Zet het geluid van uw apparaat aan. Druk dan op de knop. U hoort een korte toon.',
  'dt.speaker.play': 'Speel testgeluid af',
  'dt.speaker.question': 'Hoorde u het geluid?',
  'dt.speaker.yes': 'Ja',
  'dt.speaker.no': 'Nee',
  'dt.speaker.ok': 'Fijn. Uw geluid werkt.',
  'dt.speaker.help':
    'Zet het geluid harder met de knoppen aan de zijkant van uw telefoon of tablet. Of gebruik oortjes. Probeer het daarna opnieuw.',
  'dt.net.title': 'Uw internetverbinding',
  'dt.net.body':
    'We testen de verbinding met het ziekenhuis. Dit duurt ongeveer 10 seconden. Uw beeld en geluid worden niet bewaard.',
  'dt.net.start': 'Test de verbinding',
  'dt.net.again': 'Test opnieuw',
  'dt.net.cancel': 'Stop de test',
  'dt.net.progressLabel': 'Voortgang van de test',
  'dt.net.connecting': 'Verbinding maken met het ziekenhuis…',
  'dt.net.progress': 'Bezig met testen. Nog {seconds} seconden.',
  'dt.net.cancelled': 'De test is gestopt.',
  'dt.net.failed': 'De test is niet gelukt. Controleer of u internet heeft en probeer het opnieuw.',
  'dt.net.needMedia': 'Voor deze test zijn uw camera en microfoon nodig.',
  'dt.net.good': 'Goed. Uw verbinding is goed genoeg voor het videoconsult.',
  'dt.net.goodAdvice': 'U hoeft niets te doen.',
  'dt.net.fair': 'Redelijk. Het beeld kan soms haperen.',
  'dt.net.fairAdvice': 'Ga dichter bij uw wifi-router zitten of sluit andere apps.',
  'dt.net.poor': 'Slecht. Het videoconsult kan haperen of wegvallen.',
  'dt.net.poorAdvice':
    'Gebruik wifi in plaats van mobiel internet en ga dicht bij de router zitten. Vraag anderen in huis om even geen films te kijken. Lukt het niet? Bel dan de poli.',
  'dt.net.details': 'Reactietijd {rtt} ms, verlies {loss} procent, snelheid {kbps} kbit per seconde',

  // Help with camera and microphone, per device
  'help.title': 'Zo lost u het op',
  'help.ios.1': 'Open de app Instellingen op uw iPhone of iPad.',
  'help.ios.2': 'Scroll naar beneden en tik op ‘Safari’.',
  'help.ios.3': 'Tik op ‘Camera’ en kies ‘Vraag’ of ‘Sta toe’. Doe hetzelfde bij ‘Microfoon’.',
  'help.ios.4': 'Ga terug naar deze pagina en tik op ‘Opnieuw proberen’.',
  'help.android.1': 'Tik in Chrome rechtsboven op de drie puntjes.',
  'help.android.2': 'Tik op ‘Instellingen’ en daarna op ‘Site-instellingen’.',
  'help.android.3': 'Tik op ‘Camera’ en zet deze website niet op ‘Geblokkeerd’. Doe hetzelfde bij ‘Microfoon’.',
  'help.android.4': 'Ga terug naar deze pagina en tik op ‘Opnieuw proberen’.',
  'help.desktop.1': 'Klik in de adresbalk op het slotje of op het camera-icoon.',
  'help.desktop.2': 'Zet ‘Camera’ en ‘Microfoon’ op ‘Toestaan’.',
  'help.desktop.3': 'Klik op ‘Opnieuw proberen’. Werkt het nog niet? Laad de pagina opnieuw.',
  'help.inUse.1': 'Sluit andere apps die uw camera gebruiken, zoals WhatsApp, FaceTime, Teams of Zoom.',
  'help.inUse.2': 'Sluit andere tabbladen met een videogesprek.',
  'help.inUse.3': 'Druk op ‘Opnieuw proberen’. Werkt het nog niet? Zet uw apparaat uit en weer aan.',
  'help.notFound.1': 'Gebruikt u een computer zonder camera? Sluit een webcam aan, of gebruik een telefoon of tablet.',
  'help.notFound.2': 'Druk daarna op ‘Opnieuw proberen’.',

  // Browsers that cannot hold a video consult
  'unsupported.title': 'Open deze link in een andere browser',
  'unsupported.inApp':
    'U heeft de link geopend in een app, zoals Facebook, Instagram of LinkedIn. Daarin werkt het videoconsult niet.',
  'unsupported.noWebrtc': 'Deze browser kan geen videoconsult starten.',
  'unsupported.ios.1': 'Tik op ‘Kopieer de link’.',
  'unsupported.ios.2': 'Open de app Safari.',
  'unsupported.ios.3': 'Tik op de adresbalk, houd uw vinger erop en kies ‘Plak en ga’.',
  'unsupported.android.1': 'Tik op ‘Kopieer de link’.',
  'unsupported.android.2': 'Open de app Chrome.',
  'unsupported.android.3': 'Tik op de adresbalk, houd uw vinger erop en kies ‘Plakken’.',
  'unsupported.desktop.1': 'Klik op ‘Kopieer de link’.',
  'unsupported.desktop.2': 'Open Chrome, Edge, Firefox of Safari.',
  'unsupported.desktop.3': 'Plak de link in de adresbalk en druk op Enter.',
  'unsupported.copy': 'Kopieer de link',
  'unsupported.copied': 'De link is gekopieerd.',
  'unsupported.selectHint': 'Kopiëren lukte niet vanzelf. De link is hieronder geselecteerd: kopieer hem zelf.',
  'unsupported.linkLabel': 'De link naar uw videoconsult',

  // Waiting room: delay, companion, chat
  'waiting.delay': 'Bericht van de poli:',
  'companion.title': 'Is er iemand bij u?',
  'companion.label': 'Er is iemand bij mij, bijvoorbeeld een familielid of mantelzorger',
  'companion.on': 'Uw zorgverlener weet nu dat er iemand bij u is.',
  'companion.off': 'Uw zorgverlener weet nu dat u alleen bent.',
  'companion.failed': 'Dit is niet doorgegeven. Probeer het opnieuw.',
  'chat.title': 'Chat met de poli',
  'chat.empty': 'De assistent van de poli kan u hier een bericht sturen. U kunt ook zelf een vraag stellen.',
  'chat.label': 'Uw bericht',
  'chat.send': 'Versturen',
  'chat.left': 'U kunt nog {n} tekens typen.',
  'chat.you': 'U',
  'chat.staff': 'Poli',
  'chat.incoming': 'Nieuw bericht van de poli: {text}',
  'chat.failed': 'Uw bericht is niet verstuurd. Probeer het opnieuw.',

  // Consult additions
  'consult.switchCamera': 'Andere camera',
  'consult.cameraSwitched': 'De andere camera staat nu aan.',
  'consult.paused': 'Uw zorgverlener heeft geluid en beeld even uitgezet. Hij of zij kan u nog wel zien en horen.',
  'consult.resumed': 'Uw zorgverlener is weer in beeld.',
  'consult.reconnectBanner': 'De verbinding is even weg. We herstellen hem. U hoeft niets te doen.',

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

  // Third parties, the phone fallback and the guest's page
  'role.interpreter': 'Tolk',
  'role.colleague': 'Collega',
  'role.family': 'Familie',
  'phone.title': 'Uw zorgverlener belt u',
  'phone.body': 'Het videoconsult is gestopt. Uw zorgverlener belt u zo op het telefoonnummer dat eindigt op {digits}. Houd uw telefoon bij de hand.',
  'phone.bodyNoDigits': 'Het videoconsult is gestopt. Uw zorgverlener belt u zo. Houd uw telefoon bij de hand.',
  'callback.body': 'Uw zorgverlener belt u op het telefoonnummer dat eindigt op {digits}. Houd uw telefoon bij de hand.',
  'callback.bodyNoDigits': 'Uw zorgverlener belt u. Houd uw telefoon bij de hand.',
  'guest.title': 'U bent uitgenodigd voor een videoconsult',
  'guest.body': 'U komt in beeld zodra het consult begint. Deze pagina gaat dan vanzelf verder. Kijk alvast of u zichzelf hieronder ziet.',
  'guest.selfView': 'Zo ziet de zorgverlener u straks',

  // Waiting room: a new message from the clinic, noticed
  'chat.alertTitle': 'Nieuw bericht van de poli:',
  'chat.alertRead': 'Lees het bericht',
  'chat.unreadOne': '{n} nieuw bericht',
  'chat.unreadMany': '{n} nieuwe berichten',

  // Durations (countdown)
  'dur.hour': '{n} uur',
  'dur.hours': '{n} uur',
  'dur.minute': '{n} minuut',
  'dur.minutes': '{n} minuten',
  'dur.second': '{n} seconde',
  'dur.seconds': '{n} seconden',
  'dur.and': '{a} en {b}',

  // Device test: already done
  'dt.introPassed': 'U heeft uw apparaat getest. Alles werkt. U kunt de test nog een keer doen als u wilt.',
  'dt.openAgain': 'Test opnieuw',

  // Opened over http (no secure connection: no camera)
  'unsupported.insecureTitle': 'Deze link werkt alleen via een beveiligde verbinding',
  'unsupported.insecure':
    'Deze pagina is geopend via http in plaats van https. Zonder beveiligde verbinding geeft de browser geen toegang tot de camera en de microfoon. Dat ligt niet aan uw browser.',
  'unsupported.insecureIt':
    'Voor de ICT-afdeling: open de patiëntlink via het https-adres van de videoconsultdienst (achter de reverse proxy met certificaat). Alleen op de server zelf werkt http://localhost of http://127.0.0.1.',
};

/** The patient's and shared strings; the staff pages add theirs (strings-staff.ts). */
export type BaseKey = keyof typeof nl;
export type Key = BaseKey | StaffKey;

export const en: { [K in BaseKey]: string } = {
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
  'role.clinician': 'Your clinician',
  'role.patient': 'Patient',
  'role.guest': 'Guest',
  'role.staff': 'Staff member',
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
  'media.retry': 'Try again',

  'dt.title': 'Test your device',
  'dt.intro': 'Before your appointment, check that your camera, microphone, sound and internet work well. This takes about 1 minute.',
  'dt.open': 'Start the test',
  'dt.close': 'Close the test',
  'dt.camera.title': 'Your camera',
  'dt.camera.body': 'Can you see yourself? Then your camera works.',
  'dt.camera.pick': 'Choose a camera',
  'dt.camera.name': 'Camera number {n}',
  'dt.camera.preview': 'Picture from your camera',
  'dt.mic.title': 'Your microphone',
  'dt.mic.body': 'Say something. Does the bar move? Then your microphone works.',
  'dt.mic.heard': 'We can hear you. Your microphone works.',
  'dt.speaker.title': 'Your sound',
  'dt.speaker.body': 'Turn on the sound of your device. Then press the button. You will hear a short tone.',
  'dt.speaker.play': 'Play test sound',
  'dt.speaker.question': 'Did you hear the sound?',
  'dt.speaker.yes': 'Yes',
  'dt.speaker.no': 'No',
  'dt.speaker.ok': 'Good. Your sound works.',
  'dt.speaker.help':
    'Turn the volume up with the buttons on the side of your phone or tablet. Or use earphones. Then try again.',
  'dt.net.title': 'Your internet connection',
  'dt.net.body':
    'We test the connection to the hospital. This takes about 10 seconds. Your picture and sound are not stored.',
  'dt.net.start': 'Test the connection',
  'dt.net.again': 'Test again',
  'dt.net.cancel': 'Stop the test',
  'dt.net.progressLabel': 'Test progress',
  'dt.net.connecting': 'Connecting to the hospital…',
  'dt.net.progress': 'Testing. {seconds} seconds left.',
  'dt.net.cancelled': 'The test was stopped.',
  'dt.net.failed': 'The test did not work. Check that you are connected to the internet and try again.',
  'dt.net.needMedia': 'This test needs your camera and microphone.',
  'dt.net.good': 'Good. Your connection is good enough for the video consultation.',
  'dt.net.goodAdvice': 'You do not need to do anything.',
  'dt.net.fair': 'Fair. The picture may stutter now and then.',
  'dt.net.fairAdvice': 'Sit closer to your wifi router or close other apps.',
  'dt.net.poor': 'Poor. The video consultation may stutter or drop out.',
  'dt.net.poorAdvice':
    'Use wifi instead of mobile data and sit close to the router. Ask others at home not to watch films for a while. Still not working? Call the clinic.',
  'dt.net.details': 'Response time {rtt} ms, loss {loss} percent, speed {kbps} kbit per second',

  'help.title': 'How to fix this',
  'help.ios.1': 'Open the Settings app on your iPhone or iPad.',
  'help.ios.2': 'Scroll down and tap ‘Safari’.',
  'help.ios.3': 'Tap ‘Camera’ and choose ‘Ask’ or ‘Allow’. Do the same for ‘Microphone’.',
  'help.ios.4': 'Go back to this page and tap ‘Try again’.',
  'help.android.1': 'In Chrome, tap the three dots at the top right.',
  'help.android.2': 'Tap ‘Settings’ and then ‘Site settings’.',
  'help.android.3': 'Tap ‘Camera’ and make sure this website is not ‘Blocked’. Do the same for ‘Microphone’.',
  'help.android.4': 'Go back to this page and tap ‘Try again’.',
  'help.desktop.1': 'In the address bar, click the padlock or the camera icon.',
  'help.desktop.2': 'Set ‘Camera’ and ‘Microphone’ to ‘Allow’.',
  'help.desktop.3': 'Click ‘Try again’. Still not working? Reload the page.',
  'help.inUse.1': 'Close other apps that use your camera, such as WhatsApp, FaceTime, Teams or Zoom.',
  'help.inUse.2': 'Close other tabs with a video call.',
  'help.inUse.3': 'Press ‘Try again’. Still not working? Turn your device off and on again.',
  'help.notFound.1': 'Using a computer without a camera? Connect a webcam, or use a phone or tablet.',
  'help.notFound.2': 'Then press ‘Try again’.',

  'unsupported.title': 'Open this link in another browser',
  'unsupported.inApp':
    'You opened the link inside an app, such as Facebook, Instagram or LinkedIn. The video consultation does not work there.',
  'unsupported.noWebrtc': 'This browser cannot start a video consultation.',
  'unsupported.ios.1': 'Tap ‘Copy the link’.',
  'unsupported.ios.2': 'Open the Safari app.',
  'unsupported.ios.3': 'Tap the address bar, hold your finger on it and choose ‘Paste and Go’.',
  'unsupported.android.1': 'Tap ‘Copy the link’.',
  'unsupported.android.2': 'Open the Chrome app.',
  'unsupported.android.3': 'Tap the address bar, hold your finger on it and choose ‘Paste’.',
  'unsupported.desktop.1': 'Click ‘Copy the link’.',
  'unsupported.desktop.2': 'Open Chrome, Edge, Firefox or Safari.',
  'unsupported.desktop.3': 'Paste the link into the address bar and press Enter.',
  'unsupported.copy': 'Copy the link',
  'unsupported.copied': 'The link has been copied.',
  'unsupported.selectHint': 'Copying did not work by itself. The link is selected below: please copy it yourself.',
  'unsupported.linkLabel': 'The link to your video consultation',

  'waiting.delay': 'Message from the clinic:',
  'companion.title': 'Is someone with you?',
  'companion.label': 'Someone is with me, for example a family member or carer',
  'companion.on': 'Your clinician now knows that someone is with you.',
  'companion.off': 'Your clinician now knows that you are alone.',
  'companion.failed': 'This was not passed on. Please try again.',
  'chat.title': 'Chat with the clinic',
  'chat.empty': 'The clinic’s assistant can send you a message here. You can also ask a question yourself.',
  'chat.label': 'Your message',
  'chat.send': 'Send',
  'chat.left': 'You can type {n} more characters.',
  'chat.you': 'You',
  'chat.staff': 'Clinic',
  'chat.incoming': 'New message from the clinic: {text}',
  'chat.failed': 'Your message was not sent. Please try again.',

  'consult.switchCamera': 'Switch camera',
  'consult.cameraSwitched': 'The other camera is now on.',
  'consult.paused': 'Your clinician has turned off their sound and picture for a moment. They can still see and hear you.',
  'consult.resumed': 'Your clinician is back on screen.',
  'consult.reconnectBanner': 'The connection dropped for a moment. We are restoring it. You do not need to do anything.',

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


  'role.interpreter': 'Interpreter',
  'role.colleague': 'Colleague',
  'role.family': 'Family',
  'phone.title': 'Your clinician will call you',
  'phone.body': 'The video consultation has stopped. Your clinician will call you shortly on the phone number ending in {digits}. Please keep your phone nearby.',
  'phone.bodyNoDigits': 'The video consultation has stopped. Your clinician will call you shortly. Please keep your phone nearby.',
  'callback.body': 'Your clinician will call you on the phone number ending in {digits}. Please keep your phone nearby.',
  'callback.bodyNoDigits': 'Your clinician will call you. Please keep your phone nearby.',
  'guest.title': 'You have been invited to a video consultation',
  'guest.body': 'You will appear once the consultation starts. This page then continues by itself. Please check below that you can see yourself.',
  'guest.selfView': 'How the clinician will see you',

  'chat.alertTitle': 'New message from the clinic:',
  'chat.alertRead': 'Read the message',
  'chat.unreadOne': '{n} new message',
  'chat.unreadMany': '{n} new messages',

  'dur.hour': '{n} hour',
  'dur.hours': '{n} hours',
  'dur.minute': '{n} minute',
  'dur.minutes': '{n} minutes',
  'dur.second': '{n} second',
  'dur.seconds': '{n} seconds',
  'dur.and': '{a} and {b}',

  'dt.introPassed': 'You have tested your device. Everything works. You can do the test again if you like.',
  'dt.openAgain': 'Test again',

  'unsupported.insecureTitle': 'This link only works over a secure connection',
  'unsupported.insecure':
    'This page was opened over http instead of https. Without a secure connection the browser gives no access to the camera and microphone. Your browser is not the problem.',
  'unsupported.insecureIt':
    'For the IT department: open the patient link through the https address of the video consultation service (behind the reverse proxy with a certificate). Only on the server itself does http://localhost or http://127.0.0.1 work.',
};
