/**
 * `synwatch live`: the offline pipeline, unchanged, on packets from libpcap, driving the
 * reject-route enforcer within milliseconds of the SYN that crosses the threshold.
 *
 * Contract (what operators and the end-to-end tests rely on), all on stderr as pino JSON lines:
 *   {"msg":"capturing", iface, linkType, filter, bufferBytes, backend, stateDir, statusSocket,
 *     metricsListen (null without --metrics-listen), ...} once ready;
 *   {"msg":"decision", action, ip, reason, synTime, routeTime, latencyUs, expires?, detail?,
 *     halfOpen?, attempts?, completed?, incomplete?} per decision (synTime: the event time of
 *     the triggering SYN; routeTime: when the backend confirmed the route; both event clock);
 *   {"msg":"alert", kind, phase: "start"|"end", start, end, count, ...} per flood/backscatter;
 *   {"msg":"status", ...} every --status-interval seconds, with the capture counters captured,
 *     received, kernelDrops, ifDrops (libpcap's, widened to 64 bits) beside the pipeline's, and
 *     deliveryLagUs {p50, p99, max, batches}: kernel timestamp to JavaScript of each batch's
 *     oldest record over the interval (null when nothing arrived);
 *   {"msg":"capture drops", ...} (warn) at most every DROP_WARN_INTERVAL_MS while the kernel or
 *     the interface drops packets: how many since the last such line, and the totals;
 *   {"msg":"nftables table re-created", restored} (warn) when the backend's kernel side vanished
 *     (`nft flush ruleset`) and was put back with the active blocks (checked every HEAL_MS);
 *   {"msg":"reloaded"} after SIGHUP (allowlist, TTL, caps and route type apply at once; blocks
 *     the new allowlist covers are lifted, deferred sources keep their place; dryRun, stateDir,
 *     threshold and user need a restart; the config file is read as the --user),
 *   {"msg":"stopped", ...totals, capture counters} on SIGINT/SIGTERM (exit 0), after what the
 *     kernel ring still held was delivered; a warn line "capture dropped packets" before it when
 *     any were dropped. A capture failure logs an error line and exits 1;
 *   {"msg":"notifications done", notifications: [...]} after "stopped" when --on-block or
 *     --webhook is in use, once what they had queued went out (at most NOTIFY_STOP_GRACE_MS).
 *   The "capturing" line lists them (notifications: type, command or url, settings).
 * Notifications (src/observe/live-notifier.ts) see each decision and alert after its log line.
 *
 * Start-up has three phases, in this order (README "Privileges"):
 *   1. set-up: everything that needs privilege is opened: the capture handle (here), the
 *      rtnetlink socket (the route backend, opened by the CLI), the --write file, the state
 *      directory and ledger (reconciled with the kernel, compacted); the nftables context (#12)
 *      and the status socket (#13) belong at the marked place below;
 *   2. the drop (o.privilege, src/live/privilege.ts): the --user, no capability except
 *      CAP_NET_ADMIN permitted (not effective) when routes are enforced, every thread checked;
 *   3. the run: packets are parsed only from here on. Nothing after the drop opens a path that
 *      needs privilege: the ledger is appended through the descriptor opened in set-up, and a
 *      reload that would need a new one (stateDir, user) is refused.
 *
 * Time: packets carry the kernel's timestamps (capture/live.ts); LiveClock reads the same
 * clock for the ticks every TICK_MS, which keep TTL expiry and flood spans moving when no packet
 * arrives. Each tick first drains the kernel ring, so time never advances past packets the
 * kernel already holds: the decisions are those a capture of the same traffic gives.
 */
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Logger } from 'pino';
import { CaptureStats, libpcapVersion, LiveCapture, LiveClock } from '../capture/live';
import { CaptureWriter } from '../capture/writer';
import { liveFilter } from '../capture/filter';
import { LINK_TYPES, LINKTYPE_ETHERNET } from '../decode/frame';
import { Pipeline, PipelineOptions } from '../pipeline';
import { EnforcementSession, SessionHooks } from '../enforce/session';
import { EnforceConfig } from '../enforce/config';
import { BlockBackend, BlockedEntry, BlockToKeep, BlockType, Decision, RouteType } from '../enforce/contract';
import { Ledger } from '../enforce/ledger';
import { HostFacts } from '../enforce/allowlist';
import { Alert } from '../detect/alerts';
import { DetectorSink } from '../detect/detector';
import { FlagEvent } from '../detect/events';
import { alertReport } from '../report/model';
import { isoUs } from '../report/time';
import { CaptureError } from '../capture/record';
import { LiveEventCounters } from '../observe/live-counters';
import { LiveObservers } from '../observe/live-observers';
import { ListenAddress } from '../observe/metrics-server';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrivilegeError } from './privilege';
import { warmUp, WarmUpReport } from './warm-up';
import { collectBeforeCapture } from './heap';
import type { DropReport } from './privilege';
import { LiveNotifier, Notifications, NotifyContext } from '../observe/live-notifier';

