/**
 * Replay expectations: the decision timeline of a capture as a small, human-editable JSON file,
 * and the comparison that makes a capture a CI test.
 *
 * File format (stable; keys in this order; times in seconds from the capture's first packet,
 * six decimals, so a person can read and edit them):
 *   {
 *     "format": "synwatch-replay/1",
 *     "capture": "attack.pcap",              // file name only, for the reader
 *     "toleranceSeconds": 1,                  // how far a decision may move and still match
 *     "decisions": [ { "t": 0.512301, "action": "block", "ip": "203.0.113.66", "reason": "flood" }, ... ],
 *     "alerts":    [ { "start": 0, "end": 2.99, "kind": "spoofed-flood" }, ... ]
 *   }
 * Lists are sorted by time, then address, then action: byte-identical for the same input.
 *
 * Matching: an expected entry matches an actual one with the same action, address and reason
 * (kind, for alerts) whose time is within the tolerance; each actual entry matches once. What
 * is left on either side is the diff, one line per entry, naming the source and the decision.
 */
import { Decision } from '../enforce/contract';
import { Alert } from '../detect/alerts';

export const EXPECTATION_FORMAT = 'synwatch-replay/1';
export const DEFAULT_TOLERANCE_SECONDS = 1;

export interface TimelineDecision {
  t: number;
  action: string;
  ip: string;
  reason: string;
}

export interface TimelineAlert {
  start: number;
  end: number;
  kind: string;
}

export interface Expectation {
  format: string;
  capture: string;
  toleranceSeconds: number;
  decisions: TimelineDecision[];
  alerts: TimelineAlert[];
}

export class ExpectationError extends Error {
  override name = 'ExpectationError';
}

const rel = (us: number, startUs: number) => Math.round(us - startUs) / 1e6;

export function buildTimeline(captureName: string, startUs: number, decisions: Decision[], alerts: Alert[], toleranceSeconds: number): Expectation {
  const ds = decisions.map((d) => ({ t: rel(d.tsUs, startUs), action: d.action, ip: d.ip, reason: d.reason }));
  ds.sort((a, b) => a.t - b.t || cmp(a.ip, b.ip) || cmp(a.action, b.action) || cmp(a.reason, b.reason));
  const as = alerts.map((a) => ({ start: rel(a.startUs, startUs), end: rel(a.endUs, startUs), kind: a.kind }));
  as.sort((a, b) => a.start - b.start || cmp(a.kind, b.kind) || a.end - b.end);
  return { format: EXPECTATION_FORMAT, capture: captureName, toleranceSeconds, decisions: ds, alerts: as };
}

/** Stable text: one decision or alert per line, so a diff of two files reads line by line. */
export function serializeExpectation(e: Expectation): string {
  const line = (o: object) => `    ${JSON.stringify(o)}`;
  const list = (items: object[]) => (items.length === 0 ? '[]' : `[\n${items.map(line).join(',\n')}\n  ]`);
  return [
    '{',
    `  "format": ${JSON.stringify(e.format)},`,
    `  "capture": ${JSON.stringify(e.capture)},`,
    `  "toleranceSeconds": ${e.toleranceSeconds},`,
    `  "decisions": ${list(e.decisions.map((d) => ({ t: d.t, action: d.action, ip: d.ip, reason: d.reason })))},`,
    `  "alerts": ${list(e.alerts.map((a) => ({ start: a.start, end: a.end, kind: a.kind })))}`,
    '}',
    '',
  ].join('\n');
}

/** Parse and validate an expectation file's text; errors name the file and the entry. */
export function parseExpectation(text: string, file: string): Expectation {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ExpectationError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== EXPECTATION_FORMAT) {
    throw new ExpectationError(`${file}: not a synwatch replay expectation (format must be "${EXPECTATION_FORMAT}")`);
  }
  const tol = o.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (typeof tol !== 'number' || !(tol >= 0)) throw new ExpectationError(`${file}: toleranceSeconds must be a number >= 0`);
  const decisions = arrayOf(o.decisions, file, 'decisions', (d, i) => {
    if (typeof d.t !== 'number' || typeof d.action !== 'string' || typeof d.ip !== 'string' || typeof d.reason !== 'string') {
      throw new ExpectationError(`${file}: decisions[${i}] needs t (number), action, ip and reason (strings)`);
    }
    return { t: d.t, action: d.action, ip: d.ip, reason: d.reason };
  });
  const alerts = arrayOf(o.alerts ?? [], file, 'alerts', (a, i) => {
    if (typeof a.start !== 'number' || typeof a.end !== 'number' || typeof a.kind !== 'string') {
      throw new ExpectationError(`${file}: alerts[${i}] needs start, end (numbers) and kind (string)`);
    }
    return { start: a.start, end: a.end, kind: a.kind };
  });
  return { format: EXPECTATION_FORMAT, capture: String(o.capture ?? ''), toleranceSeconds: tol, decisions, alerts };
}

/** Lines describing every difference; empty when the actual timeline matches the expectation. */
export function compareTimelines(expected: Expectation, actual: Expectation, toleranceSeconds: number): string[] {
  const diff: string[] = [];
  const used = new Set<number>();
  for (const e of expected.decisions) {
    let best = -1;
    for (let i = 0; i < actual.decisions.length; i++) {
      const a = actual.decisions[i];
      if (used.has(i) || a.action !== e.action || a.ip !== e.ip || a.reason !== e.reason) continue;
      if (Math.abs(a.t - e.t) > toleranceSeconds + 1e-9) continue;
      if (best < 0 || Math.abs(a.t - e.t) < Math.abs(actual.decisions[best].t - e.t)) best = i;
    }
    if (best >= 0) {
      used.add(best);
      continue;
    }
    const near = actual.decisions.find((a, i) => !used.has(i) && a.ip === e.ip && a.action === e.action);
    diff.push(`- ${e.action} ${e.ip || '(no address)'} (${e.reason}) at +${e.t.toFixed(6)}s: missing` +
      (near ? ` (got ${near.action} ${near.ip} (${near.reason}) at +${near.t.toFixed(6)}s)` : ''));
  }
  actual.decisions.forEach((a, i) => {
    if (!used.has(i)) diff.push(`+ ${a.action} ${a.ip || '(no address)'} (${a.reason}) at +${a.t.toFixed(6)}s: not expected`);
  });
  const usedAlerts = new Set<number>();
  for (const e of expected.alerts) {
    const i = actual.alerts.findIndex((a, j) => !usedAlerts.has(j) && a.kind === e.kind &&
      Math.abs(a.start - e.start) <= toleranceSeconds + 1e-9 && Math.abs(a.end - e.end) <= toleranceSeconds + 1e-9);
    if (i >= 0) usedAlerts.add(i);
    else diff.push(`- alert ${e.kind} +${e.start.toFixed(6)}s..+${e.end.toFixed(6)}s: missing`);
  }
  actual.alerts.forEach((a, i) => {
    if (!usedAlerts.has(i)) diff.push(`+ alert ${a.kind} +${a.start.toFixed(6)}s..+${a.end.toFixed(6)}s: not expected`);
  });
  return diff;
}

function arrayOf<T>(v: unknown, file: string, key: string, each: (o: Record<string, unknown>, i: number) => T): T[] {
  if (!Array.isArray(v)) throw new ExpectationError(`${file}: ${key} must be an array`);
  return v.map((x, i) => {
    if (typeof x !== 'object' || x === null) throw new ExpectationError(`${file}: ${key}[${i}] must be an object`);
    return each(x as Record<string, unknown>, i);
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
