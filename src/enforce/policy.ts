/**
 * BlockPolicy: turns detector facts (FlagEvent, ActivityEvent) into blocks, renewals and
 * unblocks, within the operator's limits, and reports every decision.
 *
 * Contract:
 * - Time comes only from the arguments (µs, the caller's clock); the policy never reads a clock,
 *   so the same calls give the same decisions. Output order never depends on hash order: lists
 *   are sorted (by expiry, then address).
 * - onFlag: allowlisted -> skip "allowlisted" (detail: entry and origin); already blocked ->
 *   treated as activity; active blocks at maxActiveBlocks -> skip "block-cap"; no token left in
 *   the new-blocks bucket (maxNewBlocksPerSecond, burst one second's worth) -> skip "rate-cap";
 *   else install the route (not in dry-run), write the ledger (not in dry-run), emit block.
 * - Caps: the first refusal of an episode emits one alert (reason "block-cap"/"rate-cap");
 *   skip decisions for refused sources are limited to one per second per cap, each saying how
 *   many refusals it stands for. An episode ends after CAP_EPISODE_QUIET_US without refusals
 *   (checked in tick); held-back refusals are then reported in one last skip.
 * - onActivity: a blocked source still attacking moves its expiry to ts + ttl. A renew decision
 *   (and ledger record) is emitted only when the expiry has moved by >= max(10% of ttl, 1 s)
 *   since the last one, so a persistent attacker costs one timeline line per ttl/10, not one per
 *   second; the ledger's expiry can therefore lag the real one by less than that step. Activity
 *   from a source without a block (allowlisted, refused by a cap) is ignored: the detector flags
 *   it again if it matters.
 * - tick: blocks whose expiry is <= now are removed, emitting unblock "ttl-expired". A failed
 *   delete emits alert "backend-error" and is retried DELETE_RETRY_US later.
 * - Backend and ledger failures never throw out of the policy: alert "backend-error" /
 *   "ledger-error" with the errno in detail (limited to one per second each, with counts).
 * - shutdown(now, unblockAll): with unblockAll, removes every block (unblock "shutdown");
 *   without, leaves routes in place for the next start's ledger reconcile.
 * - The ledger is the caller's to open and close; in dry-run it is never written.
 */
import type { ActivityEvent, FlagEvent } from '../detect/events';
import type { Decision, DecisionSink, RouteBackend, RouteType } from './contract';
import { canonicalIp } from '../decode/address';
import type { Allowlist } from './allowlist';
import type { ActiveBlock, Ledger, ReconcileReport } from './ledger';
import { compareIp, RouteError } from './routes';

export interface BlockPolicyOptions {
  ttlSeconds: number;
  maxActiveBlocks: number;
  maxNewBlocksPerSecond: number;
  routeType: RouteType;
  dryRun: boolean;
  allowlist: Allowlist;
}

const US_PER_S = 1_000_000;
/** A cap episode is over once this long passes without a refusal. */
export const CAP_EPISODE_QUIET_US = 10 * US_PER_S;
/** At most one skip decision per cap, and one alert per failure kind, per this interval. */
export const REPORT_INTERVAL_US = 1 * US_PER_S;
/** A failed route delete is retried this much later (or after ttl, if shorter). */
export const DELETE_RETRY_US = 60 * US_PER_S;

/** Lets one report through per interval of caller time, counting the ones held back. */
class Throttle {
  private lastUs = -Infinity;
  private held = 0;

  /** The number of held-back reports to mention if this one may go out, else null. */
  pass(nowUs: number): number | null {
    if (nowUs - this.lastUs >= REPORT_INTERVAL_US || nowUs < this.lastUs) {
      this.lastUs = nowUs;
      const held = this.held;
      this.held = 0;
      return held;
    }
    this.held++;
    return null;
  }

  drain(): number {
    const held = this.held;
    this.held = 0;
    return held;
  }
}

type CapKind = 'block-cap' | 'rate-cap';

interface CapEpisode {
  open: boolean;
  lastRefusalUs: number;
  lastIp: string;
  refused: number;
  skips: Throttle;
}

interface PolicyBlock extends ActiveBlock {
  /** Expiry last reported (renew decision and ledger); renewals are measured from it. */
  reportedExpiresUs: number;
}

