import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { readCaptureFile, readCaptureStream } from '../../src/capture/reader';
import { CaptureSummary } from '../../src/capture/record';
import { frame, parseInChunks, pcapFile, PcapngWriter, PcapRecord, seen, SeenRecord } from './helpers';

const dir = mkdtempSync(path.join(tmpdir(), 'synwatch-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

async function readFile(file: string, chunkBytes?: number): Promise<{ records: SeenRecord[]; summary: CaptureSummary }> {
  const records: SeenRecord[] = [];
  const summary = await readCaptureFile(file, (rec) => records.push(seen(rec)), { chunkBytes });
  return { records, summary };
}

function manyRecords(count: number, length = 60): PcapRecord[] {
  return Array.from({ length: count }, (_, i) => ({ seconds: 1700000000 + Math.floor(i / 1000), fraction: (i * 997) % 1000000, data: frame(length, i) }));
}

const pcapBytes = pcapFile({}, manyRecords(500));
const pcapngBytes = new PcapngWriter().section().iface({ linkType: 1 }).iface({ linkType: 113, tsresol: 9 })
  .epb(0, 1700000000000001n, frame(60, 1)).epb(1, 1700000000123456789n, frame(70, 2)).spb(60, frame(60, 3)).toBuffer();

test('a file reads the same as the bytes fed to the parser, at any read size', async () => {
  const file = write('plain.pcap', pcapBytes);
  const expected = parseInChunks(pcapBytes, pcapBytes.length, file);
  assert.equal(expected.records.length, 500);
  for (const chunkBytes of [undefined, 4096, 77]) {
    assert.deepEqual(await readFile(file, chunkBytes), expected, `chunkBytes ${chunkBytes}`);
  }
});

test('gzip is recognised by its magic, whatever the file is called', async () => {
  const cases: Array<[string, Buffer, boolean]> = [
    ['gzipped-pcap.pcapng', gzipSync(pcapBytes), true],
    ['gzipped-pcapng.pcap', gzipSync(pcapngBytes), true],
    ['not-gzipped.pcap.gz', pcapBytes, false],
  ];
  for (const [name, bytes, compressed] of cases) {
    const file = write(name, bytes);
    const plain = compressed && name.includes('pcapng.pcap') ? pcapngBytes : pcapBytes;
    const expected = parseInChunks(plain, plain.length, file);
    const got = await readFile(file, 1000);
    assert.deepEqual(got.records, expected.records, name);
    assert.deepEqual(got.summary, { ...expected.summary, compressed }, name);
  }
});

test('a large gzip file is inflated as a stream, chunk by chunk', async () => {
  const plain = pcapFile({ nanoseconds: true }, manyRecords(60000));
  const file = write('big.gz', gzipSync(plain));
  const progress: Array<[number, number | null]> = [];
  let count = 0;
  const summary = await readCaptureFile(file, () => count++, { chunkBytes: 4096, onProgress: (done, total) => progress.push([done, total]) });
  assert.equal(count, 60000);
  assert.equal(summary.bytes, plain.length);
  assert.deepEqual(summary.warnings, []);
  assert.equal(summary.compressed, true);
  // Progress counts the compressed bytes read, against the file's size.
  const size = gzipSync(plain).length;
  assert.deepEqual(progress, [[size, size]]);
});

test('a truncated gzip stream: a warning at the decompressed offset, and everything decoded kept', async () => {
  const gz = gzipSync(pcapBytes);
  const file = write('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
  const full = parseInChunks(pcapBytes);
  const { records, summary } = await readFile(file);
  assert.ok(records.length > 0 && records.length < 500, `${records.length} records`);
  assert.deepEqual(records, full.records.slice(0, records.length));
  const [gzipWarning, recordWarning] = summary.warnings;
  assert.equal(gzipWarning.code, 'truncated-gzip');
  assert.match(gzipWarning.message, /^gzip stream ends early at decompressed offset \d+$/);
  // The inflated bytes end inside a record, which is reported where it starts.
  const lastRecordEnd = records[records.length - 1].fileOffset + 16 + 60;
  assert.equal(recordWarning.code, 'truncated-record');
  assert.equal(recordWarning.offset, lastRecordEnd);
  assert.ok(gzipWarning.offset > lastRecordEnd && gzipWarning.offset < lastRecordEnd + 76);
  assert.equal(summary.bytes, lastRecordEnd);
});

test('a gzip stream with a broken checksum: a warning, and the records inflated before it', async () => {
  const plain = pcapFile({}, manyRecords(20000));
  const gz = Buffer.from(gzipSync(plain));
  gz[gz.length - 6] ^= 0xff; // inside the CRC32 of the trailer
  const full = parseInChunks(plain);
  const { records, summary } = await readFile(write('crc.gz', gz));
  // Node drops the output of the inflate step that found the error: at most 64 KiB.
  assert.ok(records.length >= 20000 - Math.ceil((64 * 1024) / 76), `${records.length} records`);
  assert.deepEqual(records, full.records.slice(0, records.length));
  const gzipWarning = summary.warnings[0];
  assert.equal(gzipWarning.code, 'bad-gzip');
  assert.equal(gzipWarning.message, `gzip stream broken (incorrect data check) at decompressed offset ${gzipWarning.offset}`);
});

test('gzip around something that is no capture is a CaptureError', async () => {
  const file = write('page.html.gz', gzipSync(Buffer.from('<html></html>')));
  await assert.rejects(readFile(file), {
    name: 'CaptureError', code: 'not-a-capture', offset: 0,
    message: `${file}: gzip-compressed, but not a pcap/pcapng capture inside (first bytes 3c 68 74 6d)`,
  });
});

test('files that cannot be read are CaptureErrors with the system error text', async () => {
  const missing = path.join(dir, 'missing.pcap');
  await assert.rejects(readFile(missing), { name: 'CaptureError', code: 'cannot-open', message: `${missing}: ENOENT: no such file or directory` });
  await assert.rejects(readFile(dir), { name: 'CaptureError', code: 'read-failed', message: `${dir}: EISDIR: illegal operation on a directory` });
  await assert.rejects(readFile(write('empty.pcap', Buffer.alloc(0))), {
    name: 'CaptureError', code: 'not-a-capture', message: `${path.join(dir, 'empty.pcap')}: empty input, not a pcap/pcapng/gzip capture`,
  });
});

test('after damage the file is not read any further', async () => {
  const damaged = Buffer.from(pcapFile({}, manyRecords(40000)));
  damaged.writeUInt32LE(0xfffffff0, 24 + 76 * 10 + 8); // caplen of record 10
  const file = write('damaged-early.pcap', damaged);
  const reads: number[] = [];
  const summary = await readCaptureFile(file, () => undefined, { chunkBytes: 65536, onProgress: (done) => reads.push(done) });
  assert.equal(summary.records, 10);
  assert.equal(summary.warnings[0].code, 'bogus-caplen');
  assert.deepEqual(reads, [65536], 'one chunk read, then stop');
});

test('onProgress comes every 64 MiB and once at the end', async () => {
  const step = 64 * 1024 * 1024;
  const records = manyRecords(2200, 65000); // ~136 MiB
  const file = write('large.pcap', pcapFile({ snaplen: 65535 }, records));
  const size = 24 + records.length * (16 + 65000);
  const calls: Array<[number, number | null]> = [];
  const summary = await readCaptureFile(file, () => undefined, { onProgress: (done, total) => calls.push([done, total]) });
  rmSync(file);
  assert.equal(summary.records, 2200);
  assert.equal(calls.length, 3);
  assert.ok(calls[0][0] >= step && calls[0][0] < step + 1024 * 1024, `${calls[0][0]}`);
  assert.ok(calls[1][0] >= 2 * step && calls[1][0] < 2 * step + 1024 * 1024, `${calls[1][0]}`);
  assert.deepEqual(calls[2], [size, size]);
  assert.ok(calls.every(([, total]) => total === size));
});

test('an exception from the sink passes through unchanged', async () => {
  const boom = new RangeError('consumer bug');
  await assert.rejects(readCaptureFile(write('sink.pcap', pcapBytes), () => { throw boom; }), (err) => err === boom);
});

test('readCaptureStream reads an array of chunks, gzipped or not', async () => {
  const expected = parseInChunks(pcapngBytes, pcapngBytes.length, 'mem');
  for (const [bytes, compressed] of [[pcapngBytes, false], [gzipSync(pcapngBytes), true]] as const) {
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 50), bytes.subarray(50)];
    const records: SeenRecord[] = [];
    const summary = await readCaptureStream('mem', chunks, (rec) => records.push(seen(rec)));
    assert.deepEqual(records, expected.records);
    assert.deepEqual(summary, { ...expected.summary, compressed });
  }
});

/** Runs `synwatch`'s reader on stdin in a child process, as `tcpdump -w - | synwatch analyze -` would. */
function readStdinInChild(input: Buffer): Promise<unknown> {
  const reader = path.resolve(__dirname, '../../src/capture/reader.js');
  const script = `
    const { readCaptureFile } = require(${JSON.stringify(reader)});
    const records = [];
    readCaptureFile('-', (r) => records.push([r.tsUs, r.tsNsRem, r.caplen, r.interfaceId, r.buf.toString('hex', r.offset, r.offset + r.caplen)]))
      .then((summary) => ({ records, summary }), (e) => ({ error: [e.name, e.code, e.message] }))
      .then((out) => process.stdout.write(JSON.stringify(out)));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
    // Several writes, so the reader sees the pipe deliver the input in pieces.
    for (let at = 0; at < input.length; at += 1000) child.stdin.write(input.subarray(at, at + 1000));
    child.stdin.end();
  });
}

test('"-" reads stdin: plain and gzipped, same records as the file', async () => {
  for (const [bytes, compressed] of [[pcapBytes, false], [gzipSync(pcapngBytes), true], [pcapngBytes, false]] as const) {
    const plain = compressed ? pcapngBytes : bytes;
    const expected = parseInChunks(plain, plain.length, '-');
    const got = await readStdinInChild(bytes);
    assert.deepEqual(got, {
      records: expected.records.map((r) => [r.tsUs, r.tsNsRem, r.caplen, r.interfaceId, r.bytes]),
      summary: { ...expected.summary, compressed },
    });
  }
});

test('"-" with nothing on stdin is a CaptureError', async () => {
  assert.deepEqual(await readStdinInChild(Buffer.alloc(0)), { error: ['CaptureError', 'not-a-capture', '-: empty input, not a pcap/pcapng/gzip capture'] });
});
