/**
 * Enforcement settings: defaults, the JSON config file, and command-line overrides.
 *
 * Config file schema (JSON object; every key optional; unknown keys are an error, because a
 * misspelt safety setting must not be silently ignored):
 *   {
 *     "allow":                 ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"],  // CIDRs never blocked
 *     "blockTtl":              600,            // seconds a block lasts after the last activity (> 0)
 *     "maxActiveBlocks":       1000,           // integer >= 1
 *     "maxNewBlocksPerSecond": 50,             // number > 0 (token bucket, burst = one second's worth)
 *     "routeType":             "unreachable",  // "unreachable" | "prohibit" | "blackhole"
 *     "backend":               "route",        // live: "route" | "nftables" | "route,nftables" (backends.ts)
 *     "threshold":             10,             // integer >= 1: half-open attempts from one source that flag it
 *     "interval":              1,              // seconds between polls (poll only, > 0)
 *     "stateDir":              "/var/lib/synwatch",
 *     "dryRun":                false,
 *     "user":                  "synwatch"      // live only: the user after set-up; "root": no drop
 *   }
 * Precedence: command line > config file > defaults. `allow` lists are concatenated (file first),
 * each entry keeping its origin ("config" or "--allow") for skip decisions.
 *
 * Contract: loadConfigFile/validateConfig throw ConfigError (code ECONFIG) whose one-line
 * message names the file, the key and the bad value; mergeConfig never reads files.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import type { RouteType } from './contract';
import { parseCidr, type AllowSpec } from './allowlist';
import { isRouteType, ROUTE_TYPES, RouteError } from './routes';
import { DEFAULT_BACKEND, parseBackendSpec } from './backends';

/**
 * Why these defaults:
 * - blockTtl 600 s: long enough that a bot loses interest, short enough that a mistaken block
 *   (NAT'd users behind one address) heals by itself; renewed while the source keeps attacking.
 * - maxActiveBlocks 1000: one host route costs ~100 bytes of kernel memory and a longer FIB walk
 *   per lookup; a spoofed random-source flood must not fill the routing table, and past a few
 *   hundred sources per-source blocking is the wrong tool anyway (syncookies are).
 * - maxNewBlocksPerSecond 50: a genuine attacker set appears over seconds; a burst of thousands
 *   of new sources per second means spoofed addresses, where blocking only hurts innocents.
 * - routeType unreachable: the kernel answers ICMP unreachable, which is what `route add -host X
 *   reject` did, so operators recognise it; blackhole drops silently (less backscatter to spoofed
 *   victims), prohibit answers "administratively prohibited".
 * - stateDir /var/lib/synwatch: FHS place for a daemon's persistent state.
 */
export const DEFAULT_CONFIG = {
  blockTtl: 600,
  maxActiveBlocks: 1000,
  maxNewBlocksPerSecond: 50,
  routeType: 'unreachable' as RouteType,
  stateDir: '/var/lib/synwatch',
  dryRun: false,
} as const;

export interface FileConfig {
  allow?: string[];
  blockTtl?: number;
  maxActiveBlocks?: number;
  maxNewBlocksPerSecond?: number;
  routeType?: RouteType;
  backend?: string;
  threshold?: number;
  interval?: number;
  stateDir?: string;
  dryRun?: boolean;
  user?: string;
}

export interface EnforceConfig {
  allow: AllowSpec[];
  blockTtl: number;
  maxActiveBlocks: number;
  maxNewBlocksPerSecond: number;
  routeType: RouteType;
  /** The block backends (backends.ts spec, validated): "route", "nftables" or "route,nftables". */
  backend: string;
  /** Undefined when neither file nor flag set it: each command has its own default. */
  threshold?: number;
  interval?: number;
  stateDir: string;
  dryRun: boolean;
  /** live: the user to become after set-up (src/live/privilege.ts); undefined: the default there. */
  user?: string;
}

/** Options as commander hands them over (strings for values, booleans for switches). */
export interface CliEnforceOptions {
  config?: string;
  allow?: string[];
  blockTtl?: string | number;
  maxActiveBlocks?: string | number;
  maxNewBlocksPerSecond?: string | number;
  routeType?: string;
  backend?: string;
  threshold?: string | number;
  interval?: string | number;
  stateDir?: string;
  dryRun?: boolean;
  user?: string;
}

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(message: string, readonly key?: string, readonly value?: unknown) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Check = (v: unknown) => string | null; // null = fine, else what was expected

const positiveNumber: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'a number > 0');
const positiveInteger: Check = (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'an integer >= 1');

const CHECKS: Readonly<Record<keyof FileConfig, Check>> = {
  allow: (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'an array of CIDR strings'),
  blockTtl: positiveNumber,
  maxActiveBlocks: positiveInteger,
  maxNewBlocksPerSecond: positiveNumber,
  routeType: (v) => (isRouteType(v) ? null : `one of ${ROUTE_TYPES.join(', ')}`),
  backend: (v) => (typeof v === 'string' && !backendProblem(v, 'backend') ? null : 'route, nftables or route,nftables'),
  threshold: positiveInteger,
  interval: positiveNumber,
  stateDir: (v) => (typeof v === 'string' && v.length > 0 ? null : 'a non-empty path string'),
  dryRun: (v) => (typeof v === 'boolean' ? null : 'true or false'),
  user: (v) => (typeof v === 'string' && v.length > 0 && v.length < 256 ? null : 'a user name'),
};

/** What is wrong with a backend spec (parseBackendSpec's message), or null. */
function backendProblem(v: string, what: string): string | null {
  try {
    parseBackendSpec(v, what);
    return null;
  } catch (e) {
    if (e instanceof RouteError) return e.message;
    throw e;
  }
}

