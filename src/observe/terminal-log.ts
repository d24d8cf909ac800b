/**
 * Logs for a person at a terminal: pino's JSON lines turned into one readable line each, and the
 * live status as one line redrawn in place at the bottom.
 *
 * Contract:
 * - A log line is `HH:MM:SS.mmm LEVEL message key=value ...`: the time is the time of day in
 *   UTC from pino's `time`, LEVEL one of TRACE DEBUG INFO WARN ERROR FATAL (padded to 5), then the
 *   message and every other field in the order pino wrote them. A value that is a string without
 *   spaces, quotes or `=` is written bare, any other string JSON-quoted; numbers, booleans and
 *   null as they are; objects and arrays as compact JSON. `name`, `pid`, `hostname` and `time`
 *   are left out (the JSON mode keeps them).
 * - A line whose message is `status` (the live runner's, every --status-interval) is not printed
 *   as a log line: it becomes the status line, `status <field>=<value> ...` of the fields in
 *   STATUS_FIELDS that are present, cut to the terminal's width (a wrapped line could not be
 *   redrawn), drawn with a carriage return and an erase-to-end-of-line (ESC [K). Before a log
 *   line is printed the status line is erased, and drawn again after it, so log lines scroll
 *   above it and never mix with it. It is erased when the process exits.
 * - Colour (the level only) when the terminal has colours and NO_COLOR is not set.
 * - A line that is not a JSON object (should never happen) is printed as it came.
 *
 * Only used when stderr is a terminal (src/cli/log.ts); elsewhere the JSON lines go out as they
 * are, because tests and log shippers parse them. Writes are synchronous (fs.writeSync on fd 2),
 * as pino's own destination is in synwatch: a log line is out before the next decision.
 */
import * as fs from 'node:fs';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '\x1b[90m', 20: '\x1b[36m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[35m' };
const RESET = '\x1b[0m';
/** Carriage return, then erase to the end of the line. */
const ERASE_LINE = '\r\x1b[K';
/** pino's bookkeeping fields, not the event's. */
const OMITTED = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);
/**
 * What the status line shows of the runner's status record, in this order (dotted: nested): what
 * an operator looks at first comes first, as a narrow terminal cuts the end off.
 */
export const STATUS_FIELDS = [
  'packetsPerSecond', 'captured', 'kernelDrops', 'flagged', 'activeBlocks', 'attempts', 'completed',
  'ifDrops', 'eventLoopLagMs.p99', 'deliveryLagUs.p99',
] as const;
/** Short names on the status line, where the field's own name is long. */
const STATUS_LABELS: Record<string, string> = {
  packetsPerSecond: 'pps', kernelDrops: 'drops', ifDrops: 'ifDrops', activeBlocks: 'blocks',
  'eventLoopLagMs.p99': 'loopLagMs.p99', 'deliveryLagUs.p99': 'lagUs.p99',
};

/** `value` as it appears after `key=`. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** One pino record as a terminal line (without the newline). */
export function formatRecord(rec: Record<string, unknown>, colour = false): string {
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const name = (LEVEL_NAMES[level] ?? `L${level}`).padEnd(5);
  const time = typeof rec.time === 'string' && rec.time.length >= 23 ? rec.time.slice(11, 23)
    : typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '--:--:--.---';
  let line = `${time} ${colour ? `${LEVEL_COLOURS[level] ?? ''}${name}${RESET}` : name}`;
  if (rec.msg !== undefined) line += ` ${String(rec.msg)}`;
  for (const [k, v] of Object.entries(rec)) {
    if (!OMITTED.has(k)) line += ` ${k}=${formatValue(v)}`;
  }
  return line;
}

/** The status line's text for a status record (without time: it is redrawn, not a history). */
export function formatStatus(rec: Record<string, unknown>): string {
  let line = 'status';
  for (const field of STATUS_FIELDS) {
    let v: unknown = rec;
    for (const part of field.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
    if (v !== undefined) line += ` ${STATUS_LABELS[field] ?? field}=${formatValue(v)}`;
  }
  return line;
}

export interface TerminalOptions {
  /** Where the lines go (default fd 2). */
  fd?: number;
  /** Colour the level (default: the terminal says it has colours and NO_COLOR is unset). */
  colour?: boolean;
  /** Terminal width for the status line (default: stderr's columns, read at each draw). */
  columns?: () => number;
}

/**
 * A pino destination (pino calls `write` with one JSON line at a time) that writes the terminal
 * form described at the top of this file.
 */
export class TerminalLogStream {
  private status = '';
  private readonly fd: number;
  private readonly colour: boolean;
  private readonly columns: () => number;

  constructor(o: TerminalOptions = {}) {
    this.fd = o.fd ?? 2;
    this.colour = o.colour ?? (process.env.NO_COLOR === undefined && process.stderr.hasColors?.() === true);
    this.columns = o.columns ?? (() => process.stderr.columns || 80);
    process.once('exit', () => this.clearStatus());
  }

  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) {
      if (line !== '') this.writeLine(line);
    }
    return true;
  }

  /** Erases the status line (it is drawn again at the next status record). */
  clearStatus(): void {
    if (this.status === '') return;
    this.out(ERASE_LINE);
    this.status = '';
  }

  private writeLine(line: string): void {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = null;
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      this.printAbove(line);
      return;
    }
    const r = rec as Record<string, unknown>;
    if (r.msg === 'status') {
      // One column is kept free: writing the last one would move some terminals to the next line.
      this.status = formatStatus(r).slice(0, Math.max(10, this.columns() - 1));
      this.out(ERASE_LINE + this.status);
      return;
    }
    this.printAbove(formatRecord(r, this.colour));
  }

  private printAbove(text: string): void {
    this.out(this.status === '' ? `${text}\n` : `${ERASE_LINE}${text}\n${this.status}`);
  }

  private out(s: string): void {
    try {
      fs.writeSync(this.fd, s);
    } catch {
      // A closed terminal: the logs have nowhere to go, and that must not stop the capture.
    }
  }
}
