/**
 * What `synwatch status` shows: the current attack, the top sources, the active blocks, the
 * capture counters and drops of a running `synwatch live`, as one JSON document (the socket's
 * answer, `status --json`) and as text.
 *
 * Contract of the document (format "synwatch-status/1"; bumped on an incompatible change):
 *   pid, iface, dryRun, startedAt, now (ISO-8601 UTC, µs), uptimeSeconds;
 *   attack: { active, alerts: AlertReport[] } (src/report/model.ts; an open alert's end and
 *     counts are those at its start);
 *   sources: up to TOP_STATUS_SOURCES SourceReport, most incomplete attempts first;
 *   blocks: { active, list: up to MAX_STATUS_BLOCKS of { ip, reason, type, since, expires },
 *     soonest expiry first };
 *   capture: { captured, received, kernelDrops, ifDrops, batches };
 *   totals: { packets, tcpSegments, synOnly, synAck, attempts, completed, flagged,
 *     decisions{action: n}, alerts{kind: n} }.
 * Built on request only (bounded: one pass over the source table, as a report does).
 */
import { alertReport, AlertReport, SourceReport, sourceReports } from '../report/model';
import { isoUs } from '../report/time';
import { ALERT_KINDS, DECISION_ACTIONS } from './live-counters';
import { LiveView } from './live-view';

export const STATUS_FORMAT = 'synwatch-status/1';
const TOP_STATUS_SOURCES = 10;
const MAX_STATUS_BLOCKS = 20;

export interface StatusBlock { ip: string; reason: string; type: string; since: string; expires: string }

export interface StatusSnapshot {
  format: string;
  pid: number;
  iface: string;
  dryRun: boolean;
  startedAt: string;
  now: string;
  uptimeSeconds: number;
  attack: { active: boolean; alerts: AlertReport[] };
  sources: SourceReport[];
  blocks: { active: number; list: StatusBlock[] };
  capture: { captured: number; received: number; kernelDrops: number; ifDrops: number; batches: number };
  totals: {
    packets: number; tcpSegments: number; synOnly: number; synAck: number; attempts: number; completed: number;
    flagged: number; decisions: Record<string, number>; alerts: Record<string, number>;
  };
}

export function statusSnapshot(v: LiveView): StatusSnapshot {
  const now = v.nowUs();
  const c = v.captureStats();
  const t = v.pipeline.tracker.totals;
  const policy = v.policy();
  const alerts = v.events.openAlerts().map(alertReport);
  // Flagged sources carry their counts at flag time until refreshed (the report does it at the end).
  v.pipeline.detector.refreshAll();
  const sources = sourceReports(v.pipeline)
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.incomplete - a.s.incomplete || a.i - b.i)
    .slice(0, TOP_STATUS_SOURCES)
    .map(({ s }) => s);
  return {
    format: STATUS_FORMAT,
    pid: process.pid,
    iface: v.iface,
    dryRun: v.dryRun,
    startedAt: isoUs(v.startedUs),
    now: isoUs(now),
    uptimeSeconds: Math.round((now - v.startedUs) / 1e3) / 1e3,
    attack: { active: alerts.length > 0, alerts },
    sources,
    blocks: {
      active: policy.activeCount,
      list: policy.active().slice(0, MAX_STATUS_BLOCKS).map((b) => ({ ip: b.ip, reason: b.reason, type: b.type, since: isoUs(b.sinceUs), expires: isoUs(b.expiresUs) })),
    },
    capture: { captured: c.captured, received: c.received, kernelDrops: c.kernelDrops, ifDrops: c.ifDrops, batches: c.batches },
    totals: {
      packets: c.captured, tcpSegments: v.pipeline.counters.tcpSegments, synOnly: t.synOnly, synAck: t.synAck,
      attempts: t.attempts, completed: t.completed, flagged: v.pipeline.detector.flagged.length,
      decisions: Object.fromEntries(DECISION_ACTIONS.map((a, i) => [a, v.events.decisions[i]])),
      alerts: Object.fromEntries(ALERT_KINDS.map((k, i) => [k, v.events.alertsStarted[i]])),
    },
  };
}

/** The human form of a snapshot: a few short sections, numbers first. */
export function statusText(s: StatusSnapshot): string {
  const out: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  out.push(`synwatch live on ${s.iface}${s.dryRun ? ' (dry-run)' : ''}, pid ${s.pid}, up ${formatSeconds(s.uptimeSeconds)} (since ${s.startedAt})`);
  if (s.attack.active) {
    for (const a of s.attack.alerts) {
      out.push(`attack: ${a.kind} since ${a.start}, peak ${n(a.peakRate)}/s, ${n(a.count)} attempts at start${a.targets.length ? `, on ${a.targets.slice(0, 3).map((x) => `${x.ip}:${x.port}`).join(', ')}` : ''}`);
    }
  } else {
    out.push('attack: none');
  }
  const c = s.capture;
  const dropped = c.kernelDrops + c.ifDrops;
  out.push(`capture: ${n(c.captured)} captured, ${n(c.received)} received, ${dropped === 0 ? 'no drops' : `DROPPED ${n(c.kernelDrops)} in the kernel, ${n(c.ifDrops)} by the interface`}`);
  const t = s.totals;
  out.push(`handshakes: ${n(t.synOnly)} SYNs, ${n(t.attempts)} attempts, ${n(t.completed)} completed; ${n(t.flagged)} sources flagged`);
  out.push(`blocks: ${n(s.blocks.active)} active${s.dryRun ? ' (dry-run: no routes)' : ''}`);
  for (const b of s.blocks.list) out.push(`  ${b.ip.padEnd(39)} ${b.reason.padEnd(6)} ${b.type} until ${b.expires}`);
  if (s.blocks.active > s.blocks.list.length) out.push(`  ... and ${n(s.blocks.active - s.blocks.list.length)} more (synwatch blocks lists them all)`);
  if (s.sources.length === 0) {
    out.push('top sources: none');
  } else {
    out.push('top sources (incomplete / attempts, half-open):');
    for (const x of s.sources) {
      out.push(`  ${x.ip.padEnd(39)} ${n(x.incomplete)} / ${n(x.attempts)}, ${n(x.halfOpen)} half-open${x.flagged ? `, flagged (${x.reason}) at ${x.flaggedAt}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
