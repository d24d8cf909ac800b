/**
 * BlockPolicy: turns detector facts (FlagEvent, ActivityEvent) into blocks, renewals and
 * unblocks, within the operator's limits, and reports every decision.
 *
 * Contract:
 * - Time comes only from the arguments (µs, the caller's clock); the policy never reads a clock,
 *   so the same calls give the same decisions. Output order never depends on hash order: lists
 *   are sorted (by expiry, then address).
 * - onFlag: allowlisted -> skip "allowlisted" (detail: entry and origin); already blocked or
 *   deferred -> treated as activity; active blocks plus deferred sources at maxActiveBlocks ->
 *   skip "block-cap"; sources already waiting, or no token left in the new-blocks bucket
 *   (maxNewBlocksPerSecond, burst one second's worth) -> deferred (below); else install the
 *   route (not in dry-run), write the ledger (not in dry-run), emit block.
 * - The rate cap paces blocks, it refuses no one: a deferred source is queued (decision
 *   "deferred", reason its flag reason) and blocked as soon as a token is there (checked on every
 *   tick and flag, so within one tick of caller time, 100 ms of packet time), most active first:
 *   the most activity events since its flag (one per second in which it sent SYNs: the count
 *   grows while it waits, so no active source starves), then the earliest flag, then the
 *   address. Its block decision carries the wait in its detail. A deferred source that sends no
 *   SYN for DEFER_QUIET_US is no longer attacking: it leaves the queue with skip "rate-cap".
 *   Deferred sources count towards maxActiveBlocks, so the queue is bounded by it, and a
 *   random-source flood still cannot fill the routing table (its one-shot sources are never
 *   flagged, and the active cap stays).
 * - Caps: the first refusal or deferral of an episode emits one alert (reason "block-cap"/
 *   "rate-cap"); block-cap skip decisions are limited to one per second, each saying how many
 *   refusals it stands for. An episode ends after CAP_EPISODE_QUIET_US without refusals (for the
 *   rate cap: and with nobody waiting), checked in tick; held-back refusals are then reported in
 *   one last skip.
 * - onActivity: a blocked source still attacking moves its expiry to ts + ttl. A renew decision
 *   (and ledger record) is emitted only when the expiry has moved by >= max(10% of ttl, 1 s)
 *   since the last one, so a persistent attacker costs one timeline line per ttl/10, not one per
 *   second; the ledger's expiry can therefore lag the real one by less than that step. Activity
 *   of a deferred source counts towards its turn; activity from a source without a block or a
 *   place in the queue (allowlisted, refused by the block cap) is ignored.
 * - tick: blocks whose expiry is <= now are removed, emitting unblock "ttl-expired". A failed
 *   delete emits alert "backend-error" and is retried DELETE_RETRY_US later.
 * - Backend and ledger failures never throw out of the policy: alert "backend-error" /
 *   "ledger-error" with the errno in detail (limited to one per second each, with counts).
 * - shutdown(now, unblockAll): with unblockAll, removes every block (unblock "shutdown");
 *   without, leaves routes in place for the next start's ledger reconcile. Deferred sources
 *   are forgotten (skip "rate-cap": nothing was installed).
 * - The ledger is the caller's to open and close; in dry-run it is never written.
 */
import type { ActivityEvent, FlagEvent } from '../detect/events';
import type { BlockBackend, Decision, DecisionSink, RouteType } from './contract';
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
/**
 * A deferred source without a SYN for this long leaves the queue. The detector's window: longer
 * than the period of any crowd member it flags (a bot sending one SYN every 9 s reports activity
 * every 9 s).
 */
export const DEFER_QUIET_US = 60 * US_PER_S;

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

/** A flagged source the rate cap made wait (see the contract). */
export interface DeferredSource {
  /** The flag, its address canonical. */
  flag: FlagEvent;
  /** Caller time of its last SYN (its flag, or its last activity event). */
  lastActiveUs: number;
  /** Activity events since its flag: its place in the queue. */
  activity: number;
}

