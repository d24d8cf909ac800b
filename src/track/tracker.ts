/**
 * The handshake tracker: turns decoded TCP segments into attempts, completions and per-source
 * statistics. Packet time only.
 *
 * Definitions (the ones behind ../shared/corpus/truth/*.json, "strict"):
 * - an attempt is (src, sport, dst, dport, client ISN) of a SYN without ACK; a retransmitted SYN
 *   is the same attempt;
 * - it completes when a SYN-ACK from the peer acknowledges ISN+1 (+ SYN payload, TCP Fast Open)
 *   and the client then sends a segment with ACK set, SYN and RST clear, whose seq equals that
 *   acknowledgement and whose ack equals the SYN-ACK's ISN+1 (+ its payload); capture order;
 * - it ends incomplete when the client or the server resets it, when no completion arrives within
 *   the handshake timeout, or when the table must evict it while it is still open. A completion
 *   that arrives after that still counts (the ground truth has no timeout); the source's
 *   incomplete count is corrected.
 *
 * Time: `nowUs` is the largest packet time seen (captures can be slightly out of order; time
 * never runs backwards inside the tracker). Expiry runs in sweeps every SWEEP_INTERVAL_US of
 * packet time, so an attempt times out at most that much late.
 *
 * Attempts live in two tables, IPv4 (both addresses IPv4-mapped) and the rest (attempts.ts), under
 * one budget of maxAttempts: when it is full the oldest attempt of either is evicted, and sweeps
 * and evictions take the two in first-SYN order (ties: IPv4 first), as if they were one ring.
 *
 * Contract with the detector: TrackerEvents below, called synchronously, slots valid only during
 * the call. No allocation per segment: keys are built in scratch arrays.
 *
 * Batching: segments wait in a batch of `segmentBatch` and are processed when it is full, or on
 * `flush`/`advanceTo`. The pipeline decodes straight into the batch (`segmentView` then `commit`,
 * no copy); `onSegment` copies a view in for other callers. Before processing, one tight loop reads
 * the attempt index entry each segment will probe (and the record a SYN-ACK will land on): those
 * loads are independent, so the CPU overlaps their cache misses, where one segment at a time pays
 * each miss in full (measured on the bench flood: a random index probe costs ~160 ns dependent,
 * ~17 ns overlapped; see bench/findings.md). Segments are still processed one by one in capture
 * order, so events, counts and packet times are exactly those of an unbatched run; only the
 * wall-clock moment of processing moves. Live capture uses a batch of 1 (latency over
 * throughput); state read between `onSegment` calls is current only after `flush`.
 *
 * IPv4 fast paths: most traffic is IPv4, and in a flood every SYN looks up its attempt, its
 * source and its target. For segments of the IPv4 table the tracker hashes the key words straight
 * from the view (hash4), and uses AttemptTable.find4/insert4 and SourceTable/TargetTable.lookupV4,
 * which give the same slots and the same LRU order as the general paths without building and
 * comparing multi-word keys (test/track/ipv4-paths.test.ts). Measured with callgrind on the bench
 * flood (`node dist/bench/stages.js track`, deterministic instruction counts): 5.16 G -> 4.34 G.
 *
 * Data ACKs: most segments of a busy capture are ACKs of established connections, and each could
 * be a handshake's final ACK only if some attempt on its connection has seen a SYN-ACK and not
 * completed. `awaitingFinalAck` counts those attempts per connection bucket (attempts.ts
 * connectionBucket; exact: +1 when an attempt is first SYN-ACKed, -1 when it completes or goes
 * away still waiting), so an ACK whose bucket is 0 skips the attempt lookup (measured on the
 * bench's mixed capture, where 97% of the ACKs skip: track stage ~250 -> ~195 ms).
 */
import { PacketView, TCP_ACK, TCP_RST, TCP_SYN } from '../decode/packet';
import { isMappedV4 } from '../decode/address';
import {
  AliasTable, AttemptTable, COMPLETED, connectionBucket, ENDED_INCOMPLETE, FULL_KEY_WORDS, HAS_ALIAS, OPEN, SYNACKED,
  V4_KEY_WORDS,
} from './attempts';
import { PacketClock } from './clock';
import { hash4 } from './hash';
import { SourceTable } from './sources';
import { TargetTable } from './targets';

