/**
 * What `synwatch live` counts about its decisions, flags and alerts, for the metrics endpoint and
 * the status socket (src/observe/metrics.ts, status-snapshot.ts).
 *
 * Contract: the runner calls countFlag / countDecision / countAlert from its session hooks, once
 * per event (a flag, a decision, an alert start or end: never per packet; the rate cap bounds
 * decisions to --max-new-blocks-per-second). Each call is a typed-array increment; readers copy
 * the arrays at scrape or status time. Label values are closed sets (the enums below): never an
 * address, so a spoofed flood makes no new series.
 */
import { Alert, AlertKind } from '../detect/alerts';
import { FlagReason } from '../detect/events';
import { DecisionAction } from '../enforce/contract';

export const FLAG_REASONS: readonly FlagReason[] = ['flood', 'scan', 'crowd'];
export const DECISION_ACTIONS: readonly DecisionAction[] = ['block', 'renew', 'unblock', 'skip', 'deferred', 'alert'];
export const ALERT_KINDS: readonly AlertKind[] = ['syn-flood', 'spoofed-flood', 'backscatter'];

/**
 * Upper bounds (seconds) of the detection-latency histogram: SYN time to route confirmed. A block
 * takes ~0.3-3 ms on an idle host (README, Live: latency); the rate cap defers some by seconds.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class LiveEventCounters {
  readonly flagged = new Float64Array(FLAG_REASONS.length);
  readonly decisions = new Float64Array(DECISION_ACTIONS.length);
  /** Alerts by their kind when they started (a flood's kind may change by its end). */
  readonly alertsStarted = new Float64Array(ALERT_KINDS.length);
  /** Non-cumulative counts per bucket of LATENCY_BUCKETS_S; the last slot is +Inf. */
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS_S.length + 1);
  latencySumS = 0;
  latencyCount = 0;
  /** The open flood alert (syn-flood or spoofed-flood: the flood detector has one at a time). */
  openFlood: Alert | null = null;
  /** The open backscatter alert. */
  openBackscatter: Alert | null = null;

  countFlag(reason: FlagReason): void {
    const i = FLAG_REASONS.indexOf(reason);
    if (i >= 0) this.flagged[i]++;
  }

  /** A decision; for a block, also how long from its SYN to the route (`latencyUs`). */
  countDecision(action: DecisionAction, latencyUs: number): void {
    const i = DECISION_ACTIONS.indexOf(action);
    if (i >= 0) this.decisions[i]++;
    if (action !== 'block') return;
    const s = Math.max(0, latencyUs) / 1e6;
    let b = 0;
    while (b < LATENCY_BUCKETS_S.length && s > LATENCY_BUCKETS_S[b]) b++;
    this.latencyBuckets[b]++;
    this.latencySumS += s;
    this.latencyCount++;
  }

  /** An alert's start or end: the detectors send a fresh snapshot each time, so the open one is
   *  kept per detector (floods, backscatter), not matched by identity. */
  countAlert(alert: Alert, phase: 'start' | 'end'): void {
    const backscatter = alert.kind === 'backscatter';
    if (phase === 'start') {
      const i = ALERT_KINDS.indexOf(alert.kind);
      if (i >= 0) this.alertsStarted[i]++;
    }
    const open = phase === 'start' ? alert : null;
    if (backscatter) this.openBackscatter = open;
    else this.openFlood = open;
  }

  /** The alerts now open: at most one flood and one backscatter. */
  openAlerts(): Alert[] {
    return [this.openFlood, this.openBackscatter].filter((a): a is Alert => a !== null);
  }

  /** 1 while an alert of `kind` is open, else 0. */
  attackActive(kind: AlertKind): number {
    return this.openFlood?.kind === kind || this.openBackscatter?.kind === kind ? 1 : 0;
  }
}
