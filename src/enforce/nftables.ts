/**
 * The nftables backend: blocked sources as elements of two sets in a table synwatch owns,
 * dropped at inet prerouting priority raw (-300), before conntrack and before TCP. The kernel
 * expires each element after its timeout, so blocks end even if synwatch dies.
 *
 * What it creates (native/src/nftables.c has the exact text):
 *   table inet synwatch { comment "<marker>"
 *     set blocked4 { type ipv4_addr; flags timeout; }  set blocked6 { type ipv6_addr; flags timeout; }
 *     chain prerouting { type filter hook prerouting priority raw; policy accept;
 *       ip saddr @blocked4 counter drop; ip6 saddr @blocked6 counter drop } }
 * Packet taps (AF_PACKET, libpcap) see a packet before netfilter's hooks, so synwatch's own
 * capture still counts a blocked source's SYNs: renewals and reports keep working.
 *
 * Contract: implements BlockBackend (contract.ts) over native/build/Release/synwatch_nftables.node.
 * - openNftablesBackend() loads the addon and opens its one libnftables context (and netlink
 *   socket) for the process lifetime; every later call uses it, so nothing here re-opens a
 *   socket or reads a file after start-up. It refuses a `table inet synwatch` that synwatch did
 *   not make (its comment is not the marker): RouteError code ECONFLICT. A missing addon
 *   (libnftables-dev absent at build time) is RouteError code EADDON. It never touches any
 *   other table.
 * - prepare() creates the table idempotently (existing elements stay); add() with ENOENT (the
 *   ruleset was flushed) re-creates it and retries once; heal() re-creates it and re-adds the
 *   live blocks when the chain is gone.
 * - add() and renew() set the element's timeout to keepUs (rounded up to whole ms, at least
 *   1 s), atomically replacing an existing element; del() of a missing element is success.
 * - list() reports elements as type "drop".
 */
import type { BlockBackend, BlockedEntry, BlockToKeep, RouteType } from './contract';
import { canonicalIp } from '../decode/address';
import { nativeAddonPath } from '../capture/native-addon';
import { compareIp, RouteError, type RouteOp } from './routes';
import { CAP_NET_ADMIN, effectiveCapabilities, hasCapability } from './capabilities';

/** What native/src/nftables.c exports. */
export interface NativeNftablesAddon {
  open(): void;
  close(): void;
  owner(): string | null;
  create(): void;
  chainPresent(): boolean;
  add(family: 4 | 6, ip: string, timeoutMs: number): void;
  del(family: 4 | 6, ip: string): void;
  list(family: 4 | 6): string;
  readonly table: string;
  readonly chain: string;
  readonly marker: string;
  readonly sets: Readonly<Record<'4' | '6', string>>;
}

export const NFTABLES_ADDON_PATH = nativeAddonPath('synwatch_nftables');

/** Shortest kernel timeout given: a block restored a moment before its expiry still lands. */
const MIN_TIMEOUT_MS = 1000;
/** The addon's bound (~31 years). */
const MAX_TIMEOUT_MS = 1e12;

export interface OpenNftablesOptions {
  addonPath?: string;
}

export class NftablesBackend implements BlockBackend {
  readonly name = 'nftables';
  readonly listNeedsNetAdmin = true;
  readonly blockAction = 'drop';

  constructor(private readonly addon: NativeNftablesAddon) {}

  /** `table inet synwatch`, for messages and the README. */
  get table(): string {
    return `inet ${this.addon.table}`;
  }

  /** Throws ECONFLICT when a table of our name exists without our marker. */
  /** Whether synwatch's table was in the kernel when the backend was opened. */
  tableWasPresent = false;

  /** Throws ECONFLICT for someone else's table; returns whether ours is there. */
  checkOwnership(): boolean {
    const owner = this.call('load', '', () => this.addon.owner());
    if (owner === null) return false;
    if (owner === this.addon.marker) return true;
    const what = owner === '' ? 'has no comment' : `has the comment ${JSON.stringify(owner)}`;
    throw new RouteError(`nftables table ${this.table} exists and was not made by synwatch (it ${what}); ` +
      `synwatch leaves it alone: rename or delete it, or use --backend route`, 'ECONFLICT', 0, 'load');
  }

  prepare(): void {
    this.checkOwnership();
    this.call('load', '', () => this.addon.create());
  }

