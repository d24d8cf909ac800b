/**
 * Live capture from the system libpcap through synwatch's own addon (native/src/capture.c).
 *
 * Why our own addon and not the `cap` binding it replaced: cap fixed the snaplen at 65535, so
 * with immediate mode (TPACKET_V2, one frame per packet slot) a 64 MiB kernel buffer held ~1,023
 * frames, a few milliseconds of a flood; it called JavaScript once per packet, and gave neither
 * timestamps nor drop counters. It lost 1-14 % of the SYNs of a 10k-270k SYN/s flood, silently.
 * Here: snaplen 256 by default (Ethernet, two VLAN tags, IPv6 extension headers and TCP options
 * fit), so the same buffer holds ~190,000 frames; immediate mode, nanosecond kernel timestamps,
 * the BPF filter, non-blocking; records delivered in batches, one JavaScript call per batch.
 *
 * Contract:
 * - `new LiveCapture(opts, sink, hooks)` opens and activates the capture (throws CaptureError:
 *   'libpcap-missing', 'unknown-interface', 'not-permitted', 'interface-down', 'bad-filter',
 *   'open-failed'); `start()` begins delivery on the event loop. Every record the kernel hands
 *   over reaches `sink` exactly once, in kernel order, through the same record loop as a file's
 *   (PcapFormat.parseChunk: one parser, one code path): the addon lays records out as the body
 *   of a nanosecond pcap file in host byte order. `hooks.onBatch(batch, bytes)` sees each batch's
 *   raw bytes before the records are parsed (--write appends them to a file as they are);
 *   `hooks.onBatchEnd` runs after the last record of a batch (the pipeline flushes its segment
 *   batch there, so a batch's SYNs are decided before the next wake-up). The batch buffer is
 *   reused: valid only during the call. An exception on the way closes the capture and goes to
 *   `hooks.onFailure`, never back into the addon.
 * - `drain()` delivers what the kernel ring holds now, synchronously, up to 1024 batches a call
 *   (~1M records at the defaults): before a tick reads the clock, and at stop (called until it
 *   returns 0), so nothing already captured is lost.
 * - `stats()` reads the counters: received/kernelDrops/ifDrops are libpcap's pcap_stats widened
 *   to 64 bits (the addon adds each 32-bit difference); captured counts the records delivered.
 * - Packet time is the kernel's receive timestamp (CLOCK_REALTIME, nanoseconds: tsUs + tsNsRem),
 *   so a live run and a capture of the same traffic give the same decisions. LiveClock reads the
 *   same clock for ticks and for the moment a route is confirmed, so the latency figure includes
 *   the delivery delay. A wall-clock step moves both; the pipeline's time never runs backwards.
 */
import * as os from 'node:os';
import { nativeAddonPath } from './native-addon';
import { ParseContext } from './parse-context';
import { PCAP_FILE_HEADER_BYTES, PcapFormat, pcapNsHostHeader } from './pcap';
import { CaptureError, CaptureSummary, RecordSink } from './record';

export const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SNAPLEN = 256;
export const MIN_SNAPLEN = 64;
export const MAX_SNAPLEN = 262144;
/**
 * Records per JavaScript call at most: batchBytes / (16 + snaplen), 963 at the defaults. Large
 * enough that a flood costs one call per ~thousand SYNs, small enough that the first SYN of a
 * full batch waits under a millisecond for the last one's decode (~0.3 us each).
 */
export const DEFAULT_BATCH_BYTES = 256 * 1024;

/** See capture.c, "Why moderation": the longest a SYN waits in the ring during a sustained flood
 *  (the window starts at 100 µs and grows with the flood's age to this: 250 wake-ups a second).
 *  On an idle link the first SYN is delivered at once. */
export const DEFAULT_COALESCE_US = 4000;
export const MAX_COALESCE_US = 100_000;


/** What native/src/capture.c exports (its header comment is the contract). */
interface CaptureAddon {
  open(iface: string, snaplen: number, bufferBytes: number, coalesceUs: number, batch: Buffer, stats: Float64Array,
    onBatch: (bytes: number) => void): {
    handle: unknown; linkType: number; linkName: string; snaplen: number; bufferBytes: number; warning: string | null;
  };
  setFilter(handle: unknown, expression: string): void;
  start(handle: unknown): void;
  drain(handle: unknown): number;
  stats(handle: unknown): void;
  close(handle: unknown): void;
  openSender(iface: string): { handle: unknown; linkType: number };
  inject(handle: unknown, frame: Buffer, length: number): number;
  interfaces(): { name: string; description: string | null; loopback: boolean; up: boolean; running: boolean }[];
  realtimeUs(): number;
  readonly version: string;
  readonly statCount: number;
}

