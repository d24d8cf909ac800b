/**
 * Writing what live capture passed to pcap files, as `tcpdump -w` does, with size-based rotation.
 *
 * Contract:
 * - `new CaptureWriter({ path, linkType, snaplen, maxFileBytes?, keepFiles? })` validates the
 *   options and opens the first file synchronously. It throws CaptureError only here:
 *   'bad-option' (the message names the option and the value) and 'write-failed' when the file,
 *   or with rotation its directory, cannot be opened or listed: one line naming the path and the
 *   errno text, "cannot write capture to /x/y.pcap: ENOENT: no such file or directory".
 * - Every file is a nanosecond pcap: the 24-byte header (magic 0xa1b23c4d, version 2.4, thiszone
 *   0, sigfigs 0, snaplen, linkType), then records, every field in host byte order: the order in
 *   which the capture addon lays out its records, so a batch is written as it is.
 * - `write(batch, length)` appends the records in batch[0, length): each a 16-byte header (ts
 *   seconds, ts nanoseconds, caplen, wire length, host order) and caplen bytes. One
 *   `fs.writeSync` per batch, or per piece of it when rotation cuts it; nothing is kept of the
 *   batch after write returns (the caller reuses it), and nothing is allocated per record.
 *   The headers are checked while the batch is split: a header that runs past `length`, or whose
 *   caplen exceeds snaplen, makes the rest of the batch damaged (it cannot be split further, and
 *   a caplen over snaplen would make tcpdump and Wireshark read the file differently); it is
 *   dropped and counted as one record.
 * - Names. Without maxFileBytes: exactly `path`, truncated when it exists (as `tcpdump -w`).
 *   With it: `<stem>.<N>.<ext>`, N a decimal number of at least NUMBER_DIGITS digits and ext the
 *   part of path's last component from its last dot (node's path.extname): `attack.pcap` ->
 *   `attack.000001.pcap`, `attack.000002.pcap`, ...; `attack` -> `attack.000001`; after
 *   `attack.999999.pcap` comes `attack.1000000.pcap`. `path` itself is never written. The first N
 *   is one more than the highest in the directory (any entry with a name of the pattern, in the
 *   exact form this writer gives), files are created exclusively (O_EXCL; an existing name is
 *   skipped), so a restart or a second writer never overwrites earlier evidence.
 * - Rotation: before a record that would take the current file past maxFileBytes (file header
 *   included), when that file already holds a record, the file is closed (not fsync'ed: that
 *   would stall capture for the time of a disk flush) and the next is opened. A record is never
 *   split across files; one bigger than maxFileBytes gets a file of its own.
 * - keepFiles (needs maxFileBytes): after each file is opened, the oldest regular files of the
 *   pattern (this run's and earlier runs', by N) are deleted until at most keepFiles remain,
 *   the current one included. Other files, and entries that are not regular files, are left alone.
 * - Errors after construction (ENOSPC, EIO, EFBIG, a rotation that cannot create its file) never
 *   throw out of write() or close(). Records not written are counted (droppedRecords,
 *   droppedBytes), `lastError` keeps the first error's message, and every later batch tries
 *   again, so writing resumes once space is freed. A write cut short on a regular file keeps the
 *   whole records that landed and truncates the rest, so every file holds only whole records;
 *   on a pipe or device the cut cannot be taken back. A file whose header write failed gets it
 *   before its first record.
 * - `close()`: fsync, then close; idempotent. Records written after it are dropped and counted.
 */

import * as fs from 'node:fs';
import { endianness } from 'node:os';
import * as nodePath from 'node:path';

import { ViewCache } from './parse-context';
import { CAPLEN_OFFSET, MAX_CAPLEN, PCAP_FILE_HEADER_BYTES, pcapNsHostHeader, RECORD_HEADER_BYTES } from './pcap';
import { CaptureError, errnoText } from './record';

export interface CaptureWriterOptions {
  /** The file, or with maxFileBytes the pattern of the rotated names (see the contract). */
  path: string;
  /** LINKTYPE_* of every record: the whole 32-bit header field (FCS bits included). */
  linkType: number;
  /** The capture's snapshot length (pcap_snapshot()), 1..MAX_CAPLEN; no record may exceed it. */
  snaplen: number;
  /** Rotate before a file would exceed this many bytes; undefined: one file, no rotation. */
  maxFileBytes?: number;
  /** With rotation: how many files of the pattern to keep, the current one included; undefined: all. */
  keepFiles?: number;
}

export interface CaptureWriterStats {
  /** Files opened by this writer (deleted ones included). */
  files: number;
  /** Records written. */
  records: number;
  /** Bytes written: file headers and whole records (the sum of the file sizes). */
  bytes: number;
  /** Records not written (a damaged batch tail counts as one). */
  droppedRecords: number;
  /** Bytes of batches not written. */
  droppedBytes: number;
  /** The file being written (the last one, once closed). */
  currentPath: string;
}

