/**
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): a sequence of
 * blocks `type, totalLength, body, totalLength`, grouped in sections that each start with a
 * Section Header Block (SHB) fixing the byte order of the section.
 *
 * Contract: `new PcapngFormat(ctx)` is created on the 0a0d0d0a magic; `parseChunk` walks whole
 * blocks in place and hands packets to the sink:
 * - EPB (6) and the obsolete Packet Block (2): interface, 64-bit timestamp, caplen, wirelen.
 * - SPB (3): belongs to the section's interface 0 and carries no timestamp; it gets the last
 *   timestamp seen in the file (0 before any), so time never runs backwards because of it.
 * - IDB (1): link type, snaplen and the options if_tsresol (default 10^-6), if_tsoffset, if_name.
 *   Interfaces are numbered across the whole file, in the order of their IDBs, like Wireshark:
 *   CaptureRecord.interfaceId and CaptureSummary.interfaces[] use that global number.
 * - SHB: a new section, possibly of the other byte order; its interfaces start afresh.
 * - Every other block type is skipped, whatever its size (the reader does not buffer it).
 * A block whose length is below its type's minimum, not a multiple of 4, larger than
 * MAX_BUFFERED_BLOCK_BYTES (for the blocks read), or whose trailing length differs, stops the
 * reading with a warning, as does a packet for an undescribed interface or a caplen that does
 * not fit its block. Options are read leniently: a malformed option ends the option list.
 */

import { bytesText, ParseContext, RecordFormat, ViewCache } from './parse-context';
import { MAX_CAPLEN } from './pcap';
import { CaptureInterface } from './record';
import { TickClock } from './ticks';

// Every block.
const BLOCK_TYPE_OFFSET = 0;
const BLOCK_LENGTH_OFFSET = 4;
const BLOCK_HEADER_BYTES = BLOCK_LENGTH_OFFSET + 4;
const BLOCK_TRAILER_BYTES = 4;
const MIN_BLOCK_BYTES = BLOCK_HEADER_BYTES + BLOCK_TRAILER_BYTES;

// Section Header Block.
export const SHB_TYPE = 0x0a0d0d0a;
const SHB_BYTE_ORDER_OFFSET = 8;
const SHB_MAJOR_OFFSET = 12;
const SHB_MINOR_OFFSET = 14;
const SHB_SECTION_LENGTH_OFFSET = 16;
const SHB_MIN_BYTES = SHB_SECTION_LENGTH_OFFSET + 8 + BLOCK_TRAILER_BYTES;
/** Bytes needed to know an SHB's byte order, hence its length. */
export const SHB_SNIFF_BYTES = SHB_BYTE_ORDER_OFFSET + 4;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
const SUPPORTED_MAJOR_VERSION = 1;

// Interface Description Block.
const IDB_TYPE = 1;
const IDB_LINKTYPE_OFFSET = 8;
const IDB_SNAPLEN_OFFSET = 12;
const IDB_OPTIONS_OFFSET = 16;
const IDB_MIN_BYTES = IDB_OPTIONS_OFFSET + BLOCK_TRAILER_BYTES;

// Enhanced Packet Block; the obsolete Packet Block has the same layout with a 16-bit interface id.
const EPB_TYPE = 6;
const PB_TYPE = 2;
const EPB_INTERFACE_OFFSET = 8;
const EPB_TS_HIGH_OFFSET = 12;
const EPB_TS_LOW_OFFSET = 16;
const EPB_CAPLEN_OFFSET = 20;
const EPB_WIRELEN_OFFSET = 24;
const EPB_DATA_OFFSET = 28;
const EPB_MIN_BYTES = EPB_DATA_OFFSET + BLOCK_TRAILER_BYTES;

// Simple Packet Block.
const SPB_TYPE = 3;
const SPB_WIRELEN_OFFSET = 8;
const SPB_DATA_OFFSET = 12;
const SPB_MIN_BYTES = SPB_DATA_OFFSET + BLOCK_TRAILER_BYTES;