// Indices of the addon's stats array (capture.c, enum STAT_*).
const STAT_RECEIVED = 0;
const STAT_KERNEL_DROPS = 1;
const STAT_IF_DROPS = 2;
const STAT_CAPTURED = 3;
const STAT_BYTES = 4;
const STAT_BATCHES = 5;
const STAT_WAKEUPS = 6;
const STAT_CLAMPED = 7;

let addon: CaptureAddon | null = null;

/** The capture addon, loaded once; CaptureError 'libpcap-missing' when it was not built. */
export function loadCaptureAddon(): CaptureAddon {
  if (addon) return addon;
  const file = nativeAddonPath('synwatch_capture');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as CaptureAddon;
    return addon;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
      ? 'it was not built: libpcap was missing at build time (Debian: apt-get install libpcap-dev, then npm rebuild)'
      : (e as Error).message.split('\n')[0];
    throw new CaptureError('libpcap-missing', '', null, `live capture unavailable: cannot load ${file}: ${why}`);
  }
}

/** Interface names libpcap can open, for messages (empty when the addon is missing). */
export function interfaceNames(): string[] {
  try {
    return loadCaptureAddon().interfaces().map((i) => i.name);
  } catch {
    return [];
  }
}

/** libpcap's own version line, for the start-up log. */
export function libpcapVersion(): string {
  return loadCaptureAddon().version;
}

/** CLOCK_REALTIME in integer microseconds: the clock of the kernel's packet timestamps. */
export class LiveClock {
  private readonly read = loadCaptureAddon().realtimeUs;

  nowUs(): number {
    return this.read();
  }
}

export interface LiveOptions {
  iface: string;
  /** The complete BPF expression for the interface's link type (capture/filter.ts builds it:
   *  only Ethernet carries VLAN tags, and libpcap refuses `vlan` elsewhere). */
  filter: (linkType: number) => string;
  /** The user's part of the filter, named in the error when the expression does not compile. */
  userFilter?: string;
  snaplen?: number;
  bufferBytes?: number;
  batchBytes?: number;
  /** Under load, poll the ring this often instead of waking per packet (0: wake per packet). */
  coalesceUs?: number;
}

export interface CaptureStats {
  /** Packets that passed the filter in the kernel, dropped ones included (pcap_stats ps_recv). */
  received: number;
  /** Dropped because the kernel ring was full (ps_drop): the capture did not keep up. */
  kernelDrops: number;
  /** Dropped by the interface or its driver before the capture saw them (ps_ifdrop). */
  ifDrops: number;
  /** Records delivered to the pipeline. */
  captured: number;
  bytes: number;
  batches: number;
  wakeups: number;
  /** Records cut to the snaplen by the addon (never expected: libpcap applies it itself). */
  clamped: number;
}

export interface LiveHooks {
  /** Each batch's raw bytes, before its records are parsed (--write). */
  onBatch?(batch: Buffer, bytes: number): void;
  /** After the last record of a batch. */
  onBatchEnd?(): void;
  /** Delivery failed (an exception from the sink or the hooks, or a read error): the capture
   *  is closed, and this is the only report of it. */
  onFailure(err: Error): void;
}

/**
 * Microsecond delays in power-of-two buckets: one increment per batch, percentiles at status
 * time. A percentile is reported as its bucket's upper bound (at most 2x the true value).
 */
export class LagHistogram {
  private readonly buckets = new Uint32Array(32);
  private n = 0;
  private maxUs = 0;

  record(us: number): void {
    const v = us > 0 ? Math.min(us, 0x7fffffff) | 0 : 0;
    this.buckets[32 - Math.clz32(v)]++;
    this.n++;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** p50, p99 (bucket upper bounds, us) and the exact max since the last reset; null when empty. */
  summary(): { p50: number; p99: number; max: number; batches: number } | null {
    if (this.n === 0) return null;
    return { p50: this.percentile(0.5), p99: this.percentile(0.99), max: this.maxUs, batches: this.n };
  }

