import assert from 'node:assert/strict';
import { test } from 'node:test';

import { frame, parseInChunks, PcapngWriter } from './helpers';

const NS_2023 = 1700000000123456789n; // 2023-11-14T22:13:20.123456789Z in nanoseconds

/** Four interfaces, each with its own link type and resolution, and a packet on each. */
function multiInterface(littleEndian: boolean): Buffer {
  return new PcapngWriter()
    .section(littleEndian)
    .iface({ linkType: 1, snaplen: 65535, name: 'eth0' }) // default resolution: microseconds
    .iface({ linkType: 113, snaplen: 262144, tsresol: 9 }) // Linux SLL, nanoseconds
    .iface({ linkType: 0, tsresol: 0x80 | 20 }) // NULL, 2^-20 s
    .iface({ linkType: 101, tsresol: 3, tsoffset: 1700000000n }) // raw IP, milliseconds, offset
    .epb(0, 1700000000123456n, frame(60, 1))
    .epb(1, NS_2023, frame(44, 2), 1500)
    .epb(2, (1700000000n << 20n) | (1n << 19n) | 1n, frame(33, 3)) // .5 s + 2^-20 s
    .epb(3, 1234n, frame(20, 4))
    .toBuffer();
}

test('pcapng with several interfaces: link type, interface and exact time of every packet', () => {
  const { records, summary } = parseInChunks(multiInterface(true), undefined, 'multi.pcapng');
  assert.deepEqual(records.map((r) => [r.interfaceId, r.linkType, r.tsUs, r.tsNsRem, r.caplen, r.wirelen]), [
    [0, 1, 1700000000123456, 0, 60, 60],
    [1, 113, 1700000000123456, 789, 44, 1500],
    // 2^-20 s = 953.674316... ns: .5 s + 953 ns
    [2, 0, 1700000000500000, 953, 33, 33],
    [3, 101, 1700000001234000, 0, 20, 20],
  ]);
  assert.deepEqual(records.map((r) => r.bytes), [frame(60, 1), frame(44, 2), frame(33, 3), frame(20, 4)].map((b) => b.toString('hex')));
  assert.deepEqual(summary.interfaces, [
    { id: 0, linkType: 1, tsResolution: 'us', name: 'eth0' },
    { id: 1, linkType: 113, tsResolution: 'ns' },
    { id: 2, linkType: 0, tsResolution: '2^-20' },
    { id: 3, linkType: 101, tsResolution: '10^-3' },
  ]);
  assert.equal(summary.format, 'pcapng');
  assert.equal(summary.byteOrder, 'little');
  assert.equal(summary.records, 4);
  assert.equal(summary.firstTsUs, 1700000000123456);
  assert.equal(summary.lastTsUs, 1700000001234000);
  assert.deepEqual(summary.warnings, []);
});

test('big-endian pcapng yields the same records', () => {
  const little = parseInChunks(multiInterface(true));
  const big = parseInChunks(multiInterface(false));
  assert.deepEqual(big.records, little.records);
  assert.equal(big.summary.byteOrder, 'big');
});

test('every chunk size from 1 byte up gives the same records', () => {
  const bytes = multiInterface(false);
  const whole = parseInChunks(bytes);
  for (let size = 1; size <= bytes.length; size++) {
    assert.deepEqual(parseInChunks(bytes, size), whole, `chunk size ${size}`);
  }
});

test('Simple Packet Block: interface 0, cut to the snaplen, timestamped with the last time seen', () => {
  const w = new PcapngWriter().section().iface({ linkType: 1, snaplen: 40 }).iface({ linkType: 113, tsresol: 9 });
  const firstSpbAt = w.length;
  const bytes = w
    .spb(1514, frame(40, 1)) // before any timestamp: time 0
    .epb(1, NS_2023, frame(60, 2))
    .spb(30, frame(30, 3))
    .toBuffer();
  const { records, summary } = parseInChunks(bytes);
  assert.deepEqual(records.map((r) => [r.interfaceId, r.linkType, r.caplen, r.wirelen, r.tsUs, r.tsNsRem]), [
    [0, 1, 40, 1514, 0, 0],
    [1, 113, 60, 60, 1700000000123456, 789],
    [0, 1, 30, 30, 1700000000123456, 789],
  ]);
  assert.equal(records[0].fileOffset, firstSpbAt);
  assert.equal(records[2].bytes, frame(30, 3).toString('hex'));
  assert.deepEqual(summary.warnings, []);
});

