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

  constructor(maxTargets: number) {
    super(TARGET_KEY_WORDS, maxTargets);
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