  reset(): void {
    this.buckets.fill(0);
    this.n = 0;
    this.maxUs = 0;
  }

  private percentile(q: number): number {
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b < 32; b++) {
      seen += this.buckets[b];
      if (seen >= rank) return Math.min(b === 0 ? 0 : 2 ** b - 1, this.maxUs);
    }
    return this.maxUs;
  }
}

export class LiveCapture {
  readonly linkType: number;
  readonly linkTypeName: string;
  /** The BPF expression in force (opts.filter of the link type). */
  readonly filter: string;
  readonly snaplen: number;
  readonly bufferBytes: number;
  /** libpcap's activation warning (e.g. promiscuous mode unsupported), or null. */
  readonly warning: string | null;
  readonly summary: CaptureSummary;
  private readonly addon: CaptureAddon;
  private readonly handle: unknown;
  private readonly batch: Buffer;
  private readonly batchView: DataView;
  private readonly littleEndian = os.endianness() === 'LE';
  private readonly readClock: () => number;
  /** Kernel timestamp -> JavaScript, of each batch's oldest record (read and reset by the caller). */
  readonly deliveryLag = new LagHistogram();
  private readonly statsArray: Float64Array;
  private readonly ctx: ParseContext;
  private readonly format: PcapFormat;
  /** Stream offset of the next batch, as if the batches were one pcap file after its header. */
  private streamOffset = PCAP_FILE_HEADER_BYTES;
  private closed = false;

  constructor(opts: LiveOptions, sink: RecordSink, private readonly hooks: LiveHooks) {
    const a = loadCaptureAddon();
    this.addon = a;
    const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.batch = Buffer.alloc(Math.max(opts.batchBytes ?? DEFAULT_BATCH_BYTES, 16 + snaplen));
    this.batchView = new DataView(this.batch.buffer, this.batch.byteOffset, this.batch.byteLength);
    this.readClock = a.realtimeUs;
    this.statsArray = new Float64Array(a.statCount);
    let opened: ReturnType<CaptureAddon['open']>;
    try {
      opened = a.open(opts.iface, snaplen, opts.bufferBytes ?? DEFAULT_BUFFER_BYTES,
        opts.coalesceUs ?? DEFAULT_COALESCE_US, this.batch, this.statsArray,
        (bytes) => this.deliverOrFail(bytes));
    } catch (e) {
      throw openError(opts, e as NodeJS.ErrnoException);
    }
    this.handle = opened.handle;
    this.filter = opts.filter(opened.linkType);
    try {
      a.setFilter(opened.handle, this.filter);
    } catch (e) {
      a.close(opened.handle);
      throw openError(opts, e as NodeJS.ErrnoException);
    }
    this.linkType = opened.linkType;
    this.linkTypeName = opened.linkName;
    this.snaplen = opened.snaplen;
    this.bufferBytes = opened.bufferBytes;
    this.warning = opened.warning;
    ({ summary: this.summary, ctx: this.ctx, format: this.format } = hostRecordFormat(opts.iface, this.linkType, this.snaplen, sink));
  }

  /** Begin delivering batches from the event loop. */
  start(): void {
    this.addon.start(this.handle);
  }

  /** Deliver what the kernel holds now, up to 1024 batches (call again while it returns records);
   *  returns the records delivered (0 after a failure). */
  drain(): number {
    if (this.closed) return 0;
    try {
      return this.addon.drain(this.handle);
    } catch (e) {
      this.fail(e as Error); // a read error; the sink's own were reported in deliverOrFail
      return 0;
    }
  }

  stats(): CaptureStats {
    if (!this.closed) this.addon.stats(this.handle);
    const s = this.statsArray;
    return {
      received: s[STAT_RECEIVED], kernelDrops: s[STAT_KERNEL_DROPS], ifDrops: s[STAT_IF_DROPS],
      captured: s[STAT_CAPTURED], bytes: s[STAT_BYTES], batches: s[STAT_BATCHES], wakeups: s[STAT_WAKEUPS],
      clamped: s[STAT_CLAMPED],
    };
  }

  /** Final counters are kept: stats() still answers after close. */
  close(): void {
    if (this.closed) return;
    this.addon.stats(this.handle);
    this.closed = true;
    this.addon.close(this.handle);
  }

