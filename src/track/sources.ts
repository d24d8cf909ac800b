/**
 * Per-source statistics: one entry per address that sent a SYN, in a bounded LRU table.
 *
 * Contract: the tracker updates counts as attempts start and end; the detector reads them (and
 * writes the flag fields) at decision points. Values live in typed arrays indexed by slot
 * (see FlowTable). A source that is evicted loses its history: under a spoofed flood those are
 * one-SYN sources, while a real attacker is touched by every SYN it sends and stays.
 */
import { FlowTable, resized } from './flow-table';

export const SOURCE_KEY_WORDS = 4;

export class SourceTable extends FlowTable {
  /** SYN packets (retransmissions included). */
  syn = new Float64Array(this.capacity);
  attempts = new Float64Array(this.capacity);
  completed = new Float64Array(this.capacity);
  /** Attempts that ended without completing: reset, timed out, or evicted while open. */
  incomplete = new Float64Array(this.capacity);
  /** Attempts still open right now (not completed, reset or timed out). */
  halfOpen = new Int32Array(this.capacity);
  firstUs = new Float64Array(this.capacity);
  lastUs = new Float64Array(this.capacity);
  /** 64-bit linear-counting sketch of destination ports (two words), and the last port seen. */
  portBitsLo = new Uint32Array(this.capacity);
  portBitsHi = new Uint32Array(this.capacity);
  lastPort = new Int32Array(this.capacity);
  /** Incomplete attempts counted in the current and previous detection window. */
  windowStartUs = new Float64Array(this.capacity);
  windowCurrent = new Uint32Array(this.capacity);
  windowPrevious = new Uint32Array(this.capacity);
  /** Packet time the source was flagged (0: not flagged; the reason is in the detector's record), the last activity report. */
  flaggedUs = new Float64Array(this.capacity);
  lastActivityUs = new Float64Array(this.capacity);
  /** The detector's index of the flagged source's record (-1: not flagged). */
  flagIndex = new Int32Array(this.capacity);

  /** Flagged sources evicted from the table (they had gone quiet for longest). */
  flaggedEvictions = 0;
  /** Called with the slot of a flagged source before it is evicted (report keeps it). */
  onFlaggedEvict: ((slot: number) => void) | null = null;

  constructor(maxSources: number) {
    super(SOURCE_KEY_WORDS, maxSources);
  }

  protected override onInsert(s: number): void {
    this.syn[s] = 0;
    this.attempts[s] = 0;
    this.completed[s] = 0;
    this.incomplete[s] = 0;
    this.halfOpen[s] = 0;
    this.firstUs[s] = 0;
    this.lastUs[s] = 0;
    this.portBitsLo[s] = 0;
    this.portBitsHi[s] = 0;
    this.lastPort[s] = -1;
    this.windowStartUs[s] = 0;
    this.windowCurrent[s] = 0;
    this.windowPrevious[s] = 0;
    this.flaggedUs[s] = 0;
    this.lastActivityUs[s] = 0;
    this.flagIndex[s] = -1;
  }

  protected override onEvict(s: number): void {
    if (this.flaggedUs[s] !== 0) {
      this.flaggedEvictions++;
      if (this.onFlaggedEvict) this.onFlaggedEvict(s);
    }
  }

  protected override growValues(n: number): void {
    this.syn = resized(this.syn, n);
    this.attempts = resized(this.attempts, n);
    this.completed = resized(this.completed, n);
    this.incomplete = resized(this.incomplete, n);
    this.halfOpen = resized(this.halfOpen, n);
    this.firstUs = resized(this.firstUs, n);
    this.lastUs = resized(this.lastUs, n);
    this.portBitsLo = resized(this.portBitsLo, n);
    this.portBitsHi = resized(this.portBitsHi, n);
    this.lastPort = resized(this.lastPort, n);
    this.windowStartUs = resized(this.windowStartUs, n);
    this.windowCurrent = resized(this.windowCurrent, n);
    this.windowPrevious = resized(this.windowPrevious, n);
    this.flaggedUs = resized(this.flaggedUs, n);
    this.lastActivityUs = resized(this.lastActivityUs, n);
    this.flagIndex = resized(this.flagIndex, n);
  }

  /** Record a destination port in the source's 64-bit sketch. */
  notePort(s: number, port: number): void {
    if (this.lastPort[s] === port) return;
    this.lastPort[s] = port;
    const bit = (Math.imul(port + 1, 0x9e3779b1) >>> 26) & 63; // top 6 bits of a Fibonacci hash
    if (bit < 32) this.portBitsLo[s] |= 1 << bit;
    else this.portBitsHi[s] |= 1 << (bit - 32);
  }

  /** Linear-counting estimate of distinct destination ports (exact-ish below ~20, saturates ~250). */
  distinctPorts(s: number): number {
    const set = popcount(this.portBitsLo[s]) + popcount(this.portBitsHi[s]);
    if (set === 0) return 0;
    if (set === 64) return 256; // saturated: "many"
    return Math.round(-64 * Math.log((64 - set) / 64));
  }

  /** Count one incomplete attempt into the sliding window of `windowUs` ending at `nowUs`. */
  countIncompleteInWindow(s: number, nowUs: number, windowUs: number): void {
    this.rollWindow(s, nowUs, windowUs);
    this.windowCurrent[s]++;
  }

  /** Sliding-window estimate (two fixed windows, the previous one weighted by its overlap). */
  incompleteInWindow(s: number, nowUs: number, windowUs: number): number {
    this.rollWindow(s, nowUs, windowUs);
    const into = (nowUs - this.windowStartUs[s]) / windowUs;
    return this.windowCurrent[s] + this.windowPrevious[s] * (1 - into);
  }

  private rollWindow(s: number, nowUs: number, windowUs: number): void {
    const start = this.windowStartUs[s];
    if (start === 0) {
      this.windowStartUs[s] = nowUs;
      return;
    }
    const elapsed = nowUs - start;
    if (elapsed < windowUs) return;
    if (elapsed < 2 * windowUs) {
      this.windowPrevious[s] = this.windowCurrent[s];
      this.windowStartUs[s] = start + windowUs;
    } else {
      this.windowPrevious[s] = 0;
      this.windowStartUs[s] = nowUs;
    }
    this.windowCurrent[s] = 0;
  }
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