export class BlockPolicy {
  private readonly blocks = new Map<string, PolicyBlock>();
  /**
   * No block expires before this (a lower bound: renewals only move expiries later), so a tick
   * before it has nothing to do. A flood's 300 blocks were scanned on every 100 ms tick before.
   */
  private earliestExpiryUs = Infinity;
  private readonly ttlUs: number;
  private readonly renewStepUs: number;
  private readonly bucketSize: number;
  private tokens: number;
  private bucketUs = -Infinity;
  private readonly episodes: Record<CapKind, CapEpisode>;
  private readonly failureThrottles = new Map<string, Throttle>();

  constructor(
    private readonly options: BlockPolicyOptions,
    private readonly backend: RouteBackend,
    private readonly ledger: Ledger | null | undefined,
    private readonly sink: DecisionSink,
  ) {
    const bad = (k: string, v: unknown) => new RangeError(`BlockPolicy: ${k} must be > 0, got ${String(v)}`);
    if (!(options.ttlSeconds > 0)) throw bad('ttlSeconds', options.ttlSeconds);
    if (!(options.maxActiveBlocks >= 1)) throw bad('maxActiveBlocks', options.maxActiveBlocks);
    if (!(options.maxNewBlocksPerSecond > 0)) throw bad('maxNewBlocksPerSecond', options.maxNewBlocksPerSecond);
    this.ttlUs = Math.round(options.ttlSeconds * US_PER_S);
    this.renewStepUs = Math.max(Math.round(this.ttlUs / 10), US_PER_S);
    // Burst of one second's worth, at least one token so a rate below 1/s can still block.
    this.bucketSize = Math.max(1, options.maxNewBlocksPerSecond);
    this.tokens = this.bucketSize;
    const episode = (): CapEpisode => ({ open: false, lastRefusalUs: 0, lastIp: '', refused: 0, skips: new Throttle() });
    this.episodes = { 'block-cap': episode(), 'rate-cap': episode() };
  }

  onFlag(ev: FlagEvent): void {
    const ip = canonicalIp(ev.ip);
    if (!ip) {
      this.emit({ action: 'skip', ip: ev.ip, tsUs: ev.tsUs, reason: 'invalid-address', detail: 'not an IPv4/IPv6 address' });
      return;
    }
    if (this.blocks.has(ip)) {
      this.onActivity({ ip, family: ev.family, tsUs: ev.tsUs });
      return;
    }
    const allowed = this.options.allowlist.match(ip);
    if (allowed) {
      this.emit({ action: 'skip', ip, tsUs: ev.tsUs, reason: 'allowlisted', detail: `${allowed.cidr} (${allowed.origin})` });
      return;
    }
    if (this.blocks.size >= this.options.maxActiveBlocks) {
      this.refuse('block-cap', ip, ev.tsUs, `${this.blocks.size} active blocks, cap ${this.options.maxActiveBlocks}`);
      return;
    }
    if (!this.takeToken(ev.tsUs)) {
      this.refuse('rate-cap', ip, ev.tsUs, `more than ${this.options.maxNewBlocksPerSecond} new blocks per second`);
      return;
    }
    const family: 4 | 6 = ip.includes(':') ? 6 : 4;
    const type = this.options.routeType;
    if (!this.options.dryRun) {
      try {
        this.backend.add(ip, family, type);
      } catch (e) {
        this.failure('backend-error', ip, ev.tsUs, RouteError.from(e, 'add', ip));
        return;
      }
    }
    const expiresUs = ev.tsUs + this.ttlUs;
    const block: PolicyBlock = { ip, family, type, reason: ev.reason, sinceUs: ev.tsUs, expiresUs, reportedExpiresUs: expiresUs };
    this.addBlock(block);
    this.writeLedger(ip, ev.tsUs, (l) => l.recordBlock(block, ev.tsUs));
    const counts = `halfOpen=${ev.halfOpen} attempts=${ev.attempts} completed=${ev.completed} incomplete=${ev.incomplete} ports=${ev.distinctPorts}`;
    this.emit({
      action: 'block', ip, tsUs: ev.tsUs, reason: ev.reason, expiresUs,
      detail: `${type} via ${this.options.dryRun ? 'dry-run' : this.backend.name}; ${counts}`,
    });
  }

