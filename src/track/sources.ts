/**
 * Per-source statistics: one entry per address that sent a SYN, in a bounded LRU table.
 *
 * Contract: the tracker updates counts as attempts start and end; the detector reads them (and
 * writes the flag fields) at decision points. Values live in typed arrays indexed by slot
 * (see FlowTable). A source that is evicted loses its history: under a spoofed flood those are
 * one-SYN sources, while a real attacker is touched by every SYN it sends and stays.
 */
import { PacketClock } from './clock';
import { FlowTable, resized } from './flow-table';
import { V4SlotCache } from './v4-slot-cache';

export const SOURCE_KEY_WORDS = 4;
const RECENT_SLOTS = 1024;

/** The line of FlowTable.lookup's cache for an address (two of its words, Fibonacci-hashed to 10 bits). */
function recentLine(w1: number, w3: number): number {
  return Math.imul(w3 ^ (w1 << 7), 0x9e3779b1) >>> 22;
}

/** Lines of lookupV4's cache, as bits (4,096: a flood's few hundred sources seldom share a line). */
const V4_LINE_BITS = 12;

export class SourceTable {
  /** The addresses (keys), slots and LRU order; the arrays below are indexed by its slots. */
  readonly table: FlowTable;
  /** SYN packets (retransmissions included). */
  syn: Float64Array;
  attempts: Float64Array;
  completed: Float64Array;
  /** Attempts that ended without completing: reset, timed out, or evicted while open. */
  incomplete: Float64Array;
  /** Attempts still open right now (not completed, reset or timed out). */
  halfOpen: Int32Array;
  firstUs: Float64Array;
  lastUs: Float64Array;
  /** 64-bit linear-counting sketch of destination ports (two words), and the last port seen. */
  portBitsLo: Uint32Array;
  portBitsHi: Uint32Array;
  lastPort: Int32Array;
  /** Incomplete attempts counted in the current and previous detection window. */
  windowStartUs: Float64Array;
  windowCurrent: Uint32Array;
  windowPrevious: Uint32Array;
  /** Packet time the source was flagged (0: not flagged; the reason is in the detector's record), the last activity report. */
  flaggedUs: Float64Array;
  lastActivityUs: Float64Array;
  /** The detector's index of the flagged source's record (-1: not flagged). */
  flagIndex: Int32Array;

  /** Flagged sources evicted from the table (they had gone quiet for longest). */
  flaggedEvictions = 0;

  /** Sources added to the table, first seen or seen again after their eviction: nothing else
   *  removes a source, so every insert is still there or was evicted. */
  get inserts(): number {
    return this.table.size + this.table.evictions;
  }
  /** Called with the slot of a flagged source before it is evicted (report keeps it). */
  onFlaggedEvict: ((slot: number) => void) | null = null;

  /** lookupV4's cache (port 0); onEvict keeps it exact. */
  private readonly v4Cache = new V4SlotCache(V4_LINE_BITS);
  /** Scratch key for lookupV4's misses: an IPv4-mapped address. */
  private readonly v4Key = new Uint32Array([0, 0, 0xffff, 0]);

  /** First-seen times and the detection windows are read from `clock` (see clock.ts). */
  constructor(maxSources: number, private readonly clock: PacketClock) {
    this.table = new FlowTable(SOURCE_KEY_WORDS, maxSources, {
      grow: (n) => this.growValues(n),
      evict: (slot) => this.onEvict(slot),
    }, RECENT_SLOTS);
    const c = this.table.capacity;
    this.syn = new Float64Array(c);
    this.attempts = new Float64Array(c);
    this.completed = new Float64Array(c);
    this.incomplete = new Float64Array(c);
    this.halfOpen = new Int32Array(c);
    this.firstUs = new Float64Array(c);
    this.lastUs = new Float64Array(c);
    this.portBitsLo = new Uint32Array(c);
    this.portBitsHi = new Uint32Array(c);
    this.lastPort = new Int32Array(c);
    this.windowStartUs = new Float64Array(c);
    this.windowCurrent = new Uint32Array(c);
    this.windowPrevious = new Uint32Array(c);
    this.flaggedUs = new Float64Array(c);
    this.lastActivityUs = new Float64Array(c);
    this.flagIndex = new Int32Array(c);
  }

  /** The address's slot, inserted (firstUs = the clock's now) if new, and marked most recently used. */
  lookup(addr: Uint32Array): number {
    const s = this.table.lookup(addr, recentLine(addr[1], addr[3]));
    if (this.table.inserted) {
      this.reset(s);
      this.firstUs[s] = this.clock.nowUs;
    }
    return s;
  }

  /**
   * lookup() of the IPv4-mapped address ::ffff:`addr` (`addr` its 32-bit IPv4 value, as uint32
   * or int32), the same slot, the same LRU touch, without building and comparing the key on a hit
   * (the per-SYN path of an IPv4 flood).
   */
  lookupV4(addr: number): number {
    const cached = this.v4Cache.get(addr, 0);
    if (cached >= 0) {
      this.table.touch(cached);
      return cached;
    }
    const key = this.v4Key;
    key[3] = addr;
    const s = this.lookup(key);
    this.v4Cache.set(addr, 0, s);
    return s;
  }

  /** The slot of the IPv4-mapped address ::ffff:`addr`, or -1; no LRU touch, no insert. */
  findV4(addr: number): number {
    const cached = this.v4Cache.get(addr, 0);
    if (cached >= 0) return cached;
    const key = this.v4Key;
    key[3] = addr;
    return this.table.find(key, this.table.hashKey(key));
  }

  private reset(s: number): void {
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

  private onEvict(s: number): void {
    const keys = this.table.keys;
    const at = s * SOURCE_KEY_WORDS;
    if (keys[at] === 0 && keys[at + 1] === 0 && keys[at + 2] === 0xffff) this.v4Cache.forget(keys[at + 3] | 0, 0, s);
    if (this.flaggedUs[s] !== 0) {
      this.flaggedEvictions++;
      if (this.onFlaggedEvict) this.onFlaggedEvict(s);
    }
  }

  private growValues(n: number): void {
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

  /** Count one incomplete attempt into the sliding window of `windowUs` ending now. */
  countIncompleteInWindow(s: number, windowUs: number): void {
    this.rollWindow(s, windowUs);
    this.windowCurrent[s]++;
  }

  /** Sliding-window estimate (two fixed windows, the previous one weighted by its overlap). */
  incompleteInWindow(s: number, windowUs: number): number {
    this.rollWindow(s, windowUs);
    const into = (this.clock.nowUs - this.windowStartUs[s]) / windowUs;
    return this.windowCurrent[s] + this.windowPrevious[s] * (1 - into);
  }

  private rollWindow(s: number, windowUs: number): void {
    const nowUs = this.clock.nowUs;
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