/** Digits N has at least in rotated names: a million files before the names grow longer. */
const NUMBER_DIGITS = 6;
/** Existing names skipped in a row before a rotation gives up (another writer on the same pattern). */
const MAX_NAME_TRIES = 1000;
/** Records come from the addon in host byte order, and the file keeps them so. */
const LITTLE_ENDIAN = endianness() === 'LE';

export class CaptureWriter {
  private readonly path: string;
  private readonly snaplen: number;
  /** Infinity without rotation. */
  private readonly maxFileBytes: number;
  private readonly keepFiles: number;
  private readonly rotating: boolean;
  private readonly header: Buffer;
  private readonly views = new ViewCache();
  /** Rotated names are `${stem}.${N}${ext}`, stem with its directory. */
  private readonly dir: string = '';
  private readonly stem: string = '';
  private readonly ext: string = '';
  private nextNumber = 1;
  /** With keepFiles: the N of the regular files of the pattern, ascending (the current one last). */
  private kept: number[] = [];

  private fd = -1;
  private closed = false;
  private currentPath = '';
  /** Regular file: written at explicit offsets, so a write cut short can be truncated away. */
  private seekable = false;
  private headerOnDisk = false;
  /** Bytes of whole records (and the header) in the current file; the offset of the next write. */
  private fileBytes = 0;
  private fileRecords = 0;
  /** A truncation after a cut-short write failed: retried at close. */
  private tornTail = false;

  private files = 0;
  private records = 0;
  private bytes = 0;
  private droppedRecords = 0;
  private droppedBytes = 0;
  private firstError: string | null = null;

  /** Results of scan(), in fields: it runs on every batch and returns one number. */
  private scanRecords = 0;
  private scanDamage = '';

  constructor(options: CaptureWriterOptions) {
    const { path, linkType, snaplen, maxFileBytes, keepFiles } = options;
    if (typeof path !== 'string' || path === '') {
      throw badOption(String(path), `path must be a file name, got '${String(path)}'`);
    }
    checkWhole(path, 'linkType', linkType, 0, 0xffffffff);
    checkWhole(path, 'snaplen', snaplen, 1, MAX_CAPLEN);
    if (maxFileBytes !== undefined) checkWhole(path, 'maxFileBytes', maxFileBytes, 1, Number.MAX_SAFE_INTEGER);
    if (keepFiles !== undefined) {
      checkWhole(path, 'keepFiles', keepFiles, 1, Number.MAX_SAFE_INTEGER);
      if (maxFileBytes === undefined) {
        throw badOption(path, `keepFiles (${keepFiles}) needs maxFileBytes: without rotation there is one file`);
      }
    }
    this.path = path;
    this.snaplen = snaplen;
    this.rotating = maxFileBytes !== undefined;
    this.maxFileBytes = maxFileBytes ?? Infinity;
    this.keepFiles = keepFiles ?? Infinity;

    this.header = pcapNsHostHeader(linkType, snaplen);

    if (!this.rotating) {
      try {
        this.fd = fs.openSync(path, 'w');
      } catch (err) {
        throw writeFailed(path, err);
      }
      this.opened(path);
      return;
    }
    const parsed = nodePath.parse(path);
    this.dir = parsed.dir;
    this.stem = parsed.name;
    this.ext = parsed.ext;
    this.scanDirectory();
    this.openNext();
  }

  /** The first error met since construction (later ones are counted, not kept), or null. */
  get lastError(): string | null {
    return this.firstError;
  }

  get stats(): CaptureWriterStats {
    return {
      files: this.files,
      records: this.records,
      bytes: this.bytes,
      droppedRecords: this.droppedRecords,
      droppedBytes: this.droppedBytes,
      currentPath: this.currentPath,
    };
  }

  /** Appends the whole records of batch[0, length), length clamped to the batch; never throws. */
  write(batch: Buffer, length: number): void {
    if (!(length > 0)) return;
    const end = Math.min(Math.floor(length), batch.length);
    const view = this.views.of(batch);
    if (this.fd < 0 && (this.closed || !this.tryOpenNext())) {
      if (this.closed) this.noteError(`cannot write capture to ${this.currentPath}: the writer is closed`);
      this.dropRest(view, 0, end);
      return;
    }
    for (let pos = 0; pos < end; ) {
      const to = this.scan(view, pos, end, true);
      if (to > pos) this.writePiece(batch, view, pos, to, this.scanRecords);
      if (this.scanDamage !== '') {
        this.dropDamaged(to, end);
        return;
      }
      if (to === end) return;
      // The record at `to` would take the file past maxFileBytes.
      this.closeFile(false);
      if (!this.tryOpenNext()) {
        this.dropRest(view, to, end);
        return;
      }
      pos = to;
    }
  }