const TICK_MS = 100;
/** How often a backend whose kernel side can be flushed away (nftables) is checked. */
const HEAL_MS = 1000;
/** Only Ethernet frames carry VLAN tags; libpcap refuses `vlan` on other links. */
/** At most one "capture drops" warning per this long. */
const DROP_WARN_INTERVAL_MS = 10_000;
/** drain() calls at stop, each up to ~1M records: enough for any ring --buffer-mib allows. */
const STOP_DRAIN_ROUNDS = 16;
/** Event-loop delay sampling period; the histogram's values include it, so it is subtracted. */
const LAG_RESOLUTION_MS = 10;
/** At stop, notifications still queued get this long (wall time) to go out. */
const NOTIFY_STOP_GRACE_MS = 5_000;

/** Remembers when the backend last confirmed a route change: the decision log's routeTime is
 *  that moment, not after the ledger's fsync that follows it. */
class TimedBackend implements BlockBackend {
  lastDoneUs = 0;
  readonly renew?: BlockBackend['renew'];
  constructor(private readonly inner: BlockBackend, private readonly clock: LiveClock) {
    if (inner.renew) this.renew = (ip, family, type, keepUs) => inner.renew!(ip, family, type, keepUs);
  }
  get name(): string { return this.inner.name; }
  get blockAction(): string | undefined { return this.inner.blockAction; }
  add(ip: string, family: 4 | 6, type: RouteType, keepUs?: number): void {
    this.inner.add(ip, family, type, keepUs);
    this.lastDoneUs = this.clock.nowUs();
  }
  del(ip: string, family: 4 | 6, type: BlockType): void {
    this.inner.del(ip, family, type);
    this.lastDoneUs = this.clock.nowUs();
  }
  list(): BlockedEntry[] { return this.inner.list(); }
  prepare(): void { this.inner.prepare?.(); }
  heal(blocks: () => BlockToKeep[]): number | null { return this.inner.heal?.(blocks) ?? null; }
}

export interface LiveRunOptions {
  iface: string;
  /** The user's --filter, ANDed with the default (capture/filter.ts). */
  filter?: string;
  snaplen: number;
  bufferBytes: number;
  /** Under a sustained flood, poll the ring at most this often instead of waking per packet
   *  (capture/live.ts; the window grows with the flood's age up to this). */
  coalesceUs: number;
  /** Compile the packet path on a synthetic flood before capturing (live/warm-up.ts); default on. */
  warmUp?: boolean;
  /** --write: what the filter passed, to nanosecond pcap files (capture/writer.ts). */
  write?: { path: string; maxFileBytes?: number; keepFiles?: number };
  pipeline: PipelineOptions;
  config: EnforceConfig;
  backend: BlockBackend;
  hostFacts: HostFacts;
  statusIntervalMs: number;
  unblockOnExit: boolean;
  /** Re-reads the config file and re-merges the command line (SIGHUP); throws on bad config. */
  reloadConfig: () => EnforceConfig;
  /** --metrics-listen: serve Prometheus metrics there (observe/metrics-server.ts). */
  metricsListen?: ListenAddress;
  /** Called once between set-up and run (src/live/privilege.ts PrivilegeDrop); null: no drop (--user root). */
  privilege: { drop(): DropReport | null };
  /** --on-block and --webhook (src/observe/), built with the runner's context. */
  notifiers?: (ctx: NotifyContext) => LiveNotifier[];
}

