/**
 * The MLLP listener for HL7 v2 SIU messages (internal network; off unless HL7_MLLP_ENABLED).
 * @medplum/hl7 does the MLLP framing and @medplum/core the parsing; this file bounds the
 * listener (connections, bytes per message, idle time), decodes UTF-8 or ISO 8859-1 by MSH-18,
 * runs the appointment commands, and answers every message with an ACK: AA, or AE/AR with an
 * ERR segment naming the field. Messages on one connection are handled in order.
 */
import net from 'node:net';
import type { DataSource } from 'typeorm';
import { Hl7Message, Hl7Segment } from '@medplum/core';
import { Hl7Connection } from '@medplum/hl7';
import client from 'prom-client';
import { cancelAppointment, createAppointment, updateAppointment, type UpdateAppointmentInput } from '../domain/appointments.js';
import type { LinkConfig } from '../domain/links.js';
import { HttpError, toHttpError } from '../http/errors.js';
import { appointmentEffects, type EffectsDeps } from '../integration/effects.js';
import { registry } from '../metrics/registry.js';
import { ensureMllpIntegration, findByExternalId, markNoShowFromEhr } from './commands.js';
import { ErrorCode, Hl7Reject, readExternalId, readHeader, readNewAppointment, readPatient, readTimes } from './siu.js';

const END_OF_MESSAGE = Buffer.from([0x1c, 0x0d]);

export interface Hl7ListenerOptions {
  host: string;
  port: number;
  /** The integration the messages belong to (made if missing). */
  integrationName: string;
  maxConnections: number;
  maxMessageBytes: number;
  idleSeconds: number;
  /** Wall-clock times without an offset are in this zone. */
  timeZone: string;
}

export interface Hl7ListenerDeps extends EffectsDeps {
  ds: DataSource;
  config: LinkConfig;
  logger: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
  options: Hl7ListenerOptions;
}

export interface RunningHl7Listener {
  port: number;
  close(): Promise<void>;
}

const messagesTotal = new client.Counter({
  name: 'spreekkamer_hl7_messages_total',
  help: 'HL7 v2 messages received over MLLP, by event and acknowledgement code',
  labelNames: ['event', 'ack'] as const,
  registers: [registry],
});

