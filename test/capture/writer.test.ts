/**
 * CaptureWriter: batches laid out as the capture addon delivers them (host-order record headers
 * in one reused buffer), written, then read back with synwatch's own reader and with tcpdump and
 * tshark.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { readCaptureFile } from '../../src/capture/reader';
import { CaptureError, CaptureSummary } from '../../src/capture/record';
import { CaptureWriter, CaptureWriterOptions } from '../../src/capture/writer';
import { ethernet, ETHERTYPE, LINKTYPE, tcpIpv4, TCP_FLAGS } from '../support/frames';
import { frame } from './helpers';

const root = fs.mkdtempSync(path.join(tmpdir(), 'synwatch-writer-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
function freshDir(): string {
  const dir = path.join(root, `t${++dirs}`);
  fs.mkdirSync(dir);
  return dir;
}

const LE = endianness() === 'LE';
const FILE_HEADER = 24;
const RECORD_HEADER = 16;
const SNAPLEN = 65535;
const T0 = 1700000000;

interface Rec {
  seconds: number;
  nanos: number;
  data: Buffer;
  /** Defaults to data.length. */
  wirelen?: number;
  /** Defaults to data.length; set to lie about the length. */
  caplen?: number;
}

/**
 * The one batch buffer every test reuses, as the addon reuses its own: a writer that kept a
 * reference past write() would see the next batch's bytes (or the 0xee scribbled over it).
 */
const batchBuffer = Buffer.alloc(1 << 20);

/** Lays `records` out in batchBuffer as the addon does (host byte order); returns the length. */
function layOut(records: Rec[]): number {
  const u32 = (v: number, at: number) => (LE ? batchBuffer.writeUInt32LE(v, at) : batchBuffer.writeUInt32BE(v, at));
  let at = 0;
  for (const r of records) {
    u32(r.seconds, at);
    u32(r.nanos, at + 4);
    u32(r.caplen ?? r.data.length, at + 8);
    u32(r.wirelen ?? r.data.length, at + 12);
    r.data.copy(batchBuffer, at + RECORD_HEADER);
    at += RECORD_HEADER + r.data.length;
  }
  return at;
}

/** Writes `records` as one batch, then scribbles over the batch buffer. */
function writeBatch(w: CaptureWriter, records: Rec[]): number {
  const length = layOut(records);
  w.write(batchBuffer, length);
  batchBuffer.fill(0xee, 0, length);
  return length;
}

function recs(count: number, firstSeed = 0, length = 60): Rec[] {
  return Array.from({ length: count }, (_, i) => ({
    seconds: T0 + firstSeed + i,
    nanos: (firstSeed + i) * 7919 % 1000000000,
    data: frame(length, firstSeed + i),
  }));
}

function recordBytes(records: Rec[]): number {
  return records.reduce((n, r) => n + RECORD_HEADER + r.data.length, 0);
}

interface ReadBack {
  summary: CaptureSummary;
  /** [tsUs, tsNsRem, caplen, wirelen, linkType, frame hex] per record. */
  records: [number, number, number, number, number, string][];
}

async function readBack(file: string): Promise<ReadBack> {
  const records: ReadBack['records'] = [];
  const summary = await readCaptureFile(file, (r) => {
    records.push([r.tsUs, r.tsNsRem, r.caplen, r.wirelen, r.linkType, r.buf.toString('hex', r.offset, r.offset + r.caplen)]);
  });
  return { summary, records };
}

/** What readBack should find for `records` (linkType 1). */
function expected(records: Rec[], linkType: number = LINKTYPE.ETHERNET): ReadBack['records'] {
  return records.map((r) => [
    r.seconds * 1e6 + Math.floor(r.nanos / 1000), r.nanos % 1000,
    r.data.length, r.wirelen ?? r.data.length, linkType, r.data.toString('hex'),
  ]);
}

/** The rotated files of `stem` in `dir`, in numbering order. */
function rotated(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir).filter((n) => pattern.test(n)).sort().map((n) => path.join(dir, n));
}

function open(options: Partial<CaptureWriterOptions> & { path: string }): CaptureWriter {
  return new CaptureWriter({ linkType: LINKTYPE.ETHERNET, snaplen: SNAPLEN, ...options });
}