test('the obsolete Packet Block (type 2) is read like an EPB', () => {
  const bytes = new PcapngWriter().section(false).iface({ linkType: 1 }).iface({ linkType: 105 })
    .pb(1, 1700000000000001n, frame(50, 1), 60).toBuffer();
  const { records } = parseInChunks(bytes);
  assert.deepEqual(records.map((r) => [r.interfaceId, r.linkType, r.tsUs, r.caplen, r.wirelen]), [[1, 105, 1700000000000001, 50, 60]]);
});

test('unknown, statistics and name-resolution blocks are skipped, also when larger than the carry', () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x55); // larger than any buffered block may be
  const bytes = new PcapngWriter().section().iface({ linkType: 1 })
    .epb(0, 1n, frame(60, 1))
    .block(4, Buffer.from([0, 0, 0, 0])) // Name Resolution Block
    .block(5, Buffer.alloc(12)) // Interface Statistics Block
    .block(0x0bad, big) // unknown, 3 MiB
    .block(0x40000bad, Buffer.alloc(0)) // unknown, empty body
    .epb(0, 2n, frame(60, 2))
    .toBuffer();
  for (const size of [bytes.length, 65536, 1000]) {
    const { records, summary } = parseInChunks(bytes, size);
    assert.deepEqual(records.map((r) => r.tsUs), [1, 2], `chunk size ${size}`);
    assert.deepEqual(summary.warnings, [], `chunk size ${size}`);
    assert.equal(summary.bytes, bytes.length);
  }
});

test('a second section may switch byte order; its interfaces get new global ids', () => {
  const first = new PcapngWriter().section(true).iface({ linkType: 1 }).iface({ linkType: 113 })
    .epb(1, 10n, frame(20, 1)).toBuffer();
  const second = new PcapngWriter().section(false).iface({ linkType: 101, tsresol: 9 })
    .epb(0, 1_000_000_000n, frame(20, 2)).toBuffer();
  const { records, summary } = parseInChunks(Buffer.concat([first, second]), 7);
  assert.deepEqual(records.map((r) => [r.interfaceId, r.linkType, r.tsUs]), [[1, 113, 10], [2, 101, 1_000_000]]);
  assert.deepEqual(summary.interfaces.map((i) => [i.id, i.linkType, i.tsResolution]), [[0, 1, 'us'], [1, 113, 'us'], [2, 101, 'ns']]);
  assert.equal(summary.byteOrder, 'little', 'the first section names the byte order');
});

test('an EPB for an interface of the previous section is an unknown interface', () => {
  const bytes = new PcapngWriter().section().iface({ linkType: 1 }).iface({ linkType: 1 })
    .section().iface({ linkType: 1 }).epb(1, 1n, frame(10, 1)).toBuffer();
  const at = bytes.length - 44;
  const { records, summary } = parseInChunks(bytes);
  assert.equal(records.length, 0);
  assert.deepEqual(summary.warnings.map((w) => [w.code, w.offset, w.message]), [
    ['unknown-interface', at, `block at offset ${at}: packet for interface 1, but the section describes 1`],
  ]);
});

/** A good start (one packet), then the damaged piece, then a good packet that must not be read. */
function damaged(build: (w: PcapngWriter) => void): { bytes: Buffer; at: number } {
  const w = new PcapngWriter().section().iface({ linkType: 1 }).epb(0, 1n, frame(60, 1));
  const at = w.length;
  build(w);
  w.epb(0, 2n, frame(60, 2));
  return { bytes: w.toBuffer(), at };
}

