/**
 * Decoder throughput on real captures: `node dist/test/decode/throughput.bench.js [FILE...]`
 * (default: every capture in ../shared/corpus/A-synflood and B-benign). Frames are loaded into
 * memory first, so only decodeFrame is timed; prints ns/packet and the garbage collections seen.
 * `--reads` times the two ways of reading big-endian fields (bytes.ts). Does nothing under
 * `node --test`: it is a benchmark, not a test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { readCaptureFile } from '../../src/capture/reader';
import { decodeFrame } from '../../src/decode/frame';
import { DecodeCounters, PacketView } from '../../src/decode/packet';
import { CORPUS } from '../support/paths';

interface Frames {
  buf: Buffer;
  offsets: number[];
  caplens: number[];
  wirelens: number[];
  linkTypes: number[];
}

async function load(files: string[]): Promise<Frames> {
  const chunks: Buffer[] = [];
  const f: Frames = { buf: Buffer.alloc(0), offsets: [], caplens: [], wirelens: [], linkTypes: [] };
  let at = 0;
  for (const file of files) {
    await readCaptureFile(file, (rec) => {
      chunks.push(Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)));
      f.offsets.push(at);
      f.caplens.push(rec.caplen);
      f.wirelens.push(rec.wirelen);
      f.linkTypes.push(rec.linkType);
      at += rec.caplen;
    });
  }
  f.buf = Buffer.concat(chunks);
  return f;
}

function decodeAll(f: Frames, view: PacketView, counters: DecodeCounters): void {
  const { buf, offsets, caplens, wirelens, linkTypes } = f;
  for (let i = 0; i < offsets.length; i++) decodeFrame(view, buf, offsets[i], caplens[i], wirelens[i], linkTypes[i], counters);
}

async function benchDecode(files: string[]): Promise<void> {
  const frames = await load(files);
  const n = frames.offsets.length;
  const view = new PacketView();
  const counters = new DecodeCounters();
  for (let i = 0; i < 5; i++) decodeAll(frames, view, counters); // warm up the JIT
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  const rounds = Math.max(3, Math.ceil(2_000_000 / n));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) decodeAll(frames, view, counters);
  const ns = Number(process.hrtime.bigint() - t0);
  await new Promise((resolve) => setImmediate(resolve));
  obs.disconnect();
  const packets = n * rounds;
  console.log(`${files.length} files, ${n} frames x ${rounds} rounds: ${(ns / packets).toFixed(1)} ns/packet, ` +
    `${(packets / (ns / 1e9) / 1e6).toFixed(1)} M packets/s, ${gcs} garbage collections during the timed loop`);
}

function benchReads(): void {
  const buf = Buffer.alloc(1 << 16);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7) & 255;
  const byIndex = (b: Buffer, n: number) => {
    let s = 0;
    for (let k = 0; k < n; k++) {
      const i = k & 0xfff0;
      s += ((b[i] << 8) | b[i + 1]) + (((b[i + 4] << 24) | (b[i + 5] << 16) | (b[i + 6] << 8) | b[i + 7]) >>> 0);
    }
    return s;
  };
  const byMethod = (b: Buffer, n: number) => {
    let s = 0;
    for (let k = 0; k < n; k++) {
      const i = k & 0xfff0;
      s += b.readUInt16BE(i) + b.readUInt32BE(i + 4);
    }
    return s;
  };
  for (const [name, fn] of [['buf[i] arithmetic', byIndex], ['readUInt16BE/readUInt32BE', byMethod]] as const) {
    fn(buf, 1e6);
    const t0 = process.hrtime.bigint();
    fn(buf, 2e7);
    console.log(`${name}: ${(Number(process.hrtime.bigint() - t0) / 2e7).toFixed(1)} ns per u16+u32 pair`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--reads')) return benchReads();
  const files = args.length > 0
    ? args
    : ['A-synflood', 'B-benign'].flatMap((d) => fs.readdirSync(path.join(CORPUS, d)).sort().map((f) => path.join(CORPUS, d, f)));
  await benchDecode(files);
}

if (process.env.NODE_TEST_CONTEXT === undefined) void main();
