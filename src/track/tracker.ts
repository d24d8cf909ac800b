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
 * Contract with the detector: TrackerEvents below, called synchronously, slots valid only during
 * the call. No allocation per segment: keys are built in scratch arrays.
 */
import { PacketView, TCP_ACK, TCP_RST, TCP_SYN } from '../decode/packet';
import {
  AliasTable, ATTEMPT_KEY_WORDS, AttemptTable, COMPLETED, ENDED_INCOMPLETE, HAS_ALIAS, KEY_ISN, KEY_PORTS, OPEN, SYNACKED,
} from './attempts';
import { SourceTable } from './sources';
import { TargetTable } from './targets';

export interface TrackerEvents {
  /** A SYN from source `src` to target `target`; `newAttempt` false for a retransmission. */
  onSyn(src: number, target: number, newAttempt: boolean, tsUs: number): void;
  /** An attempt ended; `src` is -1 when the source was evicted meanwhile. */
  onAttemptEnd(src: number, completed: boolean, tsUs: number): void;
  /** A SYN-ACK that acknowledges no SYN we saw (reflection, backscatter, or mid-stream start). */
  onUnsolicitedSynAck(v: PacketView, tsUs: number): void;
  /** Packet time advanced (called at every sweep). */
  onTime(nowUs: number): void;
}

export interface TrackerOptions {
  /** An open attempt older than this ends as timed out (Linux keeps a half-open entry ~63 s). */
  handshakeTimeoutUs: number;
  maxAttempts: number;
  maxSources: number;
  maxTargets: number;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  handshakeTimeoutUs: 63e6,
  // 2^20 attempts (~80 B each) and 2^19 sources (~130 B each): ~150 MB at the very most.
  maxAttempts: 1 << 20,
  maxSources: 1 << 19,
  maxTargets: 1 << 16,
};

/** How often expiry runs, in packet time. */
const SWEEP_INTERVAL_US = 100_000;
/** Ended attempts are kept this many timeouts after their first SYN, to recognise late retransmissions. */
const RETENTION_TIMEOUTS = 2;
const MAX_ALIASES = 1 << 16;
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

export class HandshakeTracker {
  readonly sources: SourceTable;
  readonly attempts: AttemptTable;
  readonly targets: TargetTable;
  readonly aliases = new AliasTable(MAX_ALIASES);
  readonly totals = new TrackerTotals();
  nowUs = 0;
  private events!: TrackerEvents;
  private readonly timeoutUs: number;
  private readonly retentionUs: number;
  private nextSweepUs = 0;
  /** How many of the oldest attempts are past the timeout check (the sweep resumes there). */
  private timedOutCount = 0;
  private readonly key = new Uint32Array(10);
  private readonly sourceKey = new Uint32Array(4);
  private readonly targetKey = new Uint32Array(5);
  /** Separate scratch for alias removal: it can run inside an insert that still needs `key`. */
  private readonly aliasKey = new Uint32Array(10);

  constructor(opts: TrackerOptions = DEFAULT_TRACKER_OPTIONS) {
    this.timeoutUs = opts.handshakeTimeoutUs;
    this.retentionUs = opts.handshakeTimeoutUs * RETENTION_TIMEOUTS;
    this.sources = new SourceTable(opts.maxSources);
    this.attempts = new AttemptTable(opts.maxAttempts);
    this.targets = new TargetTable(opts.maxTargets);
    this.attempts.onEvicting = (slot) => this.evictAttempt(slot);
  }

  setEvents(events: TrackerEvents): void {
    this.events = events;
  }

  /** Feed one decoded TCP segment. */
  onSegment(v: PacketView, tsUs: number): void {
    if (tsUs > this.nowUs) this.nowUs = tsUs;
    if (this.nowUs >= this.nextSweepUs) this.sweep();
    const flags = v.flags;
    if (flags & TCP_SYN) {
      if (flags & TCP_ACK) this.onSynAck(v);
      else this.onSyn(v);
    } else if (flags & TCP_RST) {
      this.totals.rst++;
      this.onRst(v);
    } else if (flags & TCP_ACK) {
      this.onAck(v);
    }
  }

  /** Advance packet time without a segment (live mode's idle ticks, end of capture). */
  advanceTo(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    if (this.nowUs >= this.nextSweepUs) this.sweep();
  }