/**
 * The per-packet events (onSyn, onAttemptEnd, onUnsolicitedSynAck) carry no time: theirs is the
 * tracker's `nowUs` during the call (clock.ts). A double passed to a call V8 does not inline is
 * boxed: one allocation per SYN on a flood (1M HeapNumbers on the bench flood, callgrind).
 */
export interface TrackerEvents {
  /** A SYN from source `src` to target `target`; `newAttempt` false for a retransmission. */
  onSyn(src: number, target: number, newAttempt: boolean): void;
  /** An attempt ended; `src` is -1 when the source was evicted meanwhile. */
  onAttemptEnd(src: number, completed: boolean): void;
  /** A SYN-ACK that acknowledges no SYN we saw (reflection, backscatter, or mid-stream start). */
  onUnsolicitedSynAck(v: PacketView): void;
  /** Packet time advanced (called at every sweep). */
  onTime(nowUs: number): void;
}

/**
 * Packet-time marks for a reader of the cumulative counters (totals, sources.inserts), e.g. the
 * report's timeline (report/timeline.ts). `mark(nowUs)` is called before the first segment whose
 * time reaches the mark it last returned (and by advanceTo), so every count read then belongs to
 * packet time before it; it returns the next mark. The per-segment cost is one compare.
 */
export interface TimeMarks {
  mark(nowUs: number): number;
}

export interface TrackerOptions {
  /** An open attempt older than this ends as timed out (Linux keeps a half-open entry ~63 s). */
  handshakeTimeoutUs: number;
  /** Attempts kept at once, IPv4 and IPv6 together. */
  maxAttempts: number;
  maxSources: number;
  maxTargets: number;
  /** Segments buffered before processing (1: process each at once; see the file contract). */
  segmentBatch: number;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  handshakeTimeoutUs: 63e6,
  // 2^20 attempts (IPv4 ~56 B each with the index, IPv6 ~88 B) and 2^19 sources (~130 B each):
  // ~160 MB at the very most.
  maxAttempts: 1 << 20,
  maxSources: 1 << 19,
  maxTargets: 1 << 16,
  // Enough segments for their probes to overlap; small enough to stay in L1 (64 x ~50 B).
  segmentBatch: 64,
};

/** How often expiry runs, in packet time. */
const SWEEP_INTERVAL_US = 100_000;
/** Ended attempts are kept this many timeouts after their first SYN, to recognise late retransmissions. */
const RETENTION_TIMEOUTS = 2;
const MAX_ALIASES = 1 << 16;
/**
 * Buckets of awaitingFinalAck: 2^12 counters, 16 KB, so they stay in L1/L2 while the capture
 * streams through (with 2^16 counters, 256 KB, the increment was the hottest instruction of the
 * SYN-ACK path in a profile of the bench flood; the mixed capture's track stage went 208 -> 194 ms
 * with 2^12). 4,096 buckets leave most empty for a server with a few hundred handshakes in
 * flight; a flood fills them all, and then every ACK is looked up, as before the count existed.
 */
const AWAITING_BITS = 12;
const NONE = -1;

export class TrackerTotals {
  /** SYN without ACK, retransmissions included. */
  synOnly = 0;
  synAck = 0;
  rst = 0;
  attempts = 0;
  completed = 0;
  synRetransmits = 0;
  /** Attempts with data on the SYN (TCP Fast Open). */
  synWithData = 0;
  clientResets = 0;
  serverResets = 0;
  timedOut = 0;
  /** Open attempts evicted because the attempt table was full. */
  evictedOpen = 0;
  /** Completions of attempts that had already ended (after a reset or the timeout). */
  lateCompletions = 0;
  unsolicitedSynAck = 0;
}

