/**
 * The capture as time series, for `--json`'s `timeline` and the HTML report's charts.
 *
 * Contract: `new Timeline(tracker, capture)` registers itself as the tracker's TimeMarks; the tracker then
 * calls `mark(nowUs)` in packet time (never per segment: only when a mark is reached), and the
 * timeline reads the tracker's cumulative counters there. The hot path pays one compare per
 * segment and the counter increments it already made; nothing is allocated per packet. Call
 * `finish()` once after the last packet, then `toReport()`.
 *
 * Bins: packet time from `originUs` (the capture's first packet, `capture.firstUs`, TCP or not,
 * floored to its UTC second; null only for a capture without packets) in bins of
 * `widthUs`, a power of two times one second (from 2^-10 s up). At most MAX_BINS are used: the
 * width starts at the finest and doubles, merging neighbours pairwise, whenever the capture
 * outgrows MAX_BINS bins. A streaming reader does not know the capture's length in advance; this
 * way the bins end up sized to it (between MAX_BINS/2 and MAX_BINS of them, unless the capture is
 * shorter than MAX_BINS of the finest) without a second pass.
 *
 * Per series and bin: `count` (events in the bin), and `min` and `max` of the rate (events per
 * second) measured over `rateSeconds`-long samples inside the bin: samples are one second long
 * when bins are longer than a second (then min and max are the quietest and busiest second of the
 * bin), else the bin itself (min = max = count / binSeconds). Samples are aligned to the bins, so
 * the capture's first and last second may be partly outside it and read low.
 *
 * Series (cumulative counters of track/, sampled at the marks): syn (SYN without ACK,
 * retransmissions included), synAck, rst, attempts (new handshake attempts), completed
 * (handshakes completed, counted when the final ACK is seen), newSources (sources first seen, or
 * seen again after their eviction from the source table).
 */
import { HandshakeTracker, TimeMarks } from '../track/tracker';
import { isoUs } from './time';

export const MAX_BINS = 1024;
const SECOND_US = 1e6;
/** The finest bin, 2^-10 s (~0.98 ms): exact in binary floating point, as are all its doublings. */
const FINEST_US = SECOND_US / 1024;

export const TIMELINE_SERIES = ['syn', 'synAck', 'rst', 'attempts', 'completed', 'newSources'] as const;
export type TimelineSeriesName = (typeof TIMELINE_SERIES)[number];
const N_SERIES = TIMELINE_SERIES.length;

export interface TimelineSeries {
  count: number[];
  min: number[];
  max: number[];
}

export interface TimelineReport {
  /** Start of the first bin (ISO-8601 UTC, packet time). */
  start: string;
  binSeconds: number;
  /** Length of the samples min and max are rates over (see the file contract). */
  rateSeconds: number;
  bins: number;
  series: Record<TimelineSeriesName, TimelineSeries>;
}

export class Timeline implements TimeMarks {
  private originUs = -1;
  private widthUs = FINEST_US;
  /** Bins in use: the last one holds the open sample. */
  private used = 0;
  /** [series * MAX_BINS + bin]. min is +Infinity until a sample lands in the bin. */
  private readonly count = new Float64Array(N_SERIES * MAX_BINS);
  private readonly min = new Float64Array(N_SERIES * MAX_BINS).fill(Infinity);
  private readonly max = new Float64Array(N_SERIES * MAX_BINS);
  /** The counters at the start of the open sample. */
  private readonly base = new Float64Array(N_SERIES);
  private readonly now = new Float64Array(N_SERIES);
  private sampleStartUs = 0;
  private finished = false;

  constructor(
    private readonly tracker: HandshakeTracker,
    /** The first packet's time (-1 before it): the pipeline, which sees every record before the tracker does. */
    private readonly capture: { readonly firstUs: number },
  ) {
    tracker.setMarks(this);
  }

  private get sampleUs(): number {
    return Math.min(this.widthUs, SECOND_US);
  }

  private read(into: Float64Array): void {
    const t = this.tracker.totals;
    into[0] = t.synOnly;
    into[1] = t.synAck;
    into[2] = t.rst;
    into[3] = t.attempts;
    into[4] = t.completed;
    into[5] = this.tracker.sources.inserts;
  }

