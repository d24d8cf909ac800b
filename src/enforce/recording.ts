/**
 * A RouteBackend that records calls and touches nothing, for dry-run, analyze and replay.
 *
 * Contract: keeps a simulated table of synwatch routes so list() answers as the kernel would
 * (add of an existing route is a no-op success, del of a missing one too); `calls` holds every
 * add/del in order. `fail` lets tests make chosen calls throw a RouteError, as a kernel would.
 */
import type { HostRoute, RouteBackend, RouteType } from './contract';
import { compareIp, RouteError } from './routes';

export interface RecordedRouteCall {
  op: 'add' | 'del';
  ip: string;
  family: 4 | 6;
  type: RouteType;
}

export interface RecordingBackendOptions {
  /** Routes already "installed" (e.g. to simulate orphans left by an earlier run). */
  initial?: readonly HostRoute[];
  /** Return an errno name (e.g. "EPERM") to make that call fail; the call is still recorded. */
  fail?: (call: RecordedRouteCall) => string | undefined;
}

export class RecordingBackend implements RouteBackend {
  readonly name = 'recording';
  readonly calls: RecordedRouteCall[] = [];
  private readonly table = new Map<string, HostRoute>();
  private readonly fail?: RecordingBackendOptions['fail'];

  constructor(options: RecordingBackendOptions = {}) {
    for (const r of options.initial ?? []) this.table.set(r.ip, { ...r });
    this.fail = options.fail;
  }

  add(ip: string, family: 4 | 6, type: RouteType): void {
    this.record({ op: 'add', ip, family, type });
    if (!this.table.has(ip)) this.table.set(ip, { ip, family, type });
  }

  del(ip: string, family: 4 | 6, type: RouteType): void {
    this.record({ op: 'del', ip, family, type });
    // Like the kernel: a delete names the type, so a route of another type stays.
    if (this.table.get(ip)?.type === type) this.table.delete(ip);
  }

  list(): HostRoute[] {
    return [...this.table.values()].map((r) => ({ ...r })).sort((a, b) => compareIp(a.ip, b.ip));
  }

  private record(call: RecordedRouteCall): void {
    this.calls.push(call);
    const code = this.fail?.(call);
    if (code) throw new RouteError(`recording ${call.op} ${call.ip}: ${code} (injected)`, code, 0, call.op, call.ip);
  }
}