const damagedCases: Array<[string, (w: PcapngWriter) => void, string, (at: number) => string]> = [
  ['block length not a multiple of 4', (w) => w.block(6, Buffer.alloc(40), 50), 'bad-block-length',
    (at) => `block at offset ${at} (type 6): length 50 is not a multiple of 4`],
  ['block length below its minimum', (w) => w.block(6, Buffer.alloc(16)), 'bad-block-length',
    (at) => `block at offset ${at} (type 6): length 28 is below the minimum of 32`],
  ['block length below any block', (w) => w.block(0x0bad, Buffer.alloc(0), 8), 'bad-block-length',
    (at) => `block at offset ${at} (type 2989): length 8 is below the minimum of 12`],
  ['packet block larger than ever buffered', (w) => w.block(6, Buffer.alloc(20), 0x7ffffff0), 'bad-block-length',
    (at) => `block at offset ${at} (type 6): length 2147483632 exceeds 1048576`],
  ['trailing length differs', (w) => w.block(6, Buffer.alloc(40), undefined, 48), 'bad-block-length',
    (at) => `block at offset ${at} (type 6): leading length 52 but trailing length 48`],
  ['caplen larger than its block', (w) => w.epb(0, 3n, frame(60, 3), 4000, 4000), 'bogus-caplen',
    (at) => `block at offset ${at}: caplen 4000 exceeds the 60 bytes its block holds`],
  ['packet for an undescribed interface', (w) => w.epb(7, 3n, frame(60, 3)), 'unknown-interface',
    (at) => `block at offset ${at}: packet for interface 7, but the section describes 1`],
  ['section header with a broken byte-order magic', (w) => w.raw(Buffer.from('0a0d0d0a1c00000011223344', 'hex')), 'bad-byte-order-magic',
    (at) => `section header at offset ${at}: byte-order magic 0x44332211 is neither 0x1a2b3c4d nor its swap`],
  ['section of an unknown major version', (w) => w.section(true, 2), 'unsupported-version',
    (at) => `section header at offset ${at}: pcapng version 2.0, only 1.x is known`],
];

for (const [what, build, code, message] of damagedCases) {
  test(`damaged pcapng, ${what}: stops with a warning, earlier packets kept`, () => {
    const { bytes, at } = damaged(build);
    for (const size of [bytes.length, 3]) {
      const { records, summary } = parseInChunks(bytes, size);
      assert.deepEqual(records.map((r) => r.tsUs), [1], `chunk size ${size}`);
      assert.deepEqual(summary.warnings, [{ file: 'test.pcap', offset: at, code, message: message(at) }], `chunk size ${size}`);
      assert.equal(summary.bytes, at);
    }
  });
}

test('a truncated last block is reported; so is a skipped block cut short', () => {
  const whole = new PcapngWriter().section().iface({ linkType: 1 }).epb(0, 1n, frame(60, 1));
  const lastAt = whole.length;
  const bytes = whole.epb(0, 2n, frame(60, 2)).toBuffer();
  const cut = parseInChunks(bytes.subarray(0, bytes.length - 10), 16);
  assert.deepEqual(cut.records.map((r) => r.tsUs), [1]);
  assert.deepEqual(cut.summary.warnings.map((w) => [w.code, w.offset, w.message]), [
    ['truncated-record', lastAt, `block at offset ${lastAt}: needs 92 bytes, input ends after 82 bytes`],
  ]);

  const skipped = new PcapngWriter().section().iface({ linkType: 1 }).epb(0, 1n, frame(60, 1)).block(0x0bad, Buffer.alloc(5000)).toBuffer();
  const cutSkip = parseInChunks(skipped.subarray(0, skipped.length - 1000), 512);
  assert.deepEqual(cutSkip.summary.warnings.map((w) => [w.code, w.offset, w.message]), [
    ['truncated-record', lastAt, `block at offset ${lastAt}: needs 5012 bytes, input ends after 4012 bytes`],
  ]);
});

test('a file ending inside the first section header: a warning, no records', () => {
  const { records, summary } = parseInChunks(new PcapngWriter().section().toBuffer().subarray(0, 6));
  assert.equal(records.length, 0);
  assert.equal(summary.format, 'pcapng');
  assert.deepEqual(summary.warnings.map((w) => w.message), ['file header at offset 0: needs 12 bytes, input ends after 6 bytes']);
});

test('an empty pcapng (section header and interface only) has no records and no warnings', () => {
  const { records, summary } = parseInChunks(new PcapngWriter().section(false).iface({ linkType: 1 }).toBuffer());
  assert.equal(records.length, 0);
  assert.deepEqual(summary.warnings, []);
  assert.equal(summary.byteOrder, 'big');
});

test('caplen above wirelen in an EPB is kept with one warning', () => {
  const bytes = new PcapngWriter().section().iface({ linkType: 1 }).epb(0, 1n, frame(60, 1), 40).toBuffer();
  const { records, summary } = parseInChunks(bytes);
  assert.deepEqual(records.map((r) => [r.caplen, r.wirelen]), [[60, 40]]);
  assert.deepEqual(summary.warnings.map((w) => w.code), ['caplen-exceeds-wirelen']);
});
