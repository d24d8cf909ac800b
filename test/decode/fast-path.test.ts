/**
 * The fast path (src/decode/fast-path.ts) against the layer decoders it stands in for:
 * decodeFrame and decodeLayers must give the same result, the same view and the same counters
 * for every frame. Checked on every byte of a SYN's headers set to every value, at every capture
 * length, and on every frame of the fixtures and of the corpus (when present). Each set also
 * asserts that the fast path took frames, so the comparison is never between two runs of the layers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readCaptureFile } from '../../src/capture/reader';
import { CaptureError } from '../../src/capture/record';
import { decodeEthernetIpv4Tcp, FAST_PATH_MIN_BYTES } from '../../src/decode/fast-path';
import { decodeFrame, decodeLayers } from '../../src/decode/frame';
import { DecodeCounters, DecodeResult, PacketView } from '../../src/decode/packet';
import { CAPTURE_FILE, CORPUS, FIXTURES, HAVE_CORPUS, NO_CORPUS_REASON } from '../support/paths';
import { hex, LINKTYPE, PKT } from './packets';

/** Decodes frames both ways, each into its own reused view and counters, and compares each frame. */
class Differential {
  private readonly fastView = new PacketView();
  private readonly layeredView = new PacketView();
  readonly fastCounters = new DecodeCounters();
  readonly layeredCounters = new DecodeCounters();
  private readonly probe = new PacketView();
  frames = 0;
  /** Frames the fast path decoded itself. */
  taken = 0;

  check(buf: Buffer, offset: number, caplen: number, wirelen: number, linkType: number, where: () => string): void {
    this.frames++;
    const end = Math.min(offset + caplen, buf.length);
    if ((linkType & 0xffff) === LINKTYPE.ETHERNET && end - offset >= FAST_PATH_MIN_BYTES && decodeEthernetIpv4Tcp(this.probe, buf, offset, end)) this.taken++;
    const fast = decodeFrame(this.fastView, buf, offset, caplen, wirelen, linkType, this.fastCounters);
    const layered = decodeLayers(this.layeredView, buf, offset, caplen, wirelen, linkType, this.layeredCounters);
    if (fast !== layered || !sameView(this.fastView, this.layeredView)) {
      assert.deepEqual({ result: fast, view: plain(this.fastView) }, { result: layered, view: plain(this.layeredView) }, where());
    }
  }

  /** Counters after all frames (anomaly names included), and that the fast path took some. */
  finish(minTaken = 1): void {
    assert.deepEqual(plain(this.fastCounters), plain(this.layeredCounters));
    assert.ok(this.taken >= minTaken, `the fast path took ${this.taken} of ${this.frames} frames`);
  }
}

function sameView(a: PacketView, b: PacketView): boolean {
  for (const k of Object.keys(a) as (keyof PacketView)[]) {
    if (k === 'src' || k === 'dst') continue;
    if (a[k] !== b[k]) return false;
  }
  for (let i = 0; i < 4; i++) if (a.src[i] !== b.src[i] || a.dst[i] !== b.dst[i]) return false;
  return true;
}

function plain(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v instanceof Uint32Array ? [...v] : v instanceof Map ? [...v] : v;
  return out;
}

