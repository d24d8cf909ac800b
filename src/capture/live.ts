/**
 * Live capture from libpcap through the `cap` addon.
 *
 * What cap gives and doesn't (measured): immediate mode (~0.1 ms kernel to JS); no packet
 * timestamps; no drop counter; snaplen fixed at 65535, so the kernel buffer holds
 * bufferBytes / 65535 frames at worst (a 2 MiB buffer holds 32): the default is 64 MiB; one
 * Buffer reused for every packet; a closed Cap cannot reopen (a new Cap per open).
 *
 * Time: event time is a monotonic clock read when the packet reaches JS, anchored to UTC once at
 * start (LiveClock). It never jumps when the wall clock is stepped; it lags the kernel's arrival
 * time by the delivery latency (~0.1 ms), which the latency benchmark measures.
 *
 * Contract: as every capture source, one reused CaptureRecord handed to the sink per frame.
 */
import { performance } from 'node:perf_hooks';
import { liveFilter } from './filter';
import { CaptureError, CaptureRecord, RecordSink } from './record';

export const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;
const SNAPLEN = 65535;
const PROBE_BUFFER_BYTES = 1024 * 1024;

/** libpcap link-type names as cap reports them -> LINKTYPE_* values. */
const CAP_LINK_TYPES: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  LINKTYPE_LINUX_SLL: 113,
  RAW: 101,
  IEEE802_11_RADIO: 127,
};

/** Monotonic microseconds since the epoch: UTC once at start, performance.now() after. */
export class LiveClock {
  private readonly anchorUs = Date.now() * 1000;
  private readonly anchorMs = performance.now();

  nowUs(): number {
    return this.anchorUs + Math.round((performance.now() - this.anchorMs) * 1000);
  }
}

interface CapModule {
  Cap: {
    new (): CapHandle;
    deviceList(): { name: string; addresses: { addr: string }[] }[];
  };
}

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  setMinBytes?(n: number): void;
  on(event: 'packet', fn: (nbytes: number, trunc: boolean) => void): void;
  close(): void;
  send(buffer: Buffer, length?: number): void;
}

export function loadCap(): CapModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('cap') as CapModule;
  } catch (e) {
    throw new CaptureError('libpcap-missing', '', null,
      `live capture unavailable: the cap addon did not load (${(e as Error).message.split('\n')[0]}); install libpcap-dev and run npm ci`);
  }
}

export interface LiveOptions {
  iface: string;
  /** Extra BPF expression ANDed with the default filter. */
  filter?: string;
  bufferBytes?: number;
}

export class LiveCapture {
  readonly record = new CaptureRecord();
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly filter: string;
  packets = 0;
  bytes = 0;
  private readonly cap: CapHandle;
  private readonly buffer = Buffer.alloc(SNAPLEN);
  private closed = false;

  constructor(opts: LiveOptions, private readonly clock: LiveClock, sink: RecordSink) {
    const mod = loadCap();
    const names = mod.Cap.deviceList().map((d) => d.name);
    if (!names.includes(opts.iface)) {
      throw new CaptureError('unknown-interface', opts.iface, null,
        `unknown interface '${opts.iface}' (have: ${names.join(', ') || 'none'})`);
    }
    let filter = liveFilter(opts.filter);
    this.cap = new mod.Cap();
    let lt: string;
    try {
      // libpcap refuses `vlan` on links other than Ethernet (SLL on `any`, raw IP), and cap
      // compiles the filter after activating without saying the link type first: a probe open
      // says it. (A Cap whose open failed must not be closed: it stops a poll it never started.)
      const probe = new mod.Cap();
      const probeType = probe.open(opts.iface, 'less 1', PROBE_BUFFER_BYTES, this.buffer);
      probe.close();
      if (probeType !== 'ETHERNET') filter = liveFilter(opts.filter, { vlan: false });
      lt = this.cap.open(opts.iface, filter, opts.bufferBytes ?? DEFAULT_BUFFER_BYTES, this.buffer);
    } catch (e) {
      const msg = (e as Error).message;
      if (/syntax|filter|parse|expression/i.test(msg) && opts.filter) {
        throw new CaptureError('bad-filter', opts.iface, null, `invalid --filter '${opts.filter}': ${msg}`);
      }
      if (/permission|operation not permitted/i.test(msg)) {
        throw new CaptureError('not-permitted', opts.iface, null,
          `cannot capture on ${opts.iface}: ${msg} (run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN)`);
      }
      throw new CaptureError('open-failed', opts.iface, null, `cannot capture on ${opts.iface}: ${msg}`);
    }
    this.filter = filter;
    this.linkTypeName = lt;
    this.linkType = CAP_LINK_TYPES[lt] ?? -1;
    if (this.linkType < 0) {
      this.cap.close();
      throw new CaptureError('unknown-link-type', opts.iface, null, `interface ${opts.iface} has an unsupported link type (${lt})`);
    }
    this.cap.setMinBytes?.(0);
    const rec = this.record;
    rec.buf = this.buffer;
    rec.offset = 0;
    rec.linkType = this.linkType;
    rec.fileOffset = -1;
    this.cap.on('packet', (nbytes: number) => {
      this.packets++;
      this.bytes += nbytes;
      rec.caplen = nbytes;
      rec.wirelen = nbytes;
      rec.tsUs = this.clock.nowUs();
      sink(rec);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cap.close();
  }
}

/** A handle that can put frames on an interface (replay --onto). New Cap per open, as always. */
export function openSender(iface: string): { send(frame: Buffer): void; linkType: number; close(): void } {
  const mod = loadCap();
  const names = mod.Cap.deviceList().map((d) => d.name);
  if (!names.includes(iface)) {
    throw new CaptureError('unknown-interface', iface, null, `unknown interface '${iface}' (have: ${names.join(', ') || 'none'})`);
  }
  const cap = new mod.Cap();
  // Capture nothing back: a filter that matches no packet.
  const lt = cap.open(iface, 'less 1', 1024 * 1024, Buffer.alloc(SNAPLEN));
  return {
    linkType: CAP_LINK_TYPES[lt] ?? -1,
    send: (frame: Buffer) => cap.send(frame, frame.length),
    close: () => cap.close(),
  };
}
