/**
 * Reading a capture file (or stdin) into a RecordSink: classic pcap, pcapng, either gzipped.
 *
 * Contract:
 * - `readCaptureFile(file, sink, opts)` reads FILE ("-" = stdin) and resolves to the filled
 *   CaptureSummary. It rejects only with CaptureError: 'cannot-open' / 'read-failed' (with the
 *   errno text) and 'not-a-capture' (nothing recognisable at offset 0); an exception thrown by
 *   the sink itself passes through untouched. Damage after the start (bogus lengths, truncation,
 *   garbage, a broken gzip stream) ends the reading with a CaptureWarning in the summary, after
 *   every record before it has been delivered.
 * - `readCaptureStream(name, chunks, sink, opts)` does the same for any stream of Buffers.
 * - `CaptureParser` is the push parser both use: `feed(chunk)` as often as needed, then `end()`.
 * Gzip is recognised by its magic (1f 8b), never by the file name, and inflated as a stream. A
 * gzip stream cut short keeps everything inflated before the cut; one found corrupt (bad data or
 * checksum) loses the last inflate step's output (<= INFLATE_CHUNK_BYTES), which Node's zlib
 * drops together with the error.
 *
 * Zero-copy: records handed to the sink point into the chunk being fed. Only a record that
 * straddles two chunks is copied, into one carry buffer the size of the largest record the format
 * accepts (allocated once per input, never sized by a length field from the file). Block types
 * the parser ignores are skipped without being buffered, whatever their length.
 */

