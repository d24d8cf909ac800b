/**
 * The netlink route backend (native/ addon) and the loader that picks a backend.
 *
 * Contract: NetlinkBackend implements RouteBackend (contract.ts) over
 * native/build/Release/synwatch_route.node: synchronous rtnetlink calls, routes marked with
 * SYNWATCH_RTM_PROTOCOL, EEXIST on add and ESRCH/ENOENT on delete are success, anything else
 * throws RouteError with the errno name as `code`. openRouteBackend() prefers the addon and falls
 * back to `ip route` (iproute.ts) with one warning line when the addon cannot be loaded (not
 * built, wrong Node ABI, marker mismatch). Loading opens the addon's rtnetlink socket at once, so
 * `live` holds it from set-up on (the socket is kept for the life of the process).
 */
import type { HostRoute, RouteBackend, RouteType } from './contract';
import { canonicalIp } from '../decode/address';
import { nativeAddonPath } from '../capture/native-addon';
import { IpRouteBackend } from './iproute';
import { assertRouteArgs, compareIp, ROUTE_TYPES, RouteError, SYNWATCH_RTM_PROTOCOL } from './routes';

/** What native/src/route.c exports. */
export interface NativeRouteAddon {
  add(family: 4 | 6, ip: string, rtnType: number): void;
  del(family: 4 | 6, ip: string, rtnType: number): void;
  list(): Array<{ family: 4 | 6; ip: string; type: number }>;
  /** Opens the one rtnetlink socket now instead of at the first call (route.c). */
  open(): void;
  readonly protocol: number;
  readonly types: Readonly<Record<RouteType, number>>;
}

export const DEFAULT_ADDON_PATH = nativeAddonPath('synwatch_route');

export class NetlinkBackend implements RouteBackend {
  readonly name = 'netlink';
  private readonly typeByNumber = new Map<number, RouteType>();

  constructor(private readonly addon: NativeRouteAddon) {
    for (const t of ROUTE_TYPES) this.typeByNumber.set(addon.types[t], t);
  }

  add(ip: string, family: 4 | 6, type: RouteType): void {
    this.modify('add', ip, family, type);
  }

  del(ip: string, family: 4 | 6, type: RouteType): void {
    this.modify('del', ip, family, type);
  }

  private modify(op: 'add' | 'del', ip: string, family: 4 | 6, type: RouteType): void {
    assertRouteArgs(op, ip, family, type);
    try {
      this.addon[op](family, ip, this.addon.types[type]);
    } catch (e) {
      throw RouteError.from(e, op, ip);
    }
  }

  list(): HostRoute[] {
    let raw: ReturnType<NativeRouteAddon['list']>;
    try {
      raw = this.addon.list();
    } catch (e) {
      throw RouteError.from(e, 'list');
    }
    const routes: HostRoute[] = [];
    for (const r of raw) {
      const type = this.typeByNumber.get(r.type);
      // inet_ntop's IPv6 text is RFC 5952 on glibc, but canonicalise so keys match the ledger's.
      const ip = canonicalIp(r.ip);
      if (type && ip) routes.push({ ip, family: r.family, type });
    }
    return routes.sort((a, b) => compareIp(a.ip, b.ip));
  }
}

/** Load the addon; throws RouteError (op "load", code EADDON) saying why it can't. */
export function loadNetlinkBackend(addonPath = DEFAULT_ADDON_PATH): NetlinkBackend {
  let addon: NativeRouteAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(addonPath) as NativeRouteAddon;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new RouteError(`cannot load ${addonPath}: ${why}`, 'EADDON', 0, 'load');
  }
  if (addon.protocol !== SYNWATCH_RTM_PROTOCOL) {
    throw new RouteError(
      `${addonPath} marks routes with protocol ${addon.protocol}, expected ${SYNWATCH_RTM_PROTOCOL}: rebuild it`,
      'EADDON', 0, 'load');
  }
  if (typeof addon.open !== 'function') {
    throw new RouteError(`${addonPath} cannot open its socket ahead of use: rebuild it (npm run build:native)`, 'EADDON', 0, 'load');
  }
  try {
    addon.open();
  } catch (e) {
    throw RouteError.from(e, 'load');
  }
  return new NetlinkBackend(addon);
}

export interface OpenRouteBackendOptions {
  /** "auto" (default): netlink, else `ip route` with a warning. */
  prefer?: 'auto' | 'netlink' | 'iproute';
  addonPath?: string;
  /** Receives the one-line fallback warning (default: stderr). */
  warn?: (message: string) => void;
}

export type BackendChoice = NonNullable<OpenRouteBackendOptions['prefer']>;

/** Validates a --backend value; throws RouteError (code EINVAL) naming it. */
export function backendChoice(value: string): BackendChoice {
  if (value === 'auto' || value === 'netlink' || value === 'iproute') return value;
  throw new RouteError(`--backend must be auto, netlink or iproute, got "${value}"`, 'EINVAL', 22, 'load');
}

export function warnOnStderr(message: string): void {
  process.stderr.write(`synwatch: warning: ${message}\n`);
}

export function openRouteBackend(options: OpenRouteBackendOptions = {}): RouteBackend {
  const prefer = options.prefer ?? 'auto';
  if (prefer === 'iproute') return new IpRouteBackend();
  try {
    return loadNetlinkBackend(options.addonPath);
  } catch (e) {
    if (prefer === 'netlink') throw e;
    const warn = options.warn ?? warnOnStderr;
    warn(`netlink route addon unavailable (${(e as Error).message}); using the slower 'ip route' backend`);
    return new IpRouteBackend();
  }
}