test('without rotation: exactly path, a host-order nanosecond header, and every record of every batch', async () => {
  const file = path.join(freshDir(), 'attack.pcap');
  const w = open({ path: file, linkType: 276, snaplen: 262144 });
  const first: Rec[] = [
    { seconds: T0, nanos: 123456789, data: frame(60, 1) },
    { seconds: T0, nanos: 999999999, data: frame(54, 2), wirelen: 1514 },
    { seconds: T0 + 1, nanos: 0, data: frame(74, 3) },
  ];
  const second: Rec[] = [{ seconds: T0 + 2, nanos: 1, data: frame(1514, 4) }, { seconds: T0 + 3, nanos: 500, data: frame(0, 5) }];
  writeBatch(w, first);
  writeBatch(w, second);
  w.close();

  const bytes = fs.readFileSync(file);
  const u32 = (at: number) => (LE ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const u16 = (at: number) => (LE ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  assert.deepEqual([u32(0), u16(4), u16(6), u32(8), u32(12), u32(16), u32(20)], [0xa1b23c4d, 2, 4, 0, 0, 262144, 276]);
  assert.equal(bytes.length, FILE_HEADER + recordBytes(first) + recordBytes(second));

  const { summary, records } = await readBack(file);
  assert.equal(summary.format, 'pcap-ns');
  assert.equal(summary.byteOrder, LE ? 'little' : 'big');
  assert.deepEqual(summary.interfaces, [{ id: 0, linkType: 276, tsResolution: 'ns' }]);
  assert.deepEqual(summary.warnings, []);
  assert.deepEqual(records, expected([...first, ...second], 276));
  assert.deepEqual(records.slice(0, 2).map((r) => [r[0], r[1]]), [[1700000000123456, 789], [1700000000999999, 999]]);
  assert.deepEqual(w.stats, { files: 1, records: 5, bytes: bytes.length, droppedRecords: 0, droppedBytes: 0, currentPath: file });
  assert.equal(w.lastError, null);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['attack.pcap']);
});

test('without rotation an existing file at path is replaced, as tcpdump -w does', async () => {
  const file = path.join(freshDir(), 'again.pcap');
  fs.writeFileSync(file, Buffer.alloc(5000, 0x55));
  const w = open({ path: file });
  const records = recs(2);
  writeBatch(w, records);
  w.close();
  assert.equal(fs.statSync(file).size, FILE_HEADER + recordBytes(records));
  assert.deepEqual((await readBack(file)).records, expected(records));
});

test('a writer with no records leaves a valid empty capture; close is idempotent', async () => {
  const file = path.join(freshDir(), 'empty.pcap');
  const w = open({ path: file });
  w.close();
  w.close();
  const { summary, records } = await readBack(file);
  assert.equal(summary.format, 'pcap-ns');
  assert.deepEqual([records.length, summary.warnings.length, fs.statSync(file).size], [0, 0, FILE_HEADER]);
});

test('rotation: no file exceeds maxFileBytes, no record is split, and files rotate only when the next record does not fit', async () => {
  const dir = freshDir();
  const maxFileBytes = 1000;
  const w = open({ path: path.join(dir, 'attack.pcap'), maxFileBytes });
  // Sizes 40..300 bytes in batches of 1..9 records: boundaries fall inside and between batches.
  const all: Rec[] = [];
  for (let b = 0; b < 40; b++) {
    const batch = Array.from({ length: 1 + (b % 9) }, (_, i) => {
      const n = all.length + i;
      return { seconds: T0 + n, nanos: n * 1000003 % 1000000000, data: frame(40 + (n * 37) % 261, n) };
    });
    all.push(...batch);
    writeBatch(w, batch);
  }
  w.close();

  const files = rotated(dir, /^attack\.\d{6}\.pcap$/);
  assert.deepEqual(files.map((f) => path.basename(f)), files.map((_, i) => `attack.${String(i + 1).padStart(6, '0')}.pcap`));
  assert.ok(files.length > 10, `${files.length} files`);
  const got: ReadBack['records'] = [];
  const perFile: ReadBack['records'][] = [];
  for (const f of files) {
    const { summary, records } = await readBack(f);
    assert.deepEqual(summary.warnings, [], f);
    assert.ok(fs.statSync(f).size <= maxFileBytes, `${f}: ${fs.statSync(f).size} bytes`);
    assert.ok(records.length > 0, f);
    perFile.push(records);
    got.push(...records);
  }
  assert.deepEqual(got, expected(all));
  // Each file but the last was closed only because its successor's first record did not fit.
  for (let i = 0; i + 1 < files.length; i++) {
    const nextRecord = RECORD_HEADER + perFile[i + 1][0][2];
    assert.ok(fs.statSync(files[i]).size + nextRecord > maxFileBytes, `${files[i]} rotated early`);
  }
  const sizes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  assert.deepEqual(w.stats, {
    files: files.length, records: all.length, bytes: sizes, droppedRecords: 0, droppedBytes: 0, currentPath: files[files.length - 1],
  });
});

test('rotation boundary: a record that fills the file exactly stays in it, one byte more goes to the next', async () => {
  const record = RECORD_HEADER + 60;
  for (const [maxFileBytes, perFile] of [[FILE_HEADER + 2 * record, [2, 2, 1]], [FILE_HEADER + 2 * record - 1, [1, 1, 1, 1, 1]]] as const) {
    const dir = freshDir();
    const w = open({ path: path.join(dir, 'edge.pcap'), maxFileBytes });
    writeBatch(w, recs(5));
    w.close();
    const counts: number[] = [];
    for (const f of rotated(dir, /^edge\./)) counts.push((await readBack(f)).records.length);
    assert.deepEqual(counts, perFile, `maxFileBytes ${maxFileBytes}`);
  }
});

test('a record bigger than maxFileBytes gets a file of its own, first in a batch or not', async () => {
  const dir = freshDir();
  const w = open({ path: path.join(dir, 'big.pcap'), maxFileBytes: 200 });
  const small = (seed: number): Rec => ({ seconds: T0, nanos: seed, data: frame(60, seed) });
  const big = (seed: number): Rec => ({ seconds: T0, nanos: seed, data: frame(1500, seed) });
  writeBatch(w, [big(1), small(2), big(3), big(4), small(5)]);
  writeBatch(w, [small(6)]);
  w.close();
  const files = rotated(dir, /^big\./);
  const perFile: number[][] = [];
  for (const f of files) perFile.push((await readBack(f)).records.map((r) => r[1])); // tsNsRem: the seed
  // small(5) and small(6): 24 + 76 + 76 bytes fit in 200.
  assert.deepEqual(perFile, [[1], [2], [3], [4], [5, 6]]);
  assert.deepEqual(files.map((f) => fs.statSync(f).size > 200), [true, false, true, true, false]);
});

test('rotation of a path without an extension numbers it at the end: attack.000001, attack.000002', async () => {
  const dir = freshDir();
  const w = open({ path: path.join(dir, 'attack'), maxFileBytes: FILE_HEADER + RECORD_HEADER + 60 });
  writeBatch(w, recs(3));
  w.close();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['attack.000001', 'attack.000002', 'attack.000003']);
  assert.equal((await readBack(path.join(dir, 'attack.000002'))).records.length, 1);
});