/** Validate a parsed config object; `source` names it in messages (e.g. the file path). */
export function validateConfig(raw: unknown, source: string): FileConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: expected a JSON object at the top level`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const check = (CHECKS as Record<string, Check | undefined>)[key];
    if (!check) {
      throw new ConfigError(`${source}: unknown key "${key}" (known: ${Object.keys(CHECKS).join(', ')})`, key, value);
    }
    const expected = check(value);
    if (expected) throw new ConfigError(`${source}: "${key}" must be ${expected}, got ${JSON.stringify(value)}`, key, value);
    out[key] = value;
  }
  for (const cidr of (out.allow as string[] | undefined) ?? []) {
    try {
      parseCidr(cidr, 'config');
    } catch (e) {
      throw new ConfigError(`${source}: "allow" entry ${JSON.stringify(cidr)} is not a CIDR (${(e as Error).message})`, 'allow', cidr);
    }
  }
  return out as FileConfig;
}

export function loadConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file}: invalid JSON (${(e as Error).message})`);
  }
  return validateConfig(raw, `config file ${file}`);
}

/** CLI value -> number, validated with the same rule as the config file; names the flag. */
function cliNumber(flag: string, key: keyof FileConfig, v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  const expected = CHECKS[key](n);
  if (expected) throw new ConfigError(`${flag} must be ${expected}, got ${JSON.stringify(v)}`, key, v);
  return n;
}

/** Command line over file over defaults. Throws ConfigError naming the flag for bad values. */
export function mergeConfig(file: FileConfig, cli: CliEnforceOptions): EnforceConfig {
  const routeType = cli.routeType ?? file.routeType ?? DEFAULT_CONFIG.routeType;
  if (!isRouteType(routeType)) {
    throw new ConfigError(`--route-type must be one of ${ROUTE_TYPES.join(', ')}, got ${JSON.stringify(routeType)}`, 'routeType', routeType);
  }
  const allow: AllowSpec[] = [
    ...(file.allow ?? []).map((cidr) => ({ cidr, origin: 'config' })),
    ...(cli.allow ?? []).map((cidr) => ({ cidr, origin: '--allow' })),
  ];
  for (const a of cli.allow ?? []) {
    try {
      parseCidr(a, '--allow');
    } catch {
      throw new ConfigError(`--allow ${JSON.stringify(a)} is not an IPv4/IPv6 address or CIDR`, 'allow', a);
    }
  }
  const backend = cli.backend ?? file.backend ?? DEFAULT_BACKEND;
  const badBackend = backendProblem(backend, '--backend');
  if (badBackend) throw new ConfigError(badBackend, 'backend', backend);
  if (cli.stateDir !== undefined && cli.stateDir === '') throw new ConfigError('--state-dir must not be empty', 'stateDir', '');
  const user = cli.user ?? file.user;
  if (cli.user !== undefined && CHECKS.user(cli.user)) throw new ConfigError(`--user must be a user name, got ${JSON.stringify(cli.user)}`, 'user', cli.user);
  return {
    allow,
    blockTtl: cliNumber('--block-ttl', 'blockTtl', cli.blockTtl) ?? file.blockTtl ?? DEFAULT_CONFIG.blockTtl,
    maxActiveBlocks: cliNumber('--max-active-blocks', 'maxActiveBlocks', cli.maxActiveBlocks)
      ?? file.maxActiveBlocks ?? DEFAULT_CONFIG.maxActiveBlocks,
    maxNewBlocksPerSecond: cliNumber('--max-new-blocks-per-second', 'maxNewBlocksPerSecond', cli.maxNewBlocksPerSecond)
      ?? file.maxNewBlocksPerSecond ?? DEFAULT_CONFIG.maxNewBlocksPerSecond,
    routeType,
    backend,
    threshold: cliNumber('--threshold', 'threshold', cli.threshold) ?? file.threshold,
    interval: cliNumber('--interval', 'interval', cli.interval) ?? file.interval,
    stateDir: cli.stateDir ?? file.stateDir ?? DEFAULT_CONFIG.stateDir,
    dryRun: cli.dryRun === true || (cli.dryRun === undefined && (file.dryRun ?? DEFAULT_CONFIG.dryRun)),
    // Only when set: configs of commands that never drop privileges stay as they were.
    ...(user !== undefined ? { user } : {}),
  };
}

/** Load --config (if given) and merge the command line over it. */
export function resolveConfig(cli: CliEnforceOptions): EnforceConfig {
  return mergeConfig(cli.config ? loadConfigFile(cli.config) : {}, cli);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Adds the shared enforcement flags to a command (live, poll, ...). No commander defaults on
 * purpose: an unset flag must not override the config file; defaults come from mergeConfig.
 */
export function addEnforceOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (see src/enforce/config.ts for the schema)')
    .option('--allow <cidr>', 'never block this address or CIDR (repeatable)', collect)
    .option('--block-ttl <seconds>', `block lifetime after the last activity (default ${DEFAULT_CONFIG.blockTtl})`)
    .option('--max-active-blocks <n>', `most blocks at once (default ${DEFAULT_CONFIG.maxActiveBlocks})`)
    .option('--max-new-blocks-per-second <n>', `most new blocks per second (default ${DEFAULT_CONFIG.maxNewBlocksPerSecond})`)
    .option('--route-type <type>', `${ROUTE_TYPES.join(' | ')} (default ${DEFAULT_CONFIG.routeType})`)
    .option('--state-dir <dir>', `where the block ledger lives (default ${DEFAULT_CONFIG.stateDir})`)
    .option('--dry-run', 'decide and log, but install no routes and write no ledger');
}
