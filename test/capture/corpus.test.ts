/**
 * The reader against real captures written by others (../shared/corpus, see its README):
 * - a differential test against the `pcap-parser` package on every classic microsecond pcap
 *   (times compared as sec * 10^6 + usec, which is what CaptureRecord carries: a fuzzed
 *   usec >= 10^6 carries into the seconds);
 * - every file under tcpdump-tests/ and zeek-traces/ (fuzzed and malformed ones included) reads
 *   to the end within a time budget, and the record counts and first-packet times agree with
 *   capinfos (MANIFEST.tsv), except where listed below with the reason.
 * Skipped, with a message, when the corpus is not there.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as pcapParser from 'pcap-parser';

import { readCaptureFile } from '../../src/capture/reader';
import { CaptureError, CaptureRecord, CaptureSummary } from '../../src/capture/record';
import { frame, pcapFile, PcapRecord } from './helpers';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus');
const haveCorpus = existsSync(path.join(corpus, 'MANIFEST.tsv'));
const SKIP_MESSAGE = '../shared/corpus not found';

/** Per file; the largest corpus file reads in well under 100 ms. */
const FILE_BUDGET_MS = 10_000;

/** Classic little/big-endian microsecond magics, as read little-endian. */
const MICROSECOND_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1]);

/**
 * Files whose earliest packet time differs from capinfos' "first packet": all fuzzed files whose
 * timestamp fields capinfos orders or normalises its own way.
 */
const FIRST_PACKET_TIME_DIFFERS = new Map([
  ['tcpdump-tests/atm-oam-loopback-print-overrun.pcap', 'microsecond field 1159821166 >= 10^6: we carry it into the seconds'],
  ['tcpdump-tests/bgp_vpn_rt-oobr.pcap', 'records with time 0 (caplen 0): capinfos reports a year-2106 time instead'],
  ['tcpdump-tests/olsr-oobr-2.pcap', 'seconds field 4294934285 (year 2106) and a record at time 0: capinfos takes the seconds as signed'],
  ['tcpdump-tests/pim_header_asan-2.pcap', 'seconds field 2521431551 (> 2^31): capinfos takes the seconds as signed'],
  ['tcpdump-tests/rx_serviceid_oobr.pcap', 'microsecond field 3841916976: capinfos prints a negative fraction (".-2078753")'],
]);

/** Record counts that differ from capinfos'. None: every count agrees. */
const COUNT_DIFFERS = new Map<string, string>();

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

function firstWord(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 ? b.readUInt32LE(0) : -1;
  } finally {
    closeSync(fd);
  }
}

interface Frame {
  tsUs: number;
  caplen: number;
  wirelen: number;
  bytes: Buffer;
}

async function readOurs(file: string): Promise<{ frames: Frame[]; summary: CaptureSummary }> {
  const frames: Frame[] = [];
  const summary = await readCaptureFile(file, (r) => frames.push({
    tsUs: r.tsUs, caplen: r.caplen, wirelen: r.wirelen, bytes: Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)),
  }));
  return { frames, summary };
}

function readTheirs(file: string): Promise<Frame[]> {
  return new Promise((resolve) => {
    const frames: Frame[] = [];
    const parser = pcapParser.parse(file);
    parser.on('packet', (p: pcapParser.Packet) => frames.push({
      tsUs: p.header.timestampSeconds * 1e6 + p.header.timestampMicroseconds,
      caplen: p.header.capturedLength, wirelen: p.header.originalLength, bytes: Buffer.from(p.data),
    }));
    parser.on('error', () => undefined); // it ends right after; what it yielded is what counts
    parser.on('end', () => resolve(frames));
  });
}

/** Same frames; where our reader found damage, at least pcap-parser's frames and a warning. */
function assertAgrees(name: string, ours: { frames: Frame[]; summary: CaptureSummary }, theirs: Frame[]): void {
  const damage = ours.summary.warnings.filter((w) => w.code !== 'caplen-exceeds-wirelen');
  if (damage.length === 0) assert.equal(ours.frames.length, theirs.length, `${name}: record count`);
  else assert.ok(ours.frames.length >= theirs.length, `${name}: ${ours.frames.length} records < pcap-parser's ${theirs.length}`);
  theirs.forEach((f, i) => assert.deepEqual(ours.frames[i], f, `${name}: record ${i}`));
}

