/**
 * Attacked destinations: one entry per (server address, server port) that received SYNs,
 * in a bounded LRU table. A flood with random destinations only evicts the least recent ones.
 *
 * Key layout: server address (4 words), server port (1 word).
 */
import { FlowTable, resized } from './flow-table';

export const TARGET_KEY_WORDS = 5;
const RECENT_SLOTS = 16;

export class TargetTable {
  /** The (address, port) keys, slots and LRU order; the arrays below are indexed by its slots. */
  readonly table: FlowTable;
  attempts: Float64Array;
  completed: Float64Array;
  firstUs: Float64Array;
  lastUs: Float64Array;
  /** Attempts within the detector's current flood span, valid when spanStamp matches. */
  spanStamp: Uint32Array;
  spanAttempts: Float64Array;

  constructor(maxTargets: number) {
    this.table = new FlowTable(TARGET_KEY_WORDS, maxTargets, {
      grow: (n) => this.growValues(n),
      evict() {},
    }, RECENT_SLOTS);
    const c = this.table.capacity;
    this.attempts = new Float64Array(c);
    this.completed = new Float64Array(c);
    this.firstUs = new Float64Array(c);
    this.lastUs = new Float64Array(c);
    this.spanStamp = new Uint32Array(c);
    this.spanAttempts = new Float64Array(c);
  }

  /** The target's slot, inserted (firstUs = nowUs) if new, and marked most recently used. */
  lookup(key: Uint32Array, nowUs: number): number {
    // Cache line: the address's last word and the port (a flood's targets differ in one or both).
    const s = this.table.lookup(key, (key[3] ^ key[4]) & (RECENT_SLOTS - 1));
    if (this.table.inserted) {
      this.reset(s);
      this.firstUs[s] = nowUs;
    }
    return s;
  }

  /** Count one attempt for span `spanId`. */
  countSpanAttempt(s: number, spanId: number): void {
    if (this.spanStamp[s] !== spanId) {
      this.spanStamp[s] = spanId;
      this.spanAttempts[s] = 0;
    }
    this.spanAttempts[s]++;
  }

  private reset(s: number): void {
    this.attempts[s] = 0;
    this.completed[s] = 0;
    this.firstUs[s] = 0;
    this.lastUs[s] = 0;
    this.spanStamp[s] = 0;
    this.spanAttempts[s] = 0;
  }

  private growValues(n: number): void {
    this.attempts = resized(this.attempts, n);
    this.completed = resized(this.completed, n);
    this.firstUs = resized(this.firstUs, n);
    this.lastUs = resized(this.lastUs, n);
    this.spanStamp = resized(this.spanStamp, n);
    this.spanAttempts = resized(this.spanAttempts, n);
  }
}