/** The detector's sink, forwarding to the current session: SIGHUP swaps the session. */
class ReloadableSink implements DetectorSink {
  constructor(public session: EnforcementSession) {}
  onFlag(ev: FlagEvent): void { this.session.onFlag(ev); }
  onActivity(ev: Parameters<DetectorSink['onActivity']>[0]): void { this.session.onActivity(ev); }
  onAlert(a: Alert, phase: 'start' | 'end'): void { this.session.onAlert(a, phase); }
  onTime(nowUs: number): void { this.session.onTime(nowUs); }
}

export async function runLive(o: LiveRunOptions, log: Logger): Promise<number> {
  // First, before any object of the live run exists: the warm-up's records turn fields that start
  // as small integers (packet times, offsets) into doubles, which gives their classes new hidden
  // classes. Objects built before that keep the old ones, and the compiled code, built for the new
  // ones, would be thrown away at the first live packet (11 functions were, in the latency lab,
  // when the warm-up ran after the set-up below; src/live/warm-up.ts). Built after it, the live
  // run's objects match the code. A mistyped interface is reported ~0.1 s later for it.
  const warmed: WarmUpReport | null = o.warmUp === false ? null : warmUp(o.pipeline);
  const clock = new LiveClock();
  const startedUs = clock.nowUs();
  // Counted once per flag, decision and alert, read by the status socket and the metrics.
  const events = new LiveEventCounters();
  const backend = new TimedBackend(o.backend, clock);
  // Opened after the capture: a mistyped interface or filter touches neither state nor routes.
  let ledger: Ledger | null = null;

  let pendingFlag: FlagEvent | null = null;
  // Set once the state is open, before the capture starts delivering.
  let sink!: ReloadableSink;
  const notify = new Notifications(o.notifiers?.({
    host: hostname(), iface: o.iface, dryRun: o.config.dryRun, nowUs: () => clock.nowUs(), activeBlocks: () => sink?.session.policy.activeCount ?? 0,
  }) ?? []);
  const hooks: SessionHooks = {
    onFlag(ev) { pendingFlag = ev; events.countFlag(ev.reason); notify.onFlag(ev); },
    onDecision(d: Decision) {
      const touchesRoute = d.action === 'block' || d.action === 'unblock';
      const routeUs = touchesRoute && backend.lastDoneUs > 0 ? backend.lastDoneUs : clock.nowUs();
      const fields: Record<string, unknown> = {
        action: d.action, ip: d.ip, reason: d.reason, synTime: isoUs(d.tsUs), routeTime: isoUs(routeUs),
        latencyUs: routeUs - d.tsUs,
      };
      events.countDecision(d.action, routeUs - d.tsUs);
      if (d.expiresUs !== undefined) fields.expires = isoUs(d.expiresUs);
      if (d.detail !== undefined) fields.detail = d.detail;
      const f = pendingFlag;
      if (f && f.ip === d.ip) {
        Object.assign(fields, { halfOpen: f.halfOpen, attempts: f.attempts, completed: f.completed, incomplete: f.incomplete, distinctPorts: f.distinctPorts });
      }
      if (d.action === 'alert') log.warn(fields, 'decision');
      else log.info(fields, 'decision');
      notify.onDecision(d);
    },
    onAlert(a: Alert, phase) {
      events.countAlert(a, phase);
      log.warn({ ...alertReport(a), phase }, 'alert');
      notify.onAlert(a, phase);
    },
  };
  const newSession = (config: EnforceConfig) =>
    new EnforcementSession(config, backend, ledger, o.hostFacts, hooks, false);

  // Segments are processed in the tracker's batches (64), flushed at the end of every capture
  // batch: a SYN waits at most for the rest of its capture batch, never for the next one.
  const pipeline = new Pipeline(o.pipeline, {
    onFlag: (ev) => { sink.onFlag(ev); pendingFlag = null; },
    onActivity: (ev) => sink.onActivity(ev),
    onAlert: (a, p) => sink.onAlert(a, p),
    onTime: (t) => sink.onTime(t),
  });
  // Here, not at the first SYN: that is the first SYN of a flood (src/live/heap.ts).
  pipeline.reserve();
  let failure: Error | null = null;
  let stop: (why: string) => void = () => {};
  let writer: CaptureWriter | null = null;
  const capture = new LiveCapture({ iface: o.iface, filter: (linkType) => liveFilter(o.filter, { vlan: linkType === LINKTYPE_ETHERNET }), userFilter: o.filter, snaplen: o.snaplen, bufferBytes: o.bufferBytes,
    coalesceUs: o.coalesceUs },
    pipeline.onRecord, {
      // Written before it is parsed: the evidence holds every packet the pipeline saw.
      onBatch: (batch, bytes) => writer?.write(batch, bytes),
      onBatchEnd: () => pipeline.flush(),
      onFailure: (err) => {
        failure = err;
        stop('capture-failed');
      },
    });
  if (!LINK_TYPES.some(([lt]) => lt === capture.linkType)) {
    capture.close();
    throw new CaptureError('unknown-link-type', o.iface, null,
      `interface ${o.iface} has a link type synwatch does not decode (${capture.linkTypeName}, ${capture.linkType})`);
  }
  if (capture.warning) log.warn({ iface: o.iface }, `libpcap: ${capture.warning}`);
  let session: EnforcementSession;
  let dropped: DropReport | null = null;
  let observers: LiveObservers | undefined;
  try {
    // ---- 1. set-up (privileged): the capture is open above; now the files and the state ----
    if (o.write) writer = new CaptureWriter({ ...o.write, linkType: capture.linkType, snaplen: capture.snaplen });
    ledger = o.config.dryRun ? null : Ledger.open(o.config.stateDir, { warn: (m) => log.warn(m) });
    session = newSession(o.config);
    if (ledger) {
      backend.prepare(); // after the capture opened: a mistyped interface creates no table
      const now = clock.nowUs();
      const report = ledger.reconcile(now, backend, (b) => session.policy.keepUs(b.expiresUs, now));
      for (const w of report.warnings) log.warn(w);
      session.policy.restore(report, clock.nowUs());
    }
    // The status socket lands in the (root-owned, 0700) state directory, and a metrics port
    // below 1024 needs binding as root: both are opened before the drop and keep working after.
    observers = await LiveObservers.start({ stateDir: o.config.stateDir, metricsListen: o.metricsListen }, {
      pipeline, events, captureStats: () => capture.stats(), policy: () => sink.session.policy, nowUs: () => clock.nowUs(),
      iface: o.iface, dryRun: o.config.dryRun, startedUs, notifiers: () => notify.notifiers,
    });
    // ---- 2. the drop: from here on nothing may need privilege but a block backend call ----
    dropped = o.privilege.drop();
    if (dropped) {
      log.info({ ...dropped }, 'dropped privileges');
      if (writer && o.write?.maxFileBytes !== undefined) assertRotationWritable(o.write.path, dropped.user);
    }
  } catch (e) {
    observers?.close();
    writer?.close();
    ledger?.close();
    capture.close();
    throw e;
  }
  // ---- 3. the run ----
  sink = new ReloadableSink(session);
  const startGcMs = collectBeforeCapture();
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  const lagMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - LAG_RESOLUTION_MS) * 1000) / 1000);
  lag.enable();

  log.info({
    iface: o.iface, linkType: capture.linkTypeName, filter: capture.filter, snaplen: capture.snaplen,
    bufferBytes: capture.bufferBytes, coalesceUs: o.coalesceUs,
    warmUp: warmed ? { records: warmed.records, flagged: warmed.flagged, ms: Math.round(warmed.ms) } : null, startGcMs: Math.round(startGcMs * 10) / 10,
    backend: o.config.dryRun ? 'dry-run' : o.backend.name, stateDir: ledger?.dir ?? null, uid: process.getuid?.() ?? null,
    threshold: o.pipeline.detector.threshold, blockTtl: o.config.blockTtl, routeType: o.config.routeType,
    maxActiveBlocks: o.config.maxActiveBlocks, maxNewBlocksPerSecond: o.config.maxNewBlocksPerSecond,
    activeBlocks: session.policy.activeCount, libpcap: libpcapVersion(),
    notifications: notify.notifiers.map((n) => n.describe()),
    write: writer ? { path: o.write?.path, firstFile: writer.stats.currentPath, maxFileBytes: o.write?.maxFileBytes ?? null, keepFiles: o.write?.keepFiles ?? null } : null,
    ...observers.describe(),
  }, 'capturing');

  const drops = new DropWarnings(log);
  const healer = ledger && o.backend.heal ? new Healer(backend, log) : null;
  let lastHealUs = clock.nowUs();
  const tick = () => {
    capture.drain();
    pipeline.tick(clock.nowUs());
    drops.check(capture.stats(), writer, clock.nowUs());
    const now = clock.nowUs();
    if (healer && now - lastHealUs >= HEAL_MS * 1000) {
      lastHealUs = now;
      const policy = sink.session.policy;
      healer.check(now, () => policy.active().map((b) => ({ ip: b.ip, family: b.family, type: b.type, keepUs: policy.keepUs(b.expiresUs, now) })));
    }
  };
  const ticker = setInterval(tick, TICK_MS);
  let lastCaptured = 0;
  let lastStatusUs = clock.nowUs();
  const status = setInterval(() => {
    const now = clock.nowUs();
    const c = capture.stats();
    const pps = ((c.captured - lastCaptured) * 1e6) / Math.max(1, now - lastStatusUs);
    lastCaptured = c.captured;
    lastStatusUs = now;
    log.info({ ...counters(pipeline, c, writer), packetsPerSecond: Math.round(pps),
      activeBlocks: sink.session.policy.activeCount,
      eventLoopLagMs: { p50: lagMs(lag.percentile(50)), p99: lagMs(lag.percentile(99)), max: lagMs(lag.max) },
      deliveryLagUs: capture.deliveryLag.summary() }, 'status');
    lag.reset();
    capture.deliveryLag.reset();
  }, o.statusIntervalMs);
  capture.start();

  return new Promise((resolve) => {
    let stopping = false;
    stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      clearInterval(ticker);
      clearInterval(status);
      observers.close();
      // What the kernel already holds is analyzed, not lost (bounded: a flood may go on meanwhile).
      for (let round = 0; round < STOP_DRAIN_ROUNDS && capture.drain() > 0; round++);
      capture.close();
      const now = clock.nowUs();
      pipeline.tick(now);
      pipeline.finish();
      sink.session.policy.shutdown(now, o.unblockOnExit);
      ledger?.close();
      writer?.close();
      const c = capture.stats();
      if (c.kernelDrops > 0 || c.ifDrops > 0) {
        log.warn({ kernelDrops: c.kernelDrops, ifDrops: c.ifDrops, received: c.received, captured: c.captured },
          'capture dropped packets: the counts above are missing them');
      }
      if (writer && writer.stats.droppedRecords > 0) {
        log.warn({ ...writer.stats, err: writer.lastError }, 'capture file incomplete: records could not be written');
      }
      if (failure) log.error({ err: failure.message }, 'capture failed');
      log.info({ why, ...counters(pipeline, c, writer), activeBlocks: sink.session.policy.activeCount }, 'stopped');
      process.removeListener('SIGHUP', reload);
      void notify.close(NOTIFY_STOP_GRACE_MS).then(() => {
        if (notify.enabled) log.info({ notifications: notify.notifiers.map((n) => n.describe()) }, 'notifications done');
        resolve(failure ? 1 : 0);
      });
    };
    let running = o.config;
    const reload = () => {
      try {
        const config = o.reloadConfig();
        // The capture, the detector, the ledger and the backend are built once, at start.
        // stateDir and user would need privilege again (a new directory, the old ids), and the
        // backend is opened once, before the drop: refused.
        const fixed = (['dryRun', 'stateDir', 'threshold', 'user', 'backend'] as const).filter((k) => config[k] !== running[k]);
        if (fixed.length > 0) {
          log.error({ keys: fixed }, `reload failed: a change of ${fixed.join(', ')} needs a restart; keeping the running configuration`);
          return;
        }
        const next = newSession(config);
        const now = clock.nowUs();
        next.policy.adopt(sink.session.policy.active(), sink.session.policy.deferredSources());
        next.policy.releaseAllowlisted(now);
        sink.session = next;
        running = config;
        log.info({ blockTtl: config.blockTtl, maxActiveBlocks: config.maxActiveBlocks, allow: config.allow.length, activeBlocks: next.policy.activeCount }, 'reloaded');
      } catch (e) {
        log.error({ err: (e as Error).message }, 'reload failed; keeping the running configuration');
      }
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', reload);
  });
}

