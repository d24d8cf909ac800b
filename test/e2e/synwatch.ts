/**
 * Helpers for driving synwatch in the lab (shared by the e2e tests and bench/latency.ts):
 * starting `live`, reading its decision/alert log lines, and waiting for synwatch's routes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Lab, LabProcess, RouteRow, pollUntil, REPO_ROOT, SYNWATCH_MAIN } from './lab';

/** synwatch's route marker (src/enforce/routes.ts SYNWATCH_RTM_PROTOCOL), as `ip -j` prints it. */
export const SYNWATCH_PROTO = '181';

export const LIVE_JS = path.join(REPO_ROOT, 'dist/src/cli/commands/live.js');

/** Why `synwatch live` cannot be tested here, or null. */
export function liveUnavailableReason(): string | null {
  if (!fs.existsSync(SYNWATCH_MAIN)) return `${SYNWATCH_MAIN} not built`;
  if (!fs.existsSync(LIVE_JS)) return 'the live command is not built yet (dist/src/cli/commands/live.js missing)';
  return null;
}

/** live's built default BPF filter (dist/src/capture/filter.js DEFAULT_LIVE_FILTER), if exported. */
export function liveDefaultFilter(): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(path.join(REPO_ROOT, 'dist/src/capture/filter.js')) as { DEFAULT_LIVE_FILTER?: unknown };
    return typeof m.DEFAULT_LIVE_FILTER === 'string' ? m.DEFAULT_LIVE_FILTER : null;
  } catch {
    return null;
  }
}

let helpCache: string | undefined;
/** `synwatch live --help` text (cached). */
export function liveHelp(): string {
  if (helpCache === undefined) {
    try {
      helpCache = execFileSync(process.execPath, [SYNWATCH_MAIN, 'live', '--help'], { encoding: 'utf8', timeout: 20_000 });
    } catch (e) {
      helpCache = String((e as { stdout?: string }).stdout ?? '');
    }
  }
  return helpCache;
}

/**
 * The flag for a setting: the brief names --max-blocks / --max-blocks-per-second, the shared
 * enforcement options (src/enforce/config.ts) name them --max-active-blocks /
 * --max-new-blocks-per-second. Use whichever the built `live --help` lists.
 */
export function liveFlag(...candidates: string[]): string {
  const help = liveHelp();
  for (const c of candidates) if (new RegExp(`${c}(?![\\w-])`).test(help)) return c;
  return candidates[0];
}

export function maxBlocksFlag(): string {
  return liveFlag('--max-blocks', '--max-active-blocks');
}

export function maxBlocksPerSecondFlag(): string {
  return liveFlag('--max-blocks-per-second', '--max-new-blocks-per-second');
}

export interface LiveOptions {
  stateDir: string;
  threshold?: number;
  extra?: string[];
  iface?: string;
  timeoutMs?: number;
}

/** Starts `synwatch live -i eth0` in the lab's server namespace and waits for "capturing". */
export function startLive(lab: Lab, o: LiveOptions): Promise<LabProcess> {
  const args = ['live', '-i', o.iface ?? lab.serverIface, '--state-dir', o.stateDir,
    '--threshold', String(o.threshold ?? 20), ...(o.extra ?? [])];
  return lab.synwatch(args, { timeoutMs: o.timeoutMs ?? 20_000, label: 'synwatch live' });
}

export type LogLine = Record<string, unknown>;

export function decisions(p: LabProcess, action?: string, ip?: string): LogLine[] {
  return p.json.filter((o) => o.msg === 'decision' && (action === undefined || o.action === action) && (ip === undefined || o.ip === ip));
}

export function alerts(p: LabProcess, kind?: string): LogLine[] {
  return p.json.filter((o) => o.msg === 'alert' && (kind === undefined || o.kind === kind));
}

/** synwatch's host routes (protocol 181) in the server namespace. */
export async function synwatchRoutes(lab: Lab): Promise<RouteRow[]> {
  return (await lab.routes('server')).filter((r) => r.protocol === SYNWATCH_PROTO);
}

/** Waits until `ip` has a synwatch route of `type` in the server namespace. */
export function waitForRoute(lab: Lab, ip: string, timeoutMs: number, type = 'unreachable'): Promise<RouteRow> {
  return pollUntil(async () => (await synwatchRoutes(lab)).find((r) => r.dst === ip && r.type === type), timeoutMs,
    `a ${type} route for ${ip}`, 50);
}

/** Waits until no route for `ip` is left in the server namespace. */
export function waitForNoRoute(lab: Lab, ip: string, timeoutMs: number): Promise<true> {
  return pollUntil(async () => !(await lab.routes('server')).some((r) => r.dst === ip), timeoutMs, `the route for ${ip} to go`, 100);
}

/** Short description of a process's decision lines, for assertion messages. */
export function decisionSummary(p: LabProcess): string {
  return decisions(p).map((d) => `${String(d.action)} ${String(d.ip)} ${String(d.reason)}`).join('; ') || '(no decisions)';
}

/** The addresses in synwatch's nftables set for IPv4 in the lab's server namespace ([] without the table). */
export async function nftElements(lab: Lab): Promise<string[]> {
  const r = await lab.exec('server', 'nft', ['-j', 'list', 'set', 'inet', 'synwatch', 'blocked4'], { allowFail: true });
  if (r.code !== 0) return [];
  const out: string[] = [];
  for (const item of JSON.parse(r.stdout).nftables) for (const e of item.set?.elem ?? []) out.push(typeof e === 'string' ? e : e.elem.val);
  return out;
}