// Options (code, length, value padded to 4).
const OPTION_HEADER_BYTES = 4;
const OPT_ENDOFOPT = 0;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/**
 * Largest block that is read (and may be buffered): a maximal frame plus 768 KiB of options.
 * Skipped block types may be of any length.
 */
export const MAX_BUFFERED_BLOCK_BYTES = 1024 * 1024;

const TWO_POW_32 = 4294967296;

/** One described interface; every instance has the same shape (the hot loop reads it). */
class PcapngInterface {
  constructor(
    readonly globalId: number,
    readonly linkType: number,
    readonly snaplen: number,
    readonly clock: TickClock,
  ) {}
}

function minimumLength(type: number): number {
  switch (type) {
    case SHB_TYPE: return SHB_MIN_BYTES;
    case IDB_TYPE: return IDB_MIN_BYTES;
    case EPB_TYPE: case PB_TYPE: return EPB_MIN_BYTES;
    case SPB_TYPE: return SPB_MIN_BYTES;
    default: return MIN_BLOCK_BYTES;
  }
}

function isReadType(type: number): boolean {
  return type === EPB_TYPE || type === SPB_TYPE || type === PB_TYPE || type === IDB_TYPE || type === SHB_TYPE;
}

export class PcapngFormat implements RecordFormat {
  readonly unitName = 'block';
  readonly maxRecordBytes = MAX_BUFFERED_BLOCK_BYTES;
  /** Byte order of the current section. */
  private littleEndian = true;
  private sections = 0;
  /** All interfaces of the file; the current section's are interfaces[sectionFirst..]. */
  private readonly interfaces: PcapngInterface[] = [];
  private sectionFirst = 0;
  private sectionCount = 0;
  /** Last timestamp handed out, for SPBs. */
  private lastTsUs = 0;
  private lastTsNsRem = 0;
  /** needAt's by-products for the block it measured, so the loop reads the header once. */
  private blockType = 0;
  private blockLittleEndian = true;
  private readonly views = new ViewCache();

  constructor(private readonly ctx: ParseContext) {
    ctx.summary.format = 'pcapng';
  }

  private u32(view: DataView<ArrayBufferLike>, at: number): number {
    return view.getUint32(at, this.littleEndian);
  }

  private u16(view: DataView<ArrayBufferLike>, at: number): number {
    return view.getUint16(at, this.littleEndian);
  }

  needAt(buf: Buffer, pos: number, avail: number, streamOffset: number): number {
    if (avail < BLOCK_HEADER_BYTES) return BLOCK_HEADER_BYTES;
    const view = this.views.of(buf);
    // The SHB type reads the same in both byte orders; its own length is in its own order.
    let littleEndian = this.littleEndian;
    const type = this.u32(view, pos + BLOCK_TYPE_OFFSET);
    if (type === SHB_TYPE) {
      if (avail < SHB_SNIFF_BYTES) return SHB_SNIFF_BYTES;
      const magic = view.getUint32(pos + SHB_BYTE_ORDER_OFFSET, true);
      if (magic === BYTE_ORDER_MAGIC) littleEndian = true;
      else if (magic === BYTE_ORDER_MAGIC_SWAPPED) littleEndian = false;
      else {
        this.ctx.stop(streamOffset, 'bad-byte-order-magic',
          `section header at offset ${streamOffset}: byte-order magic 0x${magic.toString(16)} is neither 0x1a2b3c4d nor its swap`);
        return -1;
      }
    }
    const length = view.getUint32(pos + BLOCK_LENGTH_OFFSET, littleEndian);
    const problem = lengthProblem(type, length);
    if (problem !== '') {
      this.ctx.stop(streamOffset, 'bad-block-length', `block at offset ${streamOffset} (type ${type}): length ${length} ${problem}`);
      return -1;
    }
    this.blockType = type;
    this.blockLittleEndian = littleEndian;
    return length;
  }

  isSkippable(buf: Buffer, pos: number, avail: number): boolean {
    return avail >= BLOCK_HEADER_BYTES && !isReadType(this.u32(this.views.of(buf), pos + BLOCK_TYPE_OFFSET));
  }