/** --write-max-mib rotates into new files beside the first: the dropped user must be able to. */
function assertRotationWritable(file: string, user: string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new PrivilegeError(`--write ${file}: user ${user} cannot create files in ${dir} (${(e as NodeJS.ErrnoException).code}), so --write-max-mib could not rotate; give ${user} write access there or run with --user root`);
  }
}

function counters(p: Pipeline, c: CaptureStats, w: CaptureWriter | null): Record<string, unknown> {
  const t = p.tracker.totals;
  const anomalies = Object.values(p.counters.anomalies).reduce((a, b) => a + b, 0);
  const ws = w?.stats;
  return {
    ...(ws ? { written: { records: ws.records, bytes: ws.bytes, files: ws.files, droppedRecords: ws.droppedRecords, currentFile: ws.currentPath } } : {}),
    captured: c.captured, received: c.received, kernelDrops: c.kernelDrops, ifDrops: c.ifDrops, captureBatches: c.batches, wakeups: c.wakeups,
    packets: c.captured, tcpSegments: p.counters.tcpSegments, synOnly: t.synOnly, synAck: t.synAck,
    attempts: t.attempts, completed: t.completed, flagged: p.detector.flagged.length, anomalies,
    evictions: { sources: p.tracker.sources.table.evictions, attempts: p.tracker.attemptEvictions, targets: p.tracker.targets.table.evictions },
  };
}