  /** Called by the addon once per batch; never throws back into it (that would be fatal). */
  private deliverOrFail(bytes: number): void {
    try {
      this.deliver(bytes);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.close();
    this.hooks.onFailure(err);
  }

  private deliver(bytes: number): void {
    // How long the batch's oldest record waited for JavaScript: kernel timestamp to now.
    const v = this.batchView;
    const firstUs = v.getUint32(0, this.littleEndian) * 1e6 + Math.floor(v.getUint32(4, this.littleEndian) / 1000);
    this.deliveryLag.record(this.readClock() - firstUs);
    this.hooks.onBatch?.(this.batch, bytes);
    const end = this.format.parseChunk(this.batch, 0, bytes, this.streamOffset);
    this.streamOffset += bytes;
    if (end !== bytes || this.ctx.stopped) {
      // The addon writes whole records of at most the snaplen: anything else is a bug, not input.
      const why = this.summary.warnings.at(-1)?.message ?? `${bytes - end} bytes left over`;
      throw new CaptureError('bad-batch', this.summary.file, null, `capture batch from the addon is malformed: ${why}`);
    }
    this.hooks.onBatchEnd?.();
  }
}

/**
 * The record loop for batches in the addon's layout (the body of a nanosecond pcap file in host
 * byte order, as if after its header at offset PCAP_FILE_HEADER_BYTES): LiveCapture's, and the
 * warm-up's (live/warm-up.ts) for its synthetic batches.
 */
export function hostRecordFormat(name: string, linkType: number, snaplen: number, sink: RecordSink):
  { summary: CaptureSummary; ctx: ParseContext; format: PcapFormat } {
  const summary: CaptureSummary = {
    file: name, format: 'live', compressed: false, byteOrder: 'host', interfaces: [],
    records: 0, bytes: 0, firstTsUs: null, lastTsUs: null, warnings: [],
  };
  const ctx = new ParseContext(name, sink, summary);
  const format = new PcapFormat(ctx, { littleEndian: os.endianness() === 'LE', nanoseconds: true },
    pcapNsHostHeader(linkType, snaplen), 0);
  summary.format = 'live';
  summary.byteOrder = 'host';
  return { summary, ctx, format };
}

function openError(opts: LiveOptions, e: NodeJS.ErrnoException): CaptureError {
  if (e instanceof CaptureError) return e; // already ours (liveFilter refuses some --filter keywords)
  const iface = opts.iface;
  const msg = e.message;
  switch (e.code) {
    case 'ENODEV': {
      const have = interfaceNames().filter((n) => n !== iface);
      return new CaptureError('unknown-interface', iface, null, `unknown interface '${iface}' (have: ${have.join(', ') || 'none'})`);
    }
    case 'EPERM':
      return new CaptureError('not-permitted', iface, null,
        `cannot capture on ${iface}: ${msg} (run as root, or grant CAP_NET_RAW)`);
    case 'ENETDOWN':
      return new CaptureError('interface-down', iface, null, `cannot capture on ${iface}: the interface is down`);
    case 'EFILTER':
      return new CaptureError('bad-filter', iface, null, opts.userFilter !== undefined
        ? `invalid --filter '${opts.userFilter}': ${msg}`
        : `the capture filter does not compile on ${iface}: ${msg}`);
    default:
      return new CaptureError('open-failed', iface, null, `cannot capture on ${iface}: ${msg}`);
  }
}

/** A handle that puts frames on an interface (replay --onto) with pcap_inject. */
export function openSender(iface: string): { send(frame: Buffer): void; linkType: number; close(): void } {
  const a = loadCaptureAddon();
  let opened: ReturnType<CaptureAddon['openSender']>;
  try {
    opened = a.openSender(iface);
  } catch (e) {
    throw openError({ iface, filter: () => 'less 1' }, e as NodeJS.ErrnoException);
  }
  let closed = false;
  return {
    linkType: opened.linkType,
    send: (frame: Buffer) => {
      try {
        a.inject(opened.handle, frame, frame.length);
      } catch (e) {
        throw new CaptureError('send-failed', iface, null, `cannot send onto ${iface}: ${(e as Error).message}`);
      }
    },
    close: () => {
      if (!closed) a.close(opened.handle);
      closed = true;
    },
  };
}