test('differential vs pcap-parser on damaged files it reads silently short', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synwatch-diff-'));
  try {
    const records: PcapRecord[] = Array.from({ length: 5 }, (_, i) => ({ seconds: 1700000000 + i, fraction: i, data: frame(60, i) }));
    const good = pcapFile({}, records);
    const bogus = Buffer.from(good);
    bogus.writeUInt32LE(4294901760, 24 + 3 * 76 + 8);
    const cases: Array<[string, Buffer, number, string]> = [
      ['truncated.pcap', good.subarray(0, good.length - 7), 4, 'truncated-record'],
      ['bogus-caplen.pcap', bogus, 3, 'bogus-caplen'],
      ['garbage-tail.pcap', Buffer.concat([good, Buffer.from('trailing garbage, trailing garbage')]), 5, 'bogus-caplen'],
    ];
    for (const [name, bytes, count, code] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      const ours = await readOurs(file);
      const theirs = await readTheirs(file);
      assert.equal(theirs.length, count, `${name}: pcap-parser reads what is whole and stops without a word`);
      assert.deepEqual(ours.summary.warnings.map((w) => w.code), [code], name);
      assertAgrees(name, ours, theirs);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('differential vs pcap-parser: every classic microsecond pcap of the corpus', { timeout: 300_000 }, async (t) => {
  if (!haveCorpus) return t.skip(SKIP_MESSAGE);
  const files = ['A-synflood', 'B-benign', 'tcpdump-tests', 'zeek-traces']
    .flatMap((d) => walk(path.join(corpus, d)))
    .filter((f) => MICROSECOND_MAGICS.has(firstWord(f)));
  assert.ok(files.length > 850, `${files.length} classic microsecond files`);
  let frames = 0;
  for (const file of files) {
    const name = path.relative(corpus, file);
    const ours = await readOurs(file);
    assertAgrees(name, ours, await readTheirs(file));
    frames += ours.frames.length;
  }
  t.diagnostic(`${files.length} files, ${frames} records identical`);
});

interface ManifestRow {
  packets: string;
  capinfosError: string;
  firstPacket: string;
}

function readManifest(): Map<string, ManifestRow> {
  const [header, ...rows] = readFileSync(path.join(corpus, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
  const column = (name: string) => {
    const i = header.indexOf(name);
    assert.ok(i >= 0, `MANIFEST.tsv has a ${name} column`);
    return i;
  };
  const [pathCol, packetsCol, errorCol, firstCol] = ['local_path', 'packets', 'capinfos_error', 'first_packet'].map(column);
  return new Map(rows.map((r) => [r[pathCol], { packets: r[packetsCol], capinfosError: r[errorCol], firstPacket: r[firstCol] }]));
}

/** Counts records and keeps the earliest time: capinfos' "first packet" is the minimum. */
class Tally {
  count = 0;
  private earliest: [number, number] | null = null;
  readonly sink = (r: CaptureRecord): void => {
    this.count++;
    const e = this.earliest;
    if (e === null || r.tsUs < e[0] || (r.tsUs === e[0] && r.tsNsRem < e[1])) this.earliest = [r.tsUs, r.tsNsRem];
  };

  /** The earliest time as capinfos prints it, with as many fraction digits as `like` has. */
  firstPacket(like: string): string {
    if (this.earliest === null) return 'n/a';
    return capinfosTime(this.earliest[0], this.earliest[1], like.split('.')[1]?.length ?? 0);
  }
}

function withinBudget<T>(work: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name}: still reading after ${FILE_BUDGET_MS} ms`)), FILE_BUDGET_MS);
  });
  return Promise.race([work, budget]).finally(() => clearTimeout(timer));
}

/** capinfos' "first packet" text (UTC) for microseconds + nanoseconds, with `digits` fraction digits. */
function capinfosTime(tsUs: number, nsRem: number, digits: number): string {
  const seconds = Math.floor(tsUs / 1e6);
  const date = new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
  const fraction = `${String(tsUs - seconds * 1e6).padStart(6, '0')}${String(nsRem).padStart(3, '0')}`;
  return `${date}.${fraction.slice(0, digits)}`;
}

test('every file under tcpdump-tests and zeek-traces reads to the end, and agrees with capinfos', { timeout: 300_000 }, async (t) => {
  if (!haveCorpus) return t.skip(SKIP_MESSAGE);
  const manifest = readManifest();
  const files = ['tcpdump-tests', 'zeek-traces'].flatMap((d) => walk(path.join(corpus, d)));
  assert.ok(files.length > 900, `${files.length} files`);
  const failures: string[] = [];
  const countDiffers: string[] = [];
  const timeDiffers: string[] = [];
  let compared = 0;
  for (const file of files) {
    const name = path.relative(corpus, file);
    const tally = new Tally();
    let summary: CaptureSummary;
    try {
      summary = await withinBudget(readCaptureFile(file, tally.sink), name);
    } catch (err) {
      // Every corpus file is a capture: not even a CaptureError is expected.
      failures.push(`${name}: ${err instanceof CaptureError ? 'CaptureError' : 'threw'} ${String(err)}`);
      continue;
    }
    assert.equal(summary.records, tally.count, name);
    const row = manifest.get(name);
    if (row === undefined || row.capinfosError !== '' || row.packets === '') continue;
    compared++;
    if (String(tally.count) !== row.packets) countDiffers.push(name);
    if (tally.firstPacket(row.firstPacket) !== row.firstPacket) timeDiffers.push(name);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(countDiffers, [...COUNT_DIFFERS.keys()], 'record counts that differ from capinfos');
  assert.deepEqual(timeDiffers, [...FIRST_PACKET_TIME_DIFFERS.keys()], 'first-packet times that differ from capinfos');
  t.diagnostic(`${files.length} files read; ${compared} compared with capinfos`);
});

test('A-synflood and B-benign: counts and first-packet times agree with capinfos', async (t) => {
  if (!haveCorpus) return t.skip(SKIP_MESSAGE);
  const manifest = readManifest();
  const files = ['A-synflood', 'B-benign'].flatMap((d) => walk(path.join(corpus, d)));
  assert.ok(files.length >= 21, `${files.length} files`);
  for (const file of files) {
    const name = path.relative(corpus, file);
    const row = manifest.get(name);
    assert.ok(row !== undefined, `${name} is in MANIFEST.tsv`);
    const tally = new Tally();
    const summary = await readCaptureFile(file, tally.sink);
    assert.deepEqual(summary.warnings, [], name);
    assert.equal(String(tally.count), row.packets, name);
    assert.equal(tally.firstPacket(row.firstPacket), row.firstPacket, name);
  }
});