test('a restart continues after the highest number of the pattern and overwrites no earlier file', async () => {
  const dir = freshDir();
  const before = new Map<string, string>([
    ['attack.000003.pcap', 'earlier evidence 3'],
    ['attack.000007.pcap', 'earlier evidence 7'],
    // Not the pattern, or not a name the writer gives: they do not move the numbering.
    ['attack.pcap', 'x'], ['attack.000099.pcapng', 'x'], ['other.000050.pcap', 'x'],
    ['attack.0000500.pcap', 'x'], ['attack.12.pcap', 'x'], ['attack.000100.pcap.gz', 'x'],
  ]);
  for (const [name, text] of before) fs.writeFileSync(path.join(dir, name), text);
  const options = { path: path.join(dir, 'attack.pcap'), maxFileBytes: 1 };
  const first = open(options);
  assert.equal(first.stats.currentPath, path.join(dir, 'attack.000008.pcap'));
  writeBatch(first, recs(2));
  first.close();
  const second = open(options);
  assert.equal(second.stats.currentPath, path.join(dir, 'attack.000010.pcap'));
  second.close();
  for (const [name, text] of before) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), text, name);
  assert.equal((await readBack(path.join(dir, 'attack.000009.pcap'))).records.length, 1);
});

test('a file of the pattern that appears while writing (a second writer) is skipped, never overwritten', async () => {
  const dir = freshDir();
  const w = open({ path: path.join(dir, 'race.pcap'), maxFileBytes: 1 });
  fs.writeFileSync(path.join(dir, 'race.000002.pcap'), 'the other writer');
  writeBatch(w, recs(2));
  w.close();
  assert.equal(fs.readFileSync(path.join(dir, 'race.000002.pcap'), 'utf8'), 'the other writer');
  assert.equal(w.stats.currentPath, path.join(dir, 'race.000003.pcap'));
  assert.deepEqual((await readBack(path.join(dir, 'race.000003.pcap'))).records, expected(recs(1, 1)));
});

