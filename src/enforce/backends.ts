/**
 * Which block backends a command uses (`--backend`, config key `backend`) and the pair of them.
 *
 * Spec: a comma-separated list of `route` and `nftables`, each at most once: "route" (the
 * default: host reject routes, unchanged), "nftables" (a drop before conntrack and TCP), or
 * "route,nftables" (both: the host drops at once, and the route is there for a BGP daemon to
 * announce). `route` may be spelt `auto`, `netlink` or `iproute` to pick the route
 * implementation (netlink.ts); "route" is "auto". Anything else is a RouteError code EINVAL whose
 * message names the value; the CLI makes it a usage error.
 *
 * BothBackends: add installs the route, then the element; when the element fails, the route is
 * taken back so the two never disagree about a new block. del removes both and throws the first
 * failure after trying both. list is the union by address (the route's type when both have it).
 */
import type { BlockBackend, BlockedEntry, BlockToKeep, RouteType, BlockType } from './contract';
import { isRouteType, compareIp, RouteError } from './routes';
import { openRouteBackend, type BackendChoice } from './netlink';
import { openNftablesBackend } from './nftables';

export interface BackendSpec {
  /** The route implementation, or null when routes are not used. */
  route: BackendChoice | null;
  nftables: boolean;
}

export const DEFAULT_BACKEND = 'route';
const ROUTE_SPELLINGS: Readonly<Record<string, BackendChoice>> = { route: 'auto', auto: 'auto', netlink: 'netlink', iproute: 'iproute' };

/** Parse a --backend value (throws RouteError EINVAL naming it). */
export function parseBackendSpec(value: string, what = '--backend'): BackendSpec {
  const spec: BackendSpec = { route: null, nftables: false };
  const bad = () => new RouteError(
    `${what} must be route, nftables or route,nftables (route may be spelt auto, netlink or iproute), got ${JSON.stringify(value)}`,
    'EINVAL', 22, 'load');
  const parts = value.split(',').map((p) => p.trim());
  for (const p of parts) {
    if (p === 'nftables' && !spec.nftables) spec.nftables = true;
    else if (p in ROUTE_SPELLINGS && spec.route === null) spec.route = ROUTE_SPELLINGS[p];
    else throw bad();
  }
  return spec;
}

export interface OpenBackendOptions {
  warn?: (message: string) => void;
  nftablesAddonPath?: string;
}

/** Open what the spec names (nftables' context and ownership check happen here, at start-up). */
export function openBlockBackend(spec: BackendSpec, options: OpenBackendOptions = {}): BlockBackend {
  const nft = spec.nftables ? openNftablesBackend({ addonPath: options.nftablesAddonPath }) : null;
  const route = spec.route ? openRouteBackend({ prefer: spec.route, warn: options.warn }) : null;
  if (route && nft) return new BothBackends(route, nft);
  return (route ?? nft)!;
}

/**
 * `blocks` and `unblock` without --backend: synwatch's routes, plus its nftables sets when its
 * table is in the kernel, so an operator need not remember which backend live ran with. The
 * nftables side is left out, silently, where it cannot hold synwatch's blocks: no addon, no
 * CAP_NET_ADMIN, no table, or someone else's `table inet synwatch` (never touched).
 */
export function openInstalledBackends(options: OpenBackendOptions = {}): BlockBackend {
  const route = openRouteBackend({ prefer: 'auto', warn: options.warn });
  let nft: ReturnType<typeof openNftablesBackend>;
  try {
    nft = openNftablesBackend({ addonPath: options.nftablesAddonPath });
  } catch {
    return route;
  }
  return nft.tableWasPresent ? new BothBackends(route, nft) : route;
}

/** blocks and unblock: what --backend names, or without it what is installed (above). */
export function openBackendOption(value: string | undefined, options: OpenBackendOptions = {}): BlockBackend {
  return value === undefined ? openInstalledBackends(options) : openBlockBackend(parseBackendSpec(value), options);
}

export class BothBackends implements BlockBackend {
  readonly name: string;
  readonly listNeedsNetAdmin: boolean;

  constructor(private readonly route: BlockBackend, private readonly nft: BlockBackend) {
    this.name = `${route.name}+${nft.name}`;
    this.listNeedsNetAdmin = route.listNeedsNetAdmin === true || nft.listNeedsNetAdmin === true;
  }

  add(ip: string, family: 4 | 6, type: RouteType, keepUs?: number): void {
    this.route.add(ip, family, type, keepUs);
    try {
      this.nft.add(ip, family, type, keepUs);
    } catch (e) {
      try {
        this.route.del(ip, family, type);
      } catch {
        // The add failure is what the caller must hear; the ledger-less route is an orphan for the next start.
      }
      throw e;
    }
  }

  renew(ip: string, family: 4 | 6, type: RouteType, keepUs: number): void {
    this.route.renew?.(ip, family, type, keepUs);
    this.nft.renew?.(ip, family, type, keepUs);
  }

  del(ip: string, family: 4 | 6, type: BlockType): void {
    let first: unknown = null;
    // An element listed only by nftables has type "drop": there is no route to delete.
    if (isRouteType(type)) {
      try {
        this.route.del(ip, family, type);
      } catch (e) {
        first = e;
      }
    }
    try {
      this.nft.del(ip, family, type);
    } catch (e) {
      first ??= e;
    }
    if (first) throw first;
  }

  list(): BlockedEntry[] {
    const byIp = new Map<string, BlockedEntry>();
    for (const e of this.route.list()) byIp.set(e.ip, e);
    for (const e of this.nft.list()) if (!byIp.has(e.ip)) byIp.set(e.ip, e);
    return [...byIp.values()].sort((a, b) => compareIp(a.ip, b.ip));
  }

  prepare(): void {
    this.route.prepare?.();
    this.nft.prepare?.();
  }

  heal(blocks: () => BlockToKeep[]): number | null {
    const a = this.route.heal?.(blocks) ?? null;
    const b = this.nft.heal?.(blocks) ?? null;
    return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
  }
}
