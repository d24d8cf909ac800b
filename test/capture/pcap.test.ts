import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CaptureParser } from '../../src/capture/reader';
import { CaptureError } from '../../src/capture/record';
import { frame, parseInChunks, pcapFile, PcapRecord, utcUs } from './helpers';

const T0 = Date.parse('2024-11-16T10:38:31Z') / 1000;
const threeRecords: PcapRecord[] = [
  { seconds: T0, fraction: 366277, data: frame(60, 1) },
  { seconds: T0 + 1, fraction: 0, data: frame(54, 2), wirelen: 1514 },
  { seconds: T0 + 1, fraction: 999999, data: frame(74, 3) },
];
const RECORD_HEADER = 16;
const FILE_HEADER = 24;

test('little-endian microsecond pcap: every field of every record, and the summary', () => {
  const bytes = pcapFile({ littleEndian: true }, threeRecords);
  const { records, summary } = parseInChunks(bytes);
  assert.deepEqual(records, [
    { tsUs: utcUs('2024-11-16T10:38:31Z', 366277), tsNsRem: 0, caplen: 60, wirelen: 60, linkType: 1, interfaceId: 0,
      fileOffset: FILE_HEADER, bytes: frame(60, 1).toString('hex') },
    { tsUs: utcUs('2024-11-16T10:38:32Z'), tsNsRem: 0, caplen: 54, wirelen: 1514, linkType: 1, interfaceId: 0,
      fileOffset: FILE_HEADER + RECORD_HEADER + 60, bytes: frame(54, 2).toString('hex') },
    { tsUs: utcUs('2024-11-16T10:38:32Z', 999999), tsNsRem: 0, caplen: 74, wirelen: 74, linkType: 1, interfaceId: 0,
      fileOffset: FILE_HEADER + 2 * RECORD_HEADER + 60 + 54, bytes: frame(74, 3).toString('hex') },
  ]);
  assert.deepEqual(summary, {
    file: 'test.pcap', format: 'pcap', compressed: false, byteOrder: 'little',
    interfaces: [{ id: 0, linkType: 1, tsResolution: 'us' }],
    records: 3, bytes: bytes.length,
    firstTsUs: utcUs('2024-11-16T10:38:31Z', 366277), lastTsUs: utcUs('2024-11-16T10:38:32Z', 999999),
    warnings: [],
  });
});

test('big-endian pcap yields the same records as little-endian', () => {
  const little = parseInChunks(pcapFile({ littleEndian: true }, threeRecords));
  const big = parseInChunks(pcapFile({ littleEndian: false }, threeRecords));
  assert.deepEqual(big.records, little.records);
  assert.equal(big.summary.byteOrder, 'big');
  assert.equal(big.summary.format, 'pcap');
});

test('nanosecond pcap, both byte orders: exact microseconds plus the nanosecond rest', () => {
  const records: PcapRecord[] = [
    { seconds: 1700000000, fraction: 123456789, data: frame(60, 1) },
    { seconds: 1700000000, fraction: 999999999, data: frame(60, 2) },
    { seconds: 1700000001, fraction: 1, data: frame(60, 3) },
  ];
  for (const littleEndian of [true, false]) {
    const { records: got, summary } = parseInChunks(pcapFile({ littleEndian, nanoseconds: true }, records));
    assert.deepEqual(got.map((r) => [r.tsUs, r.tsNsRem]), [
      [1700000000123456, 789],
      [1700000000999999, 999],
      [1700000001000000, 1],
    ]);
    assert.equal(summary.format, 'pcap-ns');
    assert.deepEqual(summary.interfaces, [{ id: 0, linkType: 1, tsResolution: 'ns' }]);
  }
});

test('the FCS length bits above the 16-bit link type are masked off', () => {
  // 0x30000001: FCS length 3 without the "present" bit (tcpdump's fuzzed files);
  // 0x24000069: FCS length 2 (16-bit units) present, 802.11 (105).
  for (const [field, linkType] of [[0x30000001, 1], [0x24000069, 105], [0x0000e5, 229]]) {
    const { records, summary } = parseInChunks(pcapFile({ linkTypeField: field }, threeRecords));
    assert.equal(summary.interfaces[0].linkType, linkType);
    assert.ok(records.every((r) => r.linkType === linkType));
  }
});

