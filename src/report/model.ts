/**
 * The analysis report as data: the `--json` contract, and what the text report prints.
 *
 * Contract (stable, camelCase; times ISO-8601 UTC with microseconds, packet time):
 *   version                 report format version (bumped on any incompatible change)
 *   capture                 { file, format, compressed, byteOrder, linkTypes[], interfaces[],
 *                             records, bytes, first, last, durationSeconds, warnings[] }
 *   settings                the detection settings in force
 *   totals                  { packets, tcpSegments, synOnly, synAck, rst, attempts, completed,
 *                             incomplete, synRetransmits, synWithData, clientResets, serverResets,
 *                             timedOut, lateCompletions, unsolicitedSynAck, tcpInIcmp, ipv4, ipv6,
 *                             nonIp, nonTcp, fragments, anomalies{name: n}, unknownLinkTypes{lt: n} }
 *   tables                  { sources|attempts|targets: { size, max, evictions } }
 *   sources[]               flagged sources first (by flag time), then the top sources by
 *                           incomplete attempts: { ip, syn, attempts, completed, incomplete,
 *                           halfOpen, flagged, flaggedAt, firstSeen, reason, distinctPorts };
 *                           reason "flood", "scan" or "crowd" (detect/detector.ts)
 *   alerts[]                { kind, start, end, count, completed, peakRate, newSourceAttempts,
 *                             share, targets[{ip, port, attempts}], sources[{ip, count}], advice }
 *                           in the order they ended; a mixed flood is its syn-flood alert followed
 *                           by a spoofed-flood alert per one-shot part (detect/flood.ts): count is
 *                           then that part's one-shot attempts, and share (of the flood's attempts,
 *                           4 decimals; 1 for every other alert) splits the flood between them
 *   targets[]               top destinations by attempts: { ip, port, attempts, completed,
 *                             incomplete, firstSeen, lastSeen }
 *   decisions[]             what the enforcer would do under the policy in force, packet time:
 *                           { action, ip, at, reason, expires?, detail? }; action "block",
 *                           "renew", "unblock", "skip", "deferred" (queued by the new-blocks rate
 *                           cap, a block follows when its turn comes: enforce/policy.ts) or "alert"
 *   timeline                the capture as time series in packet time (report/timeline.ts):
 *                           { start, binSeconds, rateSeconds, bins, series{syn, synAck, rst,
 *                           attempts, completed, newSources: {count[], min[], max[]}},
 *                           lastSeen[] } (lastSeen[i]: the last SYN of sources[i], null when it
 *                           left the table); null for a capture without packets
 * Every list is sorted by a total order (counts, then address: numeric, IPv4 before IPv6),
 * never by table order.
 */
import { CaptureSummary } from '../capture/record';
import { Alert } from '../detect/alerts';
import { Decision } from '../enforce/contract';
import { wordsToIp } from '../decode/address';
import { Pipeline } from '../pipeline';
import { FlowTable } from '../track/flow-table';
import { SOURCE_KEY_WORDS } from '../track/sources';
import { TARGET_KEY_WORDS } from '../track/targets';
import { isoUs, secondsUs } from './time';
import { linkTypeName } from './link-types';
import { Timeline, TimelineReport } from './timeline';

export const REPORT_VERSION = 1;
const TOP_SOURCES = 20;
const TOP_TARGETS = 20;

export interface SourceReport {
  ip: string;
  syn: number;
  attempts: number;
  completed: number;
  incomplete: number;
  halfOpen: number;
  flagged: boolean;
  flaggedAt: string | null;
  firstSeen: string;
  reason: string | null;
  distinctPorts: number;
}

/** An Alert with its times as ISO-8601 text. */
export type AlertReport = Omit<Alert, 'startUs' | 'endUs'> & { start: string; end: string };

export interface TargetReport {
  ip: string;
  port: number;
  attempts: number;
  completed: number;
  incomplete: number;
  firstSeen: string;
  lastSeen: string;
}

export interface DecisionReport {
  action: string;
  ip: string;
  at: string;
  reason: string;
  expires?: string;
  detail?: string;
}

