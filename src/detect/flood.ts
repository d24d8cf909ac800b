/**
 * Flood as a whole: a CUSUM over unfinished handshakes per second of packet time (the method of
 * SYN-dog, Wang, Zhang & Shin, "Detecting SYN flooding attacks", INFOCOM 2002).
 *
 * Per one-second bucket n: D(n) = new attempts - completions; x(n) = D(n) / max(avg, floor)
 * where avg is an EWMA of attempts per second over quiet buckets (the site's normal load), and
 * y(n) = max(0, y(n-1) + x(n) - allowance). The alarm rises when y >= alarmLevel and the span
 * ends when y falls back to 0 (or the capture ends). Normalising by the normal load makes the
 * same defaults fit a quiet host and a busy server.
 *
 * A span is reported as `spoofed-flood` when most of its attempts came from sources that had no
 * earlier attempt (random spoofed addresses send one SYN each) and there were at least
 * minNewSources of them; otherwise as `syn-flood` (few real sources, flagged one by one).
 *
 * Mixed floods: a `syn-flood` span may still carry a spoofed part, e.g. a burst of random
 * addresses beside a few real attackers. When the span ends, its one-shot sources (first seen in
 * the span, one SYN, one attempt, nothing completed: known only in hindsight, since a bot's first
 * SYN is a new source too) are binned per second and put through the same CUSUM, with the
 * span's normaliser; every stretch that raises the alarm on its own with at least minNewSources
 * of them is reported as a `spoofed-flood` alert of its own (start and end: its first and last
 * one-shot attempt; count: its one-shot attempts; share: of the span's attempts), emitted after
 * the span's `syn-flood` alert, whose share is the rest and whose advice then covers both
 * parts. Sources evicted from the table before the span ends are not counted.
 *
 * Defaults, from the corpus: the smallest floods there (38 SYNs in < 1 ms; 1,001 SYNs over 32 s)
 * must alarm, and no benign capture may (their handshakes complete; a refused connection retried
 * a few times stays far below the floor of 20 attempts/s with an allowance of half of it).
 */
import { ADVICE, AddressCount, Alert, Endpoint, MIXED_ADVICE } from './alerts';
import { SourceTable } from '../track/sources';
import { TargetTable } from '../track/targets';
import { PacketClock } from '../track/clock';
import { wordsToIp } from '../decode/address';

export interface FloodOptions {
  /** Attempts per second assumed normal at the least (the normaliser's floor). */
  floorRate: number;
  /** Share of normal load that may go unfinished every second without raising y. */
  allowance: number;
  /** y at which the alarm rises. */
  alarmLevel: number;
  /** Share of a span's attempts from new sources that makes it spoofed. */
  spoofedShare: number;
  /** New sources a spoofed flood needs at the least. */
  minNewSources: number;
}

export const DEFAULT_FLOOD_OPTIONS: FloodOptions = {
  floorRate: 20,
  allowance: 0.5,
  alarmLevel: 1,
  spoofedShare: 0.5,
  minNewSources: 20,
};

const BUCKET_US = 1_000_000;
const EWMA_WEIGHT = 0.1;
const TOP_N = 5;
/** After this many empty seconds the CUSUM has long decayed to 0: stop stepping one by one. */
const MAX_EMPTY_STEPS = 3600;

export class FloodDetector {
  private bucketStartUs = -1;
  private bucketAttempts = 0;
  private bucketCompleted = 0;
  private bucketNewSource = 0;
  private bucketFirstAttemptUs = 0;
  private normalRate: number;
  private y = 0;
  private alarmed = false;
  /** Stamp for target counts: one per quiet bucket, one for a whole span (y > 0). */
  private stamp = 1;
  private spanStartUs = 0;
  private spanLastAttemptUs = 0;
  private spanAttempts = 0;
  private spanCompleted = 0;
  private spanNewSource = 0;
  private spanPeak = 0;
  private inSpan = false;
  private current: Alert | null = null;

  constructor(
    private readonly opts: FloodOptions,
    private readonly sources: SourceTable,
    private readonly targets: TargetTable,
    /** The time of onAttempt and onCompleted (clock.ts). */
    private readonly clock: PacketClock,
    private readonly onAlert: (alert: Alert, phase: 'start' | 'end') => void,
  ) {
    this.normalRate = opts.floorRate;
    this.settleShape();
  }

  /**
   * Gives every field now the representation and mutability it has after the first second, with
   * the same values. V8 types a field by its first values (a small integer: an integer field; one
   * never written again: a constant), and the first bucket close changed both (y, normalRate and
   * spanStartUs become doubles; stamp, inSpan, alarmed... are written). That changed this object's
   * map and deoptimized the per-SYN code compiled against it (onAttempt is inlined into the
   * tracker's SYN path): on the bench flood, startAttempt and onSyn were compiled again, 10-27 ms
   * of compiler time in the warm-up, while the main thread ran the baseline code.
   */
  private settleShape(): void {
    const doubles = ['bucketStartUs', 'bucketFirstAttemptUs', 'normalRate', 'y', 'spanStartUs', 'spanLastAttemptUs'] as const;
    for (const f of doubles) {
      const v = this[f];
      this[f] = 0.5;
      this[f] = v;
    }
    const counters = ['bucketAttempts', 'bucketCompleted', 'bucketNewSource', 'stamp', 'spanAttempts', 'spanCompleted', 'spanNewSource', 'spanPeak'] as const;
    for (const f of counters) this[f] = this[f] + 0;
    this.alarmed = !this.alarmed;
    this.alarmed = !this.alarmed;
    this.inSpan = !this.inSpan;
    this.inSpan = !this.inSpan;
    this.current = null;
  }

