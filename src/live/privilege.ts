/**
 * Least privilege for `synwatch live`: which user to become after set-up, the drop itself
 * (native/src/privilege.c, in the route addon), the per-thread check that it took, and the
 * bracket that raises CAP_NET_ADMIN around a route change.
 *
 * Contract:
 * - resolveRunUser(requested): --user / the config's "user" when given; else "synwatch" when that
 *   user exists; else root, with a warning (the drop is never skipped silently). "root" means no
 *   drop: today's behaviour (and the only choice, with a warning by default, when synwatch was not
 *   started as uid 0).
 * - PrivilegeDrop.drop(): once, after set-up. Calls the addon, then reads
 *   /proc/self/task/<tid>/status of every thread and throws PrivilegeError unless each shows the
 *   new uid and gid in all four fields, the user's group only, and empty CapInh/CapEff/CapAmb;
 *   CapPrm is empty too, except in the main thread where it is {CAP_NET_ADMIN} when routes are
 *   enforced (see privilege.c for why the kernel needs it at the time of each change). A throw
 *   after the native call started changing ids leaves the process partly changed: callers exit
 *   (the CLI turns it into one line and exit 1 before any packet is read).
 * - PrivilegeDrop.withNetAdmin(fn): runs fn with CAP_NET_ADMIN effective and lowers it again,
 *   also when fn throws; before the drop, or when nothing was kept, it just runs fn.
 *   guardBackend(backend) wraps a RouteBackend's add/del in it; an nftables backend wraps its
 *   commit the same way.
 */
import * as fs from 'node:fs';
import { nativeAddonPath } from '../capture/native-addon';
import type { BlockBackend, BlockedEntry, BlockToKeep, BlockType, RouteType } from '../enforce/contract';

/** The user synwatch becomes when --user is not given and this user exists. */
export const DEFAULT_RUN_USER = 'synwatch';
const CAP_NET_ADMIN_MASK = 1n << 12n;

/** What native/src/privilege.c adds to the route addon. */
export interface PrivilegeAddon {
  lookupUser(name: string): { uid: number; gid: number } | null;
  dropTo(name: string, keepNetAdmin: boolean): { uid: number; gid: number; bounding: boolean };
  setEffective(on: boolean): void;
}

export class PrivilegeError extends Error {
  readonly code = 'EPRIVILEGE';
  constructor(message: string) {
    super(message);
    this.name = 'PrivilegeError';
  }
}

/** The route addon's privilege functions, or null with the reason (not built, too old a build). */
export function loadPrivilegeAddon(): { addon: PrivilegeAddon | null; why: string } {
  const file = nativeAddonPath('synwatch_route');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as Partial<PrivilegeAddon>;
    if (typeof addon.dropTo !== 'function' || typeof addon.lookupUser !== 'function' || typeof addon.setEffective !== 'function') {
      return { addon: null, why: `${file} has no privilege drop: rebuild it (npm run build:native)` };
    }
    return { addon: addon as PrivilegeAddon, why: '' };
  } catch (e) {
    return { addon: null, why: `cannot load ${file}: ${(e as Error).message.split('\n')[0]}` };
  }
}

export interface RunUser {
  /** "root" when no drop happens. */
  name: string;
  /** Set when the default applied and fell back to root: the line to log. */
  warning?: string;
}

