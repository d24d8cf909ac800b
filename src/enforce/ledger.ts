/**
 * The block ledger: what synwatch blocked, until when, surviving crashes and restarts.
 *
 * File: STATE_DIR/ledger.jsonl, append-only JSON lines, each write followed by fsync, so after a
 * crash the ledger holds every block whose route may exist. Records (v = format version):
 *   {"v":1,"op":"block","ip","family","type","reason","atUs","at","sinceUs","since","expiresUs","expires"}
 *   {"v":1,"op":"renew","ip","family","type","atUs","at","expiresUs","expires"}
 *   {"v":1,"op":"unblock","ip","family","type","atUs","at","reason"}
 * Times are the caller's clock in µs plus the same instant as UTC ISO text for people.
 *
 * Contract: replaying the records in order gives the active set (block sets, renew moves the
 * expiry of an active block, unblock removes). A torn last line (crash mid-write) is ignored
 * with a warning and cut off before the next append; other bad lines are skipped with a warning
 * naming the line. `reconcile(nowUs, backend)` makes the kernel match the ledger at start-up
 * and compacts the file atomically (temp file + fsync + rename + directory fsync). Files and
 * directories that can't be created, read or written raise LedgerError (code ELEDGER) with a
 * one-line message naming the path.
 * Concurrency: one writer at a time is assumed (the daemon); `synwatch unblock` appends
 * single-line records with O_APPEND, which the kernel keeps whole.
 */
import { isoUs } from '../report/time';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlockBackend, BlockedEntry, BlockType, RouteType } from './contract';
import { canonicalIp } from '../decode/address';
import { compareIp, isRouteType, RouteError } from './routes';

export const LEDGER_FILE = 'ledger.jsonl';

/** A block as the policy and the ledger know it. */
export interface ActiveBlock {
  ip: string;
  family: 4 | 6;
  type: RouteType;
  /** The flag reason that caused the block ("flood", "scan"). */
  reason: string;
  sinceUs: number;
  expiresUs: number;
}

export class LedgerError extends Error {
  readonly code = 'ELEDGER';
  constructor(message: string, readonly path: string, readonly errnoCode?: string) {
    super(message);
    this.name = 'LedgerError';
  }
}

/** µs since the epoch -> UTC ISO text (a conversion of the caller's time, not a clock read). */

function ledgerFail(what: string, file: string, e: unknown): LedgerError {
  const code = (e as NodeJS.ErrnoException)?.code;
  return new LedgerError(`${what} ${file}: ${code ?? (e as Error)?.message ?? String(e)}`, file, code);
}

/**
 * mkdir -p, one level at a time. Not fs.mkdirSync(recursive): on Node 20 that spins forever on
 * paths under /proc (the kernel answers ENOENT for a parent that exists), and a typo in
 * --state-dir must fail, not hang.
 */
function makeDirs(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirs(parent);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  }
}

export interface LedgerReadResult {
  /** Active blocks after replay, sorted by address. */
  blocks: ActiveBlock[];
  warnings: string[];
  /** Byte length of the well-formed prefix (where a torn tail starts). */
  goodBytes: number;
  totalBytes: number;
}

type LedgerRecord =
  | { v: 1; op: 'block'; ip: string; family: 4 | 6; type: RouteType; reason: string; atUs: number; sinceUs: number; expiresUs: number }
  | { v: 1; op: 'renew'; ip: string; family: 4 | 6; atUs: number; expiresUs: number }
  | { v: 1; op: 'unblock'; ip: string; family: 4 | 6; atUs: number; reason: string };

function asRecord(x: unknown): LedgerRecord | null {
  const r = x as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || r.v !== 1 || typeof r.ip !== 'string') return null;
  if (r.family !== 4 && r.family !== 6) return null;
  const ip = canonicalIp(r.ip);
  if (!ip) return null;
  const num = (k: string) => typeof r[k] === 'number' && Number.isFinite(r[k]);
  if (r.op === 'block' && isRouteType(r.type) && typeof r.reason === 'string' && num('sinceUs') && num('expiresUs')) {
    return { ...(r as LedgerRecord & { op: 'block' }), ip };
  }
  if (r.op === 'renew' && num('expiresUs')) return { ...(r as LedgerRecord & { op: 'renew' }), ip };
  if (r.op === 'unblock') return { ...(r as LedgerRecord & { op: 'unblock' }), ip };
  return null;
}

