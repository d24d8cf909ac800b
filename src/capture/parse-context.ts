/**
 * What a format parser (pcap.ts, pcapng.ts) shares with the chunking CaptureParser (reader.ts).
 *
 * Contract: the reader cuts the input into chunks and a carry buffer; a RecordFormat parses the
 * records that lie whole in `buf[pos, end)` and tells the reader, through `needAt`, how many bytes
 * the record at a position needs, so that only a record straddling two chunks is ever copied.
 * Damage found inside a format is a CaptureWarning plus `stopped`, never an exception.
 */

import { CaptureRecord, CaptureSummary, RecordSink } from './record';

export class ParseContext {
  /** The one record every frame is handed in (see record.ts). */
  readonly record = new CaptureRecord();
  /** Records handed to the sink so far. */
  records = 0;
  /** Meaningful once records > 0. Numbers, never null: a field that held null would box every
   * double written to it (one allocation per record). */
  firstTsUs = 0;
  lastTsUs = 0;
  /** Set by `stop`: the input is damaged at stopOffset and nothing after it is read. */
  stopped = false;
  stopOffset = 0;
  private caplenOverWirelen = 0;
  private firstCaplenOverWirelenOffset = 0;
  private firstCaplenOverWirelenText = '';

  constructor(
    readonly file: string,
    readonly sink: RecordSink,
    readonly summary: CaptureSummary,
  ) {}

  warn(offset: number, code: string, message: string): void {
    this.summary.warnings.push({ file: this.file, offset, code, message });
  }

  /** A record that captured more than the wire carried: odd (fuzzers, broken writers), kept. */
  noteCaplenOverWirelen(offset: number, caplen: number, wirelen: number): void {
    if (this.caplenOverWirelen++ === 0) {
      this.firstCaplenOverWirelenOffset = offset;
      this.firstCaplenOverWirelenText = `caplen ${caplen} > wirelen ${wirelen}`;
    }
  }

  /** End of input: one warning that sums up the odd records, rather than one per record. */
  finish(): void {
    if (this.caplenOverWirelen === 0) return;
    this.warn(
      this.firstCaplenOverWirelenOffset,
      'caplen-exceeds-wirelen',
      `${this.caplenOverWirelen} record(s) captured more bytes than were on the wire (kept as is); ` +
        `first at offset ${this.firstCaplenOverWirelenOffset}: ${this.firstCaplenOverWirelenText}`,
    );
  }

  /** A finding that ends the reading: everything before `offset` has been delivered. */
  stop(offset: number, code: string, message: string): void {
    this.warn(offset, code, message);
    this.stopped = true;
    this.stopOffset = offset;
  }
}

/** One capture format's record loop; the instance is created once the file header is known. */
export interface RecordFormat {
  /** What the format's unit is called in warnings: "record" or "block". */
  readonly unitName: string;
  /** Capacity the carry buffer needs: the largest record `needAt` can accept (header included). */
  readonly maxRecordBytes: number;
  /**
   * Bytes the record at `pos` needs, given `avail` bytes there: more than `avail` means "feed me
   * more" (the header may not even be complete yet), otherwise it is the whole record's length.
   * -1 when the header is damaged (the context is stopped with a warning).
   */
  needAt(buf: Buffer, pos: number, avail: number, streamOffset: number): number;
  /** True when the record at `pos` (header complete) is one the format ignores, so the reader
   * may skip its bytes instead of buffering them. */
  isSkippable(buf: Buffer, pos: number, avail: number): boolean;
  /**
   * Hands every whole record of buf[pos, end) to the sink and returns the position of the first
   * one that is not whole (or of the damaged one, with the context stopped). `bufStreamOffset`
   * is the stream offset of buf[0].
   */
  parseChunk(buf: Buffer, pos: number, end: number, bufStreamOffset: number): number;
}

/** "23 bytes" / "1 byte": warnings name their numbers in plain words. */
export function bytesText(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

/**
 * A DataView over the last buffer asked for: the reader feeds the same read buffer (and the same
 * carry) over and over, so a view is made once per buffer, not once per chunk or record.
 */
export class ViewCache {
  private buf: Buffer | null = null;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  of(buf: Buffer): DataView<ArrayBufferLike> {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.view;
  }
}