export class HandshakeTracker implements PacketClock {
  readonly sources: SourceTable;
  /** Attempts between IPv4 addresses, and all others (see the file contract). */
  readonly attempts4: AttemptTable;
  readonly attempts6: AttemptTable;
  readonly maxAttempts: number;
  /** Attempts evicted because the budget was full (ended as incomplete when still open). */
  attemptEvictions = 0;
  readonly targets: TargetTable;
  readonly aliases = new AliasTable(MAX_ALIASES);
  readonly totals = new TrackerTotals();
  /** The packet clock of the tables and the detector (clock.ts): the largest packet time seen. */
  nowUs = 0;
  private events!: TrackerEvents;
  private readonly timeoutUs: number;
  private readonly retentionUs: number;
  private nextSweepUs = 0;
  private marks: TimeMarks | null = null;
  private nextMarkUs = Infinity;
  /** Per table, how many of its oldest attempts are past the timeout check (the sweep resumes there). */
  private swept4 = 0;
  private swept6 = 0;
  /** Scratch keys: `key` for the table lookups, `fullKey` for aliases, `forgetKey` for alias removal during an eviction. */
  private readonly key = new Uint32Array(FULL_KEY_WORDS);
  private readonly fullKey = new Uint32Array(FULL_KEY_WORDS);
  private readonly forgetKey = new Uint32Array(FULL_KEY_WORDS);
  private readonly sourceKey = new Uint32Array(4);
  private readonly targetKey = new Uint32Array(5);
  private readonly batch: SegmentBatch;
  /** Hashes of the attempt keys the batch will probe, per table. */
  private readonly probes4: Int32Array;
  private readonly probes6: Int32Array;
  /** Written, never read: keeps the compiler from dropping the warming loads as dead. */
  private warmSink = 0;
  /** Per connection-hash bucket: attempts SYN-ACKed and not completed (see the file contract). */
  private readonly awaitingFinalAck = new Uint32Array(1 << AWAITING_BITS);

