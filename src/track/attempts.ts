/**
 * Handshake attempts: one entry per (client, server, client port, server port, client ISN).
 *
 * Contract: a FIFO ring of fixed-size records plus an open-addressing hash index.
 * - Entries are never moved or touched, so ring order is first-SYN order, which is the order they
 *   time out and expire in: the oldest entry is always at `head`, and only the oldest is ever
 *   removed (retention expiry, or eviction when the ring is full). No linked list is needed.
 * - An entry is kept after it ends (completed, reset, timed out) until its retention runs out, so
 *   that a late retransmission of the same SYN is recognised as the same attempt and not counted
 *   twice. The tracker owns the state transitions; this file is storage.
 * - One record is RECORD_WORDS = 16 uint32 words (64 bytes, one cache line): the key, the state,
 *   and the first-SYN time as a float64 over the last two words. A new SYN touches the index
 *   entry and one record line, where separate value arrays would touch one line per field
 *   (measured on the 1M-SYN bench flood: the whole analyze went from 0.93 s to 0.78 s).
 * - Record storage is reserved for maxAttempts up front; the operating system commits the pages
 *   only when they are first written, so a small capture costs little and a flood never copies
 *   records. The index grows with the live entries.
 *
 * Key layout (ATTEMPT_KEY_WORDS words): client address (4), server address (4),
 * clientPort << 16 | serverPort (1), client ISN (1).
 */
import { FlowTable, resized } from './flow-table';
import { hashWords } from './hash';

export const ATTEMPT_KEY_WORDS = 10;
export const KEY_PORTS = 8;
export const KEY_ISN = 9;

/** Record layout, in uint32 words from the record's start. */
const RECORD_WORDS = 16;
const STATE = 10; // status (8 bits) | SYN payload length << 8 (16 bits)
const SYNACK_SEQ = 11; // ISN of the matching SYN-ACK
const SYNACK_ACK = 12; // the value that SYN-ACK acknowledged
const SYNACK_LEN = 13; // its payload length
const FIRST_US_F64 = 7; // float64 index within the record (words 14-15)

/** Status bits. */
export const OPEN = 1; // counted in its source's half-open count
export const SYNACKED = 2; // a SYN-ACK acknowledging the SYN was seen
export const COMPLETED = 4; // the client's final ACK was seen
export const ENDED_INCOMPLETE = 8; // reset, timed out, or evicted while open
export const HAS_ALIAS = 16; // the SYN carried data; an alias entry maps ISN+len back to it

const NONE = -1;
const INITIAL_PAIRS = 1 << 14;

/** Index pairs for n entries at load <= 1/2 (a power of two). */
function pairsFor(n: number): number {
  let pairs = 2;
  while (pairs < 2 * n) pairs *= 2;
  return pairs;
}

export class AttemptTable {
  readonly maxCapacity: number;
  /** Records, RECORD_WORDS words each; also readable as float64 (firstUs). */
  readonly rec: Uint32Array;
  private readonly recF64: Float64Array;
  /**
   * Open-addressing index: pairs (hash, slot + 1); 0 marks an empty pair. It grows with the
   * live entries (load <= 1/2), so its size follows the traffic: a data-heavy capture with few
   * open handshakes probes a small, cached index on every ACK (measured on the bench's mixed
   * capture: a 16 MB index sized for the maximum made it 0.41 -> 0.51 s).
   */
  private index: Uint32Array;
  private indexMask: number;
  /** Ring: oldest entry at `head`, `size` entries. */
  head = 0;
  size = 0;
  /** Entries evicted because the ring was full. */
  evictions = 0;
  /** Called before the oldest entry is evicted for space (the tracker ends it as incomplete). */
  onEvicting: ((slot: number) => void) | null = null;