/** Puts the backend's kernel side back when it vanished; failures logged at most every DROP_WARN_INTERVAL_MS. */
class Healer {
  private lastErrorUs = -Infinity;
  constructor(private readonly backend: TimedBackend, private readonly log: Logger) {}

  check(nowUs: number, blocks: () => BlockToKeep[]): void {
    try {
      const restored = this.backend.heal(blocks);
      if (restored !== null) this.log.warn({ backend: this.backend.name, restored }, 'nftables table re-created');
    } catch (e) {
      if (nowUs - this.lastErrorUs < DROP_WARN_INTERVAL_MS * 1000) return;
      this.lastErrorUs = nowUs;
      this.log.error({ backend: this.backend.name, err: (e as Error).message }, 'backend check failed; blocks may be missing from the kernel');
    }
  }
}

/** Rate-limited warnings while packets are being dropped (never silent, never a flood of lines). */
class DropWarnings {
  private warnedKernel = 0;
  private warnedIf = 0;
  private lastWarnUs = -Infinity;
  private warnedWrite = 0;
  private lastWriteWarnUs = -Infinity;

  constructor(private readonly log: Logger) {}

  check(c: CaptureStats, w: CaptureWriter | null, nowUs: number): void {
    if (w) this.checkWriter(w, nowUs);
    const kernel = c.kernelDrops - this.warnedKernel;
    const iface = c.ifDrops - this.warnedIf;
    if ((kernel === 0 && iface === 0) || nowUs - this.lastWarnUs < DROP_WARN_INTERVAL_MS * 1000) return;
    this.log.warn({ kernelDrops: kernel, ifDrops: iface, totalKernelDrops: c.kernelDrops, totalIfDrops: c.ifDrops,
      hint: kernel > 0 ? 'the kernel ring overflowed: raise --buffer-mib, narrow --filter, or lower --snaplen' : 'the interface dropped them before capture' },
    'capture drops');
    this.warnedKernel = c.kernelDrops;
    this.warnedIf = c.ifDrops;
    this.lastWarnUs = nowUs;
  }

  private checkWriter(w: CaptureWriter, nowUs: number): void {
    const s = w.stats;
    if (s.droppedRecords === this.warnedWrite || nowUs - this.lastWriteWarnUs < DROP_WARN_INTERVAL_MS * 1000) return;
    this.log.warn({ droppedRecords: s.droppedRecords - this.warnedWrite, totalDroppedRecords: s.droppedRecords, err: w.lastError, file: s.currentPath },
      'capture file: records not written (analysis goes on)');
    this.warnedWrite = s.droppedRecords;
    this.lastWriteWarnUs = nowUs;
  }
}