  mark(nowUs: number): number {
    if (this.originUs < 0) {
      const first = this.capture.firstUs >= 0 ? Math.min(this.capture.firstUs, nowUs) : nowUs;
      this.originUs = Math.floor(first / SECOND_US) * SECOND_US;
      while (this.binOf(nowUs) >= MAX_BINS) this.widthUs *= 2; // nothing to merge yet
      this.read(this.base);
      this.openSampleAt(nowUs);
      return this.sampleStartUs + this.sampleUs;
    }
    this.closeSample();
    while (this.binOf(nowUs) >= MAX_BINS) this.mergePairs();
    const closedAt = this.sampleStartUs;
    this.openSampleAt(nowUs);
    // Whole samples with no mark between the closed one and this one were quiet: a rate of 0.
    if (this.widthUs > SECOND_US && this.sampleStartUs - closedAt > SECOND_US) {
      const first = this.binOf(closedAt + SECOND_US);
      const last = this.binOf(this.sampleStartUs - SECOND_US);
      for (let b = Math.max(first, 0); b <= last; b++) for (let s = 0; s < N_SERIES; s++) this.min[s * MAX_BINS + b] = 0;
    }
    return this.sampleStartUs + this.sampleUs;
  }

  /** After the last packet, once the tracker has processed everything (Pipeline.finish): close the open sample. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.originUs >= 0) this.closeSample();
  }

  toReport(): TimelineReport | null {
    if (this.originUs < 0) return null;
    const n = this.used;
    const binSeconds = this.widthUs / SECOND_US;
    const series = {} as Record<TimelineSeriesName, TimelineSeries>;
    TIMELINE_SERIES.forEach((name, s) => {
      const count: number[] = [], min: number[] = [], max: number[] = [];
      for (let b = 0; b < n; b++) {
        const i = s * MAX_BINS + b;
        count.push(this.count[i]);
        if (this.widthUs <= SECOND_US) {
          const r = round3(this.count[i] / binSeconds);
          min.push(r);
          max.push(r);
        } else {
          min.push(this.min[i] === Infinity ? 0 : round3(this.min[i]));
          max.push(round3(this.max[i]));
        }
      }
      series[name] = { count, min, max };
    });
    return { start: isoUs(this.originUs), binSeconds, rateSeconds: this.sampleUs / SECOND_US, bins: n, series };
  }

  private binOf(us: number): number {
    return Math.floor((us - this.originUs) / this.widthUs);
  }

  private openSampleAt(nowUs: number): void {
    const s = this.sampleUs;
    this.sampleStartUs = this.originUs + Math.floor((nowUs - this.originUs) / s) * s;
    const b = this.binOf(this.sampleStartUs);
    if (b + 1 > this.used) this.used = b + 1;
  }

  /** Adds the counts since the open sample began to its bin. */
  private closeSample(): void {
    const b = this.binOf(this.sampleStartUs);
    const sampleSeconds = this.sampleUs / SECOND_US;
    this.read(this.now);
    for (let s = 0; s < N_SERIES; s++) {
      const d = this.now[s] - this.base[s];
      this.base[s] = this.now[s];
      const i = s * MAX_BINS + b;
      this.count[i] += d;
      if (this.widthUs > SECOND_US) {
        const r = d / sampleSeconds;
        if (r < this.min[i]) this.min[i] = r;
        if (r > this.max[i]) this.max[i] = r;
      }
    }
  }

  /** Doubles the bin width: bin j becomes bins 2j and 2j+1. */
  private mergePairs(): void {
    const toSeconds = this.widthUs === SECOND_US; // 1 s bins were samples: their rate seeds min and max
    const used = this.used;
    for (let s = 0; s < N_SERIES; s++) {
      const o = s * MAX_BINS;
      for (let j = 0; 2 * j < used; j++) {
        const a = o + 2 * j, b = a + 1;
        const hasB = 2 * j + 1 < used;
        const ca = this.count[a], cb = hasB ? this.count[b] : 0;
        let lo: number, hi: number;
        if (toSeconds) {
          lo = hasB ? Math.min(ca, cb) : ca;
          hi = hasB ? Math.max(ca, cb) : ca;
        } else {
          lo = hasB ? Math.min(this.min[a], this.min[b]) : this.min[a];
          hi = hasB ? Math.max(this.max[a], this.max[b]) : this.max[a];
        }
        this.count[o + j] = ca + cb;
        this.min[o + j] = lo;
        this.max[o + j] = hi;
      }
      const half = (used + 1) >> 1;
      this.count.fill(0, o + half, o + MAX_BINS);
      this.min.fill(Infinity, o + half, o + MAX_BINS);
      this.max.fill(0, o + half, o + MAX_BINS);
    }
    this.used = (used + 1) >> 1;
    this.widthUs *= 2;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
