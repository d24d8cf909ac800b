/**
 * Attacked destinations: one entry per (server address, server port) that received SYNs,
 * in a bounded LRU table. A flood with random destinations only evicts the least recent ones.
 *
 * Key layout: server address (4 words), server port (1 word).
 */
import { FlowTable, resized } from './flow-table';

export const TARGET_KEY_WORDS = 5;

export class TargetTable extends FlowTable {
  attempts = new Float64Array(this.capacity);
  completed = new Float64Array(this.capacity);
  firstUs = new Float64Array(this.capacity);
  lastUs = new Float64Array(this.capacity);
  /** Attempts within the detector's current flood span, valid when spanStamp matches. */
  spanStamp = new Uint32Array(this.capacity);
  spanAttempts = new Float64Array(this.capacity);

  /** One-entry cache: a flood hits the same few targets packet after packet. */
  private lastSlot = -1;

  constructor(maxTargets: number) {
    super(TARGET_KEY_WORDS, maxTargets);
  }

  /** The target's slot, inserted (firstUs = nowUs) if new, and marked most recently used. */
  lookup(key: Uint32Array, nowUs: number): number {
    const last = this.lastSlot;
    if (last >= 0) {
      const k = this.keys;
      const b = last * TARGET_KEY_WORDS;
      if (k[b] === key[0] && k[b + 1] === key[1] && k[b + 2] === key[2] && k[b + 3] === key[3] && k[b + 4] === key[4]) {
        this.touch(last);
        return last;
      }
    }
    const h = this.hashKey(key);
    let s = this.find(key, h);
    if (s < 0) {
      s = this.insert(key, h);
      this.firstUs[s] = nowUs;
    } else {
      this.touch(s);
    }
    this.lastSlot = s;
    return s;
  }

  protected override onEvict(s: number): void {
    if (s === this.lastSlot) this.lastSlot = -1;
  }

  /** Count one attempt for span `spanId`. */
  countSpanAttempt(s: number, spanId: number): void {
    if (this.spanStamp[s] !== spanId) {
      this.spanStamp[s] = spanId;
      this.spanAttempts[s] = 0;
    }
    this.spanAttempts[s]++;
  }

  protected override onInsert(s: number): void {
    this.attempts[s] = 0;
    this.completed[s] = 0;
    this.firstUs[s] = 0;
    this.lastUs[s] = 0;
    this.spanStamp[s] = 0;
    this.spanAttempts[s] = 0;
  }

  protected override growValues(n: number): void {
    this.attempts = resized(this.attempts, n);
    this.completed = resized(this.completed, n);
    this.firstUs = resized(this.firstUs, n);
    this.lastUs = resized(this.lastUs, n);
    this.spanStamp = resized(this.spanStamp, n);
    this.spanAttempts = resized(this.spanAttempts, n);
  }
}
