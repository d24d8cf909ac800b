/**
 * An exact cache from an IPv4 address and a port to a FlowTable slot: the per-SYN lookups of an
 * IPv4 flood (SourceTable.lookupV4 with port 0, TargetTable.lookupV4) hit it with one or two
 * comparisons instead of the table's multi-word key comparison.
 *
 * Contract: exact, not a hint. Its owner calls `forget` when the table evicts a slot (the only
 * way a slot changes hands; sources and targets are never removed otherwise), so a hit is always
 * the slot that holds the address now. A line holds one entry; a colliding address replaces it.
 * Addresses are passed as int32 (`word | 0`) by every caller: a uint32 above 2^31 reaching
 * compiled code that had only seen int32 deoptimized it ("not a Smi", bench flood).
 */
export class V4SlotCache {
  /** Per line, three words: address, port, slot + 1 (0: empty). */
  private readonly lines: Int32Array;
  private readonly shift: number;

  constructor(lineBits: number) {
    this.lines = new Int32Array(3 << lineBits);
    this.shift = 32 - lineBits;
  }

  /** The slot cached for (addr, port), or -1. */
  get(addr: number, port: number): number {
    const c = this.lines;
    const at = this.lineOf(addr, port);
    const slot = c[at + 2] - 1;
    return slot >= 0 && c[at] === (addr | 0) && c[at + 1] === port ? slot : -1;
  }

  set(addr: number, port: number, slot: number): void {
    const c = this.lines;
    const at = this.lineOf(addr, port);
    c[at] = addr | 0;
    c[at + 1] = port;
    c[at + 2] = slot + 1;
  }

  /** `slot` (which held (addr, port)) is being evicted: drop its line if it still points there. */
  forget(addr: number, port: number, slot: number): void {
    const at = this.lineOf(addr, port);
    if (this.lines[at + 2] === slot + 1) this.lines[at + 2] = 0;
  }

  private lineOf(addr: number, port: number): number {
    return 3 * (Math.imul(addr ^ Math.imul(port, 0x10001), 0x9e3779b1) >>> this.shift);
  }
}
