/**
 * Handshake attempts: one entry per (client, server, client port, server port, client ISN).
 *
 * Contract: a FIFO ring of fixed-size records plus an open-addressing hash index.
 * - Entries are never moved or touched, so ring order is first-SYN order, which is the order they
 *   time out and expire in: the oldest entry is always at `head`, and only the oldest is ever
 *   removed (retention expiry, or eviction when the tracker's budget is full). No linked list.
 * - An entry is kept after it ends (completed, reset, timed out) until its retention runs out, so
 *   that a late retransmission of the same SYN is recognised as the same attempt and not counted
 *   twice. The tracker owns the state transitions and the eviction policy; this file is storage.
 * - One table per key width: the tracker keeps IPv4 attempts (both addresses IPv4-mapped) with
 *   one word per address, the rest with four. A record is the key plus four words (state,
 *   SYN-ACK seq, ack and length), rounded up to a power of two: 8 words (32 bytes) for IPv4,
 *   16 (64 bytes) for IPv6. The first-SYN time is a parallel Float64Array, written and swept in
 *   ring order. Memory traffic is what a flood costs (each new SYN writes a record and dirties an
 *   index line); the IPv4 record at half the size was measured on the bench flood: see
 *   bench/findings.md.
 * - Record storage is reserved for maxAttempts at the table's first insert; the operating system
 *   commits the pages only when they are first written, so a small capture costs little and a
 *   flood never copies records. Not before the first insert: the IPv6 table of an IPv4 capture
 *   would reserve 72 MB that V8 counts as external memory and collects garbage over (pipeline
 *   construction 5-6 -> 2 ms, one mark-compact fewer at start-up). Live reserves both tables at
 *   start (reserve()): there, the first insert is the first SYN of a flood. The index grows with
 *   the live entries.
 *
 * Key layout (keyWords words): client address (1 or 4), server address (1 or 4),
 * clientPort << 16 | serverPort (1), client ISN (1): see keyPorts and keyIsn.
 */
import { FlowTable, resized } from './flow-table';
import { hashWords } from './hash';

/** Key widths: IPv4 (one word per address) and full (four words per address). */
export const V4_KEY_WORDS = 4;
export const FULL_KEY_WORDS = 10;

/** Status bits. */
export const OPEN = 1; // counted in its source's half-open count
export const SYNACKED = 2; // a SYN-ACK acknowledging the SYN was seen
export const COMPLETED = 4; // the client's final ACK was seen
export const ENDED_INCOMPLETE = 8; // reset, timed out, or evicted while open
export const HAS_ALIAS = 16; // the SYN carried data; an alias entry maps ISN+len back to it

const NONE = -1;
/**
 * 2k pairs (16 KB): small enough that the first growth and the first probe collisions happen in
 * the first thousand attempts, while the code still runs unoptimized. Code that first runs after
 * V8 optimized its caller deoptimizes it ("insufficient type feedback"): with 16k pairs, growIndex
 * and find4's collision step first ran after 8k SYNs and sent the SYN path back to the baseline tier.
 */
const INITIAL_PAIRS = 1 << 11;
/** Int32 elements in a 4 KiB page (growIndex). */
const INT32S_PER_PAGE = 1024;
/** Value words after the key: state (status 8 bits | SYN payload length << 8), SYN-ACK seq, ack, length. */
const VALUE_WORDS = 4;
/** The IPv4 table's record: its 4 key words and the value words (find4, insert4). */
const V4_RECORD_WORDS = 8;

/**
 * A `bits`-bit bucket of a connection from the last word of each address and the ports word
 * (clientPort << 16 | serverPort). Cheap, unseeded: buckets only decide whether a lookup is
 * needed (the tracker's awaitingFinalAck), so a crafted collision costs a lookup, nothing else.
 */
export function connectionBucket(clientLow: number, serverLow: number, ports: number, bits: number): number {
  return Math.imul(clientLow ^ Math.imul(serverLow ^ ports, 0x9e3779b1), 0x85ebca6b) >>> (32 - bits);
}

/** Index pairs for n entries at load <= 1/2 (a power of two). */
function pairsFor(n: number): number {
  let pairs = 2;
  while (pairs < 2 * n) pairs *= 2;
  return pairs;
}