  parseChunk(buf: Buffer, pos: number, end: number, bufStreamOffset: number): number {
    const ctx = this.ctx;
    const view = this.views.of(buf);
    while (!ctx.stopped) {
      const avail = end - pos;
      const length = this.needAt(buf, pos, avail, bufStreamOffset + pos);
      if (length < 0 || length > avail) break;
      const trailer = view.getUint32(pos + length - BLOCK_TRAILER_BYTES, this.blockLittleEndian);
      if (trailer !== length) {
        const offset = bufStreamOffset + pos;
        ctx.stop(offset, 'bad-block-length', `block at offset ${offset} (type ${this.blockType}): leading length ${length} but trailing length ${trailer}`);
        break;
      }
      switch (this.blockType) {
        case EPB_TYPE:
          this.packet(buf, view, pos, length, bufStreamOffset, this.u32(view, pos + EPB_INTERFACE_OFFSET));
          break;
        case PB_TYPE:
          this.packet(buf, view, pos, length, bufStreamOffset, this.u16(view, pos + EPB_INTERFACE_OFFSET));
          break;
        case SPB_TYPE:
          this.simplePacket(buf, view, pos, length, bufStreamOffset);
          break;
        case IDB_TYPE:
          this.describeInterface(buf, view, pos, length);
          break;
        case SHB_TYPE:
          this.startSection(view, pos, bufStreamOffset);
          break;
        default:
          // Name resolution, statistics, secrets, custom and unknown blocks: not ours.
          break;
      }
      if (ctx.stopped) break;
      pos += length;
    }
    return pos;
  }

  /** EPB or PB at pos. */
  private packet(buf: Buffer, view: DataView<ArrayBufferLike>, pos: number, length: number, bufStreamOffset: number, localId: number): void {
    const iface = this.interfaceOf(localId, bufStreamOffset + pos);
    if (iface === null) return;
    const caplen = this.u32(view, pos + EPB_CAPLEN_OFFSET);
    const room = length - EPB_MIN_BYTES;
    if (caplen > room || caplen > MAX_CAPLEN) {
      const offset = bufStreamOffset + pos;
      const why = caplen > room ? `exceeds the ${bytesText(room)} its block holds` : `exceeds ${MAX_CAPLEN}`;
      this.ctx.stop(offset, 'bogus-caplen', `block at offset ${offset}: caplen ${caplen} ${why}`);
      return;
    }
    const rec = this.ctx.record;
    iface.clock.stamp(rec, this.u32(view, pos + EPB_TS_HIGH_OFFSET), this.u32(view, pos + EPB_TS_LOW_OFFSET));
    this.deliver(buf, pos, bufStreamOffset, iface, EPB_DATA_OFFSET, caplen, this.u32(view, pos + EPB_WIRELEN_OFFSET));
  }

  private simplePacket(buf: Buffer, view: DataView<ArrayBufferLike>, pos: number, length: number, bufStreamOffset: number): void {
    const iface = this.interfaceOf(0, bufStreamOffset + pos);
    if (iface === null) return;
    const wirelen = this.u32(view, pos + SPB_WIRELEN_OFFSET);
    // An SPB has no caplen: the frame is cut by the snaplen, and the block holds what was kept.
    let caplen = Math.min(wirelen, length - SPB_MIN_BYTES);
    if (iface.snaplen !== 0) caplen = Math.min(caplen, iface.snaplen);
    const rec = this.ctx.record;
    rec.tsUs = this.lastTsUs;
    rec.tsNsRem = this.lastTsNsRem;
    this.deliver(buf, pos, bufStreamOffset, iface, SPB_DATA_OFFSET, caplen, wirelen);
  }

  private deliver(buf: Buffer, pos: number, bufStreamOffset: number, iface: PcapngInterface,
    dataOffset: number, caplen: number, wirelen: number): void {
    const ctx = this.ctx;
    const rec = ctx.record;
    rec.buf = buf;
    rec.offset = pos + dataOffset;
    rec.caplen = caplen;
    rec.wirelen = wirelen;
    rec.linkType = iface.linkType;
    rec.interfaceId = iface.globalId;
    rec.fileOffset = bufStreamOffset + pos;
    if (caplen > wirelen) ctx.noteCaplenOverWirelen(rec.fileOffset, caplen, wirelen);
    this.lastTsUs = rec.tsUs;
    this.lastTsNsRem = rec.tsNsRem;
    if (ctx.records === 0) ctx.firstTsUs = rec.tsUs;
    ctx.lastTsUs = rec.tsUs;
    ctx.records++;
    ctx.sink(rec);
  }