  private onSyn(v: PacketView): void {
    const t = this.totals;
    t.synOnly++;
    const now = this.nowUs;
    const key = this.key;
    fillKey(key, v.src, v.dst, v.sport, v.dport, v.seq);
    const at = this.attempts;
    const h = at.hashKey(key);
    const existing = at.find(key, h);

    const src = this.sourceSlot(v.src);
    const sources = this.sources;
    sources.syn[src]++;
    sources.lastUs[src] = now;
    if (existing !== NONE) {
      t.synRetransmits++;
      this.events.onSyn(src, NONE, false, now);
      return;
    }

    const a = at.insert(key, h);
    at.setFirstUs(a, now);
    at.setStatus(a, OPEN);
    t.attempts++;
    if (v.payloadLen > 0) {
      t.synWithData++;
      at.setSynLen(a, v.payloadLen);
      this.addAlias(a, v.payloadLen);
    }

    sources.attempts[src]++;
    sources.halfOpen[src]++;
    sources.notePort(src, v.dport);

    const tk = this.targetKey;
    tk[0] = v.dst[0]; tk[1] = v.dst[1]; tk[2] = v.dst[2]; tk[3] = v.dst[3]; tk[4] = v.dport;
    const tt = this.targets;
    const target = tt.lookup(tk, now);
    tt.attempts[target]++;
    tt.lastUs[target] = now;

    this.events.onSyn(src, target, true, now);
  }

  private onSynAck(v: PacketView): void {
    this.totals.synAck++;
    // The SYN-ACK travels server -> client and acknowledges the client's ISN + 1 (+ SYN data).
    const a = this.findAttempt(v.dst, v.src, v.dport, v.sport, v.ack);
    if (a === NONE) {
      this.totals.unsolicitedSynAck++;
      this.events.onUnsolicitedSynAck(v, this.nowUs);
      return;
    }
    const at = this.attempts;
    const st = at.status(a);
    if (st & COMPLETED) return;
    at.setStatus(a, st | SYNACKED);
    at.setSynAck(a, v.seq, v.ack, v.payloadLen);
  }

  private onAck(v: PacketView): void {
    // A final ACK travels client -> server with seq = what the SYN-ACK acknowledged.
    const a = this.findAttempt(v.src, v.dst, v.sport, v.dport, v.seq);
    if (a === NONE) return;
    const at = this.attempts;
    const st = at.status(a);
    if (!(st & SYNACKED) || st & COMPLETED || at.synAckAck(a) !== v.seq) return;
    const expect = (at.synAckSeq(a) + 1) >>> 0;
    if (v.ack === expect || v.ack === ((expect + at.synAckLen(a)) >>> 0)) this.complete(a);
  }

  private onRst(v: PacketView): void {
    // From the client: seq = ISN + 1 (after a SYN-ACK, or an abort). From the server (port
    // closed, or refusing): RST+ACK acknowledging ISN + 1.
    let a = this.findAttempt(v.src, v.dst, v.sport, v.dport, v.seq);
    if (a !== NONE) {
      if (this.endIncomplete(a)) this.totals.clientResets++;
      return;
    }
    if (!(v.flags & TCP_ACK)) return;
    a = this.findAttempt(v.dst, v.src, v.dport, v.sport, v.ack);
    if (a !== NONE && this.endIncomplete(a)) this.totals.serverResets++;
  }

  /** The attempt whose "acknowledged value" (ISN + 1, or ISN + 1 + SYN data) is `acked`. */
  private findAttempt(client: Uint32Array, server: Uint32Array, cport: number, sport: number, acked: number): number {
    const key = this.key;
    fillKey(key, client, server, cport, sport, (acked - 1) >>> 0);
    const at = this.attempts;
    const a = at.find(key, at.hashKey(key));
    if (a !== NONE || this.aliases.size === 0) return a;
    const al = this.aliases;
    const alias = al.find(key, al.hashKey(key));
    if (alias === NONE) return NONE;
    key[KEY_ISN] = al.isn[alias];
    return at.find(key, at.hashKey(key));
  }

  private addAlias(a: number, payloadLen: number): void {
    const at = this.attempts;
    const key = this.key; // still holds this attempt's key
    const isn = key[KEY_ISN];
    key[KEY_ISN] = (isn + payloadLen) >>> 0;
    const al = this.aliases;
    const h = al.hashKey(key);
    if (al.find(key, h) === NONE) {
      const s = al.insert(key, h);
      al.isn[s] = isn;
      at.setStatus(a, at.status(a) | HAS_ALIAS);
    }
    key[KEY_ISN] = isn;
  }

