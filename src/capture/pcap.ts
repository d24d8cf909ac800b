/**
 * Classic pcap (libpcap savefile, https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-02.html):
 * a 24-byte file header, then records of a 16-byte header and caplen bytes of frame.
 *
 * Contract: `pcapKindOf(magic)` recognises the four magics (microsecond 0xa1b2c3d4, nanosecond
 * 0xa1b23c4d, each in both byte orders). `new PcapFormat(ctx, kind, header, at)` reads the file
 * header and fills the summary; `parseChunk` then hands every whole record to the sink, pointing
 * into the caller's buffer, without allocating. A record is damaged, and reading stops with a
 * warning, when its caplen exceeds MAX_CAPLEN or the file's snaplen by more than SNAPLEN_SLACK.
 * Timestamp fields are not validated (like libpcap): a fraction of >= 1 s carries into the seconds.
 */

import { endianness } from 'node:os';

import { ParseContext, RecordFormat, ViewCache } from './parse-context';

// File header (all fields in the file's byte order): magic, version major.minor (2.4 in every
// file seen, not checked, like libpcap), two reserved words, snaplen, link type. Exported for the
// writer (writer.ts), which lays out the same header.
export const VERSION_MAJOR_OFFSET = 4;
export const VERSION_MINOR_OFFSET = 6;
export const SNAPLEN_OFFSET = 16;
export const LINKTYPE_OFFSET = 20;
export const PCAP_FILE_HEADER_BYTES = LINKTYPE_OFFSET + 4;

// Record header.
const TS_SECONDS_OFFSET = 0;
const TS_FRACTION_OFFSET = 4;
export const CAPLEN_OFFSET = 8;
const WIRELEN_OFFSET = 12;
export const RECORD_HEADER_BYTES = WIRELEN_OFFSET + 4;

/** The magics as read little-endian from the first four bytes. */
const MAGIC_US = 0xa1b2c3d4;
export const MAGIC_NS = 0xa1b23c4d;
const MAGIC_US_SWAPPED = 0xd4c3b2a1;
const MAGIC_NS_SWAPPED = 0x4d3cb2a1;

/** Only the low 16 bits name the link type; the upper bits carry the FCS length (libpcap LT_LINKTYPE). */
const LINKTYPE_MASK = 0xffff;

/** libpcap's and Wireshark's ceiling for one frame: anything larger is a garbage length field. */
export const MAX_CAPLEN = 262144;
/**
 * How far caplen may exceed the header's snaplen. Fuzzed files in tcpdump's tests exceed it by
 * up to 1650 bytes and tcpdump still reads them; a length field 64 KiB past it is garbage.
 */
const SNAPLEN_SLACK = 65536;

const US_PER_S = 1e6;
const NS_PER_US = 1000;

export interface PcapKind {
  littleEndian: boolean;
  nanoseconds: boolean;
}

const KINDS: ReadonlyMap<number, PcapKind> = new Map([
  [MAGIC_US, { littleEndian: true, nanoseconds: false }],
  [MAGIC_NS, { littleEndian: true, nanoseconds: true }],
  [MAGIC_US_SWAPPED, { littleEndian: false, nanoseconds: false }],
  [MAGIC_NS_SWAPPED, { littleEndian: false, nanoseconds: true }],
]);

/** Which classic pcap the magic (the first four bytes, read little-endian) announces, or null. */
export function pcapKindOf(magicLE: number): PcapKind | null {
  return KINDS.get(magicLE) ?? null;
}

export class PcapFormat implements RecordFormat {
  readonly unitName = 'record';
  readonly maxRecordBytes = RECORD_HEADER_BYTES + MAX_CAPLEN;
  private readonly littleEndian: boolean;
  private readonly nanoseconds: boolean;
  private readonly snaplen: number;
  private readonly caplenLimit: number;
  private readonly views = new ViewCache();

  /** `header` holds the 24-byte file header at `at`, whose magic announced `kind`. */
  constructor(private readonly ctx: ParseContext, kind: PcapKind, header: Buffer, at: number) {
    this.littleEndian = kind.littleEndian;
    this.nanoseconds = kind.nanoseconds;
    const u32 = (o: number) => (kind.littleEndian ? header.readUInt32LE(at + o) : header.readUInt32BE(at + o));
    const snaplen = u32(SNAPLEN_OFFSET);
    this.snaplen = snaplen;
    const linkType = u32(LINKTYPE_OFFSET) & LINKTYPE_MASK;
    // snaplen 0 (some writers) or beyond the ceiling says nothing about the records.
    this.caplenLimit = snaplen === 0 || snaplen >= MAX_CAPLEN ? MAX_CAPLEN : Math.min(MAX_CAPLEN, snaplen + SNAPLEN_SLACK);

    const s = ctx.summary;
    s.format = kind.nanoseconds ? 'pcap-ns' : 'pcap';
    s.byteOrder = kind.littleEndian ? 'little' : 'big';
    s.interfaces.push({ id: 0, linkType, tsResolution: kind.nanoseconds ? 'ns' : 'us' });
    // Constant for the whole file: set once, not per record.
    const rec = ctx.record;
    rec.linkType = linkType;
    rec.interfaceId = 0;
    rec.tsNsRem = 0;
  }