  private interfaceOf(localId: number, offset: number): PcapngInterface | null {
    if (localId < this.sectionCount) return this.interfaces[this.sectionFirst + localId];
    this.ctx.stop(offset, 'unknown-interface',
      `block at offset ${offset}: packet for interface ${localId}, but the section describes ${this.sectionCount}`);
    return null;
  }

  private startSection(view: DataView<ArrayBufferLike>, pos: number, bufStreamOffset: number): void {
    this.littleEndian = this.blockLittleEndian;
    const major = this.u16(view, pos + SHB_MAJOR_OFFSET);
    if (major !== SUPPORTED_MAJOR_VERSION) {
      const offset = bufStreamOffset + pos;
      const minor = this.u16(view, pos + SHB_MINOR_OFFSET);
      this.ctx.stop(offset, 'unsupported-version', `section header at offset ${offset}: pcapng version ${major}.${minor}, only 1.x is known`);
      return;
    }
    // The summary names the first section's byte order; later sections may differ.
    if (this.sections++ === 0) this.ctx.summary.byteOrder = this.littleEndian ? 'little' : 'big';
    this.sectionFirst = this.interfaces.length;
    this.sectionCount = 0;
  }

  private describeInterface(buf: Buffer, view: DataView<ArrayBufferLike>, pos: number, length: number): void {
    const linkType = this.u16(view, pos + IDB_LINKTYPE_OFFSET);
    const snaplen = this.u32(view, pos + IDB_SNAPLEN_OFFSET);
    let tsresol: number | undefined;
    let offsetSeconds = 0;
    let name: string | undefined;
    const optionsEnd = pos + length - BLOCK_TRAILER_BYTES;
    for (let at = pos + IDB_OPTIONS_OFFSET; at + OPTION_HEADER_BYTES <= optionsEnd;) {
      const code = this.u16(view, at);
      const valueLength = this.u16(view, at + 2);
      const value = at + OPTION_HEADER_BYTES;
      if (code === OPT_ENDOFOPT || value + valueLength > optionsEnd) break;
      if (code === IF_TSRESOL && valueLength >= 1) tsresol = buf[value];
      else if (code === IF_TSOFFSET && valueLength >= 8) offsetSeconds = this.i64(view, value);
      else if (code === IF_NAME) name = buf.toString('utf8', value, value + valueLength).replace(/\0+$/, '');
      at = value + ((valueLength + 3) & ~3);
    }
    const clock = new TickClock(tsresol, offsetSeconds);
    const globalId = this.interfaces.length;
    this.interfaces.push(new PcapngInterface(globalId, linkType, snaplen, clock));
    this.sectionCount++;
    const described: CaptureInterface = { id: globalId, linkType, tsResolution: clock.resolution };
    if (name !== undefined) described.name = name;
    this.ctx.summary.interfaces.push(described);
  }

  /** Signed 64-bit integer (if_tsoffset), exact up to 2^53. */
  private i64(view: DataView<ArrayBufferLike>, at: number): number {
    return this.littleEndian
      ? view.getInt32(at + 4, true) * TWO_POW_32 + view.getUint32(at, true)
      : view.getInt32(at, false) * TWO_POW_32 + view.getUint32(at + 4, false);
  }
}

/** Why a block length cannot be right, or '' when it can. */
function lengthProblem(type: number, length: number): string {
  if (length % 4 !== 0) return 'is not a multiple of 4';
  const minimum = minimumLength(type);
  if (length < minimum) return `is below the minimum of ${minimum}`;
  if (length > MAX_BUFFERED_BLOCK_BYTES && isReadType(type)) return `exceeds ${MAX_BUFFERED_BLOCK_BYTES}`;
  return '';
}