describe('fast path = layer decoders', () => {
  test('every header byte of an Ethernet IPv4 SYN set to every value', () => {
    const d = new Differential();
    const syn = hex(PKT.synEth);
    const at = 5;
    const buf = Buffer.alloc(at + syn.length + 11, 0xee);
    for (let i = 12; i < syn.length; i++) {
      for (let v = 0; v < 256; v++) {
        syn.copy(buf, at);
        buf[at + i] = v;
        d.check(buf, at, syn.length, syn.length, LINKTYPE.ETHERNET, () => `byte ${i} = ${v}`);
      }
    }
    d.finish(syn.length - 12);
  });

  test('every IPv4 header length, with another header byte set to a few values', () => {
    // A wrong header length moves where TCP is read: the bytes found there must not pass for a header.
    const d = new Differential();
    const syn = hex(PKT.synEth);
    for (let ihl = 0; ihl < 16; ihl++) {
      for (let i = 15; i < syn.length; i++) {
        for (const v of [0x00, 0x50, 0x80, 0xf0, 0xff]) {
          const b = Buffer.from(syn);
          b[14] = 0x40 | ihl;
          b[i] = v;
          d.check(b, 0, b.length, b.length, LINKTYPE.ETHERNET, () => `IHL ${ihl}, byte ${i} = ${v}`);
        }
      }
    }
    d.finish();
  });

  test('every capture length and wire length of a padded SYN and of a SYN with options and data', () => {
    const d = new Differential();
    // The padded SYN (6 bytes of Ethernet padding), and a SYN with 4 bytes of IPv4 options,
    // 12 of TCP options and 10 of data.
    const padded = hex(PKT.synEthPadded);
    const withOptions = hex(
      PKT.synEth.slice(0, 28) + '46000042' + PKT.synEth.slice(36, 68) + '94040000' +
      PKT.synEth.slice(68, 92) + '8002' + PKT.synEth.slice(96) + '020405b4010303080101040200112233445566778899',
    );
    for (const frame of [padded, withOptions]) {
      const buf = Buffer.concat([Buffer.alloc(3, 0xee), frame, Buffer.alloc(8, 0xee)]);
      for (let caplen = 0; caplen <= frame.length + 8; caplen++) {
        for (const wirelen of [0, caplen, frame.length, frame.length + 100]) {
          d.check(buf, 3, caplen, wirelen, LINKTYPE.ETHERNET, () => `caplen ${caplen}, wirelen ${wirelen}`);
          d.check(buf, 3, caplen, wirelen, LINKTYPE.ETHERNET | 0x10000000, () => `FCS bits, caplen ${caplen}`);
        }
      }
    }
    d.finish();
  });

  test('a frame the fast path takes after one it refuses leaves nothing stale', () => {
    const d = new Differential();
    const frames = [PKT.synQinQinQ, PKT.synEth, PKT.synFirstFragment, PKT.synEth, PKT.truncatedIpv6Header, PKT.synEthPadded];
    for (const [i, f] of frames.entries()) {
      const b = hex(f);
      d.check(b, 0, b.length, b.length, LINKTYPE.ETHERNET, () => `frame ${i}`);
    }
    d.finish(3);
  });
});

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

async function compareFile(d: Differential, file: string): Promise<void> {
  try {
    await readCaptureFile(file, (rec) => d.check(rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, () => `${file} @${rec.fileOffset}`));
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err; // not a capture: the reader's business
  }
}

test('fast path = layer decoders on every frame of the fixtures', async () => {
  const d = new Differential();
  for (const f of walk(FIXTURES).filter((f) => CAPTURE_FILE.test(f))) await compareFile(d, f);
  d.finish(1000);
});

describe('fast path = layer decoders on every frame of the corpus', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, () => {
  // The least each set holds of the common frame (measured: 934 in zeek-traces, more elsewhere).
  for (const sub of ['A-synflood', 'B-benign', 'tcpdump-tests', 'zeek-traces']) {
    test(sub, { timeout: 120_000 }, async () => {
      const d = new Differential();
      for (const f of walk(path.join(CORPUS, sub))) await compareFile(d, f);
      d.finish(900);
      assert.equal(d.fastCounters.frames, d.frames);
    });
  }
});

test('a result other than a segment never comes from the fast path', () => {
  // An ICMP error quoting a SYN: Ethernet + IPv4 like the common frame, but not TCP.
  const b = hex(PKT.icmpQuotingSyn);
  const r = decodeFrame(new PacketView(), b, 0, b.length, b.length, LINKTYPE.ETHERNET, new DecodeCounters());
  assert.equal(r, DecodeResult.TcpInIcmp);
  assert.equal(decodeEthernetIpv4Tcp(new PacketView(), b, 0, b.length), false);
});
