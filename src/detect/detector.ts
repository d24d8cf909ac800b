/**
 * Detection policy over the tracker's facts.
 *
 * Per source (evaluated on every new attempt, so a flag always carries the time of the SYN that
 * crossed the line):
 *   flag when the source has at least 2 attempts, has completed at most maxCompletionRatio of
 *   them, and either
 *     (a) it holds `threshold` or more half-open attempts at once (the classic SYN_RECV count,
 *         seen from the wire instead of from netstat), or
 *     (b) `windowIncomplete` or more of its attempts ended incomplete (reset or timed out) within
 *         the last `window` seconds: a scan against closed ports is reset at once and never
 *         holds many half-open.
 *   The reason is `scan` when the source spreads its attempts over many destination ports
 *   (see classify), else `flood`. A source with one attempt is never flagged (spoofed floods send one SYN per
 *   address), nor one that completes its handshakes.
 * Defaults, from the corpus (../shared/corpus/README.md verdicts): the slowest attacker there
 * (136.243.174.154, one SYN every 5 s, never answered) holds ~12 half-open with the 63 s
 * timeout, so threshold 10 flags it; legitimate hosts there complete nearly everything, and a
 * refused connection retried a few times (2 incomplete) stays far below both lines.
 *
 * The crowd rule (reason `crowd`): while a flood alarm is up (FloodDetector.attackOn), flag a
 * source that stays under the lines above but has made `crowdAttempts` or more attempts, has
 * completed none of them, and has never retransmitted a SYN (every SYN a new attempt). A botnet
 * is hundreds of such sources, each too quiet alone: a bot with one SYN every 9 s holds 7 half-open
 * attempts and never reaches 20 incomplete ones in 60 s. The three conditions keep the rule off
 * the others: a one-shot spoofed source has one attempt (random addresses collide into two now
 * and then: 46 of 37,623 in the StopDDoS spoofed capture, none into three); a legitimate client
 * completes handshakes, and one whose SYNs go unanswered is a TCP stack that retransmits them
 * (127.0.0.1 in the thekrishnanand capture: 62 attempts during a spoofed flood, 307 SYNs),
 * where a raw-socket bot sends each SYN once. Default 4: one fewer than most unanswered clients
 * would need, and a bot with the slowest period of the botnet (9 s) gets its 4th attempt
 * within ~30 s of the attack's start. A crowd whose members retransmit is left to the
 * single-source rules.
 *
 * Floods as a whole and backscatter are delegated to FloodDetector and BackscatterDetector.
 */
import { ActivityEvent, FlagEvent, FlagReason } from './events';
import { PacketView } from '../decode/packet';
import { familyOf, wordsToIp } from '../decode/address';
import { SourceTable } from '../track/sources';
import { TrackerEvents, HandshakeTracker } from '../track/tracker';
import { Alert } from './alerts';
import { BackscatterDetector, BackscatterOptions, DEFAULT_BACKSCATTER_OPTIONS } from './backscatter';
import { DEFAULT_FLOOD_OPTIONS, FloodDetector, FloodOptions } from './flood';

export interface DetectorOptions {
  threshold: number;
  windowUs: number;
  windowIncomplete: number;
  maxCompletionRatio: number;
  scanPorts: number;
  /** The crowd rule's attempts (see the file contract). */
  crowdAttempts: number;
  /** A flagged source that keeps sending SYNs is reported active at most this often. */
  activityIntervalUs: number;
  flood: FloodOptions;
  backscatter: BackscatterOptions;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  threshold: 10,
  windowUs: 60e6,
  windowIncomplete: 20,
  maxCompletionRatio: 0.2,
  scanPorts: 16,
  crowdAttempts: 4,
  activityIntervalUs: 1e6,
  flood: DEFAULT_FLOOD_OPTIONS,
  backscatter: DEFAULT_BACKSCATTER_OPTIONS,
};

export interface DetectorSink {
  onFlag(ev: FlagEvent): void;
  onActivity(ev: ActivityEvent): void;
  onAlert(alert: Alert, phase: 'start' | 'end'): void;
  /** Packet time advanced (every tracker sweep, ~100 ms of packet time): drives block TTLs. */
  onTime(nowUs: number): void;
}

/** A flagged source as the report shows it; counts refreshed from the table at report time. */
export interface FlaggedSource {
  ip: string;
  family: 4 | 6;
  words: Uint32Array;
  firstSeenUs: number;
  flaggedUs: number;
  reason: FlagReason;
  syn: number;
  attempts: number;
  completed: number;
  incomplete: number;
  halfOpenAtFlag: number;
  distinctPorts: number;
}

/**
 * Scan or flood. A scan spreads its attempts over ports: more than `scanPorts` distinct ones, or
 * (early, at flag time) a new port for at least every second attempt. A flood hammers a few.
 */
export function classify(distinctPorts: number, attempts: number, scanPorts: number): FlagReason {
  return distinctPorts > scanPorts || (distinctPorts >= 4 && 2 * distinctPorts >= attempts) ? 'scan' : 'flood';
}

export class Detector implements TrackerEvents {
  readonly flagged: FlaggedSource[] = [];
  readonly flood: FloodDetector;
  readonly backscatter: BackscatterDetector;
  private readonly sources: SourceTable;