test('a rotation that cannot create its file drops and counts, and the next batch tries again', async () => {
  const dir = freshDir();
  const w = open({ path: path.join(dir, 'gone.pcap'), maxFileBytes: 1 });
  writeBatch(w, recs(1));
  fs.rmSync(dir, { recursive: true });
  const length = writeBatch(w, recs(3, 1));
  assert.deepEqual([w.stats.records, w.stats.droppedRecords, w.stats.droppedBytes], [1, 3, length]);
  assert.equal(w.lastError, `cannot write capture to ${path.join(dir, 'gone.000002.pcap')}: ENOENT: no such file or directory`);
  fs.mkdirSync(dir);
  writeBatch(w, recs(2, 4));
  w.close();
  assert.deepEqual([w.stats.records, w.stats.droppedRecords, w.stats.files], [3, 3, 3]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['gone.000002.pcap', 'gone.000003.pcap']);
  assert.deepEqual((await readBack(path.join(dir, 'gone.000003.pcap'))).records, expected(recs(1, 5)));
});

test('keepFiles: after each file opens, the oldest files of the pattern go until keepFiles remain', async () => {
  const dir = freshDir();
  // An earlier run's files, a directory of the pattern and an unrelated file: only regular files
  // of the pattern are deleted.
  for (const name of ['cap.000001.pcap', 'cap.000002.pcap', 'cap.pcap', 'cap.000001.pcapng']) fs.writeFileSync(path.join(dir, name), 'x');
  fs.mkdirSync(path.join(dir, 'cap.000003.pcap'));
  const w = open({ path: path.join(dir, 'cap.pcap'), maxFileBytes: FILE_HEADER + RECORD_HEADER + 60, keepFiles: 2 });
  const pattern = /^cap\.\d{6}\.pcap$/;
  const regular = () => fs.readdirSync(dir).filter((n) => pattern.test(n) && fs.statSync(path.join(dir, n)).isFile()).sort();
  assert.deepEqual(regular(), ['cap.000002.pcap', 'cap.000004.pcap']);
  for (let i = 0; i < 5; i++) {
    writeBatch(w, recs(1, i));
    assert.ok(regular().length <= 2, regular().join(' '));
  }
  w.close();
  assert.deepEqual(regular(), ['cap.000007.pcap', 'cap.000008.pcap']);
  assert.ok(fs.statSync(path.join(dir, 'cap.000003.pcap')).isDirectory());
  assert.deepEqual(['cap.pcap', 'cap.000001.pcapng'].map((n) => fs.existsSync(path.join(dir, n))), [true, true]);
  assert.deepEqual((await readBack(path.join(dir, 'cap.000008.pcap'))).records, expected(recs(1, 4)));
  assert.equal(w.stats.files, 5);
  assert.equal(w.lastError, null);
});

test('an open failure throws write-failed naming the path and the errno text, with or without rotation', () => {
  const missing = path.join(root, 'no-such-dir', 'x.pcap');
  for (const options of [{ path: missing }, { path: missing, maxFileBytes: 1000 }]) {
    assert.throws(() => open(options), (err: unknown) => {
      assert.ok(err instanceof CaptureError);
      assert.equal(err.code, 'write-failed');
      assert.equal(err.message, `cannot write capture to ${missing}: ENOENT: no such file or directory`);
      return true;
    });
  }
  const dir = freshDir();
  assert.throws(() => open({ path: dir }),
    { code: 'write-failed', message: `cannot write capture to ${dir}: EISDIR: illegal operation on a directory` });
});