  onActivity(ev: ActivityEvent): void {
    // Canonical text by contract (ActivityEvent): a miss is a source that is not blocked.
    const block = this.blocks.get(ev.ip);
    if (!block) return;
    const expiresUs = ev.tsUs + this.ttlUs;
    if (expiresUs <= block.expiresUs) return;
    block.expiresUs = expiresUs;
    if (expiresUs - block.reportedExpiresUs < this.renewStepUs) return;
    block.reportedExpiresUs = expiresUs;
    this.writeLedger(block.ip, ev.tsUs, (l) => l.recordRenew(block, ev.tsUs));
    this.emit({ action: 'renew', ip: block.ip, tsUs: ev.tsUs, reason: block.reason, expiresUs });
  }

  tick(nowUs: number): void {
    // Runs every sweep (100 ms of packet time): when something may be due, scan, and sort only what is.
    if (nowUs >= this.earliestExpiryUs) {
      const due: PolicyBlock[] = [];
      for (const b of this.blocks.values()) if (b.expiresUs <= nowUs) due.push(b);
      if (due.length > 1) due.sort(byExpiryThenAddress);
      for (const b of due) this.remove(b, nowUs, 'ttl-expired', true);
      let earliest = Infinity;
      for (const b of this.blocks.values()) if (b.expiresUs < earliest) earliest = b.expiresUs;
      this.earliestExpiryUs = earliest;
    }
    for (const kind of ['block-cap', 'rate-cap'] as const) {
      const ep = this.episodes[kind];
      if (ep.open && nowUs - ep.lastRefusalUs >= CAP_EPISODE_QUIET_US) this.closeEpisode(kind, nowUs);
    }
  }

  shutdown(nowUs: number, unblockAll: boolean): void {
    if (unblockAll) for (const b of this.sorted()) this.remove(b, nowUs, 'shutdown', false);
    for (const kind of ['block-cap', 'rate-cap'] as const) if (this.episodes[kind].open) this.closeEpisode(kind, nowUs);
  }

  /** Active blocks, soonest expiry first (ties by address). */
  active(): ActiveBlock[] {
    return this.sorted().map(({ reportedExpiresUs: _, ...b }) => b);
  }

  /**
   * Adopt the outcome of Ledger.reconcile at start-up and put it on the timeline: restored
   * blocks emit block (detail "restored from ledger"), expired ones unblock "ttl-expired",
   * orphans unblock "orphan", failures alert "backend-error". Restored blocks count towards
   * maxActiveBlocks but not towards the new-blocks rate.
   */
  restore(report: ReconcileReport, nowUs: number): void {
    for (const b of report.restored) {
      this.addBlock({ ...b, reportedExpiresUs: b.expiresUs });
      this.emit({ action: 'block', ip: b.ip, tsUs: nowUs, reason: b.reason, expiresUs: b.expiresUs, detail: `${b.type}; restored from ledger` });
    }
    for (const b of report.expired) {
      this.emit({ action: 'unblock', ip: b.ip, tsUs: nowUs, reason: 'ttl-expired', detail: 'expired while synwatch was not running' });
    }
    for (const r of report.orphans) {
      this.emit({ action: 'unblock', ip: r.ip, tsUs: nowUs, reason: 'orphan', detail: `${r.type} route with synwatch's marker, unknown to the ledger` });
    }
    for (const e of report.errors) {
      this.emit({ action: 'alert', ip: e.ip, tsUs: nowUs, reason: 'backend-error', detail: `${e.code}: ${e.message}` });
    }
  }

  /**
   * Take over blocks from a policy being replaced (SIGHUP reload): the routes are already in the
   * kernel and the ledger, so nothing is installed, written or reported.
   */
  adopt(blocks: readonly ActiveBlock[]): void {
    for (const b of blocks) this.addBlock({ ...b, reportedExpiresUs: b.expiresUs });
  }

  /** Lift every block whose address the allowlist now covers (an entry added on reload). */
  releaseAllowlisted(nowUs: number): void {
    for (const b of this.sorted()) {
      if (this.options.allowlist.match(b.ip)) this.remove(b, nowUs, 'allowlisted', true);
    }
  }