/** --user / config "user", else the default; throws PrivilegeError for a user that does not exist. */
export function resolveRunUser(requested: string | undefined, loaded = loadPrivilegeAddon(), uid = process.getuid?.() ?? 0): RunUser {
  if (requested === 'root') return { name: 'root' };
  const { addon, why } = loaded;
  // Only a drop from uid 0 clears every thread's capabilities (privilege.c): a process started
  // as another user with capabilities (setcap, ambient) cannot go half way.
  if (uid !== 0) {
    const started = `synwatch runs as uid ${uid}, and drops to a user only when started as root (uid 0)`;
    if (requested !== undefined) throw new PrivilegeError(`--user ${requested}: ${started}; start it as root (contrib/systemd/synwatch.service) or pass --user root to stay as you are`);
    return { name: 'root', warning: `no privilege drop: ${started}` };
  }
  if (requested !== undefined) {
    if (!addon) throw new PrivilegeError(`--user ${requested}: ${why}; or run with --user root`);
    const ids = addon.lookupUser(requested);
    if (!ids) throw new PrivilegeError(`--user ${requested}: no such user (create it, e.g. useradd --system --no-create-home ${requested}, or pass --user root)`);
    return { name: ids.uid === 0 ? 'root' : requested };
  }
  const fallback = `running as root after set-up: user ${DEFAULT_RUN_USER} `;
  if (!addon) return { name: 'root', warning: `${fallback}cannot be switched to (${why})` };
  if (!addon.lookupUser(DEFAULT_RUN_USER)) {
    return { name: 'root', warning: `${fallback}does not exist (create it: useradd --system --no-create-home ${DEFAULT_RUN_USER}; or pass --user NAME, or --user root to silence this)` };
  }
  return { name: DEFAULT_RUN_USER };
}

export interface DropReport {
  user: string;
  uid: number;
  gid: number;
  /** CAP_NET_ADMIN kept in the main thread's permitted set (routes are enforced). */
  keptNetAdmin: boolean;
  /** The bounding set was narrowed too (CAP_SETPCAP was there to do it). */
  bounding: boolean;
  /** Threads checked in /proc/self/task. */
  threads: number;
}

export class PrivilegeDrop {
  private raised = false;
  private keep = false;
  report: DropReport | null = null;

  /** `notice` (resolveRunUser's warning when the default fell back to root) goes to `warn` at the
   *  drop, not before: a start that fails in set-up still prints its one error line only. */
  constructor(readonly user: string, private readonly addon: PrivilegeAddon | null, private readonly keepNetAdmin: boolean,
    private readonly notice?: { warning?: string; warn: (message: string) => void }) {}

  /** Whether there is anything to drop ("root" keeps today's behaviour). */
  get enabled(): boolean {
    return this.user !== 'root';
  }

  drop(): DropReport | null {
    if (!this.enabled) {
      if (this.notice?.warning) this.notice.warn(this.notice.warning);
      return null;
    }
    if (!this.addon) throw new PrivilegeError(`dropping privileges to user ${this.user}: the route addon is not loaded`);
    // libuv starts its thread pool at the first piece of pool work, each thread a copy of the
    // creating (main) thread: started later it would carry the main thread's permitted
    // CAP_NET_ADMIN. Submitting one job now creates all of its threads at once (uv_queue_work
    // waits for them to start), so the drop's broadcast takes them to no capability with the rest.
    fs.access('/', () => {});
    let ids: { uid: number; gid: number; bounding: boolean };
    try {
      ids = this.addon.dropTo(this.user, this.keepNetAdmin);
    } catch (e) {
      throw new PrivilegeError((e as Error).message);
    }
    this.keep = this.keepNetAdmin;
    const threads = verifyThreads(ids.uid, ids.gid, this.keepNetAdmin);
    this.report = { user: this.user, uid: ids.uid, gid: ids.gid, keptNetAdmin: this.keepNetAdmin, bounding: ids.bounding, threads };
    return this.report;
  }

  withNetAdmin<T>(fn: () => T): T {
    if (!this.keep || this.raised || !this.addon) return fn();
    this.addon.setEffective(true);
    this.raised = true;
    try {
      return fn();
    } finally {
      this.raised = false;
      this.addon.setEffective(false);
    }
  }

  guardBackend(backend: BlockBackend): BlockBackend {
    return new NetAdminBackend(backend, this);
  }
}

/**
 * A BlockBackend whose kernel changes run with CAP_NET_ADMIN raised (rtnetlink and nfnetlink
 * check the sender), and its list() too when the backend says the kernel checks that as well
 * (nftables: even a dump); a route dump needs no capability, so it gets none.
 */
class NetAdminBackend implements BlockBackend {
  readonly renew?: (ip: string, family: 4 | 6, type: RouteType, keepUs: number) => void;
  readonly prepare?: () => void;
  readonly heal?: (blocks: () => BlockToKeep[]) => number | null;

