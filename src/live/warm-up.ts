/**
 * Compiles live's packet path before the first real packet: a synthetic SYN flood goes through a
 * throwaway pipeline and enforcement session, so the code that must react to a flood is already
 * optimized when one starts.
 *
 * Why: V8 runs new code in its interpreter and compiles a function only once it is hot. A live
 * run that starts on a quiet link therefore meets the flood's first SYNs, and its first
 * decisions, with interpreted code: measured in the latency lab, 40-150 µs from a batch to the
 * detector's flag and 100-400 µs from the flag to the backend call, for one SYN; and ~0.1 s of
 * compiling in the flood's first second, on the cores the flood already loads. The same work done
 * at start-up costs ~0.1-0.2 s of CPU once, before the capture opens.
 *
 * Two passes, each with its own throwaway objects: a short settling pass, then the main one. V8
 * allocates a function's feedback only after its first few calls, so what runs only at the start
 * of a run (the first record of a new buffer, the first entry of an empty table) leaves no
 * feedback in one pass, and the live run's own start then throws compiled code away ("insufficient
 * type feedback"); the second pass repeats those starts with feedback. Measured with
 * --trace-deopt in the latency lab, functions deoptimized at the first live SYNs: 11 when one
 * pass ran after the live run's set-up, 8 with it before, 3-5 with two passes before (what
 * remains: paths the synthetic flood does not take, such as other frame types). The caller runs
 * it before building any object of the live run (see src/live/runner.ts).
 *
 * Contract: warmUp() builds its own Pipeline, ParseContext, PcapFormat and EnforcementSession
 * per pass (RecordingBackend, no ledger: nothing reaches the kernel, the state directory or the
 * log) and drops them on return. It shares nothing with the live run but the compiled code: its packet
 * time is synthetic, its tables are small, and its decisions are discarded. The frames are
 * Ethernet (every 16th 802.1Q-tagged) + IPv4 + TCP from documentation addresses (192.0.2.0/24, 198.51.100.0/24 ->
 * 203.0.113.10:80): SYNs, every fourth answered by a SYN-ACK, enough per source to cross the
 * detector's threshold, so the flag and block path runs too. In memory only; never sent.
 */
import * as os from 'node:os';
import { hostRecordFormat } from '../capture/live';
import { PCAP_FILE_HEADER_BYTES } from '../capture/pcap';
import { LINKTYPE_ETHERNET } from '../decode/frame';
import { EnforcementSession } from '../enforce/session';
import { Pipeline, PipelineOptions } from '../pipeline';

const FRAME_BYTES = 54; // Ethernet 14 + IPv4 20 + TCP 20
/** Every VLAN_EVERY-th record carries an 802.1Q tag (4 bytes more), so the decoder's layer-by-layer
 *  path (decode/frame.ts decodeLayers), which takes what the IPv4 fast path does not, runs too. */
const VLAN_EVERY = 16;
const VLAN_TAG_BYTES = 4;
const MAX_RECORD_BYTES = 16 + FRAME_BYTES + VLAN_TAG_BYTES;
/** Records per synthetic batch: the size of a full capture batch at the default snaplen. */
const BATCH_RECORDS = 960;
/** Synthetic packet time: one record every 5 µs from this epoch (2026-01-01T00:00:00Z). */
const EPOCH_S = 1_767_225_600;
const STEP_NS = 5_000;
/** Sources: 192.0.2.1-254 and 198.51.100.1-254. */
const SOURCE_PREFIXES = [0xc0000200, 0xc6336400];
const TARGET = 0xcb71000a; // 203.0.113.10
const TARGET_PORT = 80;
/** Small tables: the code is what is warmed, not the memory. */
const WARM_TRACKER = { maxAttempts: 1 << 16, maxSources: 1 << 12, maxTargets: 1 << 8 };

export const DEFAULT_WARM_UP_RECORDS = 64 * BATCH_RECORDS;
/** The settling pass, before the `records` of the main one. */
export const SETTLING_RECORDS = 4 * BATCH_RECORDS;

export interface WarmUpReport {
  /** Records parsed, both passes. */
  records: number;
  /** Of those, the ones decoded as TCP segments (all of them, VLAN-tagged or not). */
  segments: number;
  /** Sources the throwaway detectors flagged (and their sessions blocked, in memory), both passes. */
  flagged: number;
  /** Wall time, ms. */
  ms: number;
}

/** The settling pass, then `records` synthetic records (rounded up to whole batches), each
 *  through a throwaway pipeline and session of its own. */
export function warmUp(options: PipelineOptions, records = DEFAULT_WARM_UP_RECORDS): WarmUpReport {
  const t0 = process.hrtime.bigint();
  const settling = runPass(options, SETTLING_RECORDS);
  const main = runPass(options, records);
  return {
    records: settling.records + main.records, segments: settling.segments + main.segments, flagged: settling.flagged + main.flagged,
    ms: Number(process.hrtime.bigint() - t0) / 1e6,
  };
}