export interface Report {
  version: number;
  capture: {
    file: string;
    format: string;
    compressed: boolean;
    byteOrder: string;
    linkTypes: string[];
    interfaces: { id: number; linkType: string; tsResolution: string; name?: string }[];
    records: number;
    bytes: number;
    first: string | null;
    last: string | null;
    durationSeconds: number;
    warnings: { offset: number; code: string; message: string }[];
  };
  settings: Record<string, number>;
  totals: Record<string, number | Record<string, number>>;
  tables: Record<string, { size: number; max: number; evictions: number }>;
  sources: SourceReport[];
  alerts: AlertReport[];
  targets: TargetReport[];
  decisions: DecisionReport[];
  timeline: (TimelineReport & { lastSeen: (string | null)[] }) | null;
}

export function buildReport(
  summary: CaptureSummary,
  p: Pipeline,
  alerts: Alert[],
  decisions: Decision[],
  settings: Record<string, number>,
  timeline: Timeline | null = null,
): Report {
  const c = p.counters;
  const t = p.tracker.totals;
  const anomalies: Record<string, number> = {};
  for (const k of Object.keys(c.anomalies).sort()) if (c.anomalies[k] > 0) anomalies[k] = c.anomalies[k];
  const unknownLinkTypes: Record<string, number> = {};
  for (const [lt, n] of [...c.unknownLinkTypes].sort((a, b) => a[0] - b[0])) unknownLinkTypes[String(lt)] = n;
  const tr = p.tracker;
  const rows = sourceRows(p);
  const sources = rows.map((r) => r.report);
  const series = timeline ? timeline.toReport() : null;
  return {
    version: REPORT_VERSION,
    capture: {
      file: summary.file,
      format: summary.format,
      compressed: summary.compressed,
      byteOrder: summary.byteOrder,
      linkTypes: [...new Set(summary.interfaces.map((i) => linkTypeName(i.linkType)))],
      interfaces: summary.interfaces.map((i) => ({ ...i, linkType: linkTypeName(i.linkType) })),
      records: summary.records,
      bytes: summary.bytes,
      first: summary.firstTsUs === null ? null : isoUs(summary.firstTsUs),
      last: summary.lastTsUs === null ? null : isoUs(summary.lastTsUs),
      durationSeconds: summary.firstTsUs === null || summary.lastTsUs === null ? 0 : secondsUs(summary.lastTsUs - summary.firstTsUs),
      warnings: summary.warnings.map((w) => ({ offset: w.offset, code: w.code, message: w.message })),
    },
    settings,
    totals: {
      packets: c.frames,
      tcpSegments: c.tcpSegments,
      synOnly: t.synOnly,
      synAck: t.synAck,
      rst: t.rst,
      attempts: t.attempts,
      completed: t.completed,
      incomplete: t.attempts - t.completed,
      synRetransmits: t.synRetransmits,
      synWithData: t.synWithData,
      clientResets: t.clientResets,
      serverResets: t.serverResets,
      timedOut: t.timedOut,
      lateCompletions: t.lateCompletions,
      unsolicitedSynAck: t.unsolicitedSynAck,
      tcpInIcmp: c.tcpInIcmp,
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      nonIp: c.nonIp,
      nonTcp: c.nonTcp,
      fragments: c.fragments,
      anomalies,
      unknownLinkTypes,
    },
    tables: {
      sources: { size: tr.sources.table.size, max: tr.sources.table.maxCapacity, evictions: tr.sources.table.evictions },
      attempts: { size: tr.attemptCount, max: tr.maxAttempts, evictions: tr.attemptEvictions },
      targets: { size: tr.targets.table.size, max: tr.targets.table.maxCapacity, evictions: tr.targets.table.evictions },
    },
    sources,
    alerts: alerts.map(alertReport),
    targets: targetReports(p),
    decisions: decisions.map(decisionReport),
    timeline: series === null ? null : { ...series, lastSeen: rows.map((r) => (r.slot < 0 ? null : isoUs(p.tracker.sources.lastUs[r.slot]))) },
  };
}

export function alertReport(a: Alert): AlertReport {
  const { kind, startUs, endUs, ...rest } = a;
  return { kind, start: isoUs(startUs), end: isoUs(endUs), ...rest };
}

export function decisionReport(d: Decision): DecisionReport {
  const r: DecisionReport = { action: d.action, ip: d.ip, at: isoUs(d.tsUs), reason: d.reason };
  if (d.expiresUs !== undefined) r.expires = isoUs(d.expiresUs);
  if (d.detail !== undefined) r.detail = d.detail;
  return r;
}