test('records point into the fed chunk: nothing is copied when a record lies whole in it', () => {
  const bytes = pcapFile({}, threeRecords);
  const chunk = Buffer.from(bytes);
  const buffers: Buffer[] = [];
  const parser = new CaptureParser('x', (rec) => buffers.push(rec.buf));
  parser.feed(chunk);
  parser.end();
  assert.equal(buffers.length, 3);
  assert.ok(buffers.every((b) => b === chunk));
});

test('every chunk size from 1 byte up gives the same records (records straddling chunks)', () => {
  const bytes = pcapFile({ nanoseconds: true }, threeRecords);
  const whole = parseInChunks(bytes);
  for (let size = 1; size <= bytes.length; size++) {
    const split = parseInChunks(bytes, size);
    assert.deepEqual(split.records, whole.records, `chunk size ${size}`);
    assert.deepEqual(split.summary, whole.summary, `chunk size ${size}`);
  }
});

test('caplen above wirelen is kept, with one summing-up warning', () => {
  const bytes = pcapFile({}, [
    { seconds: T0, fraction: 0, data: frame(64, 1), wirelen: 34 },
    { seconds: T0, fraction: 1, data: frame(60, 2) },
    { seconds: T0, fraction: 2, data: frame(10, 3), wirelen: 0 },
  ]);
  const { records, summary } = parseInChunks(bytes);
  assert.deepEqual(records.map((r) => [r.caplen, r.wirelen]), [[64, 34], [60, 60], [10, 0]]);
  assert.deepEqual(summary.warnings, [{
    file: 'test.pcap', offset: 24, code: 'caplen-exceeds-wirelen',
    message: '2 record(s) captured more bytes than were on the wire (kept as is); first at offset 24: caplen 64 > wirelen 34',
  }]);
});

test('a bogus caplen stops the reading, names offset and number, and keeps what came before', () => {
  const good = pcapFile({}, threeRecords.slice(0, 2));
  const bogus = Buffer.alloc(RECORD_HEADER + 100);
  bogus.writeUInt32LE(T0, 0);
  bogus.writeUInt32LE(4294901760, 8);
  bogus.writeUInt32LE(60, 12);
  const bytes = Buffer.concat([good, bogus, pcapFile({}, threeRecords).subarray(FILE_HEADER)]);
  for (const size of [bytes.length, 7]) {
    const { records, summary } = parseInChunks(bytes, size);
    assert.equal(records.length, 2);
    assert.deepEqual(summary.warnings, [{
      file: 'test.pcap', offset: good.length, code: 'bogus-caplen',
      message: `record at offset ${good.length}: caplen 4294901760 exceeds 262144`,
    }]);
    assert.equal(summary.records, 2);
    assert.equal(summary.bytes, good.length);
  }
});

test('caplen a little over the snaplen is kept (tcpdump reads it); 64 KiB over it is bogus', () => {
  const slightly = parseInChunks(pcapFile({ snaplen: 96 }, [{ seconds: T0, fraction: 0, data: frame(200, 1) }]));
  assert.equal(slightly.records.length, 1);
  assert.deepEqual(slightly.summary.warnings, []);

  const far = parseInChunks(pcapFile({ snaplen: 96 }, [
    { seconds: T0, fraction: 0, data: frame(60, 1) },
    { seconds: T0, fraction: 1, data: frame(96 + 65537, 2) },
  ]));
  assert.equal(far.records.length, 1);
  assert.deepEqual(far.summary.warnings.map((w) => w.message), [
    `record at offset ${FILE_HEADER + RECORD_HEADER + 60}: caplen 65633 exceeds snaplen 96 by more than 65536`,
  ]);
});

test('a truncated last record is reported with what it needed; earlier records are kept', () => {
  const bytes = pcapFile({}, threeRecords);
  const lastAt = FILE_HEADER + 2 * RECORD_HEADER + 60 + 54;
  const cut = bytes.subarray(0, bytes.length - 30);
  for (const size of [cut.length, 5]) {
    const { records, summary } = parseInChunks(cut, size);
    assert.equal(records.length, 2);
    assert.deepEqual(summary.warnings, [{
      file: 'test.pcap', offset: lastAt, code: 'truncated-record',
      message: `record at offset ${lastAt}: needs 90 bytes, input ends after 60 bytes`,
    }]);
    assert.equal(summary.bytes, lastAt);
    assert.equal(summary.lastTsUs, records[1].tsUs);
  }
});