export async function startHl7Listener(deps: Hl7ListenerDeps): Promise<RunningHl7Listener> {
  const { ds, config, logger, options } = deps;
  const integrationId = await ensureMllpIntegration(ds, options.integrationName);
  const effects = appointmentEffects(deps);
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(options.idleSeconds * 1000, () => socket.destroy());
    // Registered before the MLLP connection's own listener: an oversized message never gets parsed.
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      // Bytes of the message being received (VT … FS CR), counted across chunks and per message.
      for (let from = 0; ;) {
        const end = chunk.indexOf(END_OF_MESSAGE, from);
        const upto = end < 0 ? chunk.length : end + 2;
        pending += upto - from;
        if (pending > options.maxMessageBytes + 3) {
          logger.warn({ bytes: pending }, 'hl7: message larger than allowed; connection closed');
          socket.destroy();
          return;
        }
        if (end < 0) return;
        pending = 0;
        from = upto;
      }
    });
    // latin1 maps bytes 1:1 to characters, so the bytes can be decoded again once MSH-18 is read.
    const connection = new Hl7Connection(socket, 'latin1');
    let queue: Promise<void> = Promise.resolve();
    connection.addEventListener('message', (event) => {
      if (socket.destroyed) return; // closed for its size in the same chunk: never processed
      queue = queue
        .then(async () => {
          const ack = await handle(event.message);
          if (!connection.isClosed()) connection.send(ack);
        })
        .catch((err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'hl7: could not answer'));
    });
    connection.addEventListener('error', (event) => {
      if ((event.error as { type?: unknown }).type !== 'entity.parse.failed') return; // the socket's own trouble
      // Not an HL7 message at all (no MSH): refuse it; the sender cannot be named.
      logger.warn({ err: { message: event.error.message } }, 'hl7: unreadable message');
      messagesTotal.inc({ event: 'unknown', ack: 'AR' });
      if (!connection.isClosed() && !socket.destroyed) {
        const stub = Hl7Message.parse('MSH|^~\\&|||||||ACK||P|2.5.1');
        connection.send(ackFor(stub, new Hl7Reject('AR', ErrorCode.segmentSequence, 'MSH^1', 'the message must start with an MSH segment')));
      }
    });
  });
  server.maxConnections = options.maxConnections;
  server.on('error', (err) => logger.error({ err: { message: err.message } }, 'hl7: listener error'));

  async function handle(received: Hl7Message): Promise<Hl7Message> {
    let msg = received;
    let event = 'unknown';
    try {
      msg = decode(received);
      const header = readHeader(msg);
      event = header.event;
      await apply(header.event, msg);
      messagesTotal.inc({ event, ack: 'AA' });
      return msg.buildAck({ ackCode: 'AA' });
    } catch (err) {
      const reject = asReject(err);
      if (reject.code === ErrorCode.internalError) {
        logger.error({ event, err: { name: (err as Error).name, message: (err as Error).message } }, 'hl7: message could not be processed');
      }
      messagesTotal.inc({ event, ack: reject.ack });
      return ackFor(msg, reject);
    }
  }

  async function apply(event: string, msg: Hl7Message): Promise<void> {
    const externalId = readExternalId(msg);
    const existing = await findByExternalId(ds, integrationId, externalId);
    const actor = { kind: 'integration' as const, id: integrationId };
    const scope = { integrationId };
    const create = async () => {
      const { record, created } = await createAppointment(ds, config, integrationId, readNewAppointment(msg, options.timeZone));
      await effects.schedule(record);
      if (created) await effects.tell(record.appointment.id);
    };
    switch (event) {
      case 'S12':
        return create();
      case 'S13':
      case 'S14': {
        // Before the S12 (engines reorder): the full message books it, at the new time.
        if (!existing) return create();
        const { start, durationMinutes } = readTimes(msg, options.timeZone);
        const input: UpdateAppointmentInput = {};
        if (start.getTime() !== existing.appointment.start.getTime()) input.start = start;
        if (durationMinutes !== existing.appointment.durationMinutes) input.durationMinutes = durationMinutes;
        if (msg.getSegment('PID')) {
          // Contact data is only ever added or replaced here, never erased by an empty field.
          const p = readPatient(msg);
          const contact: NonNullable<UpdateAppointmentInput['patient']> = {};
          if (p.email && p.email !== existing.appointment.patientEmail) contact.email = p.email;
          if (p.phone && p.phone !== existing.appointment.patientPhone) contact.phone = p.phone;
          if (Object.keys(contact).length) input.patient = contact;
        }
        if (Object.keys(input).length === 0) return;
        const record = await updateAppointment(ds, existing.appointment.id, input, { scope, actor });
        const contactChanged = input.patient !== undefined;
        if (input.start !== undefined || contactChanged) await effects.schedule(record, { contactChanged });
        await effects.tell(record.appointment.id);
        return;
      }
      case 'S15':
      case 'S17': {
        if (!existing) throw new Hl7Reject('AE', ErrorCode.unknownKey, 'SCH^1^2', 'no appointment with this id');
        const { record, changed } = await cancelAppointment(ds, existing.appointment.id, { scope, actor });
        if (changed) {
          await effects.schedule(record);
          await effects.tell(record.appointment.id);
        }
        return;
      }
      case 'S26': {
        if (!existing) throw new Hl7Reject('AE', ErrorCode.unknownKey, 'SCH^1^2', 'no appointment with this id');
        const { changed } = await markNoShowFromEhr(ds, existing.appointment.id, integrationId);
        if (changed) await effects.tell(existing.appointment.id);
        return;
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ port }, 'hl7: MLLP listener started');
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** Re-decodes the message by MSH-18: UTF-8 (also when unnamed and valid), else ISO 8859-1. */
export function decode(received: Hl7Message): Hl7Message {
  const text = received.toString();
  const charset = received.header.getComponent(18, 1).toUpperCase().replace(/\s+/g, ' ');
  const bytes = Buffer.from(text, 'latin1');
  if (charset === '8859/1' || charset === 'ASCII') return received;
  try {
    const utf8 = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return utf8 === text ? received : Hl7Message.parse(utf8);
  } catch {
    if (charset === '') return received; // not UTF-8 and not named: 8859-1, which Dutch engines send
    throw new Hl7Reject('AR', ErrorCode.dataTypeError, 'MSH^1^18', `MSH-18 says ${charset.slice(0, 20)}, but the message is not valid UTF-8`);
  }
}

function asReject(err: unknown): Hl7Reject {
  if (err instanceof Hl7Reject) return err;
  const mapped = toHttpError(err);
  if (mapped instanceof HttpError) {
    if (mapped.status === 400 && mapped.field === 'clinic') return new Hl7Reject('AE', ErrorCode.tableValueNotFound, 'AIL^1^3^1', 'no clinic with this code');
    if (mapped.status === 400 && mapped.field === 'clinician') {
      return new Hl7Reject('AE', ErrorCode.tableValueNotFound, 'AIP^1^3^1', 'no active clinician of this clinic with this e-mail address or staff id');
    }
    if (mapped.status === 409) return new Hl7Reject('AE', ErrorCode.internalError, 'SCH^1^2', mapped.message);
    if (mapped.status === 503) return new Hl7Reject('AR', ErrorCode.internalError, 'MSH^1', 'saved, but patient messages could not be scheduled; send again');
    if (mapped.status === 400) return new Hl7Reject('AE', ErrorCode.dataTypeError, 'MSH^1', mapped.message);
  }
  return new Hl7Reject('AR', ErrorCode.internalError, 'MSH^1', 'temporarily unable to process; send again');
}

/** ACK with MSA-3 text and an ERR segment (ERR-1 for 2.3/2.4 readers, ERR-2/3/4/8 for 2.5). */
export function ackFor(msg: Hl7Message, reject: Hl7Reject): Hl7Message {
  const ctx = msg.context;
  const sub = ctx.subcomponentSeparator;
  const clean = (s: string) => s.replace(/[|^~\\&\r\n]/g, ' ').slice(0, 200);
  const err = new Hl7Segment(
    [
      'ERR',
      `${reject.location}^${reject.code}${sub}${clean(reject.codeText)}${sub}HL70357`,
      reject.location,
      `${reject.code}^${clean(reject.codeText)}^HL70357`,
      'E',
      '', '', '',
      clean(reject.message),
    ],
    ctx,
  );
  const ack = msg.buildAck({ ackCode: reject.ack, errSegment: err });
  ack.getSegment('MSA')?.setField(3, clean(reject.message));
  return ack;
}
