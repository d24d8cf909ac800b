/**
 * `ip route` fallback backend, for when the netlink addon cannot be loaded.
 *
 * Contract: implements RouteBackend (contract.ts) by running iproute2 synchronously
 * (`ip -4|-6 route add|del TYPE X/32|X/128 table main proto 181`); same semantics as the addon:
 * EEXIST on add and ESRCH/ENOENT on delete are success, and delete names our protocol, so the
 * kernel refuses to remove routes synwatch did not add. Errors are RouteError with the errno name
 * recovered from iproute2's "RTNETLINK answers: <strerror>" line ("UNKNOWN" when iproute2 printed
 * only the kernel's extended-ack text). A process spawn per call: ~8 ms measured here, against
 * 7-50 µs for the addon, so the policy's rate cap matters more with this backend.
 */
import { execFileSync } from 'node:child_process';
import type { HostRoute, RouteBackend, RouteType } from './contract';
import { canonicalIp } from '../decode/address';
import { assertRouteArgs, compareIp, hostPrefixLength, isRouteType, RouteError, SYNWATCH_RTM_PROTOCOL, type RouteOp } from './routes';

/** glibc strerror() text -> errno name/number, for the errors rtnetlink plausibly returns. */
const ERRNO_BY_TEXT: ReadonlyMap<string, [string, number]> = new Map([
  ['Operation not permitted', ['EPERM', 1]],
  ['No such file or directory', ['ENOENT', 2]],
  ['No such process', ['ESRCH', 3]],
  ['Cannot allocate memory', ['ENOMEM', 12]],
  ['Permission denied', ['EACCES', 13]],
  ['Device or resource busy', ['EBUSY', 16]],
  ['File exists', ['EEXIST', 17]],
  ['No such device', ['ENODEV', 19]],
  ['Invalid argument', ['EINVAL', 22]],
  ['No space left on device', ['ENOSPC', 28]],
  ['Numerical result out of range', ['ERANGE', 34]],
  ['Operation not supported', ['EOPNOTSUPP', 95]],
  ['Address family not supported by protocol', ['EAFNOSUPPORT', 97]],
  ['No buffer space available', ['ENOBUFS', 105]],
  ['Network is unreachable', ['ENETUNREACH', 101]],
] as const);

export interface IpRouteBackendOptions {
  /** The iproute2 binary (default "ip", found on PATH). */
  ipCommand?: string;
}

export class IpRouteBackend implements RouteBackend {
  readonly name = 'iproute';
  private readonly ip: string;

  constructor(options: IpRouteBackendOptions = {}) {
    this.ip = options.ipCommand ?? 'ip';
  }

  add(ip: string, family: 4 | 6, type: RouteType): void {
    const err = this.modify('add', ip, family, type);
    if (err && err.code !== 'EEXIST') throw err;
  }

  del(ip: string, family: 4 | 6, type: RouteType): void {
    const err = this.modify('del', ip, family, type);
    if (err && err.code !== 'ESRCH' && err.code !== 'ENOENT') throw err;
  }

  list(): HostRoute[] {
    const routes: HostRoute[] = [];
    for (const family of [4, 6] as const) {
      const out = this.run('list', '', [`-${family}`, '-j', 'route', 'show', 'table', 'main',
        'proto', String(SYNWATCH_RTM_PROTOCOL)]);
      if (out instanceof RouteError) throw out;
      let rows: unknown;
      try {
        rows = JSON.parse(out.trim() === '' ? '[]' : out);
      } catch {
        throw new RouteError(`${this.ip} -${family} -j route show: unparsable JSON output`, 'UNKNOWN', 0, 'list');
      }
      for (const row of Array.isArray(rows) ? rows : []) {
        const { type, dst } = row as { type?: unknown; dst?: unknown };
        if (!isRouteType(type) || typeof dst !== 'string') continue;
        // Host routes print without a prefix; anything shorter is not one of ours.
        const [addr, len] = dst.split('/');
        if (len !== undefined && Number(len) !== hostPrefixLength(family)) continue;
        const canonical = canonicalIp(addr);
        if (canonical) routes.push({ ip: canonical, family, type });
      }
    }
    return routes.sort((a, b) => compareIp(a.ip, b.ip));
  }

  /** Runs add/del; returns the kernel's refusal as a RouteError, throws when `ip` can't run. */
  private modify(op: 'add' | 'del', ip: string, family: 4 | 6, type: RouteType): RouteError | null {
    // Checked here so a bad address fails with EINVAL, as the addon does, not with iproute2's text.
    assertRouteArgs(op, ip, family, type);
    const args = [`-${family}`, 'route', op, type, `${ip}/${hostPrefixLength(family)}`, 'table', 'main',
      'proto', String(SYNWATCH_RTM_PROTOCOL)];
    const out = this.run(op, ip, args);
    return out instanceof RouteError ? out : null;
  }

  private run(op: RouteOp, ip: string, args: string[]): string | RouteError {
    try {
      return execFileSync(this.ip, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number | null };
      const what = `${this.ip} ${args.join(' ')}`;
      // The binary did not run at all (missing, timed out): never mistake that for a route errno.
      if (err.status === undefined || err.status === null) {
        throw new RouteError(`${what}: ${err.code ?? 'failed'} (${err.message.split('\n')[0]})`,
          typeof err.code === 'string' ? err.code : 'UNKNOWN', typeof err.errno === 'number' ? Math.abs(err.errno) : 0, op, ip);
      }
      const stderr = (err.stderr ?? '').trim();
      const m = /RTNETLINK answers: (.+)$/m.exec(stderr);
      const [code, errno] = (m && ERRNO_BY_TEXT.get(m[1].trim())) || ['UNKNOWN', 0];
      return new RouteError(`${what}: ${code} (${stderr.split('\n')[0] || `exit ${err.status}`})`, code, errno, op, ip);
    }
  }
}