  constructor(
    private readonly opts: DetectorOptions,
    /** Its `nowUs` is the time of its onSyn and onAttemptEnd events (TrackerEvents). */
    private readonly tracker: HandshakeTracker,
    private readonly sink: DetectorSink,
  ) {
    this.sources = tracker.sources;
    const onAlert = (a: Alert, phase: 'start' | 'end') => sink.onAlert(a, phase);
    this.flood = new FloodDetector(opts.flood, tracker.sources, tracker.targets, tracker, onAlert);
    this.backscatter = new BackscatterDetector(opts.backscatter, tracker, onAlert);
    tracker.sources.onFlaggedEvict = (slot) => this.refresh(this.flaggedBySlot(slot), slot);
    tracker.setEvents(this);
  }

  onSyn(src: number, target: number, newAttempt: boolean): void {
    const tsUs = this.tracker.nowUs;
    const s = this.sources;
    if (newAttempt) {
      this.flood.onAttempt(src, target);
      if (s.flaggedUs[src] === 0) {
        this.evaluate(src);
        return;
      }
    }
    if (s.flaggedUs[src] !== 0 && tsUs - s.lastActivityUs[src] >= this.opts.activityIntervalUs) {
      s.lastActivityUs[src] = tsUs;
      const f = this.flagged[s.flagIndex[src]]; // its text was made once, at flag time
      this.sink.onActivity({ ip: f.ip, family: f.family, tsUs });
    }
  }

  onAttemptEnd(src: number, completed: boolean): void {
    if (completed) this.flood.onCompleted();
    else if (src >= 0) this.sources.countIncompleteInWindow(src, this.opts.windowUs);
  }

  onUnsolicitedSynAck(v: PacketView): void {
    this.backscatter.onUnsolicitedSynAck(v);
  }

  onTime(nowUs: number): void {
    this.flood.onTime(nowUs);
    this.sink.onTime(nowUs);
  }

  /** End of input: close open spans. */
  finish(endUs: number): void {
    this.flood.finish(endUs);
    this.backscatter.finish();
  }

  /** Refresh every flagged source's counts from the table (those still in it). */
  refreshAll(): void {
    const s = this.sources;
    for (const f of this.flagged) {
      const slot = s.table.find(f.words, s.table.hashKey(f.words));
      if (slot >= 0 && s.flaggedUs[slot] === f.flaggedUs) this.refresh(f, slot);
    }
  }

  private evaluate(src: number): void {
    const tsUs = this.tracker.nowUs;
    const s = this.sources;
    const o = this.opts;
    const attempts = s.attempts[src];
    if (attempts < 2 || s.completed[src] > o.maxCompletionRatio * attempts) return;
    const single = s.halfOpen[src] >= o.threshold || s.incompleteInWindow(src, o.windowUs) >= o.windowIncomplete;
    if (!single && !(attempts >= o.crowdAttempts && s.completed[src] === 0 && s.syn[src] === attempts && this.flood.attackOn)) return;
    const ports = s.distinctPorts(src);
    const reason: FlagReason = single ? classify(ports, attempts, o.scanPorts) : 'crowd';
    s.flaggedUs[src] = tsUs;
    s.lastActivityUs[src] = tsUs;
    const base = src * s.table.keyWords;
    const words = s.table.keys.slice(base, base + 4);
    const f: FlaggedSource = {
      ip: wordsToIp(words),
      family: familyOf(words),
      words,
      firstSeenUs: s.firstUs[src],
      flaggedUs: tsUs,
      reason,
      syn: 0, attempts: 0, completed: 0, incomplete: 0,
      halfOpenAtFlag: s.halfOpen[src],
      distinctPorts: ports,
    };
    this.refresh(f, src);
    s.flagIndex[src] = this.flagged.length;
    this.flagged.push(f);
    this.sink.onFlag({
      ip: f.ip, family: f.family, tsUs, reason,
      halfOpen: f.halfOpenAtFlag, attempts: f.attempts, completed: f.completed,
      incomplete: f.incomplete, distinctPorts: ports,
      synPerSecond: f.syn / Math.max(1, (tsUs - f.firstSeenUs) / 1e6),
    });
  }

  private flaggedBySlot(slot: number): FlaggedSource | undefined {
    const s = this.sources;
    const flaggedUs = s.flaggedUs[slot];
    const base = slot * s.table.keyWords;
    return this.flagged.find((f) => f.flaggedUs === flaggedUs &&
      f.words[0] === s.table.keys[base] && f.words[1] === s.table.keys[base + 1] &&
      f.words[2] === s.table.keys[base + 2] && f.words[3] === s.table.keys[base + 3]);
  }

  private refresh(f: FlaggedSource | undefined, slot: number): void {
    if (!f) return;
    const s = this.sources;
    f.syn = s.syn[slot];
    f.attempts = s.attempts[slot];
    f.completed = s.completed[slot];
    // Not completed = ended incomplete + still half-open.
    f.incomplete = s.attempts[slot] - s.completed[slot];
    f.distinctPorts = s.distinctPorts(slot);
  }
}