function runPass(options: PipelineOptions, records: number): Omit<WarmUpReport, 'ms'> {
  const session = EnforcementSession.forCapture({ maxNewBlocksPerSecond: 1_000_000, maxActiveBlocks: 1_000_000 });
  let flagged = 0;
  const pipeline = new Pipeline({ ...options, tracker: { ...options.tracker, ...WARM_TRACKER } }, {
    onFlag: (ev) => { flagged++; session.onFlag(ev); },
    onActivity: (ev) => session.onActivity(ev),
    onAlert: (a, phase) => session.onAlert(a, phase),
    onTime: (t) => session.onTime(t),
  });
  const { format } = hostRecordFormat('warm-up', LINKTYPE_ETHERNET, 256, pipeline.onRecord);
  const batch = Buffer.alloc(BATCH_RECORDS * MAX_RECORD_BYTES);
  const frames = new SyntheticFrames(batch, os.endianness() === 'LE');
  let offset = PCAP_FILE_HEADER_BYTES;
  let done = 0;
  for (let n = 0; done < records; n++) {
    const bytes = frames.fill(n * BATCH_RECORDS, BATCH_RECORDS);
    format.parseChunk(batch, 0, bytes, offset);
    offset += bytes;
    pipeline.flush();
    done += BATCH_RECORDS;
  }
  pipeline.finish();
  return { records: done, segments: pipeline.counters.tcpSegments, flagged };
}

/** Writes batches of synthetic records (nanosecond pcap layout, host byte order) into one buffer. */
class SyntheticFrames {
  private readonly view: DataView;
  constructor(private readonly buf: Buffer, private readonly le: boolean) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Records first..first+count-1; returns the bytes written. */
  fill(first: number, count: number): number {
    const v = this.view;
    const sources = SOURCE_PREFIXES.length * 254;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const k = first + i;
      const ns = k * STEP_NS; // exact in a double for any count warmUp() is given
      const tagged = k % VLAN_EVERY === VLAN_EVERY - 1;
      const frameBytes = tagged ? FRAME_BYTES + VLAN_TAG_BYTES : FRAME_BYTES;
      v.setUint32(at, EPOCH_S + Math.floor(ns / 1e9), this.le);
      v.setUint32(at + 4, ns % 1e9, this.le);
      v.setUint32(at + 8, frameBytes, this.le);
      v.setUint32(at + 12, frameBytes, this.le);
      const answer = k % 4 === 3; // the target's SYN-ACK to the SYN just before it
      const syn = answer ? k - 1 : k;
      const s = syn % sources;
      const source = (SOURCE_PREFIXES[(s / 254) | 0] + (s % 254) + 1) >>> 0;
      const port = 1024 + ((syn * 7919) % 60000);
      const isn = Math.imul(syn, 2654435761) >>> 0;
      if (answer) this.frame(at + 16, tagged, TARGET, source, TARGET_PORT, port, true, k, (isn + 1) >>> 0);
      else this.frame(at + 16, tagged, source, TARGET, port, TARGET_PORT, false, k, isn);
      at += 16 + frameBytes;
    }
    return at;
  }

  private frame(at: number, tagged: boolean, src: number, dst: number, sport: number, dport: number, synAck: boolean, k: number, seqOrAck: number): void {
    const b = this.buf;
    const v = this.view;
    const link = tagged ? 14 + VLAN_TAG_BYTES : 14;
    b.fill(0, at, at + link + 40);
    // Ethernet: locally administered MACs, IPv4 (behind 802.1Q, VLAN 100, when tagged).
    b[at] = 0x02; b[at + 5] = 0x01;
    b[at + 6] = 0x02; b[at + 11] = 0x02;
    if (tagged) {
      v.setUint16(at + 12, 0x8100);
      v.setUint16(at + 14, 100);
    }
    v.setUint16(at + link - 2, 0x0800);
    const ip = at + link;
    b[ip] = 0x45;
    v.setUint16(ip + 2, 40);
    v.setUint16(ip + 4, k & 0xffff);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    v.setUint32(ip + 12, src);
    v.setUint32(ip + 16, dst);
    let sum = 0;
    for (let o = 0; o < 20; o += 2) sum += v.getUint16(ip + o);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ip + 10, ~sum & 0xffff);
    const tcp = ip + 20;
    v.setUint16(tcp, sport);
    v.setUint16(tcp + 2, dport);
    // A SYN carries its ISN; a SYN-ACK acknowledges it (its own ISN is k's).
    v.setUint32(tcp + 4, synAck ? Math.imul(k, 2654435761) >>> 0 : seqOrAck);
    if (synAck) v.setUint32(tcp + 8, seqOrAck);
    b[tcp + 12] = 0x50;
    b[tcp + 13] = synAck ? 0x12 : 0x02;
    v.setUint16(tcp + 14, 64240);
  }
}
