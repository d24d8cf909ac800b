/**
 * What `synwatch live` tells the outside world besides its log: the --on-block command
 * (notify-command.ts), the --webhook in JSON (webhook.ts) or Alertmanager form (alertmanager.ts).
 *
 * Contract:
 * - Notifiers see the decisions and alerts the enforcement session already reports, after they
 *   are logged, on the runner's thread; each call only queues work (bounded) and returns. No
 *   notifier ever blocks, throws into, or slows the capture, the detector or the policy: a slow
 *   or broken receiver costs queued entries, and overflow is counted and warned about.
 * - Only live notifies. analyze and replay judge past captures: running a ban script or paging
 *   someone for an incident of last month would be wrong, and replay must touch nothing.
 * - Per-source decisions come with the flag that led to them (FlagEvent), remembered by address
 *   (RecentFlags, bounded) because a deferred source's block comes long after its flag.
 * - Times are the live clock's (µs, monotonic anchored to UTC), as in the decision log.
 */
import type { Alert } from '../detect/alerts';
import type { FlagEvent } from '../detect/events';
import type { Decision } from '../enforce/contract';
import { isoUs } from '../report/time';

/** The few things about the running live process a notification names. */
export interface NotifyContext {
  /** os.hostname(): the `instance` of an Alertmanager alert, `host` of the JSON documents. */
  host: string;
  iface: string;
  /** --dry-run: decisions are made and logged, no route is touched. */
  dryRun: boolean;
  /** The live clock, µs. */
  nowUs(): number;
  /** Blocks in force now (the session's policy). */
  activeBlocks(): number;
}

/** The part of a pino logger notifiers use (warnings about their own failures). */
export interface NotifyLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface LiveNotifier {
  /** A decision, with the flag behind it when it is about a flagged source. */
  onDecision(d: Decision, flag: FlagEvent | undefined): void;
  onAlert(a: Alert, phase: 'start' | 'end'): void;
  /**
   * Stop taking work, finish what is queued within `graceMs` of wall time, then give up on the
   * rest (killed, counted, warned about). Resolves when done.
   */
  close(graceMs: number): Promise<void>;
  /** What it is and its counters, for the start-up and stop log lines (and the metrics). */
  describe(): Record<string, unknown>;
}

/** Flags remembered per address, at most this many (oldest forgotten first). */
export const RECENT_FLAGS_MAX = 16_384;

/**
 * The latest flag of each recently flagged address. Bounded: a botnet of more than
 * RECENT_FLAGS_MAX flagged sources loses the oldest ones' details (their notifications go out
 * without them), never memory.
 */
export class RecentFlags {
  private readonly byIp = new Map<string, FlagEvent>();

  constructor(private readonly max = RECENT_FLAGS_MAX) {}

  remember(ev: FlagEvent): void {
    this.byIp.delete(ev.ip); // re-inserted: newest last
    this.byIp.set(ev.ip, ev);
    if (this.byIp.size > this.max) this.byIp.delete(this.byIp.keys().next().value as string);
  }

  get(ip: string): FlagEvent | undefined {
    return this.byIp.get(ip);
  }

  forget(ip: string): void {
    this.byIp.delete(ip);
  }
}

/** Fans the session's decisions and alerts out to the notifiers, with the flag of each source. */
export class Notifications {
  private readonly flags = new RecentFlags();

  constructor(readonly notifiers: LiveNotifier[]) {}

  get enabled(): boolean {
    return this.notifiers.length > 0;
  }

  onFlag(ev: FlagEvent): void {
    if (this.enabled) this.flags.remember(ev);
  }

  onDecision(d: Decision): void {
    if (!this.enabled) return;
    const flag = d.ip === '' ? undefined : this.flags.get(d.ip);
    for (const n of this.notifiers) n.onDecision(d, flag);
    // A source's story ends with its unblock, or with a skip that never blocked it.
    if (d.action === 'unblock' || d.action === 'skip') this.flags.forget(d.ip);
  }

  onAlert(a: Alert, phase: 'start' | 'end'): void {
    for (const n of this.notifiers) n.onAlert(a, phase);
  }

  close(graceMs: number): Promise<void> {
    return Promise.all(this.notifiers.map((n) => n.close(graceMs))).then(() => undefined);
  }
}

/** SYNs per second a flagged source sent from its first SYN to its flag (0 when unknown). */
export function flagRate(flag: FlagEvent | undefined): number {
  return flag?.synPerSecond === undefined ? 0 : Math.round(flag.synPerSecond);
}

/** The flag as notification documents carry it (ISO times, the live clock). */
export function flagDocument(flag: FlagEvent | undefined): Record<string, unknown> | null {
  if (!flag) return null;
  return {
    reason: flag.reason, flaggedAt: isoUs(flag.tsUs), synPerSecond: flagRate(flag), halfOpen: flag.halfOpen,
    attempts: flag.attempts, completed: flag.completed, incomplete: flag.incomplete, distinctPorts: flag.distinctPorts,
  };
}

/**
 * At most one warning per interval of wall time, saying how many events it stands for: a
 * receiver that is down costs one log line per interval, not one per decision.
 */
export class WarnLimiter {
  private lastMs = -Infinity;
  private held = 0;

  constructor(private readonly log: NotifyLog, private readonly intervalMs = 10_000) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastMs < this.intervalMs) {
      this.held++;
      return;
    }
    this.log.warn(this.held > 0 ? { ...fields, suppressed: this.held } : fields, msg);
    this.held = 0;
    this.lastMs = now;
  }
}

/**
 * A notifier's stop: wait() resolves when settle() says the queue is empty, or after graceMs,
 * when onExpiry gives up on what is left first (drop, kill, count).
 */
export class GracefulStop {
  private settled: (() => void) | null = null;

  wait(graceMs: number, onExpiry: () => void): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settled = null;
        onExpiry();
        resolve();
      }, graceMs);
      this.settled = () => {
        clearTimeout(timer);
        this.settled = null;
        resolve();
      };
    });
  }

  /** The work is done: a pending wait() resolves now. */
  settle(): void {
    this.settled?.();
  }
}