test('options are checked at construction, with messages naming the value', () => {
  const file = path.join(freshDir(), 'x.pcap');
  const cases: [Partial<CaptureWriterOptions>, string][] = [
    [{ snaplen: 0 }, 'capture writer: snaplen must be a whole number from 1 to 262144, got 0'],
    [{ snaplen: 262145 }, 'capture writer: snaplen must be a whole number from 1 to 262144, got 262145'],
    [{ linkType: -1 }, 'capture writer: linkType must be a whole number from 0 to 4294967295, got -1'],
    [{ maxFileBytes: 0 }, 'capture writer: maxFileBytes must be a whole number from 1 to 9007199254740991, got 0'],
    [{ maxFileBytes: 100, keepFiles: 1.5 }, 'capture writer: keepFiles must be a whole number from 1 to 9007199254740991, got 1.5'],
    [{ keepFiles: 3 }, 'capture writer: keepFiles (3) needs maxFileBytes: without rotation there is one file'],
  ];
  for (const [options, message] of cases) assert.throws(() => open({ path: file, ...options }), { code: 'bad-option', message });
  assert.equal(fs.existsSync(file), false);
});

test('a full device (/dev/full): nothing throws, every record is counted as dropped, and every batch tries again', () => {
  const w = open({ path: '/dev/full' });
  assert.equal(w.lastError, 'cannot write capture to /dev/full: ENOSPC: no space left on device');
  const length = writeBatch(w, recs(3));
  assert.deepEqual(w.stats, { files: 1, records: 0, bytes: 0, droppedRecords: 3, droppedBytes: length, currentPath: '/dev/full' });
  const more = writeBatch(w, recs(4, 3));
  assert.deepEqual([w.stats.droppedRecords, w.stats.droppedBytes], [7, length + more]);
  w.close();
  w.close();
  writeBatch(w, recs(1));
  assert.equal(w.stats.droppedRecords, 8);
});

test('a damaged batch: the records before the damage are written, the rest dropped as one record, later batches written', async () => {
  const file = path.join(freshDir(), 'damaged.pcap');
  const w = open({ path: file, snaplen: 1000 });
  const good = recs(2);
  const badTails: [Rec[], number, string][] = [
    // caplen says 200, 100 bytes follow (length cut below)
    [[...good, { seconds: T0, nanos: 0, data: frame(200, 9) }], 100, 'caplen 200 runs past the batch end'],
    [[...good, { seconds: T0, nanos: 0, data: frame(10, 9), caplen: 1001 }], 0, 'caplen 1001 exceeds snaplen 1000'],
    [[...good, { seconds: T0, nanos: 0, data: frame(0, 9) }], 11, '5 bytes left at batch offset'],
  ];
  let written = 0;
  let droppedBytes = 0;
  for (const [records, cut, message] of badTails) {
    const fresh = open({ path: path.join(path.dirname(file), 'one.pcap'), snaplen: 1000 });
    const length = layOut(records) - cut;
    for (const writer of [w, fresh]) writer.write(batchBuffer, length);
    written += 2;
    droppedBytes += length - recordBytes(good);
    assert.deepEqual([w.stats.records, w.stats.droppedRecords, w.stats.droppedBytes], [written, written / 2, droppedBytes]);
    assert.match(fresh.lastError ?? '', new RegExp(`^damaged batch for .*one\\.pcap: (record at batch offset ${recordBytes(good)}: )?${message}`));
    fresh.close();
  }
  writeBatch(w, recs(1, 7));
  w.close();
  const { summary, records } = await readBack(file);
  assert.deepEqual(summary.warnings, []);
  assert.deepEqual(records, expected([...good, ...good, ...good, ...recs(1, 7)]));
});

/**
 * Runs `body` on a fresh 64 KiB tmpfs (skipped unless mount works: root). The writers it opens
 * are closed and the mount removed even when an assertion fails (lazily if still busy).
 */