test('a file ending inside a record header is a truncated record too', () => {
  const bytes = pcapFile({}, threeRecords.slice(0, 1));
  const { records, summary } = parseInChunks(Buffer.concat([bytes, Buffer.alloc(5)]));
  assert.equal(records.length, 1);
  assert.deepEqual(summary.warnings.map((w) => [w.code, w.message]), [
    ['truncated-record', `record at offset ${bytes.length}: needs 16 bytes, input ends after 5 bytes`],
  ]);
});

test('a file ending inside the file header: a warning, no records', () => {
  const { records, summary } = parseInChunks(pcapFile({}, []).subarray(0, 10));
  assert.equal(records.length, 0);
  assert.equal(summary.format, 'pcap');
  assert.deepEqual(summary.warnings.map((w) => [w.code, w.offset, w.message]), [
    ['truncated-header', 0, 'file header at offset 0: needs 24 bytes, input ends after 10 bytes'],
  ]);
  assert.equal(summary.firstTsUs, null);
});

test('garbage after valid data stops the reading at the garbage', () => {
  const good = pcapFile({}, threeRecords);
  const garbage = Buffer.from('<html><body>not a packet</body></html>\n');
  const { records, summary } = parseInChunks(Buffer.concat([good, garbage]));
  assert.equal(records.length, 3);
  assert.equal(summary.warnings.length, 1);
  assert.equal(summary.warnings[0].code, 'bogus-caplen');
  assert.equal(summary.warnings[0].offset, good.length);
  // The caplen field of the would-be record header is "ody>": 1048142959.
  assert.equal(summary.warnings[0].message, `record at offset ${good.length}: caplen 1048142959 exceeds 262144`);
  assert.equal(garbage.readUInt32LE(8), 1048142959);
});

test('a file that is no capture at all is a CaptureError naming its first bytes', () => {
  const html = Buffer.from('<html><head></head></html>');
  assert.throws(() => parseInChunks(html, html.length, 'page.pcap'), (err: unknown) => {
    assert.ok(err instanceof CaptureError);
    assert.equal(err.code, 'not-a-capture');
    assert.equal(err.offset, 0);
    assert.equal(err.message, 'page.pcap: not a pcap/pcapng/gzip capture (first bytes 3c 68 74 6d)');
    return true;
  });
  // Recognised as soon as 4 bytes are in, even one byte at a time.
  assert.throws(() => parseInChunks(html, 1, 'page.pcap'), /first bytes 3c 68 74 6d/);
});

test('empty input and input shorter than a magic are CaptureErrors', () => {
  assert.throws(() => parseInChunks(Buffer.alloc(0), 1, 'empty.pcap'),
    { name: 'CaptureError', code: 'not-a-capture', message: 'empty.pcap: empty input, not a pcap/pcapng/gzip capture' });
  assert.throws(() => parseInChunks(Buffer.from([0xd4, 0xc3, 0xb2]), 1, 'short.pcap'),
    { name: 'CaptureError', code: 'not-a-capture', message: 'short.pcap: not a pcap/pcapng/gzip capture (first bytes d4 c3 b2)' });
});

test('a header-only file is a valid capture with no records', () => {
  const { records, summary } = parseInChunks(pcapFile({ linkTypeField: 113 }, []));
  assert.equal(records.length, 0);
  assert.deepEqual(summary.warnings, []);
  assert.equal(summary.bytes, 24);
  assert.deepEqual(summary.interfaces, [{ id: 0, linkType: 113, tsResolution: 'us' }]);
  assert.equal(summary.firstTsUs, null);
  assert.equal(summary.lastTsUs, null);
});

test('after damage the parser asks for no more input and ignores what it is given', () => {
  const bytes = pcapFile({}, threeRecords);
  bytes.writeUInt32LE(0xffffffff, FILE_HEADER + 8);
  const seen: number[] = [];
  const parser = new CaptureParser('x', (rec) => seen.push(rec.caplen));
  assert.equal(parser.feed(bytes), false);
  assert.equal(parser.wantsMore, false);
  assert.equal(parser.feed(pcapFile({}, threeRecords).subarray(FILE_HEADER)), false);
  assert.equal(parser.end().records, 0);
  assert.deepEqual(seen, []);
});