/** Replay ledger text into the active set. */
export function replayLedgerText(text: string, file = LEDGER_FILE): LedgerReadResult {
  const active = new Map<string, ActiveBlock>();
  const warnings: string[] = [];
  const lines = text.split('\n');
  // A file not ending in "\n" has a torn last line: the crash hit between write and fsync.
  const tornTail = text.length > 0 && !text.endsWith('\n');
  let goodBytes = 0;
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const isLast = i === lines.length - 1;
    const lineBytes = Buffer.byteLength(line) + (isLast ? 0 : 1);
    offset += lineBytes;
    if (isLast && tornTail) {
      warnings.push(`${file}: torn last line ${i + 1} ignored (crash mid-write?): ${line.slice(0, 80)}`);
      break;
    }
    goodBytes = offset;
    if (line.trim() === '') continue;
    let rec: LedgerRecord | null = null;
    try {
      rec = asRecord(JSON.parse(line));
    } catch {
      rec = null;
    }
    if (!rec) {
      warnings.push(`${file}: line ${i + 1} is not a ledger record, skipped: ${line.slice(0, 80)}`);
      continue;
    }
    if (rec.op === 'block') {
      active.set(rec.ip, { ip: rec.ip, family: rec.family, type: rec.type, reason: rec.reason, sinceUs: rec.sinceUs, expiresUs: rec.expiresUs });
    } else if (rec.op === 'renew') {
      const b = active.get(rec.ip);
      if (b) b.expiresUs = rec.expiresUs; // a renew for an unblocked address (operator raced the daemon) is moot
    } else {
      active.delete(rec.ip);
    }
  }
  const blocks = [...active.values()].sort((a, b) => compareIp(a.ip, b.ip));
  return { blocks, warnings, goodBytes, totalBytes: Buffer.byteLength(text) };
}

/** Read STATE_DIR/ledger.jsonl without creating or changing anything (missing = empty). */
export function readLedger(stateDir: string): LedgerReadResult {
  const file = path.join(stateDir, LEDGER_FILE);
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ledgerFail('cannot read ledger', file, e);
  }
  return replayLedgerText(text, file);
}

export interface ReconcileError {
  ip: string;
  op: 'add' | 'del' | 'list';
  code: string;
  message: string;
}

export interface ReconcileReport {
  /** Unexpired blocks (re-installed), plus expired ones whose delete failed (expiry in the past,
   *  so the policy's next tick retries the delete). */
  restored: ActiveBlock[];
  /** Expired while synwatch was not running; routes removed. */
  expired: ActiveBlock[];
  /** Entries carrying synwatch's marker that the ledger does not know; removed. */
  orphans: BlockedEntry[];
  errors: ReconcileError[];
  warnings: string[];
}

export interface LedgerOptions {
  /** Receives warnings (torn line, skipped lines); default: none. */
  warn?: (message: string) => void;
}

export class Ledger {
  readonly dir: string;
  readonly path: string;
  private fd: number;
  private readonly warn: (message: string) => void;

  private constructor(dir: string, fd: number, warn: (message: string) => void) {
    this.dir = dir;
    this.path = path.join(dir, LEDGER_FILE);
    this.fd = fd;
    this.warn = warn;
  }

