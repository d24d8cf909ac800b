/**
 * SYN-ACKs that acknowledge no SYN seen here: reflection (someone spoofs our address to make
 * servers answer us) or backscatter. Their senders are reflectors, not attackers: they are
 * counted here and never enter the per-source table, so they can never be flagged or blocked.
 *
 * A span is a run of such SYN-ACKs with gaps shorter than gapUs; it becomes an alert once it
 * holds minSynAcks of them. A capture that starts mid-connection sees a few unsolicited SYN-ACKs
 * legitimately: the minimum keeps those quiet (the corpus's benign captures have at most 3).
 */
import { ADVICE, AddressCount, Alert, Endpoint } from './alerts';
import { FlowTable, resized } from '../track/flow-table';
import { PacketView } from '../decode/packet';
import { wordsToIp } from '../decode/address';
import { byAttemptsThenAddress } from './flood';
import { PacketClock } from '../track/clock';

export interface BackscatterOptions {
  minSynAcks: number;
  gapUs: number;
}

export const DEFAULT_BACKSCATTER_OPTIONS: BackscatterOptions = { minSynAcks: 20, gapUs: 60e6 };

const MAX_ENTRIES = 1 << 14;
const TOP_N = 5;

/** Counts per key within the current span (stamped, so a new span needs no clearing). */
class SpanCounter {
  readonly table: FlowTable;
  count: Float64Array;
  stamp: Uint32Array;

  constructor(keyWords: number, maxEntries: number) {
    this.table = new FlowTable(keyWords, maxEntries, { grow: (n) => this.growValues(n), evict() {} });
    this.count = new Float64Array(this.table.capacity);
    this.stamp = new Uint32Array(this.table.capacity);
  }

  add(key: Uint32Array, stamp: number): void {
    const t = this.table;
    const h = t.hashKey(key);
    let s = t.find(key, h);
    if (s === -1) {
      s = t.insert(key, h);
      this.stamp[s] = stamp - 1; // a reused slot's old stamp must not match: the count restarts below
    } else {
      t.touch(s);
    }
    if (this.stamp[s] !== stamp) {
      this.stamp[s] = stamp;
      this.count[s] = 0;
    }
    this.count[s]++;
  }

  private growValues(n: number): void {
    this.count = resized(this.count, n);
    this.stamp = resized(this.stamp, n);
  }
}

export class BackscatterDetector {
  private readonly reflectors = new SpanCounter(4, MAX_ENTRIES);
  private readonly victims = new SpanCounter(5, MAX_ENTRIES);
  private readonly key = new Uint32Array(5);
  private stamp = 0;
  private count = 0;
  private startUs = 0;
  private lastUs = -1;
  private secondStartUs = 0;
  private secondCount = 0;
  private peak = 0;
  private alerted = false;

  constructor(
    private readonly opts: BackscatterOptions,
    /** The time of onUnsolicitedSynAck (clock.ts: one call per packet of a reflection flood). */
    private readonly clock: PacketClock,
    private readonly onAlert: (alert: Alert, phase: 'start' | 'end') => void,
  ) {}

  onUnsolicitedSynAck(v: PacketView): void {
    const tsUs = this.clock.nowUs;
    if (this.lastUs < 0 || tsUs - this.lastUs > this.opts.gapUs) {
      this.finish();
      this.stamp++;
      this.count = 0;
      this.peak = 0;
      this.startUs = tsUs;
      this.secondStartUs = tsUs;
      this.secondCount = 0;
    }
    this.lastUs = tsUs;
    this.count++;
    if (tsUs - this.secondStartUs >= 1e6) {
      this.secondStartUs = tsUs;
      this.secondCount = 0;
    }
    if (++this.secondCount > this.peak) this.peak = this.secondCount;
    const k = this.key;
    k[0] = v.src[0]; k[1] = v.src[1]; k[2] = v.src[2]; k[3] = v.src[3];
    this.reflectors.add(k, this.stamp);
    k[0] = v.dst[0]; k[1] = v.dst[1]; k[2] = v.dst[2]; k[3] = v.dst[3]; k[4] = v.dport;
    this.victims.add(k, this.stamp);
    if (!this.alerted && this.count >= this.opts.minSynAcks) {
      this.alerted = true;
      this.onAlert(this.snapshot(), 'start');
    }
  }

  /** Close the current span (end of input, or a long enough gap). */
  finish(): void {
    if (this.alerted) this.onAlert(this.snapshot(), 'end');
    this.alerted = false;
  }

  private snapshot(): Alert {
    return {
      kind: 'backscatter',
      startUs: this.startUs,
      endUs: this.lastUs,
      count: this.count,
      completed: 0,
      peakRate: this.peak,
      newSourceAttempts: 0,
      share: 1,
      targets: this.topVictims(),
      sources: this.topReflectors(),
      advice: ADVICE.backscatter,
    };
  }

  private topReflectors(): AddressCount[] {
    const r = this.reflectors;
    const top: AddressCount[] = [];
    r.table.forEachOldestFirst((s) => {
      if (r.stamp[s] !== this.stamp) return;
      top.push({ ip: wordsToIp(r.table.keys, s * 4), count: r.count[s] });
    });
    top.sort((a, b) => b.count - a.count || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    return top.slice(0, TOP_N);
  }

  private topVictims(): Endpoint[] {
    const v = this.victims;
    const top: Endpoint[] = [];
    v.table.forEachOldestFirst((s) => {
      if (v.stamp[s] !== this.stamp) return;
      top.push({ ip: wordsToIp(v.table.keys, s * 5), port: v.table.keys[s * 5 + 4], attempts: v.count[s] });
    });
    top.sort(byAttemptsThenAddress);
    return top.slice(0, TOP_N);
  }
}