export class AttemptTable {
  readonly keyWords: number;
  /** Key word holding the ports, and the ISN. */
  readonly keyPorts: number;
  readonly keyIsn: number;
  /** Words per address in the key (1 or 4). */
  readonly addressWords: number;
  readonly maxCapacity: number;
  private readonly recordWords: number;
  /** Records, recordWords words each (empty until the first insert). */
  rec = new Uint32Array(0);
  /** The same words as int32, for find4's comparisons with int32 arguments. */
  private rec32 = new Int32Array(0);
  /**
   * First-SYN packet time per slot: the caller writes it right after insert/insert4 (no time
   * argument: see clock.ts), and inserts in time order (the ring is the timeout order).
   */
  firstUs = new Float64Array(0);
  /**
   * Open-addressing index: pairs (hash, slot + 1); 0 marks an empty pair. It grows with the
   * live entries (load <= 1/2), so its size follows the traffic: a data-heavy capture with few
   * open handshakes probes a small, cached index on every ACK (measured on the bench's mixed
   * capture: a 16 MB index sized for the maximum made it 0.41 -> 0.51 s).
   */
  private index: Int32Array;
  private indexMask: number;
  /**
   * A key's home pair is its hash's top bits (hash >>> indexShift), not its low bits: then the
   * pairs, read in order, keep their order in a grown index, and growIndex writes it front to
   * back instead of at random (measured on the bench flood: growing took ~35 ms with low bits).
   */
  private indexShift: number;
  /** Ring: oldest entry at `head`, `size` entries. */
  head = 0;
  size = 0;