  /** An alarm is up: a flood is under way (the crowd rule of detector.ts reads it per SYN). */
  get attackOn(): boolean {
    return this.alarmed;
  }

  onAttempt(src: number, target: number): void {
    const tsUs = this.clock.nowUs;
    // roll() only when a second is over: no double argument on the per-SYN path (clock.ts).
    if (this.bucketStartUs < 0 || tsUs >= this.bucketStartUs + BUCKET_US) this.roll(tsUs);
    if (this.bucketAttempts === 0) this.bucketFirstAttemptUs = tsUs;
    this.bucketAttempts++;
    if (this.sources.attempts[src] === 1) this.bucketNewSource++;
    if (target >= 0) this.targets.countSpanAttempt(target, this.stamp);
    this.spanLastAttemptUs = tsUs;
  }

  onCompleted(): void {
    const tsUs = this.clock.nowUs;
    if (this.bucketStartUs < 0 || tsUs >= this.bucketStartUs + BUCKET_US) this.roll(tsUs);
    this.bucketCompleted++;
  }

  onTime(nowUs: number): void {
    this.roll(nowUs);
  }

  /** End of input: close the last bucket and any open span. */
  finish(endUs: number): void {
    if (this.bucketStartUs < 0) return;
    this.closeBucket();
    if (this.alarmed) this.endSpan(Math.max(this.spanLastAttemptUs, Math.min(endUs, this.bucketStartUs + BUCKET_US)));
    this.bucketStartUs = -1;
  }

  private roll(tsUs: number): void {
    if (this.bucketStartUs < 0) {
      this.bucketStartUs = tsUs - (tsUs % BUCKET_US);
      return;
    }
    if (tsUs < this.bucketStartUs + BUCKET_US) return;
    this.closeBucket();
    let steps = 0;
    this.bucketStartUs += BUCKET_US;
    while (tsUs >= this.bucketStartUs + BUCKET_US) {
      if (++steps > MAX_EMPTY_STEPS || (this.y === 0 && !this.inSpan)) {
        if (this.alarmed) this.endSpan(this.spanLastAttemptUs);
        this.y = 0;
        this.inSpan = false;
        this.bucketStartUs = tsUs - (tsUs % BUCKET_US);
        break;
      }
      this.closeBucket(); // an empty second
      this.bucketStartUs += BUCKET_US;
    }
  }

  /** Fold the current bucket into the CUSUM and reset it. */
  private closeBucket(): void {
    const a = this.bucketAttempts;
    const d = a - this.bucketCompleted;
    const x = d / Math.max(this.normalRate, this.opts.floorRate);
    const y = Math.max(0, this.y + x - this.opts.allowance);
    if (y > 0 && !this.inSpan) this.startSpan();
    if (this.inSpan) {
      this.spanAttempts += a;
      this.spanCompleted += this.bucketCompleted;
      this.spanNewSource += this.bucketNewSource;
      if (a > this.spanPeak) this.spanPeak = a;
    } else {
      this.normalRate = (1 - EWMA_WEIGHT) * this.normalRate + EWMA_WEIGHT * a;
    }
    this.y = y;
    if (!this.alarmed && y >= this.opts.alarmLevel) {
      this.alarmed = true;
      this.current = this.snapshot(this.bucketStartUs + BUCKET_US);
      this.onAlert(this.current, 'start');
    } else if (y === 0 && this.inSpan) {
      if (this.alarmed) this.endSpan(this.spanLastAttemptUs);
      this.inSpan = false;
    }
    if (!this.inSpan) this.stamp++; // a quiet bucket's target counts belong to no span
    this.bucketAttempts = 0;
    this.bucketCompleted = 0;
    this.bucketNewSource = 0;
  }

  private startSpan(): void {
    this.inSpan = true;
    // The span starts with its first attempt (not at the second boundary of its first bucket).
    this.spanStartUs = this.bucketAttempts > 0 ? this.bucketFirstAttemptUs : this.bucketStartUs;
    this.spanAttempts = 0;
    this.spanCompleted = 0;
    this.spanNewSource = 0;
    this.spanPeak = 0;
  }