async function onTmpfs(
  t: { skip(message: string): void },
  body: (mnt: string, opened: (w: CaptureWriter) => CaptureWriter) => Promise<void>,
): Promise<void> {
  const mnt = fs.mkdtempSync(path.join(root, 'tmpfs-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) return t.skip(`cannot mount a tmpfs (needs root): ${(mount.stderr || '').trim()}`);
  const writers: CaptureWriter[] = [];
  try {
    await body(mnt, (w) => (writers.push(w), w));
  } finally {
    for (const w of writers) w.close();
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
}

/** Writes zeros to a new file until the file system is full. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
}

test('ENOSPC on a real file system: whole records only on disk, drops counted, writing resumes once space is freed',
  (t) => onTmpfs(t, async (mnt, opened) => {
  const file = path.join(mnt, 'full.pcap');
  const w = opened(open({ path: file }));
  fill(path.join(mnt, 'filler'));
  // 1016-byte records: the file's one page (4096 bytes) takes the header and 4 of them, and the
  // kernel writes part of the 5th before ENOSPC.
  const first = recs(8, 0, 1000);
  writeBatch(w, first);
  const { records: landed, droppedRecords } = w.stats;
  assert.equal(landed + droppedRecords, 8);
  assert.ok(landed > 0 && droppedRecords > 0, `landed ${landed}, dropped ${droppedRecords}`);
  assert.match(w.lastError ?? '', /^cannot write capture to .*full\.pcap: ENOSPC: no space left on device$/);
  assert.equal(fs.statSync(file).size, w.stats.bytes, 'the cut record was truncated away');
  const stillFull = recs(2, 8, 1000);
  writeBatch(w, stillFull);
  assert.equal(w.stats.droppedRecords, droppedRecords + 2, 'still full: dropped again');
  // A file opened on the full file system cannot even take its header.
  const late = path.join(mnt, 'late.pcap');
  const v = opened(open({ path: late }));
  assert.match(v.lastError ?? '', /ENOSPC/);
  writeBatch(v, recs(1));
  assert.deepEqual([v.stats.records, v.stats.droppedRecords, fs.statSync(late).size], [0, 1, 0]);

  fs.unlinkSync(path.join(mnt, 'filler'));
  const later = recs(3, 10, 1000);
  writeBatch(w, later);
  writeBatch(v, later);
  w.close();
  v.close();
  assert.deepEqual(w.stats, {
    files: 1, records: landed + 3, bytes: fs.statSync(file).size,
    droppedRecords: droppedRecords + 2, droppedBytes: recordBytes([...first.slice(landed), ...stillFull]), currentPath: file,
  });
  const { summary, records } = await readBack(file);
  assert.deepEqual(summary.warnings, []);
  assert.deepEqual(records, expected([...first.slice(0, landed), ...later]));
  // The header came first, once there was room.
  const lateBack = await readBack(late);
  assert.deepEqual([lateBack.summary.format, lateBack.summary.warnings], ['pcap-ns', []]);
  assert.deepEqual(lateBack.records, expected(later));
}));

test('tcpdump and tshark read a written file: every record, with nanosecond timestamps', () => {
  const dir = freshDir();
  const file = path.join(dir, 'syns.pcap');
  const w = open({ path: file });
  const syns: Rec[] = Array.from({ length: 25 }, (_, i) => ({
    seconds: T0 + i,
    nanos: 100000001 + i,
    data: ethernet({ etherType: ETHERTYPE.IPV4, pad: true },
      tcpIpv4({ src: '203.0.113.66', dst: '192.0.2.10', id: i }, { sport: 40000 + i, dport: 80, seq: 1000 + i, flags: TCP_FLAGS.SYN })),
  }));
  writeBatch(w, syns.slice(0, 10));
  writeBatch(w, syns.slice(10));
  w.close();

  const tcpdump = execFileSync('tcpdump', ['-r', file, '-nn', '-tt', '--time-stamp-precision=nano'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = tcpdump.trim().split('\n');
  assert.equal(lines.length, 25);
  assert.match(lines[0], /^1700000000\.100000001 IP 203\.0\.113\.66\.40000 > 192\.0\.2\.10\.80: Flags \[S\]/);
  assert.match(lines[24], /^1700000024\.100000025 IP 203\.0\.113\.66\.40024 > 192\.0\.2\.10\.80: Flags \[S\]/);

  const tshark = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'tcp.srcport'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const rows = tshark.trim().split('\n');
  assert.equal(rows.length, 25);
  assert.deepEqual(rows[24].split('\t'), ['1700000024.100000025', '40024']);
});
