/**
 * The decoder against tshark's ground truth (../shared/corpus/truth, made by truth.sh): for every
 * truth file whose capture is there, decoding every frame gives tshark's tcp_segments, syn_only
 * (SYN without ACK), syn_ack and tcp_in_icmp_errors exactly, except the files listed in
 * DIFFERS_FROM_TSHARK, where our own counts are pinned instead, with the reason.
 * And: every file of tcpdump-tests/ and zeek-traces/ (fuzzed and malformed ones included)
 * decodes to the end without an exception. Skipped, with a message, when the corpus is absent.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readCaptureFile } from '../../src/capture/reader';
import { CaptureError } from '../../src/capture/record';
import { decodeFrame } from '../../src/decode/frame';
import { DecodeCounters, DecodeResult, PacketView, TCP_ACK, TCP_SYN } from '../../src/decode/packet';
import { CORPUS, HAVE_CORPUS, NO_CORPUS_REASON } from '../support/paths';

interface Counts {
  tcp_segments: number;
  syn_only: number;
  syn_ack: number;
  tcp_in_icmp_errors: number;
}

/**
 * Where we legitimately differ: every one is TCP inside a tunnel, which synwatch does not open on
 * purpose (src/decode/ipproto.ts; IP-in-IP is the one it follows). Our counts are the TCP outside
 * the tunnel: none.
 */
const NONE: Counts = { tcp_segments: 0, syn_only: 0, syn_ack: 0, tcp_in_icmp_errors: 0 };
const DIFFERS_FROM_TSHARK = new Map<string, { reason: string; ours: Counts }>([
  ['zeek-traces/erspan.pcap', { reason: 'TCP inside ERSPAN (GRE): tunnels are not decoded', ours: NONE }],
  ['zeek-traces/tunnels/gre-sample.pcap', { reason: 'TCP inside GRE: tunnels are not decoded', ours: NONE }],
  ['zeek-traces/tunnels/vxlan-encapsulated-http.pcap', { reason: 'TCP inside VXLAN (UDP 4789): tunnels are not decoded', ours: NONE }],
  ['zeek-traces/tunnels/geneve-many-options.pcap', { reason: 'TCP inside Geneve (UDP 6081): tunnels are not decoded', ours: NONE }],
  ['zeek-traces/tunnels/gtp/gtp6_gtp_0x32.pcap', { reason: 'TCP inside GTP-U (UDP 2152): tunnels are not decoded', ours: NONE }],
  ['zeek-traces/tunnels/ayiya3.pcap', { reason: 'IPv6 TCP inside AYIYA (UDP 5072): tunnels are not decoded', ours: NONE }],
]);

/** Per capture file; the largest (37 841 frames) decodes in well under a second. */
const FILE_BUDGET_MS = 20_000;

/** Decodes every frame of `file`; throws only if the decoder (not the reader) throws. */
async function decodeFile(file: string): Promise<{ counts: Counts; counters: DecodeCounters }> {
  const view = new PacketView();
  const counters = new DecodeCounters();
  const counts: Counts = { tcp_segments: 0, syn_only: 0, syn_ack: 0, tcp_in_icmp_errors: 0 };
  try {
    await readCaptureFile(file, (rec) => {
      const result = decodeFrame(view, rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, counters);
      if (result === DecodeResult.TcpSegment) {
        counts.tcp_segments++;
        const synAck = view.flags & (TCP_SYN | TCP_ACK);
        if (synAck === TCP_SYN) counts.syn_only++;
        else if (synAck === (TCP_SYN | TCP_ACK)) counts.syn_ack++;
      } else if (result === DecodeResult.TcpInIcmp) counts.tcp_in_icmp_errors++;
    });
  } catch (err) {
    // Files that are not captures at all are the reader's business, not the decoder's.
    if (!(err instanceof CaptureError)) throw err;
  }
  return { counts, counters };
}

/** truth/NAME.json -> A-synflood/NAME or B-benign/NAME; truth/zeek-traces/a__b.pcap.json -> zeek-traces/a/b.pcap. */
function captureOf(truthFile: string): string | null {
  const name = path.basename(truthFile, '.json');
  const candidates = truthFile.includes(`${path.sep}zeek-traces${path.sep}`)
    ? [path.join('zeek-traces', ...name.split('__'))]
    : ['A-synflood', 'B-benign'].map((d) => path.join(d, name));
  return candidates.find((c) => fs.existsSync(path.join(CORPUS, c))) ?? null;
}

function truthFiles(): string[] {
  const dir = path.join(CORPUS, 'truth');
  const json = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(d, f));
  return [...json(dir), ...json(path.join(dir, 'zeek-traces'))];
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

describe('decoded counts equal tshark ground truth', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, () => {
  const files = HAVE_CORPUS ? truthFiles() : [];
  for (const truthFile of files) {
    const capture = captureOf(truthFile);
    const label = capture ?? path.relative(CORPUS, truthFile);
    const differs = capture === null ? undefined : DIFFERS_FROM_TSHARK.get(capture);
    const title = differs ? `${label} (differs: ${differs.reason})` : label;
    test(title, { skip: capture === null && 'capture not in the corpus', timeout: FILE_BUDGET_MS }, async () => {
      const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Counts;
      const { counts } = await decodeFile(path.join(CORPUS, capture as string));
      const expected: Counts = differs?.ours ?? {
        tcp_segments: truth.tcp_segments,
        syn_only: truth.syn_only,
        syn_ack: truth.syn_ack,
        tcp_in_icmp_errors: truth.tcp_in_icmp_errors,
      };
      assert.deepEqual(counts, expected);
    });
  }

  test('every listed difference names a truth file that exists', () => {
    const captures = new Set(files.map(captureOf));
    for (const file of DIFFERS_FROM_TSHARK.keys()) assert.ok(captures.has(file), file);
  });
});

describe('every tcpdump and Zeek test capture decodes without an exception', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, () => {
  for (const dir of ['tcpdump-tests', 'zeek-traces']) {
    test(dir, { timeout: 120_000 }, async () => {
      const files = HAVE_CORPUS ? walk(path.join(CORPUS, dir)) : [];
      const total = new DecodeCounters();
      for (const file of files) {
        const { counters } = await decodeFile(file).catch((err: Error) => {
          throw new Error(`${path.relative(CORPUS, file)}: ${err.stack}`);
        });
        total.frames += counters.frames;
        total.tcpSegments += counters.tcpSegments;
      }
      assert.ok(files.length > (dir === 'tcpdump-tests' ? 800 : 80), `${files.length} files`);
      assert.ok(total.frames > 0 && total.tcpSegments > 0);
    });
  }
});