  private endSpan(endUs: number): void {
    const alert = this.snapshot(endUs);
    const parts = alert.kind === 'syn-flood' ? this.spoofedParts(alert) : [];
    if (parts.length > 0) {
      let rest = alert.count;
      for (const p of parts) rest -= p.count;
      alert.share = shareOf(rest, alert.count);
      alert.advice = MIXED_ADVICE.repeat;
    }
    this.alarmed = false;
    this.inSpan = false;
    this.current = null;
    this.onAlert(alert, 'end');
    for (const p of parts) {
      this.onAlert(p, 'start');
      this.onAlert(p, 'end');
    }
  }

  /**
   * The spoofed parts of a span that ends as a syn-flood (see the file contract). Runs once per
   * span, over the source table: allocation here is per span, not per packet.
   */
  private spoofedParts(span: Alert): Alert[] {
    const s = this.sources;
    const times: number[] = [];
    s.table.forEachOldestFirst((slot) => {
      if (s.attempts[slot] === 1 && s.syn[slot] === 1 && s.completed[slot] === 0 && s.firstUs[slot] >= span.startUs) times.push(s.firstUs[slot]);
    });
    if (times.length < this.opts.minNewSources) return [];
    times.sort((a, b) => a - b);
    const o = this.opts;
    const norm = Math.max(this.normalRate, o.floorRate);
    const parts: Alert[] = [];
    let y = 0;
    let open = false;
    let alarmed = false;
    let first = 0, last = 0, n = 0, peak = 0;
    const close = () => {
      if (open && alarmed && n >= o.minNewSources) {
        parts.push({
          kind: 'spoofed-flood', startUs: first, endUs: last, count: n, completed: 0, peakRate: peak,
          newSourceAttempts: n, share: shareOf(n, span.count), targets: span.targets, sources: [],
          advice: MIXED_ADVICE.oneShot,
        });
      }
      open = false;
    };
    let prevBucket = -1;
    for (let i = 0; i < times.length;) {
      const bucket = Math.floor(times[i] / BUCKET_US);
      let j = i;
      while (j < times.length && Math.floor(times[j] / BUCKET_US) === bucket) j++;
      const count = j - i;
      if (prevBucket >= 0 && bucket - prevBucket > 1) {
        y = Math.max(0, y - o.allowance * (bucket - prevBucket - 1)); // the empty seconds between
        if (y === 0) close();
      }
      // As closeBucket: a stretch starts when y leaves 0 and takes every bucket until y is 0 again.
      y = Math.max(0, y + count / norm - o.allowance);
      if (y > 0 && !open) {
        open = true;
        alarmed = false;
        first = times[i];
        n = 0;
        peak = 0;
      }
      if (open) {
        n += count;
        last = times[j - 1];
        if (count > peak) peak = count;
        if (y >= o.alarmLevel) alarmed = true;
      }
      if (y === 0) close();
      prevBucket = bucket;
      i = j;
    }
    close();
    return parts;
  }

  private snapshot(endUs: number): Alert {
    const spoofed =
      this.spanNewSource >= this.opts.minNewSources &&
      this.spanNewSource >= this.opts.spoofedShare * this.spanAttempts;
    const kind = spoofed ? 'spoofed-flood' : 'syn-flood';
    return {
      kind,
      startUs: this.spanStartUs,
      endUs: Math.max(endUs, this.spanStartUs),
      count: this.spanAttempts,
      completed: this.spanCompleted,
      peakRate: this.spanPeak,
      newSourceAttempts: this.spanNewSource,
      share: 1,
      targets: this.topTargets(),
      sources: spoofed ? [] : this.topSources(),
      advice: ADVICE[kind],
    };
  }

  private topTargets(): Endpoint[] {
    const t = this.targets;
    const top: Endpoint[] = [];
    t.table.forEachOldestFirst((s) => {
      if (t.spanStamp[s] !== this.stamp) return;
      const n = t.spanAttempts[s];
      if (top.length === TOP_N && n <= top[TOP_N - 1].attempts) return;
      const base = s * t.table.keyWords;
      top.push({ ip: wordsToIp(t.table.keys, base), port: t.table.keys[base + 4], attempts: n });
      top.sort(byAttemptsThenAddress);
      if (top.length > TOP_N) top.pop();
    });
    return top;
  }

  private topSources(): AddressCount[] {
    const s = this.sources;
    const top: AddressCount[] = [];
    s.table.forEachOldestFirst((slot) => {
      if (s.lastUs[slot] < this.spanStartUs) return;
      const n = s.attempts[slot] - s.completed[slot];
      // One unfinished attempt is no top sender: a mixed flood's one-shot part ties hundreds at 1.
      if (n <= 1 || (top.length === TOP_N && n <= top[TOP_N - 1].count)) return;
      top.push({ ip: wordsToIp(s.table.keys, slot * s.table.keyWords), count: n });
      top.sort((a, b) => b.count - a.count || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
      if (top.length > TOP_N) top.pop();
    });
    return top;
  }
}

/** part / whole, rounded to 4 decimals (a report reads 0.1587, not 0.15873015873015872). */
function shareOf(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1e4) / 1e4 : 0;
}

export function byAttemptsThenAddress(a: Endpoint, b: Endpoint): number {
  return b.attempts - a.attempts || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port);
}