  constructor(maxAttempts: number) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`attempt table size ${maxAttempts} must be a positive integer`);
    this.maxCapacity = maxAttempts;
    const buf = new ArrayBuffer(maxAttempts * RECORD_WORDS * 4);
    this.rec = new Uint32Array(buf);
    this.recF64 = new Float64Array(buf);
    const pairs = Math.min(INITIAL_PAIRS, pairsFor(maxAttempts));
    this.index = new Uint32Array(pairs * 2);
    this.indexMask = pairs - 1;
  }

  /** The 10 key words through the tables' one hash (src/track/hash.ts). */
  hashKey(key: Uint32Array): number {
    return this.hashAt(key, 0);
  }

  private hashAt(words: Uint32Array, base: number): number {
    return hashWords(words, base, ATTEMPT_KEY_WORDS);
  }

  find(key: Uint32Array, hash: number): number {
    const index = this.index;
    const rec = this.rec;
    const mask = this.indexMask;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const ref = index[2 * p + 1];
      if (ref === 0) return NONE;
      if (index[2 * p] !== hash) continue;
      const base = (ref - 1) * RECORD_WORDS;
      let i = 0;
      while (i < ATTEMPT_KEY_WORDS && rec[base + i] === key[i]) i++;
      if (i === ATTEMPT_KEY_WORDS) return ref - 1;
    }
  }

  /** Insert a key known to be absent; evicts the oldest entry when the ring is full. */
  insert(key: Uint32Array, hash: number): number {
    if (this.size === this.maxCapacity) {
      this.evictions++;
      if (this.onEvicting) this.onEvicting(this.head);
      this.removeOldest();
    }
    if (2 * (this.size + 1) > this.indexMask + 1 && this.indexMask + 1 < pairsFor(this.maxCapacity)) this.growIndex();
    let slot = this.head + this.size;
    if (slot >= this.maxCapacity) slot -= this.maxCapacity;
    this.size++;
    const rec = this.rec;
    const base = slot * RECORD_WORDS;
    for (let i = 0; i < ATTEMPT_KEY_WORDS; i++) rec[base + i] = key[i];
    rec[base + STATE] = 0;
    rec[base + SYNACK_SEQ] = 0;
    rec[base + SYNACK_ACK] = 0;
    rec[base + SYNACK_LEN] = 0;
    const index = this.index;
    const mask = this.indexMask;
    let p = hash & mask;
    while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
    index[2 * p] = hash;
    index[2 * p + 1] = slot + 1;
    return slot;
  }

  /** Remove the oldest entry (the caller has finished with it). */
  removeOldest(): void {
    const slot = this.head;
    const hash = this.hashAt(this.rec, slot * RECORD_WORDS);
    this.unindex(slot, hash);
    this.head = slot + 1 === this.maxCapacity ? 0 : slot + 1;
    this.size--;
  }

  /** Grow the index 4x and re-enter every pair from the old one (stored hashes: no record reads). */
  private growIndex(): void {
    const old = this.index;
    const pairs = Math.min((this.indexMask + 1) * 4, pairsFor(this.maxCapacity));
    const index = new Uint32Array(pairs * 2);
    const mask = pairs - 1;
    for (let q = 0; q < old.length; q += 2) {
      const ref = old[q + 1];
      if (ref === 0) continue;
      const hash = old[q];
      let p = hash & mask;
      while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
      index[2 * p] = hash;
      index[2 * p + 1] = ref;
    }
    this.index = index;
    this.indexMask = mask;
  }

  /** The slot `n` places after the oldest (0 is the oldest), or -1 past the newest. */
  slotAt(n: number): number {
    if (n >= this.size) return NONE;
    const s = this.head + n;
    return s >= this.maxCapacity ? s - this.maxCapacity : s;
  }

  firstUs(slot: number): number {
    return this.recF64[slot * (RECORD_WORDS / 2) + FIRST_US_F64];
  }

  setFirstUs(slot: number, us: number): void {
    this.recF64[slot * (RECORD_WORDS / 2) + FIRST_US_F64] = us;
  }

  status(slot: number): number {
    return this.rec[slot * RECORD_WORDS + STATE] & 0xff;
  }

  setStatus(slot: number, status: number): void {
    const at = slot * RECORD_WORDS + STATE;
    this.rec[at] = (this.rec[at] & ~0xff) | status;
  }

  synLen(slot: number): number {
    return this.rec[slot * RECORD_WORDS + STATE] >>> 8;
  }

  setSynLen(slot: number, len: number): void {
    const at = slot * RECORD_WORDS + STATE;
    this.rec[at] = (this.rec[at] & 0xff) | ((len > 0xffff ? 0xffff : len) << 8);
  }

  synAckSeq(slot: number): number {
    return this.rec[slot * RECORD_WORDS + SYNACK_SEQ];
  }

  synAckAck(slot: number): number {
    return this.rec[slot * RECORD_WORDS + SYNACK_ACK];
  }

  synAckLen(slot: number): number {
    return this.rec[slot * RECORD_WORDS + SYNACK_LEN];
  }

  setSynAck(slot: number, seq: number, ack: number, len: number): void {
    const base = slot * RECORD_WORDS;
    this.rec[base + SYNACK_SEQ] = seq;
    this.rec[base + SYNACK_ACK] = ack;
    this.rec[base + SYNACK_LEN] = len > 0xffff ? 0xffff : len;
  }

  /** Word `i` of the slot's key. */
  keyWord(slot: number, i: number): number {
    return this.rec[slot * RECORD_WORDS + i];
  }

  /** Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
  private unindex(slot: number, hash: number): void {
    const index = this.index;
    const mask = this.indexMask;
    let p = hash & mask;
    while (index[2 * p + 1] !== slot + 1) {
      if (index[2 * p + 1] === 0) return; // not indexed (cannot happen; be safe)
      p = (p + 1) & mask;
    }
    for (let q = (p + 1) & mask; index[2 * q + 1] !== 0; q = (q + 1) & mask) {
      const home = index[2 * q] & mask;
      // Move q's entry into the hole at p if its home is not in the cyclic range (p, q].
      if ((q > p && (home <= p || home > q)) || (q < p && home <= p && home > q)) {
        index[2 * p] = index[2 * q];
        index[2 * p + 1] = index[2 * q + 1];
        p = q;
      }
    }
    index[2 * p] = 0;
    index[2 * p + 1] = 0;
  }
}

/**
 * TCP Fast Open aliases: a SYN with data may be acknowledged at ISN+1+len, so lookups by
 * "acknowledged value - 1" land on ISN+len. This small table maps that alias back to the ISN.
 * Rare (only SYNs with payload), so it stays small; same key layout as AttemptTable.
 */

export class AliasTable extends FlowTable {
  isn = new Uint32Array(this.capacity);

  constructor(maxAliases: number) {
    super(ATTEMPT_KEY_WORDS, maxAliases);
  }

  protected override growValues(n: number): void {
    this.isn = resized(this.isn, n);
  }
}