  /** fsync, then close the current file; idempotent, never throws (errors go to lastError). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd >= 0) this.closeFile(true);
  }

  /**
   * Walks the records from `from` and returns the offset after the last one taken: every whole
   * record before `end`, or with `fit` (and rotation) those that the current file still holds.
   * Sets scanRecords, and scanDamage to a message when it stopped at a damaged header.
   */
  private scan(view: DataView, from: number, end: number, fit: boolean): number {
    const limit = fit ? this.maxFileBytes : Infinity;
    const snaplen = this.snaplen;
    // A pending header counts: it is written before the first record.
    const base = this.headerOnDisk ? this.fileBytes : PCAP_FILE_HEADER_BYTES;
    const inFile = fit ? this.fileRecords : 0;
    let at = from;
    let records = 0;
    this.scanDamage = '';
    while (at < end) {
      if (end - at < RECORD_HEADER_BYTES) {
        this.scanDamage = `${end - at} bytes left at batch offset ${at} of ${end}: less than a record header`;
        break;
      }
      const caplen = view.getUint32(at + CAPLEN_OFFSET, LITTLE_ENDIAN);
      if (caplen > snaplen) {
        this.scanDamage = `record at batch offset ${at}: caplen ${caplen} exceeds snaplen ${snaplen}`;
        break;
      }
      const size = RECORD_HEADER_BYTES + caplen;
      if (size > end - at) {
        this.scanDamage = `record at batch offset ${at}: caplen ${caplen} runs past the batch end (${end})`;
        break;
      }
      if (inFile + records > 0 && base + (at - from) + size > limit) break;
      at += size;
      records++;
    }
    this.scanRecords = records;
    return at;
  }

  /** Writes the records of batch[from, to) to the current file; counts what did not land. */
  private writePiece(batch: Buffer, view: DataView, from: number, to: number, records: number): void {
    const length = to - from;
    if (!this.headerOnDisk && !this.writeHeader()) {
      this.dropped(records, length);
      return;
    }
    const wrote = this.writeAll(batch, from, length, this.fileBytes);
    if (wrote === length) {
      this.fileBytes += length;
      this.fileRecords += records;
      this.records += records;
      this.bytes += length;
      return;
    }
    // Cut short by an error (noted): keep the whole records that landed, take back the rest.
    // The records were checked by scan(), and their sizes add up to length > wrote: no overrun.
    let kept = 0;
    let keptRecords = 0;
    for (;;) {
      const size = RECORD_HEADER_BYTES + view.getUint32(from + kept + CAPLEN_OFFSET, LITTLE_ENDIAN);
      if (kept + size > wrote) break;
      kept += size;
      keptRecords++;
    }
    this.fileRecords += keptRecords;
    this.records += keptRecords;
    this.bytes += kept;
    this.dropped(records - keptRecords, length - kept);
    if (this.seekable) {
      this.fileBytes += kept;
      this.truncate();
    } else {
      this.fileBytes += wrote; // torn there, for good
    }
  }

  private writeHeader(): boolean {
    const wrote = this.writeAll(this.header, 0, PCAP_FILE_HEADER_BYTES, 0);
    if (wrote < PCAP_FILE_HEADER_BYTES) {
      if (wrote > 0 && this.seekable) this.truncate();
      return false;
    }
    this.headerOnDisk = true;
    this.fileBytes = PCAP_FILE_HEADER_BYTES;
    this.bytes += PCAP_FILE_HEADER_BYTES;
    return true;
  }

  /**
   * Writes buf[offset, offset + length) at file offset `at` (regular files; pipes and devices at
   * their current position), resuming after short writes. Returns the bytes written: fewer than
   * `length` after an error, which is noted.
   */
  private writeAll(buf: Buffer, offset: number, length: number, at: number): number {
    let done = 0;
    try {
      while (done < length) {
        const n = fs.writeSync(this.fd, buf, offset + done, length - done, this.seekable ? at + done : null);
        if (n <= 0) throw new Error(`write returned ${n}`);
        done += n;
      }
    } catch (err) {
      this.noteError(`cannot write capture to ${this.currentPath}: ${errnoText(err)}`);
    }
    return done;
  }

  /** Cuts the current file back to its whole records. */
  private truncate(): void {
    try {
      fs.ftruncateSync(this.fd, this.fileBytes);
      this.tornTail = false;
    } catch (err) {
      this.tornTail = true;
      this.noteError(`cannot truncate capture ${this.currentPath} to ${this.fileBytes} bytes: ${errnoText(err)}`);
    }
  }