  add(ip: string, family: 4 | 6, type: RouteType, keepUs?: number): void {
    void type; // one drop for every route type
    assertAddress('add', ip, family);
    if (keepUs === undefined || !Number.isFinite(keepUs)) {
      throw new RouteError(`nftables add ${ip}: EINVAL (no block lifetime given)`, 'EINVAL', 22, 'add', ip);
    }
    const ms = Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, Math.ceil(keepUs / 1000)));
    try {
      this.addon.add(family, ip, ms);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw RouteError.from(e, 'add', ip);
      // Table or set gone (someone flushed the ruleset): re-create it, retry once.
      this.prepare();
      this.call('add', ip, () => this.addon.add(family, ip, ms));
    }
  }

  renew(ip: string, family: 4 | 6, type: RouteType, keepUs: number): void {
    this.add(ip, family, type, keepUs);
  }

  del(ip: string, family: 4 | 6): void {
    assertAddress('del', ip, family);
    this.call('del', ip, () => this.addon.del(family, ip));
  }

  list(): BlockedEntry[] {
    const out: BlockedEntry[] = [];
    for (const family of [4, 6] as const) {
      const json = this.call('list', '', () => this.addon.list(family));
      for (const ip of setElements(json, family)) out.push({ ip, family, type: 'drop' });
    }
    return out.sort((a, b) => compareIp(a.ip, b.ip));
  }

  heal(blocks: () => BlockToKeep[]): number | null {
    if (this.call('list', '', () => this.addon.chainPresent())) return null;
    this.prepare();
    const keep = blocks();
    for (const b of keep) this.add(b.ip, b.family, b.type, b.keepUs);
    return keep.length;
  }

  private call<T>(op: RouteOp, ip: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw RouteError.from(e, op, ip);
    }
  }
}

/** The addresses in `nft -j list set` output (libnftables 1.0.6: "elem" holds plain strings, or {elem: {val, timeout, expires}}). */
export function setElements(json: string, family: 4 | 6): string[] {
  if (json.trim() === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new RouteError('nftables list: libnftables printed unparsable JSON', 'UNKNOWN', 0, 'list');
  }
  const items = (doc as { nftables?: unknown }).nftables;
  const ips: string[] = [];
  for (const item of Array.isArray(items) ? items : []) {
    const elems = (item as { set?: { elem?: unknown } }).set?.elem;
    for (const e of Array.isArray(elems) ? elems : []) {
      const val = typeof e === 'string' ? e : (e as { elem?: { val?: unknown } })?.elem?.val;
      const ip = typeof val === 'string' ? canonicalIp(val) : null;
      if (ip && (ip.includes(':') ? 6 : 4) === family) ips.push(ip);
    }
  }
  return ips;
}

/** Whether this process has CAP_NET_ADMIN in its effective set (true when /proc cannot say). */
function hasNetAdmin(): boolean {
  const eff = effectiveCapabilities();
  return eff === null || hasCapability(eff, CAP_NET_ADMIN);
}

function assertAddress(op: 'add' | 'del', ip: string, family: 4 | 6): void {
  if (canonicalIp(ip) !== ip || (ip.includes(':') ? 6 : 4) !== family) {
    throw new RouteError(`nftables ${op} ${ip}: EINVAL (not a canonical IPv${family} address)`, 'EINVAL', 22, op, ip);
  }
}

/**
 * Load the addon, open its context and check the table's owner. Throws RouteError: EADDON (no
 * addon: libnftables-dev was missing when it was built), ECONFLICT (someone else's table), or
 * the errno of a failed open.
 */
export function openNftablesBackend(options: OpenNftablesOptions = {}): NftablesBackend {
  const addonPath = options.addonPath ?? NFTABLES_ADDON_PATH;
  let addon: NativeNftablesAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(addonPath) as NativeNftablesAddon;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new RouteError(`the nftables backend needs ${addonPath}, built only where libnftables is installed ` +
      `(Debian: apt-get install libnftables-dev, then npm run build:native): ${why}`, 'EADDON', 0, 'load');
  }
  // Without it libnftables answers EPERM and also prints "(you must be root)" on stderr itself.
  if (!hasNetAdmin()) {
    throw new RouteError('the nftables backend needs CAP_NET_ADMIN, which this process does not have: run it as root', 'EPERM', 1, 'load');
  }
  try {
    addon.open();
  } catch (e) {
    throw RouteError.from(e, 'load');
  }
  const backend = new NftablesBackend(addon);
  backend.tableWasPresent = backend.checkOwnership();
  return backend;
}
