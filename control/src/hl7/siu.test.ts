import { describe, expect, it } from 'vitest';
import { Hl7Message } from '@medplum/core';
import { Hl7Reject, parseHl7Time, readHeader, readNewAppointment, readPatient } from './siu.js';
import { ackFor, decode } from './listener.js';

const MSH = (type = 'SIU^S12^SIU_S12', version = '2.5.1', charset = '') => `MSH|^~\\&|HIX|ZKH|SPK|ZKH|20310501120000||${type}|M1|P|${version}|||||NL|${charset}`;

describe('HL7 times', () => {
  it('wall-clock times are in the given zone, also across the summer-time change; offsets are honoured', () => {
    expect(parseHl7Time('203105061030', 'Europe/Amsterdam')!.toISOString()).toBe('2031-05-06T08:30:00.000Z');
    expect(parseHl7Time('203101061030', 'Europe/Amsterdam')!.toISOString()).toBe('2031-01-06T09:30:00.000Z');
    expect(parseHl7Time('20310330040000', 'Europe/Amsterdam')!.toISOString()).toBe('2031-03-30T02:00:00.000Z');
    expect(parseHl7Time('203105061030+0000', 'Europe/Amsterdam')!.toISOString()).toBe('2031-05-06T10:30:00.000Z');
    expect(parseHl7Time('20310506', 'Europe/Amsterdam')).toBeNull();
    expect(parseHl7Time('203113061030', 'Europe/Amsterdam')).toBeNull();
  });
});

describe('SIU messages', () => {
  it('reads a complete S12, with duration from SCH-11.5', () => {
    const msg = Hl7Message.parse([
      MSH(),
      'SCH|PL1||||||X||||^^^203105061030^203105061050',
      'PID|1||1^^^ZKH||Vries&de&Vries^Jan^P.^^dhr.||19480312|M|||||0612345678^PRN^CP~^NET^Internet^jan@example.nl||EN',
      'PV1|1|O|KNO^^^ZKH||||dokter@zkh.nl^Visser',
    ].join('\r'));
    expect(readHeader(msg)).toEqual({ event: 'S12', version: '2.5.1', controlId: 'M1' });
    const input = readNewAppointment(msg, 'Europe/Amsterdam');
    expect(input).toMatchObject({
      externalId: 'PL1',
      clinic: 'kno',
      clinician: 'dokter@zkh.nl',
      durationMinutes: 20,
      patient: { name: 'dhr. Jan P. de Vries', birthDate: '1948-03-12', phone: '+31612345678', email: 'jan@example.nl', language: 'en' },
    });
  });

  it('a missing name names PID-5', () => {
    const msg = Hl7Message.parse([MSH(), 'SCH|PL1', 'PID|1||1||||19480312'].join('\r'));
    expect(() => readPatient(msg)).toThrow(Hl7Reject);
    try {
      readPatient(msg);
    } catch (err) {
      expect((err as Hl7Reject).location).toBe('PID^1^5');
      expect((err as Hl7Reject).ack).toBe('AE');
    }
  });

  it('decodes by MSH-18: UTF-8, 8859/1, and unnamed 8859-1 bytes', () => {
    const asReceived = (text: string, encoding: BufferEncoding) => Hl7Message.parse(Buffer.from(text, encoding).toString('latin1'));
    const text = (charset: string) => [MSH(undefined, undefined, charset), 'PID|1||1||Brontë^Zoë'].join('\r');
    expect(decode(asReceived(text('UNICODE UTF-8'), 'utf8')).getSegment('PID')!.getComponent(5, 2)).toBe('Zoë');
    expect(decode(asReceived(text('8859/1'), 'latin1')).getSegment('PID')!.getComponent(5, 2)).toBe('Zoë');
    expect(decode(asReceived(text(''), 'latin1')).getSegment('PID')!.getComponent(5, 1)).toBe('Brontë');
    expect(() => decode(asReceived(text('UNICODE UTF-8'), 'latin1'))).toThrow(/not valid UTF-8/);
  });

  it('the ACK carries MSA-3 and an ERR segment naming the field', () => {
    const msg = Hl7Message.parse([MSH('SIU^S12^SIU_S12', '2.6'), 'SCH|PL1'].join('\r'));
    let reject: Hl7Reject | undefined;
    try {
      readHeader(msg);
    } catch (err) {
      reject = err as Hl7Reject;
    }
    const ack = ackFor(msg, reject!);
    expect(ack.getSegment('MSA')!.toString()).toMatch(/^MSA\|AR\|M1\|versions .* not 2\.6$/);
    expect(ack.getSegment('ERR')!.toString()).toMatch(/^ERR\|MSH\^1\^12\^203&Unsupported version id&HL70357\|MSH\^1\^12\|203\^Unsupported version id\^HL70357\|E\|/);
  });
});
