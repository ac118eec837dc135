// The hospital's mail relay, for the alert test: an SMTP server on 127.0.0.1:2525 (inside the
// test's network namespace) that prints the recipients and headers of every message it takes.
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
      process.stdout.write(`--- mail to ${session.envelope.rcptTo.map((r) => r.address).join(', ')}\n${head}\n`);
      callback();
    });
  },
});
server.listen(2525, '127.0.0.1');