  private dropped(records: number, bytes: number): void {
    this.droppedRecords += records;
    this.droppedBytes += bytes;
  }

  /** Counts the records of batch[from, end) as dropped, a damaged tail as one more. */
  private dropRest(view: DataView, from: number, end: number): void {
    const to = this.scan(view, from, end, false);
    this.dropped(this.scanRecords, to - from);
    if (this.scanDamage !== '') this.dropDamaged(to, end);
  }

  private dropDamaged(from: number, end: number): void {
    this.dropped(1, end - from);
    this.noteError(`damaged batch for ${this.currentPath}: ${this.scanDamage}; ${end - from} bytes dropped`);
  }

  private noteError(message: string): void {
    if (this.firstError === null) this.firstError = message;
  }

  /** Rotation: the directory's names of the pattern give the first N and the files to keep. */
  private scanDirectory(): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.dir === '' ? '.' : this.dir, { withFileTypes: true });
    } catch (err) {
      throw writeFailed(this.path, err);
    }
    const pattern = new RegExp(`^${escapeRegExp(this.stem)}\\.(\\d{${NUMBER_DIGITS},})${escapeRegExp(this.ext)}$`);
    for (const entry of entries) {
      const match = pattern.exec(entry.name);
      if (match === null) continue;
      const n = Number(match[1]);
      // Only names this writer would give: "0000007" is not one, nor a number past 2^53.
      if (!Number.isSafeInteger(n) || numberText(n) !== match[1]) continue;
      if (n >= this.nextNumber) this.nextNumber = n + 1;
      if (this.keepFiles !== Infinity && entry.isFile()) this.kept.push(n);
    }
    this.kept.sort((a, b) => a - b);
  }

  private rotatedPath(n: number): string {
    return nodePath.join(this.dir, `${this.stem}.${numberText(n)}${this.ext}`);
  }

  /** Opens the next rotated file; throws CaptureError 'write-failed'. */
  private openNext(): void {
    for (let tries = 1; ; tries++) {
      const file = this.rotatedPath(this.nextNumber);
      try {
        this.fd = fs.openSync(file, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && tries < MAX_NAME_TRIES) {
          this.nextNumber++;
          continue;
        }
        throw writeFailed(file, err);
      }
      this.nextNumber++;
      this.opened(file);
      if (this.keepFiles !== Infinity) this.prune();
      return;
    }
  }

  /** openNext while running: false (and the error noted) when it failed. */
  private tryOpenNext(): boolean {
    if (!this.rotating || this.closed) return false;
    try {
      this.openNext();
      return true;
    } catch (err) {
      this.noteError((err as Error).message);
      return false;
    }
  }

  private opened(file: string): void {
    this.currentPath = file;
    this.files++;
    this.fileBytes = 0;
    this.fileRecords = 0;
    this.headerOnDisk = false;
    this.tornTail = false;
    try {
      this.seekable = fs.fstatSync(this.fd).isFile();
    } catch {
      this.seekable = false;
    }
    // A failure is noted; the header is written again before the first record.
    this.writeHeader();
  }

  /** Deletes the oldest files of the pattern beyond keepFiles; a failure is retried next time. */
  private prune(): void {
    this.kept.push(this.nextNumber - 1);
    const excess = this.kept.length - this.keepFiles;
    if (excess <= 0) return;
    const failed: number[] = [];
    for (const n of this.kept.slice(0, excess)) {
      const file = this.rotatedPath(n);
      try {
        fs.unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.noteError(`cannot delete old capture ${file}: ${errnoText(err)}`);
        failed.push(n);
      }
    }
    this.kept = failed.concat(this.kept.slice(excess));
  }

  private closeFile(sync: boolean): void {
    const file = this.currentPath;
    // An empty capture is still a valid one.
    if (!this.headerOnDisk) this.writeHeader();
    if (this.tornTail) this.truncate();
    try {
      if (sync) fs.fsyncSync(this.fd);
    } catch (err) {
      // EINVAL: the file (a pipe, /dev/full) does not support fsync; nothing is lost by that.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') {
        this.noteError(`cannot write capture to ${file}: ${errnoText(err)}`);
      }
    }
    try {
      fs.closeSync(this.fd);
    } catch (err) {
      this.noteError(`cannot write capture to ${file}: ${errnoText(err)}`);
    }
    this.fd = -1;
  }
}

function numberText(n: number): string {
  return String(n).padStart(NUMBER_DIGITS, '0');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function writeFailed(file: string, err: unknown): CaptureError {
  return new CaptureError('write-failed', file, null, `cannot write capture to ${file}: ${errnoText(err)}`);
}

function badOption(file: string, message: string): CaptureError {
  return new CaptureError('bad-option', file, null, `capture writer: ${message}`);
}

function checkWhole(file: string, name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badOption(file, `${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}
