/**
 * What the route backends (netlink.ts, iproute.ts, recording.ts) share: synwatch's route marker,
 * the typed error they throw, and address ordering for deterministic output.
 *
 * Contract: every backend failure reaches callers as a RouteError whose `code` is an errno name
 * (EPERM, EINVAL, ...) or, when no errno is known, "UNKNOWN"; `op` and `ip` say what failed.
 */
import type { RouteType } from './contract';
import { canonicalIp, ipToWords } from '../decode/address';

/**
 * rtm_protocol that marks synwatch's routes (0xb5). Not in the kernel's RTPROT_* list nor in
 * iproute2's rt_protos; the kernel does not interpret values >= RTPROT_STATIC. Must equal
 * SYNWATCH_RTPROT in native/src/route.c (netlink.ts checks this at load).
 */
export const SYNWATCH_RTM_PROTOCOL = 181;

export const ROUTE_TYPES: readonly RouteType[] = ['unreachable', 'prohibit', 'blackhole'];

export function isRouteType(v: unknown): v is RouteType {
  return typeof v === 'string' && (ROUTE_TYPES as readonly string[]).includes(v);
}

export type RouteOp = 'add' | 'del' | 'list' | 'load';

export class RouteError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number,
    readonly op: RouteOp,
    readonly ip = '',
  ) {
    super(message);
    this.name = 'RouteError';
  }

  /** Wrap whatever a backend threw; keeps an existing errno `code`. */
  static from(e: unknown, op: RouteOp, ip = ''): RouteError {
    if (e instanceof RouteError) return e;
    const err = e as { code?: unknown; errno?: unknown; message?: unknown };
    const code = typeof err?.code === 'string' ? err.code : 'UNKNOWN';
    const errno = typeof err?.errno === 'number' ? Math.abs(err.errno) : 0;
    const message = typeof err?.message === 'string' ? err.message : String(e);
    return new RouteError(message, code, errno, op, ip);
  }
}

export function hostPrefixLength(family: 4 | 6): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** Orders addresses IPv4 first, then numerically; invalid text sorts last, by text. */
export function compareIp(a: string, b: string): number {
  const wa = ipToWords(a), wb = ipToWords(b);
  if (!wa || !wb) return wa ? -1 : wb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  const va = wa[0] === 0 && wa[1] === 0 && wa[2] === 0xffff ? 0 : 1;
  const vb = wb[0] === 0 && wb[1] === 0 && wb[2] === 0xffff ? 0 : 1;
  if (va !== vb) return va - vb;
  for (let i = 0; i < 4; i++) if (wa[i] !== wb[i]) return wa[i] < wb[i] ? -1 : 1;
  return 0;
}

/**
 * Backends take canonical text whose family matches (an IPv4-mapped IPv6 text would otherwise
 * become a useless IPv6 route); anything else is EINVAL before the kernel is asked.
 */
export function assertRouteArgs(op: 'add' | 'del', ip: string, family: 4 | 6, type: RouteType): void {
  const canonical = canonicalIp(ip);
  if (!canonical || canonical !== ip || (ip.includes(':') ? 6 : 4) !== family || !isRouteType(type)) {
    throw new RouteError(`route ${op} ${ip}: EINVAL (not a canonical IPv${family} address, or route type ${String(type)})`,
      'EINVAL', 22, op, ip);
  }
}