  private complete(a: number): void {
    const at = this.attempts;
    const st = at.status(a);
    at.setStatus(a, (st & ~(OPEN | ENDED_INCOMPLETE)) | COMPLETED);
    this.totals.completed++;
    const src = this.findSourceOfAttempt(a);
    if (src !== NONE) {
      const s = this.sources;
      s.completed[src]++;
      if (st & OPEN) s.halfOpen[src]--;
      if (st & ENDED_INCOMPLETE) s.incomplete[src]--;
    }
    if (st & ENDED_INCOMPLETE) this.totals.lateCompletions++;
    const target = this.findTargetOfAttempt(a);
    if (target !== NONE) this.targets.completed[target]++;
    this.events.onAttemptEnd(src, true, this.nowUs);
  }

  /** End an open attempt as incomplete; false when it was not open. */
  private endIncomplete(a: number): boolean {
    const at = this.attempts;
    const st = at.status(a);
    if (!(st & OPEN)) return false;
    at.setStatus(a, (st & ~OPEN) | ENDED_INCOMPLETE);
    const src = this.findSourceOfAttempt(a);
    if (src !== NONE) {
      const s = this.sources;
      s.halfOpen[src]--;
      s.incomplete[src]++;
    }
    this.events.onAttemptEnd(src, false, this.nowUs);
    return true;
  }

  private evictAttempt(a: number): void {
    if (this.endIncomplete(a)) this.totals.evictedOpen++;
    this.forgetAttempt(a);
  }

  /** Bookkeeping before an attempt's slot goes away (retention or eviction). */
  private forgetAttempt(a: number): void {
    if (this.timedOutCount > 0) this.timedOutCount--; // `a` is the oldest: it was past the cursor
    const at = this.attempts;
    if (at.status(a) & HAS_ALIAS) {
      const key = this.aliasKey;
      for (let i = 0; i < ATTEMPT_KEY_WORDS; i++) key[i] = at.keyWord(a, i);
      key[KEY_ISN] = (key[KEY_ISN] + at.synLen(a)) >>> 0;
      const al = this.aliases;
      const s = al.find(key, al.hashKey(key));
      if (s !== NONE) al.remove(s);
    }
  }

  private sweep(): void {
    const now = this.nowUs;
    this.nextSweepUs = now + SWEEP_INTERVAL_US;
    const at = this.attempts;
    // Time out open attempts, oldest first; timedOutCount remembers where the last sweep stopped.
    for (let c = at.slotAt(this.timedOutCount); c !== NONE && at.firstUs(c) + this.timeoutUs <= now; c = at.slotAt(this.timedOutCount)) {
      if (this.endIncomplete(c)) this.totals.timedOut++;
      this.timedOutCount++;
    }
    // Drop ended attempts whose retention ran out.
    while (at.size > 0 && at.firstUs(at.head) + this.retentionUs <= now) {
      const o = at.head;
      if (at.status(o) & OPEN && this.endIncomplete(o)) this.totals.timedOut++;
      this.forgetAttempt(o);
      at.removeOldest();
    }
    this.events.onTime(now);
  }

  private sourceSlot(addr: Uint32Array): number {
    const k = this.sourceKey;
    k[0] = addr[0]; k[1] = addr[1]; k[2] = addr[2]; k[3] = addr[3];
    const s = this.sources;
    const h = s.hashKey(k);
    let slot = s.find(k, h);
    if (slot === NONE) {
      slot = s.insert(k, h);
      s.firstUs[slot] = this.nowUs;
    } else {
      s.touch(slot);
    }
    return slot;
  }

  private findSourceOfAttempt(a: number): number {
    const k = this.sourceKey;
    const at = this.attempts;
    k[0] = at.keyWord(a, 0); k[1] = at.keyWord(a, 1); k[2] = at.keyWord(a, 2); k[3] = at.keyWord(a, 3);
    return this.sources.find(k, this.sources.hashKey(k));
  }

  private findTargetOfAttempt(a: number): number {
    const k = this.targetKey;
    const at = this.attempts;
    k[0] = at.keyWord(a, 4); k[1] = at.keyWord(a, 5); k[2] = at.keyWord(a, 6); k[3] = at.keyWord(a, 7);
    k[4] = at.keyWord(a, KEY_PORTS) & 0xffff;
    return this.targets.find(k, this.targets.hashKey(k));
  }
}

function fillKey(key: Uint32Array, client: Uint32Array, server: Uint32Array, cport: number, sport: number, isn: number): void {
  key[0] = client[0]; key[1] = client[1]; key[2] = client[2]; key[3] = client[3];
  key[4] = server[0]; key[5] = server[1]; key[6] = server[2]; key[7] = server[3];
  key[KEY_PORTS] = ((cport << 16) | sport) >>> 0;
  key[KEY_ISN] = isn;
}