  constructor(keyWords: number, maxAttempts: number) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`attempt table size ${maxAttempts} must be a positive integer`);
    this.keyWords = keyWords;
    this.addressWords = (keyWords - 2) / 2;
    this.keyPorts = keyWords - 2;
    this.keyIsn = keyWords - 1;
    let rw = 1;
    while (rw < keyWords + VALUE_WORDS) rw *= 2;
    this.recordWords = rw;
    this.maxCapacity = maxAttempts;
    const pairs = Math.min(INITIAL_PAIRS, pairsFor(maxAttempts));
    this.index = new Int32Array(pairs * 2);
    this.indexMask = pairs - 1;
    this.indexShift = 32 - Math.log2(pairs);
  }

  /** The key words through the tables' one hash (src/track/hash.ts). */
  hashKey(key: Uint32Array): number {
    return hashWords(key, 0, this.keyWords);
  }

  /** connectionBucket() of a slot's connection (its client, server and ports). */
  connectionBucketOf(slot: number, bits: number): number {
    const base = slot * this.recordWords;
    const aw = this.addressWords;
    return connectionBucket(this.rec[base + aw - 1], this.rec[base + 2 * aw - 1], this.rec[base + this.keyPorts], bits);
  }

  find(key: Uint32Array, hash: number): number {
    const index = this.index;
    const rec = this.rec;
    const mask = this.indexMask;
    const kw = this.keyWords;
    const rw = this.recordWords;
    for (let p = hash >>> this.indexShift; ; p = (p + 1) & mask) {
      const ref = index[2 * p + 1];
      if (ref === 0) return NONE;
      if (index[2 * p] !== hash) continue;
      const base = (ref - 1) * rw;
      let i = 0;
      while (i < kw && rec[base + i] === key[i]) i++;
      if (i === kw) return ref - 1;
    }
  }

  /**
   * find() for the IPv4 table (keyWords 4, recordWords 8), with the key as four values: the same
   * probe sequence and result, without a key array and its generic comparison loop (the per-SYN
   * path of an IPv4 flood). The words may come as uint32 or int32 (callers pass int32: a uint32
   * above 2^31 is a boxed double when the call is not inlined).
   */
  find4(hash: number, client: number, server: number, ports: number, isn: number): number {
    const index = this.index;
    const rec = this.rec32;
    const mask = this.indexMask;
    client |= 0;
    server |= 0;
    ports |= 0;
    isn |= 0;
    for (let p = hash >>> this.indexShift; ; p = (p + 1) & mask) {
      const ref = index[2 * p + 1];
      if (ref === 0) return NONE;
      if (index[2 * p] !== hash) continue;
      const base = (ref - 1) * V4_RECORD_WORDS;
      if (rec[base] === client && rec[base + 1] === server && rec[base + 2] === ports && rec[base + 3] === isn) return ref - 1;
    }
  }

  /**
   * Read the index entries at the home positions of `hashes[0..n)`, then the records those
   * entries point to when their stored hash matches. Nothing is decided here: the loads are
   * independent, so their cache misses overlap, and the lookups that follow find the lines in
   * cache (the tracker's batching, see tracker.ts). Returns a value only so the loads stay.
   */
  warm(hashes: Int32Array, n: number): number {
    const index = this.index;
    const rec = this.rec;
    const shift = this.indexShift;
    const rw = this.recordWords;
    let sink = 0;
    for (let i = 0; i < n; i++) sink ^= index[2 * (hashes[i] >>> shift) + 1];
    for (let i = 0; i < n; i++) {
      const p = 2 * (hashes[i] >>> shift);
      const ref = index[p + 1];
      if (ref !== 0 && index[p] === hashes[i]) sink ^= rec[(ref - 1) * rw];
    }
    return sink;
  }

  /**
   * Insert a key known to be absent, with `status` (no SYN length); the table must not be full
   * (the tracker evicts first). The SYN-ACK words are left as the slot's last occupant left
   * them: they are read only once SYNACKED is set, and setSynAck writes them then.
   */
  insert(key: Uint32Array, hash: number, status: number): number {
    const slot = this.nextSlot();
    const rec = this.rec;
    const kw = this.keyWords;
    const base = slot * this.recordWords;
    for (let i = 0; i < kw; i++) rec[base + i] = key[i];
    rec[base + kw] = status;
    this.indexSlot(slot, hash);
    return slot;
  }

  /** insert() for the IPv4 table, with the key as four values, uint32 or int32 (see find4). */
  insert4(hash: number, client: number, server: number, ports: number, isn: number, status: number): number {
    const slot = this.nextSlot();
    const rec = this.rec;
    const base = slot * V4_RECORD_WORDS;
    rec[base] = client;
    rec[base + 1] = server;
    rec[base + 2] = ports;
    rec[base + 3] = isn;
    rec[base + 4] = status;
    this.indexSlot(slot, hash);
    return slot;
  }

  /**
   * Reserve the record storage for maxCapacity entries now instead of at the first insert (once;
   * later calls do nothing). Live does, at start: the first insert then allocates nothing, and
   * the storage is old before the first flood (src/live/heap.ts).
   */
  reserve(): void {
    if (this.firstUs.length !== 0) return;
    this.rec = new Uint32Array(this.maxCapacity * this.recordWords);
    this.rec32 = new Int32Array(this.rec.buffer);
    this.firstUs = new Float64Array(this.maxCapacity);
  }

  /** Take the ring's next slot (growing the index first if due); the caller stamps its firstUs. */
  private nextSlot(): number {
    if (this.size === this.maxCapacity) throw new RangeError('attempt table full');
    if (this.firstUs.length === 0) this.reserve();
    if (2 * (this.size + 1) > this.indexMask + 1 && this.indexMask + 1 < pairsFor(this.maxCapacity)) this.growIndex();
    let slot = this.head + this.size;
    if (slot >= this.maxCapacity) slot -= this.maxCapacity;
    this.size++;
    return slot;
  }

  /** Enter `slot` under `hash` in the index (its first empty pair from the home). */
  private indexSlot(slot: number, hash: number): void {
    const index = this.index;
    const mask = this.indexMask;
    let p = hash >>> this.indexShift;
    while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
    index[2 * p] = hash;
    index[2 * p + 1] = slot + 1;
  }

  /** Remove the oldest entry (the caller has finished with it). */
  removeOldest(): void {
    const slot = this.head;
    const hash = hashWords(this.rec, slot * this.recordWords, this.keyWords);
    this.unindex(slot, hash);
    this.head = slot + 1 === this.maxCapacity ? 0 : slot + 1;
    this.size--;
  }

  /**
   * Grow the index 8x and re-enter every pair from the old one (stored hashes: no record reads).
   * 8x rather than 4x: one pass fewer on the way to a flood's million entries (measured on the
   * bench flood: track stage 435 -> 415 ms, median of 11). When 8x would leave less than one
   * more doubling to the maximum, straight to the maximum: the bench flood grew 16k -> 128k ->
   * 1M -> 2M pairs, and the last step re-entered 512k pairs mid-flood (10-19 ms); now 16k ->
   * 128k -> 2M. A capture between 64k and 512k open attempts gets a 16 MB index instead of 8.
   */
  private growIndex(): void {
    const old = this.index;
    const max = pairsFor(this.maxCapacity);
    let pairs = Math.min((this.indexMask + 1) * 8, max);
    if (2 * pairs >= max) pairs = max;
    const index = new Int32Array(pairs * 2);
    // Write one word of every page before the probing below reads any. A fresh page that is read
    // first is mapped to the kernel's shared zero page and faults again, copy on write, when it
    // is written: on the flood's 16 MB index that doubled the cost of its page faults (a 4 KiB
    // stride over 16 MB: 18-21 ms read-then-write, 7-9 ms write-only).
    for (let i = 0; i < index.length; i += INT32S_PER_PAGE) index[i] = 0;
    const mask = pairs - 1;
    const shift = 32 - Math.log2(pairs);
    for (let q = 0; q < old.length; q += 2) {
      const ref = old[q + 1];
      if (ref === 0) continue;
      const hash = old[q];
      let p = hash >>> shift;
      while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
      index[2 * p] = hash;
      index[2 * p + 1] = ref;
    }
    this.index = index;
    this.indexMask = mask;
    this.indexShift = shift;
  }

  /** The slot `n` places after the oldest (0 is the oldest), or -1 past the newest. */
  slotAt(n: number): number {
    if (n >= this.size) return NONE;
    const s = this.head + n;
    return s >= this.maxCapacity ? s - this.maxCapacity : s;
  }

  status(slot: number): number {
    return this.rec[slot * this.recordWords + this.keyWords] & 0xff;
  }

  setStatus(slot: number, status: number): void {
    const at = slot * this.recordWords + this.keyWords;
    this.rec[at] = (this.rec[at] & ~0xff) | status;
  }

  synLen(slot: number): number {
    return this.rec[slot * this.recordWords + this.keyWords] >>> 8;
  }

  setSynLen(slot: number, len: number): void {
    const at = slot * this.recordWords + this.keyWords;
    this.rec[at] = (this.rec[at] & 0xff) | ((len > 0xffff ? 0xffff : len) << 8);
  }

  synAckSeq(slot: number): number {
    return this.rec[slot * this.recordWords + this.keyWords + 1];
  }

  synAckAck(slot: number): number {
    return this.rec[slot * this.recordWords + this.keyWords + 2];
  }

  synAckLen(slot: number): number {
    return this.rec[slot * this.recordWords + this.keyWords + 3];
  }

  setSynAck(slot: number, seq: number, ack: number, len: number): void {
    const base = slot * this.recordWords + this.keyWords;
    this.rec[base + 1] = seq;
    this.rec[base + 2] = ack;
    this.rec[base + 3] = len > 0xffff ? 0xffff : len;
  }

  /** Word `i` of the slot's key. */
  keyWord(slot: number, i: number): number {
    return this.rec[slot * this.recordWords + i];
  }

  /**
   * The slot's client (side 0) or server (side 1) address as four words (IPv4-mapped for the
   * one-word table).
   */
  addressOf(slot: number, side: number, out: Uint32Array, at = 0): void {
    const base = slot * this.recordWords + side * this.addressWords;
    const rec = this.rec;
    if (this.addressWords === 1) {
      out[at] = 0; out[at + 1] = 0; out[at + 2] = 0xffff; out[at + 3] = rec[base];
    } else {
      out[at] = rec[base]; out[at + 1] = rec[base + 1]; out[at + 2] = rec[base + 2]; out[at + 3] = rec[base + 3];
    }
  }

  /** The slot's key in the full layout (FULL_KEY_WORDS words, addresses as four words each). */
  fullKeyOf(slot: number, out: Uint32Array): void {
    this.addressOf(slot, 0, out, 0);
    this.addressOf(slot, 1, out, 4);
    out[8] = this.keyWord(slot, this.keyPorts);
    out[9] = this.keyWord(slot, this.keyIsn);
  }

  /** Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
  private unindex(slot: number, hash: number): void {
    const index = this.index;
    const mask = this.indexMask;
    const shift = this.indexShift;
    let p = hash >>> shift;
    while (index[2 * p + 1] !== slot + 1) {
      if (index[2 * p + 1] === 0) return; // not indexed (cannot happen; be safe)
      p = (p + 1) & mask;
    }
    for (let q = (p + 1) & mask; index[2 * q + 1] !== 0; q = (q + 1) & mask) {
      const home = index[2 * q] >>> shift;
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

export class AliasTable {
  /** Alias keys (full layout) and slots; `isn` is indexed by its slots. */
  readonly table: FlowTable;
  isn: Uint32Array;

  constructor(maxAliases: number) {
    this.table = new FlowTable(FULL_KEY_WORDS, maxAliases, {
      grow: (n) => {
        this.isn = resized(this.isn, n);
      },
      evict() {},
    });
    this.isn = new Uint32Array(this.table.capacity);
  }
}