  /** Create the state dir if needed and open the ledger for appending (cutting a torn tail). */
  static open(stateDir: string, options: LedgerOptions = {}): Ledger {
    const dir = path.resolve(stateDir);
    try {
      makeDirs(dir);
    } catch (e) {
      throw ledgerFail('cannot create state dir', dir, e);
    }
    const file = path.join(dir, LEDGER_FILE);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
    } catch (e) {
      throw ledgerFail('cannot open ledger in state dir', file, e);
    }
    const ledger = new Ledger(dir, fd, options.warn ?? (() => {}));
    ledger.cutTornTail();
    return ledger;
  }

  /** An appended record must start on a fresh line, so a torn tail is cut off first. */
  private cutTornTail(): void {
    const r = this.read();
    if (r.goodBytes < r.totalBytes) {
      for (const w of r.warnings) this.warn(w);
      try {
        fs.ftruncateSync(this.fd, r.goodBytes);
        fs.fsyncSync(this.fd);
      } catch (e) {
        throw ledgerFail('cannot repair ledger', this.path, e);
      }
    }
  }

  read(): LedgerReadResult {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (e) {
      throw ledgerFail('cannot read ledger', this.path, e);
    }
    return replayLedgerText(text, this.path);
  }

  recordBlock(b: ActiveBlock, atUs: number): void {
    this.append({
      v: 1, op: 'block', ip: b.ip, family: b.family, type: b.type, reason: b.reason, atUs, at: isoUs(atUs),
      sinceUs: b.sinceUs, since: isoUs(b.sinceUs), expiresUs: b.expiresUs, expires: isoUs(b.expiresUs),
    });
  }

  recordRenew(b: Pick<ActiveBlock, 'ip' | 'family' | 'type' | 'expiresUs'>, atUs: number): void {
    this.append({ v: 1, op: 'renew', ip: b.ip, family: b.family, type: b.type, atUs, at: isoUs(atUs),
      expiresUs: b.expiresUs, expires: isoUs(b.expiresUs) });
  }

  /** `type` is informational (replay ignores it): an nftables element lists as "drop". */
  recordUnblock(b: Pick<ActiveBlock, 'ip' | 'family'> & { type: BlockType }, reason: string, atUs: number): void {
    this.append({ v: 1, op: 'unblock', ip: b.ip, family: b.family, type: b.type, atUs, at: isoUs(atUs), reason });
  }

  private append(record: object): void {
    const line = `${JSON.stringify(record)}\n`;
    try {
      fs.writeSync(this.fd, line);
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw ledgerFail('cannot write ledger', this.path, e);
    }
  }

  /**
   * Make the kernel match the ledger: re-install unexpired blocks, delete expired ones and
   * orphans (our marker, unknown to the ledger), then compact. Backend errors are collected in
   * the report, never thrown; file errors throw LedgerError. `keepUs` gives a re-installed
   * block's kernel-side lifetime (BlockBackend.add; default: until its expiry).
   */
  reconcile(nowUs: number, backend: BlockBackend, keepUs = (b: ActiveBlock) => b.expiresUs - nowUs): ReconcileReport {
    const replay = this.read();
    const report: ReconcileReport = { restored: [], expired: [], orphans: [], errors: [], warnings: replay.warnings };
    const failed = (ip: string, op: ReconcileError['op'], e: unknown) => {
      const err = RouteError.from(e, op, ip);
      report.errors.push({ ip, op, code: err.code, message: err.message });
    };
    let installed: BlockedEntry[] = [];
    try {
      installed = backend.list();
    } catch (e) {
      failed('', 'list', e);
    }
    const known = new Set(replay.blocks.map((b) => b.ip));
    for (const b of replay.blocks) {
      if (b.expiresUs <= nowUs) {
        try {
          backend.del(b.ip, b.family, b.type);
          report.expired.push(b);
        } catch (e) {
          failed(b.ip, 'del', e);
          report.restored.push(b);
        }
      } else {
        try {
          backend.add(b.ip, b.family, b.type, keepUs(b));
          report.restored.push(b);
        } catch (e) {
          failed(b.ip, 'add', e);
        }
      }
    }
    for (const r of installed) {
      if (known.has(r.ip)) continue;
      try {
        backend.del(r.ip, r.family, r.type);
        report.orphans.push(r);
      } catch (e) {
        failed(r.ip, 'del', e);
      }
    }
    this.compact(report.restored, nowUs);
    return report;
  }

  /** Rewrite the ledger as one block record per active block, atomically. */
  compact(blocks: readonly ActiveBlock[], atUs: number): void {
    const tmp = `${this.path}.tmp`;
    const text = [...blocks].sort((a, b) => compareIp(a.ip, b.ip)).map((b) => JSON.stringify({
      v: 1, op: 'block', ip: b.ip, family: b.family, type: b.type, reason: b.reason, atUs, at: isoUs(atUs),
      sinceUs: b.sinceUs, since: isoUs(b.sinceUs), expiresUs: b.expiresUs, expires: isoUs(b.expiresUs),
    }) + '\n').join('');
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.path);
      const dirFd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(dirFd); // makes the rename itself durable
      } finally {
        fs.closeSync(dirFd);
      }
      // Our append fd still points at the replaced file: reopen the new one.
      const fd2 = fs.openSync(this.path, fs.constants.O_RDWR | fs.constants.O_APPEND, 0o600);
      fs.closeSync(this.fd);
      this.fd = fd2;
    } catch (e) {
      throw ledgerFail('cannot compact ledger', this.path, e);
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