  needAt(buf: Buffer, pos: number, avail: number, streamOffset: number): number {
    if (avail < RECORD_HEADER_BYTES) return RECORD_HEADER_BYTES;
    const caplen = this.views.of(buf).getUint32(pos + CAPLEN_OFFSET, this.littleEndian);
    if (caplen > this.caplenLimit) {
      this.stopOnBogusCaplen(streamOffset, caplen);
      return -1;
    }
    return RECORD_HEADER_BYTES + caplen;
  }

  isSkippable(): boolean {
    return false;
  }

  parseChunk(buf: Buffer, pos: number, end: number, bufStreamOffset: number): number {
    const ctx = this.ctx;
    const rec = ctx.record;
    const sink = ctx.sink;
    const littleEndian = this.littleEndian;
    const nanoseconds = this.nanoseconds;
    const caplenLimit = this.caplenLimit;
    // DataView: 1M record headers read in 4-8 ms; buf.readUInt32LE ~100 ms, byte shifts ~15 ms.
    const view = this.views.of(buf);
    rec.buf = buf;
    while (end - pos >= RECORD_HEADER_BYTES) {
      const caplen = view.getUint32(pos + CAPLEN_OFFSET, littleEndian);
      if (caplen > caplenLimit) {
        this.stopOnBogusCaplen(bufStreamOffset + pos, caplen);
        break;
      }
      const next = pos + RECORD_HEADER_BYTES + caplen;
      if (next > end) break;
      const seconds = view.getUint32(pos + TS_SECONDS_OFFSET, littleEndian);
      const fraction = view.getUint32(pos + TS_FRACTION_OFFSET, littleEndian);
      const wirelen = view.getUint32(pos + WIRELEN_OFFSET, littleEndian);
      // Not carried across iterations: a loop-carried double was boxed on every record (V8 kept
      // the loop variable tagged in the on-stack-replaced code: one HeapNumber per record).
      let tsUs: number;
      if (nanoseconds) {
        const us = Math.floor(fraction / NS_PER_US);
        tsUs = seconds * US_PER_S + us;
        rec.tsNsRem = fraction - us * NS_PER_US;
      } else {
        tsUs = seconds * US_PER_S + fraction;
      }
      if (ctx.records === 0) ctx.firstTsUs = tsUs;
      if (caplen > wirelen) ctx.noteCaplenOverWirelen(bufStreamOffset + pos, caplen, wirelen);
      rec.tsUs = tsUs;
      rec.offset = pos + RECORD_HEADER_BYTES;
      rec.caplen = caplen;
      rec.wirelen = wirelen;
      rec.fileOffset = bufStreamOffset + pos;
      // Counted here, not after the loop: V8 compiles this loop on its own (on-stack replacement)
      // before any code after it has run, and code there without type feedback deoptimized at the
      // end of every chunk, sending the next chunk's first records through the baseline tier
      // (213 deoptimizations on the bench flood).
      ctx.records++;
      ctx.lastTsUs = tsUs;
      sink(rec);
      pos = next;
    }
    return pos;
  }

  private stopOnBogusCaplen(offset: number, caplen: number): void {
    const why = caplen > MAX_CAPLEN ? `exceeds ${MAX_CAPLEN}` : `exceeds snaplen ${this.snaplen} by more than ${SNAPLEN_SLACK}`;
    this.ctx.stop(offset, 'bogus-caplen', `record at offset ${offset}: caplen ${caplen} ${why}`);
  }
}


const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;

/**
 * The 24-byte header of a nanosecond pcap file in host byte order (thiszone and sigfigs 0): the
 * layout in which the live capture addon delivers its records, so its batches continue it as
 * they are (the live record loop parses them as such a file; --write writes them after it).
 */
export function pcapNsHostHeader(linkType: number, snaplen: number): Buffer {
  const h = Buffer.alloc(PCAP_FILE_HEADER_BYTES);
  const le = endianness() === 'LE';
  const u16 = (v: number, at: number) => (le ? h.writeUInt16LE(v, at) : h.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? h.writeUInt32LE(v, at) : h.writeUInt32BE(v, at));
  u32(MAGIC_NS, 0);
  u16(PCAP_VERSION_MAJOR, VERSION_MAJOR_OFFSET);
  u16(PCAP_VERSION_MINOR, VERSION_MINOR_OFFSET);
  u32(snaplen, SNAPLEN_OFFSET);
  u32(linkType, LINKTYPE_OFFSET);
  return h;
}
