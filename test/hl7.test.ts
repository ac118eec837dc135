/**
 * HL7 v2 SIU over MLLP against a real PostgreSQL database, sent by @medplum/hl7's real MLLP
 * client: S12/S13/S14/S15/S17/S26, duplicates, S13 before S12, versions 2.3–2.5.1, UTF-8 and
 * ISO 8859-1; malformed messages and wrong versions get AE/AR with an ERR segment naming the
 * field and write nothing; the listener is bounded (connections, message size).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { pino } from 'pino';
import { startHl7Listener, type RunningHl7Listener } from '../control/src/hl7/listener.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildClinic, buildStaff } from './support/factories.js';

const config = testConfig();
let db: TestDatabase;
let listener: RunningHl7Listener;
let client: Hl7Client;
let latin1: Hl7Client;
const told: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const clinic = await buildClinic(db.ds, { code: 'cardio' });
  await buildStaff(db.ds, { clinic, role: 'clinician', email: 'dokter@hospital.test' });
  listener = await startHl7Listener({
    ds: db.ds,
    config,
    logger: pino({ level: process.env.HL7_TEST_LOG ?? 'silent' }),
    hub: { publish: async (id: string) => void told.push(id) },
    options: { host: '127.0.0.1', port: 0, integrationName: 'hix', maxConnections: 4, maxMessageBytes: 8192, idleSeconds: 60, timeZone: 'Europe/Amsterdam' },
  });
  client = new Hl7Client({ host: '127.0.0.1', port: listener.port });
  latin1 = new Hl7Client({ host: '127.0.0.1', port: listener.port, encoding: 'latin1' });
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await latin1?.close().catch(() => undefined);
  await listener?.close();
  await db?.drop();
});

let seq = 0;
interface Siu {
  event?: string;
  type?: string;
  version?: string;
  charset?: string;
  id: string;
  start?: string;
  minutes?: string;
  name?: string;
  dob?: string;
  phone?: string;
  clinic?: string;
  clinician?: string;
  omit?: string[];
  extra?: string;
}

function siu(o: Siu): Hl7Message {
  const segments: Record<string, string> = {
    MSH: `MSH|^~\\&|HIX|ZKH|SPREEKKAMER|ZKH|20310501120000||${o.type ?? 'SIU'}^${o.event ?? 'S12'}^SIU_S12|MSG${++seq}|P|${o.version ?? '2.5.1'}|||||NL|${o.charset ?? ''}`,
    SCH: `SCH|PL-${o.id}|${o.id}|||||CONSULT^Videoconsult||${o.minutes ?? '15'}|min|^^^${o.start ?? '203105061030'}`,
    PID: `PID|1||1234567^^^ZKH^PI||${o.name ?? 'Dijk&van&Dijk^Joëlle'}||${o.dob ?? '19610304'}|F|||||${o.phone ?? '^PRN^CP^^^^^^^^^0612345678'}~^NET^Internet^joelle@example.test||NL`,
    PV1: `PV1|1|O|${o.clinic ?? 'CARDIO'}^^^ZKH`,
    AIP: `AIP|1||${o.clinician ?? 'dokter@hospital.test'}^Visser^J|||`,
    AIL: `AIL|1||${o.clinic ?? 'CARDIO'}^^^ZKH`,
  };
  const text = [...Object.entries(segments).filter(([k]) => !o.omit?.includes(k)).map(([, v]) => v), ...(o.extra ? [o.extra] : [])].join('\r');
  return Hl7Message.parse(text);
}

async function send(msg: Hl7Message, via = client) {
  const ack = await via.sendAndWait(msg, { timeoutMs: 20_000 });
  const msa = ack.getSegment('MSA')!;
  const err = ack.getSegment('ERR');
  return { code: msa.getField(1).toString(), controlId: msa.getField(2).toString(), text: msa.getField(3).toString(), location: err?.getField(2).toString(), hl7Code: err?.getComponent(3, 1) };
}

async function row(externalId: string) {
  const [r] = (await db.ds.query(
    `SELECT a.id, a.start, a.duration_minutes, a.patient_name, a.patient_birth_date::text AS patient_birth_date, a.patient_phone, a.patient_email, a.language, v.state
       FROM appointment a JOIN visit v ON v.appointment_id = a.id WHERE a.external_id = $1`,
    [externalId],
  )) as Array<{ id: string; start: Date; duration_minutes: number; patient_name: string; patient_birth_date: string; patient_phone: string | null; patient_email: string | null; language: string; state: string }>;
  return r;
}

async function counts() {
  const [r] = (await db.ds.query(
    `SELECT (SELECT count(*) FROM appointment)::int AS a, (SELECT count(*) FROM participant)::int AS p, (SELECT count(*) FROM audit_event)::int AS e,
            (SELECT string_agg(state || ':' || updated_at, ',' ORDER BY id) FROM visit) AS v`,
  )) as Array<{ a: number; p: number; e: number; v: string | null }>;
  return r;
}

describe('SIU in the right order', () => {
  it('S12 books the appointment (UTF-8, Dutch name with prefix); the ACK is AA with the control id', async () => {
    const msg = siu({ id: 'A1' });
    const ack = await send(msg);
    expect(ack).toMatchObject({ code: 'AA', controlId: msg.header.getField(10).toString() });
    const r = (await row('A1'))!;
    expect(r).toMatchObject({ patient_name: 'Joëlle van Dijk', patient_birth_date: '1961-03-04', patient_phone: '+31612345678', patient_email: 'joelle@example.test', language: 'nl', duration_minutes: 15, state: 'scheduled' });
    // 10:30 wall-clock in Amsterdam (summer time).
    expect(r.start.toISOString()).toBe('2031-05-06T08:30:00.000Z');
    expect(told).toContain(r.id);
  });

  it('a duplicate S12 is AA and writes nothing', async () => {
    const before = await counts();
    expect((await send(siu({ id: 'A1' }))).code).toBe('AA');
    expect(await counts()).toEqual(before);
  });

  it('S13 moves it; S14 changes the phone; a repeat changes nothing', async () => {
    expect((await send(siu({ id: 'A1', event: 'S13', start: '203105071415', minutes: '20' }))).code).toBe('AA');
    expect(await row('A1')).toMatchObject({ start: new Date('2031-05-07T12:15:00Z'), duration_minutes: 20 });
    expect((await send(siu({ id: 'A1', event: 'S14', start: '203105071415', minutes: '20', phone: '^PRN^CP^^^^^^^^^0687654321' }))).code).toBe('AA');
    expect((await row('A1'))!.patient_phone).toBe('+31687654321');
    const before = await counts();
    expect((await send(siu({ id: 'A1', event: 'S14', start: '203105071415', minutes: '20', phone: '^PRN^CP^^^^^^^^^0687654321' }))).code).toBe('AA');
    expect(await counts()).toEqual(before);
  });

  it('S15 cancels (twice is harmless); then S13 is refused with AE and changes nothing', async () => {
    expect((await send(siu({ id: 'A1', event: 'S15' }))).code).toBe('AA');
    expect((await row('A1'))!.state).toBe('cancelled');
    expect((await send(siu({ id: 'A1', event: 'S15' }))).code).toBe('AA');
    const before = await counts();
    const late = await send(siu({ id: 'A1', event: 'S13', start: '203105081000' }));
    expect(late.code).toBe('AE');
    expect(await counts()).toEqual(before);
  });

  it('S17 deletes (cancels); S26 marks a no-show', async () => {
    await send(siu({ id: 'A2' }));
    expect((await send(siu({ id: 'A2', event: 'S17' }))).code).toBe('AA');
    expect((await row('A2'))!.state).toBe('cancelled');
    await send(siu({ id: 'A3' }));
    expect((await send(siu({ id: 'A3', event: 'S26' }))).code).toBe('AA');
    expect((await row('A3'))!.state).toBe('no_show');
  });
});

describe('out of order, versions, character sets', () => {
  it('S13 before S12 books at the new time; the late S12 changes nothing', async () => {
    expect((await send(siu({ id: 'B1', event: 'S13', start: '203106011100' }))).code).toBe('AA');
    expect((await row('B1'))!.start.toISOString()).toBe('2031-06-01T09:00:00.000Z');
    expect((await send(siu({ id: 'B1', event: 'S12', start: '203106010900' }))).code).toBe('AA');
    expect((await row('B1'))!.start.toISOString()).toBe('2031-06-01T09:00:00.000Z');
  });

  it('versions 2.3, 2.3.1, 2.4 and 2.5 are accepted', async () => {
    for (const version of ['2.3', '2.3.1', '2.4', '2.5']) {
      expect((await send(siu({ id: `V-${version}`, version }))).code, version).toBe('AA');
    }
  });

  it('ISO 8859-1 with MSH-18 8859/1, and unnamed: ë, ï, ü arrive intact', async () => {
    expect((await send(siu({ id: 'L1', charset: '8859/1', name: 'Müller^Ïsa^^^^' }), latin1)).code).toBe('AA');
    expect((await row('L1'))!.patient_name).toBe('Ïsa Müller');
    expect((await send(siu({ id: 'L2', name: 'Brontë^Noël' }), latin1)).code).toBe('AA');
    expect((await row('L2'))!.patient_name).toBe('Noël Brontë');
    expect((await send(siu({ id: 'U1', charset: 'UNICODE UTF-8', name: 'Ünal^Zoë' }))).code).toBe('AA');
    expect((await row('U1'))!.patient_name).toBe('Zoë Ünal');
  });
});

describe('refused: AE/AR with ERR naming the field, nothing written', () => {
  const cases: Array<[string, Siu, string, string, string]> = [
    ['version 2.6', { id: 'R1', version: '2.6' }, 'AR', 'MSH^1^12', '203'],
    ['version 2.2', { id: 'R2', version: '2.2' }, 'AR', 'MSH^1^12', '203'],
    ['not an SIU', { id: 'R3', type: 'ADT', event: 'A01' }, 'AR', 'MSH^1^9^1', '200'],
    ['unsupported event', { id: 'R4', event: 'S16' }, 'AR', 'MSH^1^9^2', '201'],
    ['no start time', { id: 'R5', start: '' }, 'AE', 'SCH^1^11^4', '101'],
    ['start not a time', { id: 'R6', start: '2031-05-06' }, 'AE', 'SCH^1^11^4', '102'],
    ['duration out of range', { id: 'R7', minutes: '600' }, 'AE', 'SCH^1^9', '102'],
    ['unknown clinic', { id: 'R8', clinic: 'NOPE' }, 'AE', 'AIL^1^3^1', '103'],
    ['unknown clinician', { id: 'R9', clinician: 'nobody@hospital.test' }, 'AE', 'AIP^1^3^1', '103'],
    ['bad birth date', { id: 'R10', dob: '19611304' }, 'AE', 'PID^1^7', '102'],
    ['no PID', { id: 'R11', omit: ['PID'] }, 'AE', 'PID^1', '100'],
    ['no SCH', { id: 'R12', omit: ['SCH'] }, 'AE', 'SCH^1', '100'],
    ['cancel of an unknown appointment', { id: 'R13', event: 'S15' }, 'AE', 'SCH^1^2', '204'],
    ['no-show of an unknown appointment', { id: 'R14', event: 'S26' }, 'AE', 'SCH^1^2', '204'],
  ];
  for (const [name, o, code, location, hl7Code] of cases) {
    it(name, async () => {
      const before = await counts();
      const ack = await send(siu(o));
      expect(ack).toMatchObject({ code, location, hl7Code });
      expect(ack.text.length).toBeGreaterThan(0);
      expect(await counts()).toEqual(before);
      expect(await row(o.id)).toBeUndefined();
    });
  }

  it('bytes that are no HL7 message get AR', async () => {
    const socket = net.connect(listener.port, '127.0.0.1');
    const reply = new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString('latin1'))));
    socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from('HELLO THERE'), Buffer.from([0x1c, 0x0d])]));
    expect(await reply).toMatch(/MSA\|AR\|/);
    socket.destroy();
  });
});

describe('bounds', () => {
  const closed = (s: net.Socket) => new Promise<void>((resolve) => s.once('close', () => resolve()));

  it('a message over the size limit closes the connection, unprocessed', async () => {
    const before = await counts();
    const socket = net.connect(listener.port, '127.0.0.1');
    const gone = closed(socket);
    socket.on('error', () => undefined);
    // Valid but for its size (a long NTE), in one write: refused unread, not for its content.
    socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(siu({ id: 'BIG', extra: `NTE|1||${'x'.repeat(20_000)}` }).toString()), Buffer.from([0x1c, 0x0d])]));
    await gone;
    expect(await counts()).toEqual(before);
    expect(await row('BIG')).toBeUndefined();
    // The same message under the limit is booked.
    expect((await send(siu({ id: 'SMALL', extra: `NTE|1||${'x'.repeat(2_000)}` }))).code).toBe('AA');
  });

  it('connections beyond the limit are closed at once', async () => {
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = net.connect(listener.port, '127.0.0.1');
        s.on('error', () => undefined);
        open.push(s);
        await new Promise((r) => s.once('connect', r));
      }
      const extra = net.connect(listener.port, '127.0.0.1');
      extra.on('error', () => undefined);
      await closed(extra);
    } finally {
      for (const s of open) s.destroy();
    }
  });
});