function byIp(a: { ip: string }, b: { ip: string }): number {
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0;
}

/** Flagged sources (by flag time), then the top unflagged ones by incomplete attempts. */
export function sourceReports(p: Pipeline): SourceReport[] {
  return sourceRows(p).map((r) => r.report);
}

/** sourceReports with each source's slot in the table while it is still the reported one (a
 *  flagged source: with the same flag), else -1: the timeline's lastSeen reads it. */
function sourceRows(p: Pipeline): { report: SourceReport; slot: number }[] {
  const s = p.tracker.sources;
  const flagged = p.detector.flagged.map((f) => {
    const found = s.table.find(f.words, s.table.hashKey(f.words));
    const live = found >= 0 && s.flaggedUs[found] === f.flaggedUs;
    const report: SourceReport = {
      ip: f.ip,
      syn: f.syn,
      attempts: f.attempts,
      completed: f.completed,
      incomplete: f.incomplete,
      halfOpen: live ? s.halfOpen[found] : 0,
      flagged: true,
      flaggedAt: isoUs(f.flaggedUs),
      firstSeen: isoUs(f.firstSeenUs),
      reason: f.reason,
      distinctPorts: f.distinctPorts,
    };
    return { report, slot: live ? found : -1 };
  });
  // Top unflagged sources by incomplete attempts. Ranked on numbers (counts, then address
  // words), strings made only for the winners: a spoofed flood ties half a million sources at 1.
  const top = topSlots(s.table, TOP_SOURCES, (slot) => (s.flaggedUs[slot] !== 0 ? -1 : s.attempts[slot] - s.completed[slot]),
    (slot) => s.attempts[slot], SOURCE_KEY_WORDS);
  flagged.sort(({ report: a }, { report: b }) => (a.flaggedAt! < b.flaggedAt! ? -1 : a.flaggedAt! > b.flaggedAt! ? 1 : byIp(a, b)));
  return [...flagged, ...top.map((slot) => ({
    report: {
      ip: wordsToIp(s.table.keys, slot * s.table.keyWords),
      syn: s.syn[slot],
      attempts: s.attempts[slot],
      completed: s.completed[slot],
      incomplete: s.attempts[slot] - s.completed[slot],
      halfOpen: s.halfOpen[slot],
      flagged: false,
      flaggedAt: null,
      firstSeen: isoUs(s.firstUs[slot]),
      reason: null,
      distinctPorts: s.distinctPorts(slot),
    },
    slot,
  }))];
}

/**
 * The `n` best slots of a table: by `primary` descending (entries below 1 are left out), then
 * `secondary` descending, then key words ascending (address, then port). Bounded work per entry.
 */
function topSlots(t: FlowTable, n: number, primary: (slot: number) => number, secondary: (slot: number) => number, keyWords: number): number[] {
  const keys = t.keys;
  const kw = t.keyWords;
  const better = (a: number, b: number): number => {
    const d = primary(b) - primary(a) || secondary(b) - secondary(a);
    if (d !== 0) return d;
    for (let i = 0; i < keyWords; i++) {
      const x = keys[a * kw + i], y = keys[b * kw + i];
      if (x !== y) return x - y;
    }
    return 0;
  };
  let top: number[] = [];
  t.forEachOldestFirst((slot) => {
    if (primary(slot) < 1) return;
    if (top.length >= n && better(slot, top[n - 1]) >= 0) return;
    top.push(slot);
    if (top.length >= 4 * n) top = top.sort(better).slice(0, n);
    else if (top.length === n) top.sort(better);
  });
  return top.sort(better).slice(0, n);
}

function targetReports(p: Pipeline): TargetReport[] {
  const t = p.tracker.targets;
  const keys = t.table.keys;
  return topSlots(t.table, TOP_TARGETS, (slot) => t.attempts[slot], () => 0, TARGET_KEY_WORDS).map((slot) => {
    const base = slot * t.table.keyWords;
    return {
      ip: wordsToIp(keys, base),
      port: keys[base + 4],
      attempts: t.attempts[slot],
      completed: t.completed[slot],
      incomplete: t.attempts[slot] - t.completed[slot],
      firstSeen: isoUs(t.firstUs[slot]),
      lastSeen: isoUs(t.lastUs[slot]),
    };
  });
}