  constructor(opts: TrackerOptions = DEFAULT_TRACKER_OPTIONS) {
    this.timeoutUs = opts.handshakeTimeoutUs;
    this.retentionUs = opts.handshakeTimeoutUs * RETENTION_TIMEOUTS;
    this.sources = new SourceTable(opts.maxSources, this);
    this.maxAttempts = opts.maxAttempts;
    this.attempts4 = new AttemptTable(V4_KEY_WORDS, opts.maxAttempts);
    this.attempts6 = new AttemptTable(FULL_KEY_WORDS, opts.maxAttempts);
    this.targets = new TargetTable(opts.maxTargets, this);
    const n = opts.segmentBatch;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`segment batch ${n} must be a positive integer`);
    this.batch = new SegmentBatch(n);
    this.probes4 = new Int32Array(2 * n);
    this.probes6 = new Int32Array(2 * n);
  }

  /** Reserve both attempt tables' record storage now (AttemptTable.reserve). */
  reserve(): void {
    this.attempts4.reserve();
    this.attempts6.reserve();
  }

  setEvents(events: TrackerEvents): void {
    this.events = events;
  }

  /** Who reads the counters at packet-time marks (one reader; see TimeMarks). */
  setMarks(marks: TimeMarks): void {
    this.marks = marks;
    this.nextMarkUs = -Infinity;
  }

  /** Attempts held now, both tables. */
  get attemptCount(): number {
    return this.attempts4.size + this.attempts6.size;
  }

  /** The view to decode the next segment into; `commit` enqueues it (else it is reused). */
  segmentView(): PacketView {
    return this.batch.views[this.batch.n];
  }

  /** Enqueue the segment decoded into segmentView(), seen at `tsUs`. */
  commit(tsUs: number): void {
    const b = this.batch;
    const i = b.n++;
    const v = b.views[i];
    b.tsUs[i] = tsUs;
    // An IPv4 header gives both addresses IPv4-mapped; an IPv6 one may too (::ffff:a.b.c.d).
    b.v4[i] = v.ipVersion === 4 || (isMappedV4(v.src) && isMappedV4(v.dst)) ? 1 : 0;
    if (b.n === b.capacity) this.flush();
  }

  /** Feed one decoded TCP segment (its tracked fields are copied: the view may be reused at once). */
  onSegment(v: PacketView, tsUs: number): void {
    copyTrackedFields(v, this.segmentView());
    this.commit(tsUs);
  }

  /** Process every buffered segment (see the file contract). */
  flush(): void {
    const b = this.batch;
    const n = b.n;
    if (n === 0) return;
    this.hashProbes(b, n);
    this.warmSink ^= this.attempts4.warm(this.probes4, b.probeCount4) ^ this.attempts6.warm(this.probes6, b.probeCount6);
    const views = b.views;
    for (let i = 0; i < n; i++) {
      const at = b.v4[i] === 1 ? this.attempts4 : this.attempts6;
      this.process(views[i], at, b, i);
    }
    b.n = 0;
  }

  /** Advance packet time without a segment (live mode's idle ticks, end of capture); flushes first. */
  advanceTo(nowUs: number): void {
    this.flush();
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    if (this.nowUs >= this.nextMarkUs) this.nextMarkUs = this.marks!.mark(this.nowUs);
    if (this.nowUs >= this.nextSweepUs) this.sweep();
  }

  /**
   * Hash, per buffered segment, the attempt key it looks up first: the client-side key, and for a
   * RST+ACK the server-side one too (hash2). Collect them per table for warm().
   */
  private hashProbes(b: SegmentBatch, n: number): void {
    const views = b.views;
    let k4 = 0;
    let k6 = 0;
    for (let i = 0; i < n; i++) {
      const v = views[i];
      const flags = v.flags;
      if (!(flags & TCP_SYN)) {
        if (!(flags & (TCP_RST | TCP_ACK))) continue;
        if (!(flags & TCP_RST)) {
          const bucket = connectionBucket(v.src[3], v.dst[3], ((v.sport << 16) | v.dport) >>> 0, AWAITING_BITS);
          b.awaitBucket[i] = bucket;
          // Nothing awaits a final ACK on this connection now: no probe. An earlier segment of
          // this batch (its SYN-ACK) may change that; process() checks the bucket again.
          if (this.awaitingFinalAck[bucket] === 0) {
            b.hashed[i] = 0;
            continue;
          }
        }
      }
      b.hashed[i] = 1;
      if (b.v4[i] === 0) {
        const h2 = this.hashProbes6(v, flags, b, i);
        this.probes6[k6++] = b.hash[i];
        if (h2 !== 0) this.probes6[k6++] = h2;
        continue;
      }
      // IPv4: fillKey's one-word layout, hashed from the view's fields (hash4 = hashWords).
      const client = v.src[3];
      const server = v.dst[3];
      let h: number;
      let h2 = 0;
      if (flags & TCP_SYN) {
        h = flags & TCP_ACK
          ? hash4(server, client, ((v.dport << 16) | v.sport) >>> 0, (v.ack - 1) >>> 0)
          : hash4(client, server, ((v.sport << 16) | v.dport) >>> 0, v.seq);
      } else {
        h = hash4(client, server, ((v.sport << 16) | v.dport) >>> 0, (v.seq - 1) >>> 0);
        if ((flags & (TCP_RST | TCP_ACK)) === (TCP_RST | TCP_ACK)) h2 = hash4(server, client, ((v.dport << 16) | v.sport) >>> 0, (v.ack - 1) >>> 0);
      }
      b.hash[i] = h;
      b.hash2[i] = h2;
      this.probes4[k4++] = h;
      if (h2 !== 0) this.probes4[k4++] = h2;
    }
    b.probeCount4 = k4;
    b.probeCount6 = k6;
  }

  /** hashProbes for a segment of the full-key table: sets its hash and hash2, returns hash2. */
  private hashProbes6(v: PacketView, flags: number, b: SegmentBatch, i: number): number {
    const at = this.attempts6;
    const key = this.key;
    let h2 = 0;
    if (flags & TCP_SYN) {
      if (flags & TCP_ACK) fillKey6(key, v.dst, v.src, v.dport, v.sport, (v.ack - 1) >>> 0);
      else fillKey6(key, v.src, v.dst, v.sport, v.dport, v.seq);
    } else {
      fillKey6(key, v.src, v.dst, v.sport, v.dport, (v.seq - 1) >>> 0);
      if ((flags & (TCP_RST | TCP_ACK)) === (TCP_RST | TCP_ACK)) {
        b.hash[i] = at.hashKey(key);
        fillKey6(key, v.dst, v.src, v.dport, v.sport, (v.ack - 1) >>> 0);
        h2 = at.hashKey(key);
        b.hash2[i] = h2;
        return h2;
      }
    }
    b.hash[i] = at.hashKey(key);
    b.hash2[i] = 0;
    return 0;
  }

  /**
   * Segment `i` of the batch, with the lookup hashes hashProbes computed for it. Its time is read
   * here, not passed: a double argument to a call that is not inlined is boxed (one HeapNumber per segment).
   */
  private process(v: PacketView, at: AttemptTable, b: SegmentBatch, i: number): void {
    const tsUs = b.tsUs[i];
    if (tsUs > this.nowUs) this.nowUs = tsUs;
    if (this.nowUs >= this.nextMarkUs) this.nextMarkUs = this.marks!.mark(this.nowUs);
    if (this.nowUs >= this.nextSweepUs) this.sweep();
    const flags = v.flags;
    if (flags & TCP_SYN) {
      if (flags & TCP_ACK) this.onSynAck(v, at, b.hash[i]);
      else this.onSyn(v, at, b.hash[i]);
    } else if (flags & TCP_RST) {
      this.totals.rst++;
      this.onRst(v, at, b.hash[i], b.hash2[i]);
    } else if (flags & TCP_ACK) {
      // A data ACK when nothing on its connection awaits a final ACK (see the file contract).
      if (this.awaitingFinalAck[b.awaitBucket[i]] !== 0) this.onAck(v, at, b.hashed[i] === 1 ? b.hash[i] : -1);
    }
  }

  private onSyn(v: PacketView, at: AttemptTable, h: number): void {
    const t = this.totals;
    t.synOnly++;
    const now = this.nowUs;
    const v4 = at.addressWords === 1;
    let existing: number;
    if (v4) {
      // Words as int32 (| 0), here and below: see AttemptTable.find4.
      existing = at.find4(h, v.src[3] | 0, v.dst[3] | 0, (v.sport << 16) | v.dport, v.seq | 0);
    } else {
      fillKey6(this.key, v.src, v.dst, v.sport, v.dport, v.seq);
      existing = at.find(this.key, h);
    }

    const sources = this.sources;
    const src = v4 ? sources.lookupV4(v.src[3] | 0) : sources.lookup(v.src);
    sources.syn[src]++;
    sources.lastUs[src] = now;
    if (existing !== NONE) {
      t.synRetransmits++;
      this.events.onSyn(src, NONE, false);
      return;
    }

    // Evicting ends an old attempt (its source's counts change) but never removes a source: `src` stays valid.
    if (this.attemptCount === this.maxAttempts) this.evictOldestAttempt();
    this.startAttempt(v, at, h, src);
  }

  private startAttempt(v: PacketView, at: AttemptTable, h: number, src: number): void {
    const t = this.totals;
    const now = this.nowUs;
    const a = at.addressWords === 1
      ? at.insert4(h, v.src[3] | 0, v.dst[3] | 0, (v.sport << 16) | v.dport, v.seq | 0, OPEN)
      : at.insert(this.key, h, OPEN);
    at.firstUs[a] = now;
    t.attempts++;
    if (v.payloadLen > 0) {
      t.synWithData++;
      at.setSynLen(a, v.payloadLen);
      this.addAlias(at, a, v);
    }

    const sources = this.sources;
    sources.attempts[src]++;
    sources.halfOpen[src]++;
    sources.notePort(src, v.dport);

    const tt = this.targets;
    let target: number;
    if (at.addressWords === 1) {
      target = tt.lookupV4(v.dst[3] | 0, v.dport);
    } else {
      const tk = this.targetKey;
      tk[0] = v.dst[0]; tk[1] = v.dst[1]; tk[2] = v.dst[2]; tk[3] = v.dst[3]; tk[4] = v.dport;
      target = tt.lookup(tk);
    }
    tt.attempts[target]++;
    tt.lastUs[target] = now;

    this.events.onSyn(src, target, true);
  }

  private onSynAck(v: PacketView, at: AttemptTable, h: number): void {
    this.totals.synAck++;
    // The SYN-ACK travels server -> client and acknowledges the client's ISN + 1 (+ SYN data).
    const a = this.findAttempt(at, v.dst, v.src, v.dport, v.sport, v.ack | 0, h);
    if (a === NONE) {
      this.totals.unsolicitedSynAck++;
      this.events.onUnsolicitedSynAck(v);
      return;
    }
    const st = at.status(a);
    if (st & COMPLETED) return;
    if (!(st & SYNACKED)) this.awaitingFinalAck[at.connectionBucketOf(a, AWAITING_BITS)]++;
    at.setStatus(a, st | SYNACKED);
    at.setSynAck(a, v.seq, v.ack, v.payloadLen);
  }

  /**
   * `h`: the lookup's hash, or -1 when hashProbes skipped it (its SYN-ACK came in the same batch).
   * -1 is also a possible hash: then it is computed again, to the same value.
   */
  private onAck(v: PacketView, at: AttemptTable, h: number): void {
    // A final ACK travels client -> server with seq = what the SYN-ACK acknowledged.
    if (h === -1) {
      fillKey(at, this.key, v.src, v.dst, v.sport, v.dport, (v.seq - 1) >>> 0);
      h = at.hashKey(this.key);
    }
    const a = this.findAttempt(at, v.src, v.dst, v.sport, v.dport, v.seq | 0, h);
    if (a === NONE) return;
    const st = at.status(a);
    if (!(st & SYNACKED) || st & COMPLETED || at.synAckAck(a) !== v.seq) return;
    const expect = (at.synAckSeq(a) + 1) >>> 0;
    if (v.ack === expect || v.ack === ((expect + at.synAckLen(a)) >>> 0)) this.complete(at, a);
  }

  private onRst(v: PacketView, at: AttemptTable, h: number, h2: number): void {
    // From the client: seq = ISN + 1 (after a SYN-ACK, or an abort). From the server (port
    // closed, or refusing): RST+ACK acknowledging ISN + 1.
    let a = this.findAttempt(at, v.src, v.dst, v.sport, v.dport, v.seq | 0, h);
    if (a !== NONE) {
      if (this.endIncomplete(at, a)) this.totals.clientResets++;
      return;
    }
    if (!(v.flags & TCP_ACK)) return;
    a = this.findAttempt(at, v.dst, v.src, v.dport, v.sport, v.ack | 0, h2);
    if (a !== NONE && this.endIncomplete(at, a)) this.totals.serverResets++;
  }

  /**
   * The attempt whose "acknowledged value" (ISN + 1, or ISN + 1 + SYN data) is `acked` (uint32
   * or int32: callers pass int32, see clock.ts); `h` is the hash of its key with ISN = acked - 1.
   */
  private findAttempt(at: AttemptTable, client: Uint32Array, server: Uint32Array, cport: number, sport: number, acked: number, h: number): number {
    const key = this.key;
    let a: number;
    if (at.addressWords === 1) {
      a = at.find4(h, client[3] | 0, server[3] | 0, (cport << 16) | sport, (acked - 1) | 0);
    } else {
      fillKey6(key, client, server, cport, sport, (acked - 1) >>> 0);
      a = at.find(key, h);
    }
    if (a !== NONE || this.aliases.table.size === 0) return a;
    const al = this.aliases;
    const full = this.fullKey;
    fillKey6(full, client, server, cport, sport, (acked - 1) >>> 0);
    const alias = al.table.find(full, al.table.hashKey(full));
    if (alias === NONE) return NONE;
    fillKey(at, key, client, server, cport, sport, al.isn[alias]);
    return at.find(key, at.hashKey(key));
  }

  /** A SYN with data: map ISN + len back to the ISN (findAttempt looks up acknowledged - 1). */
  private addAlias(at: AttemptTable, a: number, v: PacketView): void {
    const full = this.fullKey;
    fillKey6(full, v.src, v.dst, v.sport, v.dport, (v.seq + v.payloadLen) >>> 0);
    const al = this.aliases;
    const h = al.table.hashKey(full);
    if (al.table.find(full, h) === NONE) {
      const s = al.table.insert(full, h);
      al.isn[s] = v.seq;
      at.setStatus(a, at.status(a) | HAS_ALIAS);
    }
  }

  private complete(at: AttemptTable, a: number): void {
    const st = at.status(a);
    at.setStatus(a, (st & ~(OPEN | ENDED_INCOMPLETE)) | COMPLETED);
    this.awaitingFinalAck[at.connectionBucketOf(a, AWAITING_BITS)]--; // onAck completes SYN-ACKed attempts only
    this.totals.completed++;
    const src = this.findSourceOfAttempt(at, a);
    if (src !== NONE) {
      const s = this.sources;
      s.completed[src]++;
      if (st & OPEN) s.halfOpen[src]--;
      if (st & ENDED_INCOMPLETE) s.incomplete[src]--;
    }
    if (st & ENDED_INCOMPLETE) this.totals.lateCompletions++;
    const target = this.findTargetOfAttempt(at, a);
    if (target !== NONE) this.targets.completed[target]++;
    this.events.onAttemptEnd(src, true);
  }

  /** End an open attempt as incomplete; false when it was not open. */
  private endIncomplete(at: AttemptTable, a: number): boolean {
    const st = at.status(a);
    if (!(st & OPEN)) return false;
    at.setStatus(a, (st & ~OPEN) | ENDED_INCOMPLETE);
    const src = this.findSourceOfAttempt(at, a);
    if (src !== NONE) {
      const s = this.sources;
      s.halfOpen[src]--;
      s.incomplete[src]++;
    }
    this.events.onAttemptEnd(src, false);
    return true;
  }

  /** The table whose oldest attempt is the older (ties: IPv4), or null when both are empty. */
  private olderHead(): AttemptTable | null {
    const a4 = this.attempts4;
    const a6 = this.attempts6;
    if (a4.size === 0) return a6.size === 0 ? null : a6;
    if (a6.size === 0) return a4;
    return a6.firstUs[a6.head] < a4.firstUs[a4.head] ? a6 : a4;
  }

  /** The budget is full: end the oldest attempt of either table if still open, and drop it. */
  private evictOldestAttempt(): void {
    const at = this.olderHead()!;
    const a = at.head;
    this.attemptEvictions++;
    if (this.endIncomplete(at, a)) this.totals.evictedOpen++;
    this.forgetOldest(at);
  }

  /** Bookkeeping, then removal, of a table's oldest attempt (retention or eviction). */
  private forgetOldest(at: AttemptTable): void {
    const a = at.head;
    // `a` is the oldest: if the sweep had passed it, the cursor moves back by one.
    if (at === this.attempts4) { if (this.swept4 > 0) this.swept4--; } else if (this.swept6 > 0) this.swept6--;
    const st = at.status(a);
    if ((st & (SYNACKED | COMPLETED)) === SYNACKED) this.awaitingFinalAck[at.connectionBucketOf(a, AWAITING_BITS)]--;
    if (st & HAS_ALIAS) {
      const key = this.forgetKey;
      at.fullKeyOf(a, key);
      key[9] = (key[9] + at.synLen(a)) >>> 0; // the alias key: ISN + SYN payload length
      const al = this.aliases;
      const slot = al.table.find(key, al.table.hashKey(key));
      if (slot !== NONE) al.table.remove(slot);
    }
    at.removeOldest();
  }

  /** The next attempt, in first-SYN order across both tables, whose timeout check is due, or null. */
  private nextToTimeOut(): AttemptTable | null {
    const a4 = this.attempts4;
    const a6 = this.attempts6;
    const c4 = a4.slotAt(this.swept4);
    const c6 = a6.slotAt(this.swept6);
    const limit = this.nowUs - this.timeoutUs;
    const due4 = c4 !== NONE && a4.firstUs[c4] <= limit;
    const due6 = c6 !== NONE && a6.firstUs[c6] <= limit;
    if (due4 && due6) return a6.firstUs[c6] < a4.firstUs[c4] ? a6 : a4;
    return due4 ? a4 : due6 ? a6 : null;
  }

  private sweep(): void {
    const now = this.nowUs;
    this.nextSweepUs = now + SWEEP_INTERVAL_US;
    // Time out open attempts, oldest first; the swept counts remember where the last sweep stopped.
    for (let at = this.nextToTimeOut(); at !== null; at = this.nextToTimeOut()) {
      if (at === this.attempts4) {
        if (this.endIncomplete(at, at.slotAt(this.swept4))) this.totals.timedOut++;
        this.swept4++;
      } else {
        if (this.endIncomplete(at, at.slotAt(this.swept6))) this.totals.timedOut++;
        this.swept6++;
      }
    }
    // Drop ended attempts whose retention ran out.
    for (let at = this.olderHead(); at !== null && at.firstUs[at.head] + this.retentionUs <= now; at = this.olderHead()) {
      if (at.status(at.head) & OPEN && this.endIncomplete(at, at.head)) this.totals.timedOut++;
      this.forgetOldest(at);
    }
    this.events.onTime(now);
  }

  private findSourceOfAttempt(at: AttemptTable, a: number): number {
    if (at.addressWords === 1) return this.sources.findV4(at.keyWord(a, 0) | 0);
    const k = this.sourceKey;
    at.addressOf(a, 0, k);
    const t = this.sources.table;
    return t.find(k, t.hashKey(k));
  }

  private findTargetOfAttempt(at: AttemptTable, a: number): number {
    if (at.addressWords === 1) return this.targets.findV4(at.keyWord(a, 1) | 0, at.keyWord(a, at.keyPorts) & 0xffff);
    const k = this.targetKey;
    at.addressOf(a, 1, k);
    k[4] = at.keyWord(a, at.keyPorts) & 0xffff;
    const t = this.targets.table;
    return t.find(k, t.hashKey(k));
  }
}

