/**
 * Capture bytes built by hand for the reader tests, and a way to read them back.
 *
 * PcapWriter / PcapngWriter produce files field by field (either byte order), so every test states
 * exactly what is on disk; `parseInChunks` feeds bytes to CaptureParser in chunks of a chosen size
 * and copies every record out, since the parser's record and bytes are only valid in the sink.
 */

import { CaptureParser } from '../../src/capture/reader';
import { CaptureRecord, CaptureSummary } from '../../src/capture/record';

export interface SeenRecord {
  tsUs: number;
  tsNsRem: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  interfaceId: number;
  fileOffset: number;
  bytes: string;
}

export function seen(rec: CaptureRecord): SeenRecord {
  return {
    tsUs: rec.tsUs,
    tsNsRem: rec.tsNsRem,
    caplen: rec.caplen,
    wirelen: rec.wirelen,
    linkType: rec.linkType,
    interfaceId: rec.interfaceId,
    fileOffset: rec.fileOffset,
    bytes: rec.buf.toString('hex', rec.offset, rec.offset + rec.caplen),
  };
}

export interface Parsed {
  records: SeenRecord[];
  summary: CaptureSummary;
}

/** Feeds `bytes` to a CaptureParser `chunkSize` bytes at a time (each chunk a fresh copy). */
export function parseInChunks(bytes: Buffer, chunkSize = bytes.length || 1, name = 'test.pcap'): Parsed {
  const records: SeenRecord[] = [];
  const parser = new CaptureParser(name, (rec) => records.push(seen(rec)));
  for (let at = 0; at < bytes.length; at += chunkSize) {
    if (!parser.feed(Buffer.from(bytes.subarray(at, at + chunkSize)))) break;
  }
  return { records, summary: parser.end() };
}

/** A frame whose bytes say which one it is. */
export function frame(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (seed * 31 + i) & 0xff;
  return b;
}

/** Little or big endian field writer over a growing list of buffers. */
class FieldWriter {
  private readonly parts: Buffer[] = [];
  constructor(readonly littleEndian: boolean) {}

  u8(v: number): this { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.littleEndian) b.writeUInt16LE(v); else b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.littleEndian) b.writeUInt32LE(v >>> 0); else b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    if (this.littleEndian) b.writeBigInt64LE(v); else b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer): this { this.parts.push(b); return this; }
  pad4(): this {
    const length = this.length;
    if (length % 4 !== 0) this.parts.push(Buffer.alloc(4 - (length % 4)));
    return this;
  }
  get length(): number { return this.parts.reduce((n, p) => n + p.length, 0); }
  toBuffer(): Buffer { return Buffer.concat(this.parts); }
}

export interface PcapOptions {
  littleEndian?: boolean;
  nanoseconds?: boolean;
  snaplen?: number;
  /** The whole 32-bit field, FCS bits included. */
  linkTypeField?: number;
}

export interface PcapRecord {
  seconds: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  fraction: number;
  data: Buffer;
  /** Defaults to data.length. */
  wirelen?: number;
  /** Defaults to data.length; set to lie about the length. */
  caplen?: number;
}

export function pcapFile(options: PcapOptions, records: PcapRecord[]): Buffer {
  const w = new FieldWriter(options.littleEndian ?? true);
  w.u32(options.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0)
    .u32(options.snaplen ?? 65535).u32(options.linkTypeField ?? 1);
  for (const r of records) {
    w.u32(r.seconds).u32(r.fraction).u32(r.caplen ?? r.data.length).u32(r.wirelen ?? r.data.length).bytes(r.data);
  }
  return w.toBuffer();
}

export interface InterfaceOptions {
  linkType: number;
  snaplen?: number;
  tsresol?: number;
  tsoffset?: bigint;
  name?: string;
}

/** Writes pcapng blocks in the byte order of the current section. */
export class PcapngWriter {
  private readonly blocks: Buffer[] = [];
  private littleEndian = true;

  section(littleEndian = true, major = 1): this {
    this.littleEndian = littleEndian;
    const body = new FieldWriter(littleEndian).u32(0x1a2b3c4d).u16(major).u16(0).i64(-1n);
    return this.block(0x0a0d0d0a, body.toBuffer());
  }

  iface(o: InterfaceOptions): this {
    const body = new FieldWriter(this.littleEndian).u16(o.linkType).u16(0).u32(o.snaplen ?? 0);
    if (o.name !== undefined) {
      const name = Buffer.from(o.name);
      body.u16(2).u16(name.length).bytes(name).pad4();
    }
    if (o.tsresol !== undefined) body.u16(9).u16(1).u8(o.tsresol).pad4();
    if (o.tsoffset !== undefined) body.u16(14).u16(8).i64(o.tsoffset);
    if (o.name !== undefined || o.tsresol !== undefined || o.tsoffset !== undefined) body.u16(0).u16(0);
    return this.block(1, body.toBuffer());
  }

  /** Enhanced Packet Block; ticks is the 64-bit timestamp in the interface's resolution. */
  epb(interfaceId: number, ticks: bigint, data: Buffer, wirelen = data.length, caplen = data.length): this {
    const body = new FieldWriter(this.littleEndian).u32(interfaceId)
      .u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(caplen).u32(wirelen).bytes(data).pad4();
    return this.block(6, body.toBuffer());
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
  pb(interfaceId: number, ticks: bigint, data: Buffer, wirelen = data.length): this {
    const body = new FieldWriter(this.littleEndian).u16(interfaceId).u16(0)
      .u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(wirelen).bytes(data).pad4();
    return this.block(2, body.toBuffer());
  }

  /** Simple Packet Block: only the wire length and the (possibly cut) frame. */
  spb(wirelen: number, data: Buffer): this {
    return this.block(3, new FieldWriter(this.littleEndian).u32(wirelen).bytes(data).pad4().toBuffer());
  }

  /** Any block: the body as given (padded), between two length fields. */
  block(type: number, body: Buffer, lengthOverride?: number, trailerOverride?: number): this {
    const padded = new FieldWriter(this.littleEndian).bytes(body).pad4().toBuffer();
    const length = 12 + padded.length;
    this.blocks.push(new FieldWriter(this.littleEndian).u32(type).u32(lengthOverride ?? length).bytes(padded)
      .u32(trailerOverride ?? lengthOverride ?? length).toBuffer());
    return this;
  }

  raw(bytes: Buffer): this {
    this.blocks.push(bytes);
    return this;
  }

  /** Offset where the next block will start. */
  get length(): number {
    return this.blocks.reduce((n, b) => n + b.length, 0);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.blocks);
  }
}

/** Microseconds since the epoch of a UTC date-time, for readable expectations. */
export function utcUs(iso: string, extraUs = 0): number {
  return Date.parse(iso) * 1000 + extraUs;
}