import { open, FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { bytesText, ParseContext, RecordFormat } from './parse-context';
import { PCAP_FILE_HEADER_BYTES, PcapFormat, pcapKindOf } from './pcap';
import { PcapngFormat, SHB_SNIFF_BYTES, SHB_TYPE } from './pcapng';
import { CaptureError, CaptureSummary, errnoText, RecordSink } from './record';

export interface ReadOptions {
  /** Called every PROGRESS_STEP_BYTES or so of (compressed) input, and once at the end. */
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /** Read size for plain files; tests use tiny ones to exercise records straddling chunks. */
  chunkBytes?: number;
}

/**
 * Read size. 1M-record pcap from the page cache, records per CPU-second: 64 KiB 22 M,
 * 256 KiB 35 M, 1 MiB 46 M, 2 MiB 46 M, 4 MiB 43 M.
 */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const PROGRESS_STEP_BYTES = 64 * 1024 * 1024;
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const GZIP_SNIFF_BYTES = 2;
const MAGIC_BYTES = 4;
/** Enough to hold any file header while the format is being recognised. */
const SNIFF_CAPACITY = Math.max(PCAP_FILE_HEADER_BYTES, SHB_SNIFF_BYTES);

export interface ParserOptions {
  /** The bytes fed are the inflated content of a gzip stream (for the summary and messages). */
  compressed?: boolean;
}

/**
 * Push parser over the (decompressed) byte stream of one capture. `feed` never keeps a reference
 * to the chunk after it returns, so a source may reuse one read buffer for the whole input.
 */
export class CaptureParser {
  readonly summary: CaptureSummary;
  private readonly ctx: ParseContext;
  private format: RecordFormat | null = null;
  /** Bytes of a record that began in an earlier chunk (or of the file header while sniffing). */
  private carry = Buffer.alloc(SNIFF_CAPACITY);
  private carryLength = 0;
  /** Stream offset of carry[0]. */
  private carryStart = 0;
  /** Bytes still to drop of a skipped block that began in an earlier chunk. */
  private skipRemaining = 0;
  private skipBlockStart = 0;
  private skipBlockLength = 0;
  /** Stream offset of the next byte to be fed. */
  private streamOffset = 0;
  private ended = false;

  constructor(readonly file: string, sink: RecordSink, options: ParserOptions = {}) {
    this.summary = {
      file,
      format: 'unknown',
      compressed: options.compressed === true,
      byteOrder: 'unknown',
      interfaces: [],
      records: 0,
      bytes: 0,
      firstTsUs: null,
      lastTsUs: null,
      warnings: [],
    };
    this.ctx = new ParseContext(file, sink, this.summary);
  }

  /** False once the input turned out damaged: the caller should stop reading (and call end()). */
  get wantsMore(): boolean {
    return !this.ctx.stopped && !this.ended;
  }

  /**
   * Parses every whole record in `chunk`. Returns `wantsMore`. Throws CaptureError
   * 'not-a-capture' when the first bytes of the stream are not a capture's.
   */
  feed(chunk: Buffer): boolean {
    if (!this.wantsMore) return false;
    const chunkStart = this.streamOffset;
    this.streamOffset += chunk.length;
    let pos = 0;
    if (this.format === null) {
      pos = this.sniff(chunk);
      if (this.format === null) return true;
    }
    if (this.skipRemaining > 0) pos = this.skip(chunk, pos);
    if (this.carryLength > 0) pos = this.completeCarried(chunk, pos);
    if (this.carryLength > 0 || this.skipRemaining > 0 || this.ctx.stopped) return this.wantsMore;
    const format = this.format as RecordFormat;
    pos = format.parseChunk(chunk, pos, chunk.length, chunkStart);
    if (!this.ctx.stopped && pos < chunk.length) this.holdTail(chunk, pos, chunkStart);
    return this.wantsMore;
  }

  /** A problem of the source itself (e.g. a broken gzip stream), at the current stream offset. */
  sourceProblem(code: string, message: string): void {
    this.ctx.warn(this.streamOffset, code, `${message} at decompressed offset ${this.streamOffset}`);
  }

  /**
   * End of input: reports a record cut short, fills and returns the summary. Throws CaptureError
   * 'not-a-capture' when the input was empty or too short to be recognised.
   */
  end(): CaptureSummary {
    if (this.ended) return this.summary;
    this.ended = true;
    const ctx = this.ctx;
    const s = this.summary;
    if (this.format === null) this.endWhileSniffing();
    else if (!ctx.stopped && this.carryLength > 0) {
      const need = this.format.needAt(this.carry, 0, this.carryLength, this.carryStart);
      if (need >= 0) this.reportTruncated(this.format, this.carryStart, need, this.carryLength);
    } else if (!ctx.stopped && this.skipRemaining > 0) {
      this.reportTruncated(this.format, this.skipBlockStart, this.skipBlockLength, this.skipBlockLength - this.skipRemaining);
    }
    ctx.finish();
    s.records = ctx.records;
    s.firstTsUs = ctx.records > 0 ? ctx.firstTsUs : null;
    s.lastTsUs = ctx.records > 0 ? ctx.lastTsUs : null;
    s.bytes = ctx.stopped ? ctx.stopOffset : this.streamOffset;
    return s;
  }

  /** Collects the first bytes until the format and its file header are known. */
  private sniff(chunk: Buffer): number {
    let pos = 0;
    for (;;) {
      const need = this.sniffNeed();
      if (this.carryLength >= need) break;
      if (pos === chunk.length) return pos;
      pos = this.copyToCarry(chunk, pos, need - this.carryLength);
    }
    const pcapKind = pcapKindOf(this.carry.readUInt32LE(0));
    if (pcapKind !== null) {
      this.format = new PcapFormat(this.ctx, pcapKind, this.carry, 0);
      this.carryStart = PCAP_FILE_HEADER_BYTES;
      this.carryLength = 0;
    } else {
      // The SHB's first bytes stay in the carry: they are the start of the first block.
      this.format = new PcapngFormat(this.ctx);
    }
    const sniffed = this.carry.subarray(0, this.carryLength);
    this.carry = Buffer.allocUnsafe(this.format.maxRecordBytes);
    sniffed.copy(this.carry);
    return pos;
  }

  /** Bytes needed before the format can start; throws on a magic that is no capture's. */
  private sniffNeed(): number {
    if (this.carryLength < MAGIC_BYTES) return MAGIC_BYTES;
    const magicLE = this.carry.readUInt32LE(0);
    if (pcapKindOf(magicLE) !== null) return PCAP_FILE_HEADER_BYTES;
    if (magicLE === SHB_TYPE) return SHB_SNIFF_BYTES;
    throw this.notACapture();
  }

  private endWhileSniffing(): void {
    if (this.carryLength < MAGIC_BYTES) throw this.notACapture();
    const need = this.sniffNeed();
    this.summary.format = pcapKindOf(this.carry.readUInt32LE(0)) !== null ? 'pcap' : 'pcapng';
    this.ctx.stop(0, 'truncated-header',
      `file header at offset 0: needs ${need} bytes, input ends after ${bytesText(this.carryLength)}`);
  }

  private notACapture(): CaptureError {
    const what = this.summary.compressed ? 'gzip-compressed, but not a pcap/pcapng capture inside' : 'not a pcap/pcapng/gzip capture';
    if (this.carryLength === 0) return new CaptureError('not-a-capture', this.file, 0, `${this.file}: empty input, ${what}`);
    const first = Array.from(this.carry.subarray(0, Math.min(this.carryLength, MAGIC_BYTES)), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return new CaptureError('not-a-capture', this.file, 0, `${this.file}: ${what} (first bytes ${first})`);
  }

  /** Fills the carry with the rest of its record, then parses it; returns the new chunk position. */
  private completeCarried(chunk: Buffer, pos: number): number {
    const format = this.format as RecordFormat;
    for (;;) {
      const need = format.needAt(this.carry, 0, this.carryLength, this.carryStart);
      if (need < 0) return pos;
      if (need <= this.carryLength) {
        format.parseChunk(this.carry, 0, need, this.carryStart);
        this.carryStart += need;
        this.carryLength = 0;
        return pos;
      }
      if (format.isSkippable(this.carry, 0, this.carryLength)) {
        this.startSkip(this.carryStart, need, this.carryLength);
        this.carryLength = 0;
        return this.skip(chunk, pos);
      }
      if (pos === chunk.length) return pos;
      pos = this.copyToCarry(chunk, pos, need - this.carryLength);
    }
  }

  /** Keeps the incomplete record at chunk[pos..] for the next feed (or skips an ignored block). */
  private holdTail(chunk: Buffer, pos: number, chunkStart: number): void {
    const format = this.format as RecordFormat;
    const available = chunk.length - pos;
    const need = format.needAt(chunk, pos, available, chunkStart + pos);
    if (need < 0) return;
    if (format.isSkippable(chunk, pos, available)) {
      this.startSkip(chunkStart + pos, need, available);
      return;
    }
    this.carryStart = chunkStart + pos;
    this.carryLength = 0;
    this.copyToCarry(chunk, pos, available);
  }

  private copyToCarry(chunk: Buffer, pos: number, wanted: number): number {
    const take = Math.min(wanted, chunk.length - pos);
    chunk.copy(this.carry, this.carryLength, pos, pos + take);
    this.carryLength += take;
    return pos + take;
  }

  private startSkip(blockStart: number, blockLength: number, alreadySeen: number): void {
    this.skipBlockStart = blockStart;
    this.skipBlockLength = blockLength;
    this.skipRemaining = blockLength - alreadySeen;
  }

  private skip(chunk: Buffer, pos: number): number {
    const dropped = Math.min(this.skipRemaining, chunk.length - pos);
    this.skipRemaining -= dropped;
    return pos + dropped;
  }

  private reportTruncated(format: RecordFormat, at: number, need: number, got: number): void {
    this.ctx.stop(at, 'truncated-record',
      `${format.unitName} at offset ${at}: needs ${need} bytes, input ends after ${bytesText(got)}`);
  }
}

/** Calls onProgress each time another PROGRESS_STEP_BYTES have been read, and at the end. */
class ProgressReporter {
  private nextReport = PROGRESS_STEP_BYTES;
  constructor(
    private readonly onProgress: ReadOptions['onProgress'],
    private readonly totalBytes: number | null,
  ) {}

  update(bytesRead: number): void {
    if (this.onProgress === undefined || bytesRead < this.nextReport) return;
    this.nextReport = (Math.floor(bytesRead / PROGRESS_STEP_BYTES) + 1) * PROGRESS_STEP_BYTES;
    this.onProgress(bytesRead, this.totalBytes);
  }

  done(bytesRead: number): void {
    this.onProgress?.(bytesRead, this.totalBytes);
  }
}

function isGzip(head: Buffer): boolean {
  return head.length >= GZIP_SNIFF_BYTES && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
}

/** "FILE: ENOENT: no such file or directory", from a Node system error. */
function ioError(code: string, file: string, offset: number | null, err: unknown): CaptureError {
  return new CaptureError(code, file, offset, `${file}: ${errnoText(err)}`);
}

/**
 * Reads a capture file ("-" for stdin) into `sink`. See the file contract for what it throws
 * and warns about.
 */
export async function readCaptureFile(file: string, sink: RecordSink, opts: ReadOptions = {}): Promise<CaptureSummary> {
  if (file === '-') return readCaptureStream(file, process.stdin, sink, opts);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw ioError('cannot-open', file, null, err);
  }
  try {
    return await readOpenFile(file, handle, sink, opts);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function readOpenFile(file: string, handle: FileHandle, sink: RecordSink, opts: ReadOptions): Promise<CaptureSummary> {
  // At least enough to recognise gzip; NaN or nonsense falls back to the default.
  const chunkBytes = Math.max(GZIP_SNIFF_BYTES, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES)) || DEFAULT_CHUNK_BYTES;
  const stat = await handle.stat().catch((err) => { throw ioError('read-failed', file, 0, err); });
  const totalBytes = stat.isFile() ? stat.size : null;
  const chunk = Buffer.allocUnsafeSlow(chunkBytes);
  const read = async (into: Buffer, at: number, bytesSoFar: number): Promise<number> => {
    try {
      return (await handle.read(into, at, into.length - at, null)).bytesRead;
    } catch (err) {
      throw ioError('read-failed', file, bytesSoFar, err);
    }
  };
  // A pipe may deliver a single byte first: gather enough to recognise gzip.
  let filled = 0;
  for (let n = -1; filled < GZIP_SNIFF_BYTES && n !== 0; filled += n) n = await read(chunk, filled, filled);
  if (isGzip(chunk.subarray(0, filled))) {
    const first = Buffer.from(chunk.subarray(0, filled));
    async function* rest(): AsyncGenerator<Buffer> {
      yield first;
      for (let bytesSoFar = first.length; ;) {
        const fresh = Buffer.allocUnsafe(chunkBytes);
        const n = await read(fresh, 0, bytesSoFar);
        if (n === 0) return;
        bytesSoFar += n;
        yield fresh.subarray(0, n);
      }
    }
    return readCaptureStream(file, rest(), sink, opts, totalBytes);
  }
  const parser = new CaptureParser(file, sink);
  const progress = new ProgressReporter(opts.onProgress, totalBytes);
  // Two buffers: the next read runs (in libuv's thread pool, on another core) while the parser
  // works through the current one. The parser keeps no reference into a chunk once feed()
  // returns (a record that straddles two chunks is copied into its carry), so they can alternate.
  let current = chunk;
  let next = Buffer.allocUnsafeSlow(chunkBytes);
  let bytesRead = 0;
  for (let n = filled; n > 0; ) {
    bytesRead += n;
    const ahead = read(next, 0, bytesRead);
    ahead.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled
    const more = parser.feed(n === current.length ? current : current.subarray(0, n));
    if (!more) {
      await ahead.catch(() => undefined); // the parser stopped: what was read ahead is not used
      break;
    }
    progress.update(bytesRead);
    n = await ahead;
    [current, next] = [next, current];
  }
  progress.done(bytesRead);
  return parser.end();
}

/**
 * Reads a capture from a stream of Buffers (stdin, a socket, a test's array), gzipped or not.
 * Each Buffer must stay untouched until the next one is requested, as stream chunks do.
 */
export async function readCaptureStream(
  name: string,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  sink: RecordSink,
  opts: ReadOptions = {},
  totalBytes: number | null = null,
): Promise<CaptureSummary> {
  const source = (chunks as AsyncIterable<Buffer>)[Symbol.asyncIterator]?.() ?? toAsync((chunks as Iterable<Buffer>)[Symbol.iterator]());
  const progress = new ProgressReporter(opts.onProgress, totalBytes);
  let bytesRead = 0;
  const next = async (): Promise<Buffer | null> => {
    let result: IteratorResult<Buffer>;
    try {
      result = await source.next();
    } catch (err) {
      if (err instanceof CaptureError) throw err;
      throw ioError('read-failed', name, bytesRead, err);
    }
    if (result.done) return null;
    bytesRead += result.value.length;
    progress.update(bytesRead);
    return result.value;
  };
  try {
    const head: Buffer[] = [];
    let headBytes = 0;
    for (let b = await next(); b !== null; b = headBytes < GZIP_SNIFF_BYTES ? await next() : null) {
      head.push(b);
      headBytes += b.length;
    }
    const compressed = isGzip(Buffer.concat(head, Math.min(headBytes, GZIP_SNIFF_BYTES)));
    const parser = new CaptureParser(name, sink, { compressed });
    if (compressed) {
      await inflateInto(parser, head, next);
    } else {
      let fed = true;
      for (const b of head) fed = fed && parser.feed(b);
      for (let b = fed ? await next() : null; b !== null; b = parser.feed(b) ? await next() : null);
    }
    progress.done(bytesRead);
    return parser.end();
  } finally {
    // Stops a stream we no longer read (after damage), e.g. destroys stdin's handle.
    await source.return?.();
  }
}

function toAsync(it: Iterator<Buffer>): AsyncIterator<Buffer> {
  return { next: async () => it.next(), return: async () => it.return?.() ?? { done: true, value: undefined } };
}

/**
 * Inflated bytes per chunk. gzipped 76 MB pcap: 16 KiB (zlib's default) 2.6 M rec/s, 64 KiB
 * 11.8 M rec/s, 1 MiB the same. Small matters too: when zlib reports a broken stream, Node drops
 * the output of that last inflate step, so at most this much decoded data is lost.
 */
const INFLATE_CHUNK_BYTES = 64 * 1024;

/** Streams the compressed chunks through gunzip into the parser; a broken stream is a warning. */
async function inflateInto(parser: CaptureParser, head: Buffer[], next: () => Promise<Buffer | null>): Promise<void> {
  async function* compressed(): AsyncGenerator<Buffer> {
    for (const b of head) yield b;
    for (let b = await next(); b !== null; b = await next()) yield b;
  }
  const input = Readable.from(compressed(), { objectMode: false });
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const inflated of gunzip) {
      if (!parser.feed(inflated as Buffer)) break;
    }
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const e = err as NodeJS.ErrnoException;
    const truncated = e.code === 'Z_BUF_ERROR';
    parser.sourceProblem(truncated ? 'truncated-gzip' : 'bad-gzip',
      truncated ? 'gzip stream ends early' : `gzip stream broken (${e.message})`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}