/**
 * Fill `key` in `at`'s layout from two four-word addresses: one word per address for the IPv4
 * table (the mapped word), four for the other.
 */
function fillKey(at: AttemptTable, key: Uint32Array, client: Uint32Array, server: Uint32Array, cport: number, sport: number, isn: number): void {
  if (at.addressWords === 1) {
    key[0] = client[3];
    key[1] = server[3];
    key[2] = ((cport << 16) | sport) >>> 0;
    key[3] = isn;
  } else {
    fillKey6(key, client, server, cport, sport, isn);
  }
}

/** The full (four words per address) key layout: the IPv6 table's, and the alias table's. */
function fillKey6(key: Uint32Array, client: Uint32Array, server: Uint32Array, cport: number, sport: number, isn: number): void {
  key[0] = client[0]; key[1] = client[1]; key[2] = client[2]; key[3] = client[3];
  key[4] = server[0]; key[5] = server[1]; key[6] = server[2]; key[7] = server[3];
  key[8] = ((cport << 16) | sport) >>> 0;
  key[9] = isn;
}

/** The fields the tracker and its events read. */
function copyTrackedFields(from: PacketView, to: PacketView): void {
  to.ipVersion = from.ipVersion;
  to.src.set(from.src);
  to.dst.set(from.dst);
  to.sport = from.sport;
  to.dport = from.dport;
  to.seq = from.seq;
  to.ack = from.ack;
  to.flags = from.flags;
  to.payloadLen = from.payloadLen;
}

/**
 * Segments waiting to be processed: one PacketView each (the decoder writes into them), their
 * packet times, which attempt table each belongs to, and the hashes of their lookups.
 */
class SegmentBatch {
  readonly capacity: number;
  n = 0;
  /** Probe hashes collected per table by the last hashProbes. */
  probeCount4 = 0;
  probeCount6 = 0;
  readonly views: PacketView[] = [];
  readonly tsUs: Float64Array;
  /** 1: both addresses IPv4-mapped (the IPv4 attempt table). */
  readonly v4: Uint8Array;
  readonly hash: Int32Array;
  readonly hash2: Int32Array;
  /** For an ACK: its connection's awaitingFinalAck bucket, and whether `hash` was computed. */
  readonly awaitBucket: Uint32Array;
  readonly hashed: Uint8Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    for (let i = 0; i < capacity; i++) this.views.push(new PacketView());
    this.tsUs = new Float64Array(capacity);
    this.v4 = new Uint8Array(capacity);
    this.hash = new Int32Array(capacity);
    this.hash2 = new Int32Array(capacity);
    this.awaitBucket = new Uint32Array(capacity);
    this.hashed = new Uint8Array(capacity);
  }
}