  private addBlock(b: PolicyBlock): void {
    this.blocks.set(b.ip, b);
    if (b.expiresUs < this.earliestExpiryUs) this.earliestExpiryUs = b.expiresUs;
  }

  private sorted(): PolicyBlock[] {
    return [...this.blocks.values()].sort(byExpiryThenAddress);
  }

  private remove(b: PolicyBlock, nowUs: number, reason: string, retryOnFailure: boolean): void {
    if (!this.options.dryRun) {
      try {
        this.backend.del(b.ip, b.family, b.type);
      } catch (e) {
        this.failure('backend-error', b.ip, nowUs, RouteError.from(e, 'del', b.ip));
        // Keep it (the route is still there); try again later rather than every tick.
        if (retryOnFailure) {
          b.expiresUs = nowUs + Math.min(DELETE_RETRY_US, this.ttlUs);
          if (b.expiresUs < this.earliestExpiryUs) this.earliestExpiryUs = b.expiresUs;
        }
        else this.blocks.delete(b.ip); // shutting down: the ledger still has it for the next start
        return;
      }
    }
    this.blocks.delete(b.ip);
    this.writeLedger(b.ip, nowUs, (l) => l.recordUnblock(b, reason, nowUs));
    this.emit({ action: 'unblock', ip: b.ip, tsUs: nowUs, reason });
  }

  private takeToken(nowUs: number): boolean {
    if (nowUs > this.bucketUs) {
      if (this.bucketUs !== -Infinity) {
        const refill = ((nowUs - this.bucketUs) / US_PER_S) * this.options.maxNewBlocksPerSecond;
        this.tokens = Math.min(this.bucketSize, this.tokens + refill);
      }
      this.bucketUs = nowUs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refuse(kind: CapKind, ip: string, nowUs: number, why: string): void {
    const ep = this.episodes[kind];
    if (!ep.open) {
      ep.open = true;
      ep.refused = 0;
      this.emit({ action: 'alert', ip: '', tsUs: nowUs, reason: kind, detail: `${why}; new sources are not blocked until it clears` });
    }
    ep.refused++;
    ep.lastRefusalUs = nowUs;
    ep.lastIp = ip;
    const held = ep.skips.pass(nowUs);
    if (held === null) return;
    this.emit({ action: 'skip', ip, tsUs: nowUs, reason: kind, detail: held > 0 ? `${why}; ${held} more sources refused since the last skip` : why });
  }

  private closeEpisode(kind: CapKind, nowUs: number): void {
    const ep = this.episodes[kind];
    ep.open = false;
    const held = ep.skips.drain();
    if (held > 0) {
      this.emit({ action: 'skip', ip: ep.lastIp, tsUs: nowUs, reason: kind,
        detail: `episode over: ${ep.refused} sources refused in all, ${held} without a skip of their own (last one shown)` });
    }
  }

  private failure(reason: 'backend-error' | 'ledger-error', ip: string, nowUs: number, e: { code?: string; errno?: number; message: string }): void {
    const key = `${reason} ${e.code ?? ''}`;
    let throttle = this.failureThrottles.get(key);
    if (!throttle) this.failureThrottles.set(key, (throttle = new Throttle()));
    const held = throttle.pass(nowUs);
    if (held === null) return;
    const more = held > 0 ? `; ${held} more like it since the last alert` : '';
    this.emit({ action: 'alert', ip, tsUs: nowUs, reason, detail: `${e.code ?? 'UNKNOWN'} (errno ${e.errno ?? 0}): ${e.message}${more}` });
  }

  private writeLedger(ip: string, nowUs: number, write: (ledger: Ledger) => void): void {
    if (!this.ledger || this.options.dryRun) return;
    try {
      write(this.ledger);
    } catch (e) {
      const err = e as { code?: string; errnoCode?: string; message: string };
      this.failure('ledger-error', ip, nowUs, { code: err.errnoCode ?? err.code, message: err.message });
    }
  }

  private emit(d: Decision): void {
    this.sink(d);
  }
}

function byExpiryThenAddress(a: PolicyBlock, b: PolicyBlock): number {
  return a.expiresUs - b.expiresUs || compareIp(a.ip, b.ip);
}