export class BlockPolicy {
  private readonly blocks = new Map<string, PolicyBlock>();
  /** Flagged sources waiting for a token, in deferral order (Map order: deterministic). */
  private readonly deferred = new Map<string, DeferredSource>();
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
    private readonly backend: BlockBackend,
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
    if (this.blocks.has(ip) || this.deferred.has(ip)) {
      this.onActivity({ ip, family: ev.family, tsUs: ev.tsUs });
      return;
    }
    const allowed = this.options.allowlist.match(ip);
    if (allowed) {
      this.emit({ action: 'skip', ip, tsUs: ev.tsUs, reason: 'allowlisted', detail: `${allowed.cidr} (${allowed.origin})` });
      return;
    }
    const held = this.blocks.size + this.deferred.size;
    if (held >= this.options.maxActiveBlocks) {
      const waiting = this.deferred.size > 0 ? ` (${this.deferred.size} of them deferred)` : '';
      this.refuse('block-cap', ip, ev.tsUs, `${held} active blocks${waiting}, cap ${this.options.maxActiveBlocks}`);
      return;
    }
    const flag: FlagEvent = { ...ev, ip, family: ip.includes(':') ? 6 : 4 };
    // Those already waiting go first: a new flag joins the queue unless it is empty.
    this.releaseDeferred(ev.tsUs);
    if (this.deferred.size > 0 || !this.takeToken(ev.tsUs)) this.defer(flag);
    else this.install(flag, ev.tsUs, '');
  }

  onActivity(ev: ActivityEvent): void {
    // Canonical text by contract (ActivityEvent): a miss is a source that is neither blocked nor waiting.
    const block = this.blocks.get(ev.ip);
    if (!block) {
      const d = this.deferred.get(ev.ip);
      if (d && ev.tsUs > d.lastActiveUs) {
        d.lastActiveUs = ev.tsUs;
        d.activity++;
      }
      return;
    }
    const expiresUs = ev.tsUs + this.ttlUs;
    if (expiresUs <= block.expiresUs) return;
    block.expiresUs = expiresUs;
    if (expiresUs - block.reportedExpiresUs < this.renewStepUs) return;
    block.reportedExpiresUs = expiresUs;
    if (this.backend.renew && !this.options.dryRun) {
      try {
        this.backend.renew(block.ip, block.family, block.type, this.keepUs(expiresUs, ev.tsUs));
      } catch (e) {
        this.failure('backend-error', block.ip, ev.tsUs, RouteError.from(e, 'add', block.ip));
      }
    }
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
      this.earliestExpiryUs = this.nextExpiryUs();
    }
    this.releaseDeferred(nowUs);
    for (const kind of ['block-cap', 'rate-cap'] as const) {
      const ep = this.episodes[kind];
      const waiting = kind === 'rate-cap' && this.deferred.size > 0;
      if (ep.open && !waiting && nowUs - ep.lastRefusalUs >= CAP_EPISODE_QUIET_US) this.closeEpisode(kind, nowUs);
    }
  }

  shutdown(nowUs: number, unblockAll: boolean): void {
    if (unblockAll) for (const b of this.sorted()) this.remove(b, nowUs, 'shutdown', false);
    for (const d of this.deferred.values()) {
      this.emit({ action: 'skip', ip: d.flag.ip, tsUs: nowUs, reason: 'rate-cap', detail: 'deferred; shut down before its turn' });
    }
    this.deferred.clear();
    for (const kind of ['block-cap', 'rate-cap'] as const) if (this.episodes[kind].open) this.closeEpisode(kind, nowUs);
  }

  /** Active blocks, soonest expiry first (ties by address). */
  active(): ActiveBlock[] {
    return this.sorted().map(({ reportedExpiresUs: _, ...b }) => b);
  }

  /**
   * How long a backend whose entries expire by themselves (nftables) must keep a block that
   * expires at `expiresUs`: its expiry plus one renewal step, because the policy moves a block's
   * expiry with every activity but tells the backend only when it reports a renewal (at most
   * one step apart). The policy removes the block at its own expiry, before the kernel would.
   */
  keepUs(expiresUs: number, nowUs: number): number {
    return expiresUs - nowUs + this.renewStepUs;
  }

  /** How many blocks are active (active().length without sorting and copying them). */
  get activeCount(): number {
    return this.blocks.size;
  }

  /** The soonest expiry of an active block, exactly (Infinity when none): where the next tick has work. */
  nextExpiryUs(): number {
    let next = Infinity;
    for (const b of this.blocks.values()) if (b.expiresUs < next) next = b.expiresUs;
    return next;
  }

  /** Sources the rate cap made wait, in deferral order (copies: for adopt() after a reload). */
  deferredSources(): DeferredSource[] {
    return [...this.deferred.values()].map((d) => ({ ...d, flag: { ...d.flag } }));
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
      const what = r.type === 'drop' ? "element of synwatch's nftables set" : `${r.type} route with synwatch's marker`;
      this.emit({ action: 'unblock', ip: r.ip, tsUs: nowUs, reason: 'orphan', detail: `${what}, unknown to the ledger` });
    }
    for (const e of report.errors) {
      this.emit({ action: 'alert', ip: e.ip, tsUs: nowUs, reason: 'backend-error', detail: `${e.code}: ${e.message}` });
    }
  }

  /**
   * Take over blocks from a policy being replaced (SIGHUP reload): the routes are already in the
   * kernel and the ledger, so nothing is installed, written or reported.
   */
  adopt(blocks: readonly ActiveBlock[], deferred: readonly DeferredSource[] = []): void {
    for (const b of blocks) this.addBlock({ ...b, reportedExpiresUs: b.expiresUs });
    for (const d of deferred) if (!this.blocks.has(d.flag.ip)) this.deferred.set(d.flag.ip, { ...d, flag: { ...d.flag } });
  }

  /** Lift every block (and forget every deferral) whose address the allowlist now covers (an entry added on reload). */
  releaseAllowlisted(nowUs: number): void {
    for (const b of this.sorted()) {
      if (this.options.allowlist.match(b.ip)) this.remove(b, nowUs, 'allowlisted', true);
    }
    for (const d of [...this.deferred.values()]) {
      const allowed = this.options.allowlist.match(d.flag.ip);
      if (!allowed) continue;
      this.deferred.delete(d.flag.ip);
      this.emit({ action: 'skip', ip: d.flag.ip, tsUs: nowUs, reason: 'allowlisted', detail: `${allowed.cidr} (${allowed.origin}); was deferred` });
    }
  }

  /** Route, ledger and block decision for a flag (address canonical; `note`: appended to the detail). */
  private install(ev: FlagEvent, nowUs: number, note: string): void {
    const { ip, family } = ev;
    const type = this.options.routeType;
    if (!this.options.dryRun) {
      try {
        this.backend.add(ip, family, type, this.keepUs(nowUs + this.ttlUs, nowUs));
      } catch (e) {
        this.failure('backend-error', ip, nowUs, RouteError.from(e, 'add', ip));
        return;
      }
    }
    const expiresUs = nowUs + this.ttlUs;
    const block: PolicyBlock = { ip, family, type, reason: ev.reason, sinceUs: nowUs, expiresUs, reportedExpiresUs: expiresUs };
    this.addBlock(block);
    this.writeLedger(ip, nowUs, (l) => l.recordBlock(block, nowUs));
    const counts = `halfOpen=${ev.halfOpen} attempts=${ev.attempts} completed=${ev.completed} incomplete=${ev.incomplete} ports=${ev.distinctPorts}`;
    this.emit({
      action: 'block', ip, tsUs: nowUs, reason: ev.reason, expiresUs,
      detail: `${this.options.dryRun ? type : this.backend.blockAction ?? type} via ${this.options.dryRun ? 'dry-run' : this.backend.name}; ${counts}${note}`,
    });
  }

  /** Queue a flag the rate cap holds back (see the contract). */
  private defer(flag: FlagEvent): void {
    const ep = this.episodes['rate-cap'];
    const rate = this.options.maxNewBlocksPerSecond;
    if (!ep.open) {
      ep.open = true;
      ep.refused = 0;
      this.emit({ action: 'alert', ip: '', tsUs: flag.tsUs, reason: 'rate-cap',
        detail: `more than ${rate} new blocks per second; flagged sources are deferred and blocked as the budget allows, most active first` });
    }
    ep.refused++;
    ep.lastRefusalUs = flag.tsUs;
    ep.lastIp = flag.ip;
    this.deferred.set(flag.ip, { flag, lastActiveUs: flag.tsUs, activity: 0 });
    this.emit({ action: 'deferred', ip: flag.ip, tsUs: flag.tsUs, reason: flag.reason,
      detail: `rate cap ${rate} new blocks per second; ${this.deferred.size} waiting` });
  }

  /** Block deferred sources while tokens last, most active first; drop the quiet ones. */
  private releaseDeferred(nowUs: number): void {
    if (this.deferred.size === 0) return;
    for (const d of this.deferred.values()) { // deleting the entry being visited is safe in a Map
      if (nowUs - d.lastActiveUs < DEFER_QUIET_US) continue;
      this.deferred.delete(d.flag.ip);
      this.emit({ action: 'skip', ip: d.flag.ip, tsUs: nowUs, reason: 'rate-cap',
        detail: `deferred at its flag; no SYN for ${DEFER_QUIET_US / US_PER_S} s before its turn` });
    }
    this.refill(nowUs);
    if (this.tokens < 1 || this.deferred.size === 0) return;
    const queue = [...this.deferred.values()].sort(byActivityThenFlag);
    for (const d of queue) {
      if (this.blocks.size >= this.options.maxActiveBlocks) {
        // Only after a reload lowered the cap (deferred sources count towards it otherwise).
        this.deferred.delete(d.flag.ip);
        this.refuse('block-cap', d.flag.ip, nowUs, `${this.blocks.size} active blocks, cap ${this.options.maxActiveBlocks}; was deferred`);
        continue;
      }
      if (!this.takeToken(nowUs)) break;
      this.deferred.delete(d.flag.ip);
      const waited = (nowUs - d.flag.tsUs) / US_PER_S;
      this.install(d.flag, nowUs, `; deferred ${waited.toFixed(3)} s by the rate cap`);
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

  private refill(nowUs: number): void {
    if (nowUs > this.bucketUs) {
      if (this.bucketUs !== -Infinity) {
        const refill = ((nowUs - this.bucketUs) / US_PER_S) * this.options.maxNewBlocksPerSecond;
        this.tokens = Math.min(this.bucketSize, this.tokens + refill);
      }
      this.bucketUs = nowUs;
    }
  }

  private takeToken(nowUs: number): boolean {
    this.refill(nowUs);
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

/** The queue's order: most activity first, then the earliest flag, then the address. */
function byActivityThenFlag(a: DeferredSource, b: DeferredSource): number {
  return b.activity - a.activity || a.flag.tsUs - b.flag.tsUs || compareIp(a.flag.ip, b.flag.ip);
}