  constructor(private readonly inner: BlockBackend, private readonly privilege: PrivilegeDrop) {
    // Optional methods stay absent when the inner backend lacks them (the policy checks for them).
    const renew = inner.renew, prepare = inner.prepare, heal = inner.heal;
    if (renew) this.renew = (ip, family, type, keepUs) => privilege.withNetAdmin(() => renew.call(inner, ip, family, type, keepUs));
    if (prepare) this.prepare = () => privilege.withNetAdmin(() => prepare.call(inner));
    if (heal) this.heal = (blocks) => privilege.withNetAdmin(() => heal.call(inner, blocks));
  }
  get name(): string { return this.inner.name; }
  get blockAction(): string | undefined { return this.inner.blockAction; }
  add(ip: string, family: 4 | 6, type: RouteType, keepUs?: number): void {
    this.privilege.withNetAdmin(() => this.inner.add(ip, family, type, keepUs));
  }
  del(ip: string, family: 4 | 6, type: BlockType): void {
    this.privilege.withNetAdmin(() => this.inner.del(ip, family, type));
  }
  get listNeedsNetAdmin(): boolean | undefined { return this.inner.listNeedsNetAdmin; }
  list(): BlockedEntry[] {
    return this.inner.listNeedsNetAdmin ? this.privilege.withNetAdmin(() => this.inner.list()) : this.inner.list();
  }
}

/** One thread's ids and capability sets, from /proc/self/task/<tid>/status. */
export interface ThreadCredentials {
  tid: number;
  uid: number[];
  gid: number[];
  groups: number[];
  capInh: bigint;
  capPrm: bigint;
  capEff: bigint;
  capAmb: bigint;
}

export function parseStatus(tid: number, text: string): ThreadCredentials {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1].trim() ?? '';
  const numbers = (name: string) => field(name).split(/\s+/).filter((x) => x !== '').map(Number);
  const mask = (name: string) => {
    const v = field(name);
    return /^[0-9a-f]+$/i.test(v) ? BigInt(`0x${v}`) : -1n;
  };
  return { tid, uid: numbers('Uid'), gid: numbers('Gid'), groups: numbers('Groups'),
    capInh: mask('CapInh'), capPrm: mask('CapPrm'), capEff: mask('CapEff'), capAmb: mask('CapAmb') };
}

/** Every thread of this process as the kernel shows it; throws PrivilegeError on the first that is off. */
function verifyThreads(uid: number, gid: number, keptNetAdmin: boolean): number {
  let tids: number[];
  try {
    tids = fs.readdirSync('/proc/self/task').map(Number).filter((t) => t > 0);
  } catch (e) {
    throw new PrivilegeError(`dropping privileges: cannot list /proc/self/task to check every thread (${(e as NodeJS.ErrnoException).code})`);
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // the thread ended meanwhile
      throw new PrivilegeError(`dropping privileges: cannot read /proc/self/task/${tid}/status (${(e as NodeJS.ErrnoException).code})`);
    }
    const c = parseStatus(tid, text);
    const permitted = tid === process.pid && keptNetAdmin ? CAP_NET_ADMIN_MASK : 0n;
    const wrong = [
      c.uid.length !== 4 || c.uid.some((x) => x !== uid) ? `Uid ${c.uid.join(' ')}` : '',
      c.gid.length !== 4 || c.gid.some((x) => x !== gid) ? `Gid ${c.gid.join(' ')}` : '',
      c.groups.some((x) => x !== gid) ? `Groups ${c.groups.join(' ')}` : '',
      c.capInh !== 0n ? `CapInh ${c.capInh.toString(16)}` : '',
      c.capPrm !== permitted ? `CapPrm ${c.capPrm.toString(16)}` : '',
      c.capEff !== 0n ? `CapEff ${c.capEff.toString(16)}` : '',
      c.capAmb !== 0n ? `CapAmb ${c.capAmb.toString(16)}` : '',
    ].filter((x) => x !== '');
    if (wrong.length > 0) throw new PrivilegeError(`dropping privileges: thread ${tid} still has ${wrong.join(', ')}; refusing to run half-dropped`);
  }
  return tids.length;
}
