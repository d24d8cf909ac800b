/**
 * A reusable network-namespace lab for synwatch's end-to-end tests and latency benchmark.
 *
 * Topology (four namespaces named sw-<creator pid>-<random>-{srv,rtr,atk,cli}, joined by veth
 * pairs created directly inside them, so nothing ever appears in, or is attached to, the host's
 * root namespace; documentation addresses only, RFC 5737 / RFC 3849):
 *
 *   attacker (atk)                router (rtr)                      server (srv)
 *   203.0.113.66.. /24   eth0 --- r-atk 203.0.113.1                  198.51.100.10/24
 *   2001:db8:203::66.. /64        r-srv 198.51.100.1  ------- eth0   2001:db8:100::10/64
 *                                 r-cli 192.0.2.1                    default via 198.51.100.1
 *   client (cli)                                                     (and 2001:db8:100::1)
 *   192.0.2.20/24        eth0 --- (2001:db8:{203,100,192}::1/64)
 *   2001:db8:192::20/64
 *
 * - server: a tiny node HTTP server on [::]:PORT (dual stack; node, not `python3 -m http.server`,
 *   whose listen backlog of 5 caps the SYN queue at 5 half-open entries), SYN cookies off,
 *   tcp_max_syn_backlog and somaxconn set, so a flood leaves real SYN_RECV entries. Its default
 *   gateway is the router's address, so a test can spoof the gateway.
 * - router: forwards, rp_filter off (so random spoofed sources get through), accept_local on the
 *   attacker side (so a SYN spoofing the router's own address, the server's gateway, is
 *   forwarded), and drops its own outgoing RSTs (a SYN-ACK to the spoofed gateway stays unanswered).
 * - attacker: several IPv4 and IPv6 addresses; drops its own outgoing RSTs (nftables), or its
 *   kernel would reset every SYN-ACK and nothing would stay half-open.
 * - client: a legitimate host that curls the server.
 *
 * Safety: every flood is bounded in count and wrapped in `timeout`; processes the lab starts are
 * tracked by PID and killed by PID; destroy() removes the namespaces (and with them every veth,
 * address and route in them). Labs still alive when the process exits or is signalled are torn
 * down by a synchronous 'exit' handler; namespaces of labs whose creator process is gone are
 * swept at the next create().
 */
import { ChildProcess, execFileSync, spawn as spawnChild } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** dist/test/e2e -> repository root (resolved from this file, never hard-coded). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const SYNWATCH_MAIN = path.join(REPO_ROOT, 'dist/synwatch.js');

export type NsRole = 'server' | 'router' | 'attacker' | 'client';

export interface LabOptions {
  /** HTTP port of the server (default 8080). */
  httpPort?: number;
  /** IPv4 addresses the attacker owns (203.0.113.66 upwards, default 4, at most 150). */
  attackers4?: number;
  /** IPv6 addresses the attacker owns (2001:db8:203::66 upwards, default 2). */
  attackers6?: number;
  /** net.ipv4.tcp_max_syn_backlog in the server (default 1024). */
  synBacklog?: number;
  /** listen() backlog of the HTTP server and net.core.somaxconn (default 1024). */
  listenBacklog?: number;
  /** net.ipv4.conf.*.rp_filter in the server (default 1, as on most distributions). */
  serverRpFilter?: 0 | 1 | 2;
  /** Drop the attacker's own outgoing RSTs (default true; false shows why it is needed). */
  attackerDropsRst?: boolean;
  /** Start the HTTP server (default true). */
  httpServer?: boolean;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill (SIGKILL) after this long (default 30 s). */
  timeoutMs?: number;
  /** Resolve instead of rejecting on a non-zero exit (default false). */
  allowFail?: boolean;
  input?: string;
}

export interface RouteRow {
  family: 4 | 6;
  dst: string;
  /** "unicast" when `ip -j` prints no type. */
  type: string;
  /** Protocol as `ip` prints it: a name ("kernel", "static") or a number as text ("181"). */
  protocol: string;
  dev?: string;
  gateway?: string;
  raw: Record<string, unknown>;
}

export interface FloodResult extends ExecResult {
  /** Wall time of the flood command (ms). */
  elapsedMs: number;
}

export interface Hping3FloodOptions {
  /** Source address (an attacker address, or any address to spoof); omitted = the ns's own. */
  from?: string;
  to: string;
  port?: number;
  /** SYNs to send (required: floods are bounded). */
  count: number;
  /**
   * Gap between SYNs in µs (hping3 -i uN, >= 1). hping3 --flood is never used: it ignores -c and
   * would be bounded only by the timeout. Rates above ~10k SYN/s need `parallel`.
   */
  intervalUs: number;
  /** hping3 processes sharing the count (default 1), each at intervalUs. */
  parallel?: number;
  /** Namespace to send from (default attacker). */
  ns?: NsRole;
  /** Hard limit for the command, seconds (default: expected duration + 10 s). */
  timeoutS?: number;
}

export interface Scapy6FloodOptions {
  from: string;
  to: string;
  port?: number;
  count: number;
  intervalUs: number;
  ns?: NsRole;
  timeoutS?: number;
}

export interface SpoofedFloodOptions {
  to: string;
  port?: number;
  count: number;
  intervalUs: number;
  timeoutS?: number;
}

const IP = 'ip';
const TIMEOUT = 'timeout';
const US = 1e-6;

/** A started process, tracked by the lab; stdout/stderr kept, stderr also split into lines. */
export class LabProcess {
  readonly pid: number;
  stdout = '';
  stderr = '';
  /** stderr lines (complete ones). */
  readonly lines: string[] = [];
  /** stderr lines that parsed as JSON objects (pino logs). */
  readonly json: Record<string, unknown>[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcess, readonly label: string) {
    if (child.pid === undefined) throw new Error(`lab: could not start ${label}`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      this.stdout += d;
      this.wake();
    });
    child.stderr?.on('data', (d: string) => {
      this.stderr += d;
      this.partial += d;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        this.lines.push(line);
        if (line.startsWith('{')) {
          try {
            const obj = JSON.parse(line) as unknown;
            if (obj && typeof obj === 'object') this.json.push(obj as Record<string, unknown>);
          } catch {
            // not a log line
          }
        }
      }
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.wake();
        resolve({ code, signal });
      });
      child.on('error', () => {
        this.wake();
        resolve({ code: null, signal: null });
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first JSON log line satisfying pred (searching old lines too). */
  waitForJson(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, what = 'log line'): Promise<Record<string, unknown>> {
    return this.waitFor(() => this.json.find(pred), timeoutMs, what);
  }

  /** Polls `probe` on every output chunk (and every 50 ms) until it returns a value. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let tick: NodeJS.Timeout | undefined;
      const done = () => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
        if (tick) clearInterval(tick);
      };
      const check = () => {
        const v = probe();
        if (v !== undefined && v !== null && v !== false) {
          done();
          resolve(v as T);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.label} exited (code ${this.exitCode}, signal ${this.exitSignal}) before ${what}; stderr tail:\n${this.stderr.slice(-2000)}`));
        }
      };
      this.waiters.add(check);
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.label}; stderr tail:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      tick = setInterval(check, 50);
      check();
    });
  }

  /** Sends a signal by PID (no-op once exited). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  async stop(graceMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.signal('SIGTERM');
      const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    return this.exited;
  }
}

/** tcpdump's buffer timeout without --immediate-mode: the kernel hands over a TPACKET_V3 block
 *  at the latest this long after its first packet. */
export const TCPDUMP_BLOCK_TIMEOUT_MS = 1000;

/** A tcpdump capture running in a namespace, written to a pcap file. */
export class Capture {
  constructor(readonly proc: LabProcess, readonly file: string, private readonly lab: Lab, private readonly immediate = true) {}

  /**
   * Stops tcpdump and waits for it. Packets still in the kernel's TPACKET_V3 block are lost on
   * SIGINT, so a capture without --immediate-mode first waits out the block timeout.
   */
  async stop(): Promise<void> {
    if (this.proc.running) {
      if (!this.immediate) await new Promise((r) => setTimeout(r, TCPDUMP_BLOCK_TIMEOUT_MS + 200));
      this.proc.signal('SIGINT');
      const t = setTimeout(() => this.proc.signal('SIGKILL'), 3000);
      await this.proc.exited;
      clearTimeout(t);
    }
  }

  /** Packets in the capture matching a pcap filter (reads the file with tcpdump -r). */
  async count(filter: string): Promise<number> {
    return (await this.packets(filter)).length;
  }

  /** Lines of `tcpdump -r FILE -nn -tt FILTER` (one per packet: epoch seconds first). */
  async packets(filter: string): Promise<string[]> {
    const r = await this.lab.execHost('tcpdump', ['-r', this.file, '-nn', '-tt', '--', filter], { allowFail: true, timeoutMs: 60_000 });
    if (r.code !== 0 && !/reading from file/.test(r.stderr)) throw new Error(`tcpdump -r ${this.file}: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  }
}

// ---- process-wide bookkeeping: every live lab is torn down on exit, even on failure ----

/** Something that must be torn down synchronously when the process exits or is signalled. */
export interface Teardown {
  destroySync(): void;
}

const liveLabs = new Set<Teardown>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const lab of [...liveLabs]) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of [...liveLabs]) lab.destroySync();
      process.exit(128 + (os.constants.signals[sig] ?? 0));
    });
  }
}

/** Tears `t` down on process exit and on SIGINT/SIGTERM/SIGHUP (other labs, e.g. bench/'s, use it too). */
export function registerTeardown(t: Teardown): void {
  installExitHooks();
  liveLabs.add(t);
}

export function unregisterTeardown(t: Teardown): void {
  liveLabs.delete(t);
}

/** Registers a new lab for teardown and builds it; a failed build tears it down before rethrowing. */
export async function startLab<T extends Teardown & { destroy(): Promise<void> }>(lab: T, build: () => Promise<void>): Promise<T> {
  registerTeardown(lab);
  try {
    await build();
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed creator not yet reaped by its parent is a zombie: gone for our purposes.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Namespaces of this lab and of the labs beside it (bench/pair-lab.ts, bgp-lab.ts: its second server, sv2). */
const NS_PATTERN = /^sw-(\d+)-([0-9a-f]{6})-(srv|sv2|rtr|atk|cli)$/;

/** SIGKILLs, by PID, every process inside a lab namespace (`ip netns pids`); none if it is gone. */
export function killProcessesIn(ns: string): void {
  try {
    const pids = execFileSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).split('\n').map(Number).filter((x) => x > 1);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // no such namespace any more
  }
}

/**
 * Removes namespaces this module created in processes that are gone (killed -9, crashed), after
 * killing (by PID) whatever that lab left running inside them.
 */
export function sweepStaleNamespaces(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NS_PATTERN.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    // Processes a dead lab left running inside (its HTTP server, synwatch, tcpdump): by PID.
    killProcessesIn(name);
    try {
      execFileSync(IP, ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
      removed.push(name);
    } catch {
      // someone else removed it first
    }
  }
  // The dead labs' temporary directories (sw-lab-<pid>-<hex>-XXXXXX).
  try {
    for (const d of fs.readdirSync(os.tmpdir())) {
      const m = /^sw-lab-(\d+)-[0-9a-f]{6}-/.exec(d);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
  return removed;
}

/** The python3 that has scapy (the pyenv shim on PATH may lack it; Debian's has it). */
let scapyPython: string | null | undefined;
export function findScapyPython(): string | null {
  if (scapyPython !== undefined) return scapyPython;
  scapyPython = null;
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import scapy.all'], { stdio: 'ignore', timeout: 30_000 });
      scapyPython = py;
      break;
    } catch {
      // try the next
    }
  }
  return scapyPython;
}

export function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the lab cannot run here, or null (root, ip netns, tools present). */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  for (const t of ['ip', 'nft', 'hping3', 'tcpdump', 'timeout', 'ss']) if (!which(t)) return `${t} not installed`;
  return null;
}

/** "203.0.113.66" + k; k < 150 keeps it inside 203.0.113.0/24 below .216. */
function attacker4(k: number): string {
  return `203.0.113.${66 + k}`;
}

function attacker6(k: number): string {
  return `2001:db8:203::${(0x66 + k).toString(16)}`;
}

export class Lab {
  readonly id: string;
  readonly ns: Record<NsRole, string>;
  readonly httpPort: number;
  readonly serverIface = 'eth0';
  readonly addr: {
    server4: string; server6: string;
    gateway4: string; gateway6: string;
    client4: string; client6: string;
    attacker4: string[]; attacker6: string[];
  };
  /** A private temporary directory (state dirs, captures); removed by destroy(). */
  readonly dir: string;
  readonly procs = new Set<LabProcess>();
  private destroyed = false;
  private created: string[] = [];
  private extraAttackers = 0;

  private constructor(readonly options: Required<LabOptions>) {
    this.id = `${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
    const base = `sw-${this.id}`;
    this.ns = { server: `${base}-srv`, router: `${base}-rtr`, attacker: `${base}-atk`, client: `${base}-cli` };
    this.httpPort = options.httpPort;
    this.addr = {
      server4: '198.51.100.10', server6: '2001:db8:100::10',
      gateway4: '198.51.100.1', gateway6: '2001:db8:100::1',
      client4: '192.0.2.20', client6: '2001:db8:192::20',
      attacker4: Array.from({ length: options.attackers4 }, (_, k) => attacker4(k)),
      attacker6: Array.from({ length: options.attackers6 }, (_, k) => attacker6(k)),
    };
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `sw-lab-${this.id}-`));
  }

  static async create(options: LabOptions = {}): Promise<Lab> {
    const why = labUnavailableReason();
    if (why) throw new Error(`lab unavailable: ${why}`);
    sweepStaleNamespaces();
    const opts: Required<LabOptions> = {
      httpPort: options.httpPort ?? 8080,
      attackers4: Math.min(options.attackers4 ?? 4, 150),
      attackers6: options.attackers6 ?? 2,
      synBacklog: options.synBacklog ?? 1024,
      listenBacklog: options.listenBacklog ?? 1024,
      serverRpFilter: options.serverRpFilter ?? 1,
      attackerDropsRst: options.attackerDropsRst ?? true,
      httpServer: options.httpServer ?? true,
    };
    const lab = new Lab(opts);
    return startLab(lab, () => lab.build());
  }

  // ---- running things ----

  /** Runs a command in the host namespace (tcpdump -r and the like; never network changes). */
  execHost(cmd: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.run(cmd, args, options);
  }

  /** Runs `cmd args` inside a lab namespace; rejects on non-zero exit unless allowFail. */
  exec(ns: NsRole | string, cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return this.run(IP, ['netns', 'exec', this.nsName(ns), cmd, ...args], options);
  }

  /** Starts `cmd args` inside a namespace, tracked (killed by PID on destroy). */
  spawn(ns: NsRole | string, cmd: string, args: string[] = [], options: { label?: string; env?: NodeJS.ProcessEnv } = {}): LabProcess {
    this.assertAlive();
    const p = spawnInNamespace(this.nsName(ns), cmd, args, options);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  private nsName(ns: NsRole | string): string {
    return (this.ns as Record<string, string>)[ns] ?? ns;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error('lab already destroyed');
  }

  private run(cmd: string, args: string[], options: ExecOptions): Promise<ExecResult> {
    return runCommand(cmd, args, options);
  }

  private async sh(ns: NsRole, script: string): Promise<void> {
    await this.exec(ns, 'sh', ['-ec', script]);
  }

  private async sysctl(ns: NsRole, settings: Record<string, string | number>): Promise<void> {
    await this.exec(ns, 'sysctl', ['-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
  }

  // ---- building ----

  private async build(): Promise<void> {
    const { server, router, attacker, client } = this.ns;
    for (const n of [server, router, attacker, client]) {
      await this.run(IP, ['netns', 'add', n], {});
      this.created.push(n);
    }
    for (const n of [server, router, attacker, client]) await this.run(IP, ['-n', n, 'link', 'set', 'lo', 'up'], {});
    // veth pairs created inside the namespaces: never in (or attached to) the root namespace.
    const pairs: Array<[string, NsRole]> = [['r-srv', 'server'], ['r-atk', 'attacker'], ['r-cli', 'client']];
    for (const [rIf, role] of pairs) {
      await this.run(IP, ['-n', router, 'link', 'add', rIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns[role]], {});
    }
    const a = this.addr;
    // Router: forwarding, no reverse-path filter, accept its own address as a source from the
    // attacker side (gateway spoofing), no redirects.
    await this.sysctl('router', {
      'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1,
      'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0,
      'net.ipv4.conf.all.send_redirects': 0, 'net.ipv4.conf.default.send_redirects': 0,
      'net.ipv4.conf.all.accept_local': 1, 'net.ipv4.conf.default.accept_local': 1,
      'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0,
    });
    await this.sh('router', [
      `ip addr add ${a.gateway4}/24 dev r-srv`, `ip addr add ${a.gateway6}/64 dev r-srv nodad`,
      'ip addr add 203.0.113.1/24 dev r-atk', 'ip addr add 2001:db8:203::1/64 dev r-atk nodad',
      'ip addr add 192.0.2.1/24 dev r-cli', 'ip addr add 2001:db8:192::1/64 dev r-cli nodad',
      'for i in r-srv r-atk r-cli; do sysctl -q -w net.ipv4.conf.$i.rp_filter=0 net.ipv4.conf.$i.accept_local=1 ' +
        'net.ipv4.conf.$i.send_redirects=0; ip link set $i up; done',
      // The router answers nothing with RSTs (a SYN-ACK to its spoofed address stays half-open).
      'nft add table inet swlab', "nft 'add chain inet swlab out { type filter hook output priority 0; }'",
      "nft add rule inet swlab out 'tcp flags & rst == rst' drop",
    ].join('\n'));
    // Server.
    const rp = this.options.serverRpFilter;
    await this.sysctl('server', {
      'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_max_syn_backlog': this.options.synBacklog,
      'net.core.somaxconn': this.options.listenBacklog,
      'net.ipv4.conf.all.rp_filter': rp, 'net.ipv4.conf.default.rp_filter': rp,
      'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0,
      'net.ipv6.conf.all.accept_ra': 0, 'net.ipv6.conf.default.accept_ra': 0,
    });
    await this.sh('server', [
      `sysctl -q -w net.ipv4.conf.eth0.rp_filter=${rp}`,
      `ip addr add ${a.server4}/24 dev eth0`, `ip addr add ${a.server6}/64 dev eth0 nodad`, 'ip link set eth0 up',
      `ip route add default via ${a.gateway4}`, `ip -6 route add default via ${a.gateway6}`,
    ].join('\n'));
    // Attacker.
    await this.sysctl('attacker', { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 });
    await this.sh('attacker', [
      ...a.attacker4.map((x) => `ip addr add ${x}/24 dev eth0`),
      ...a.attacker6.map((x) => `ip addr add ${x}/64 dev eth0 nodad`),
      'ip link set eth0 up', 'ip route add default via 203.0.113.1',
      ...(a.attacker6.length ? ['ip -6 route add default via 2001:db8:203::1'] : []),
      ...(this.options.attackerDropsRst ? [
        'nft add table inet swlab', "nft 'add chain inet swlab out { type filter hook output priority 0; }'",
        "nft add rule inet swlab out 'tcp flags & rst == rst' drop",
      ] : []),
    ].join('\n'));
    // Client.
    await this.sysctl('client', { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 });
    await this.sh('client', [
      `ip addr add ${a.client4}/24 dev eth0`, `ip addr add ${a.client6}/64 dev eth0 nodad`, 'ip link set eth0 up',
      'ip route add default via 192.0.2.1', 'ip -6 route add default via 2001:db8:192::1',
    ].join('\n'));
    if (this.options.httpServer) await this.startHttpServer();
  }

  /** A dual-stack HTTP server on [::]:port with the configured listen backlog. */
  private async startHttpServer(): Promise<void> {
    await startHttpServer(this.spawn('server', process.execPath, ['-e', httpServerScript(this.httpPort, this.options.listenBacklog)], { label: 'http server' }));
  }

  /**
   * Adds IPv4 attacker addresses (203.0.113.66+k, beyond the ones from create) and returns them;
   * the benchmark gives every trial a fresh source.
   */
  async addAttacker4(n: number): Promise<string[]> {
    const start = this.addr.attacker4.length + this.extraAttackers;
    if (start + n > 150) throw new Error('lab: at most 150 attacker IPv4 addresses');
    const out = Array.from({ length: n }, (_, k) => attacker4(start + k));
    await this.sh('attacker', out.map((x) => `ip addr add ${x}/24 dev eth0`).join('\n'));
    this.extraAttackers += n;
    return out;
  }

  // ---- traffic ----

  /** A bounded SYN flood with hping3 (IPv4). hping3 exits 1 when nothing answers: not an error. */
  async hping3Flood(o: Hping3FloodOptions): Promise<FloodResult> {
    if (!(Number.isInteger(o.count) && o.count > 0)) throw new Error('hping3Flood: count must be a positive integer');
    const parallel = Math.max(1, Math.min(o.parallel ?? 1, o.count));
    const base = o.from ? ['-a', o.from] : [];
    const t0 = Date.now();
    const runs = Array.from({ length: parallel }, (_, k) => {
      const count = Math.floor(o.count / parallel) + (k < o.count % parallel ? 1 : 0);
      return this.hping3(o.ns ?? 'attacker', [...base, '-p', String(o.port ?? this.httpPort)], count, o.intervalUs, o.to, o.timeoutS);
    });
    const results = await Promise.all(runs);
    return { ...results[0], stdout: results.map((r) => r.stdout).join(''), stderr: results.map((r) => r.stderr).join(''), elapsedMs: Date.now() - t0 };
  }

  /** One hping3 -S run: bounded by -c and by `timeout` (expected duration + 10 s unless given). */
  private async hping3(ns: NsRole, extra: string[], count: number, intervalUs: number, to: string, timeoutS?: number): Promise<ExecResult> {
    if (!(intervalUs >= 1)) throw new Error('hping3: intervalUs must be >= 1 (hping3 --flood ignores -c)');
    const limitS = timeoutS ?? Math.ceil(count * intervalUs * US + 10);
    const args = [String(limitS), 'hping3', '-q', '-S', ...extra, '-c', String(count), '-i', `u${Math.round(intervalUs)}`, to];
    const r = await this.exec(ns, TIMEOUT, args, { allowFail: true, timeoutMs: (limitS + 5) * 1000 });
    if (r.code !== 0 && r.code !== 1 && r.code !== 124) throw new Error(`hping3 failed (${r.code}): ${r.stderr.trim()}`);
    return r;
  }

  /**
   * A SYN flood at an exact rate: N SYNs from `from` (sport varying, random ISNs) written to a
   * pcap and sent with `tcpreplay --pps` from the attacker's eth0 to the router's MAC. Bounded by
   * the file's packet count and by `timeout`. IPv4 only. Reaches rates hping3 cannot (its -i u1
   * tops out near 10k SYN/s; its --flood ignores -c).
   */
  async replayFlood(o: { from: string; to: string; port?: number; count: number; /** SYN/s; Infinity = --topspeed */ pps: number; timeoutS?: number }): Promise<FloodResult> {
    if (!(Number.isInteger(o.count) && o.count > 0) || !(o.pps > 0)) throw new Error('replayFlood: count and pps must be > 0');
    const [srcMac, dstMac] = await Promise.all([this.mac('attacker', 'eth0'), this.mac('router', 'r-atk')]);
    const file = path.join(this.dir, `syn-${crypto.randomBytes(3).toString('hex')}.pcap`);
    fs.writeFileSync(file, synPcap({ srcMac, dstMac, src: o.from, dst: o.to, dport: o.port ?? this.httpPort, count: o.count }));
    const limitS = o.timeoutS ?? Math.ceil(o.count / Math.min(o.pps, 10_000) + 10);
    const t0 = Date.now();
    try {
      // pps = Infinity: --topspeed (as fast as the attacker namespace can send; still bounded by count).
      const pace = Number.isFinite(o.pps) ? `--pps=${o.pps}` : '--topspeed';
      const r = await this.exec('attacker', TIMEOUT, [String(limitS), 'tcpreplay', '-q', '-i', 'eth0', pace, '--preload-pcap', file],
        { allowFail: true, timeoutMs: (limitS + 5) * 1000 });
      if (r.code !== 0 && r.code !== 124) throw new Error(`tcpreplay failed (${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
      return { ...r, elapsedMs: Date.now() - t0 };
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  /** An interface's MAC address inside a namespace. */
  mac(ns: NsRole, iface: string): Promise<string> {
    return macAddress(this.nsName(ns), iface);
  }

  /** A random-source (spoofed) flood: hping3 --rand-source, bounded in count and time. */
  async spoofedFlood(o: SpoofedFloodOptions): Promise<FloodResult> {
    const t0 = Date.now();
    const r = await this.hping3('attacker', ['--rand-source', '-p', String(o.port ?? this.httpPort)], o.count, o.intervalUs, o.to, o.timeoutS);
    return { ...r, elapsedMs: Date.now() - t0 };
  }

  /** A bounded IPv6 SYN flood with scapy (hping3 has no IPv6). */
  async scapyFlood6(o: Scapy6FloodOptions): Promise<FloodResult> {
    const py = findScapyPython();
    if (!py) throw new Error('scapyFlood6: no python3 with scapy');
    const expectedS = o.count * o.intervalUs * US;
    const timeoutS = o.timeoutS ?? Math.ceil(expectedS + 20);
    const script = SCAPY_SYN6_SCRIPT;
    const t0 = Date.now();
    const r = await this.exec(o.ns ?? 'attacker', TIMEOUT, [String(timeoutS), py, '-c', script, o.from, o.to,
      String(o.port ?? this.httpPort), String(o.count), String(o.intervalUs)], { allowFail: true, timeoutMs: (timeoutS + 5) * 1000 });
    if (r.code !== 0) throw new Error(`scapy flood failed (${r.code}): ${r.stderr.trim().slice(-1000)}`);
    return { ...r, elapsedMs: Date.now() - t0 };
  }

  /** curl from a namespace (default client); ok when the HTTP status is 2xx. */
  async curl(from: NsRole = 'client', url?: string, timeoutS = 5): Promise<{ ok: boolean; status: number; body: string; code: number | null; stderr: string }> {
    const u = url ?? `http://${this.addr.server4}:${this.httpPort}/`;
    const r = await this.exec(from, 'curl', ['-sS', '-g', '--max-time', String(timeoutS), '-o', '-', '-w', '\n%{http_code}', u],
      { allowFail: true, timeoutMs: (timeoutS + 5) * 1000 });
    const nl = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(nl + 1)) || 0;
    return { ok: r.code === 0 && status >= 200 && status < 300, status, body: r.stdout.slice(0, Math.max(0, nl)), code: r.code, stderr: r.stderr };
  }

  // ---- observation ----

  /** Routes of a namespace's main table, IPv4 and IPv6, from `ip -j route show`. */
  async routes(ns: NsRole | string = 'server'): Promise<RouteRow[]> {
    return listRoutes(this.nsName(ns));
  }

  /** Host routes of the given type (default unreachable) in a namespace, as bare addresses. */
  async rejectRoutes(ns: NsRole | string = 'server', type = 'unreachable'): Promise<RouteRow[]> {
    return (await this.routes(ns)).filter((r) => r.type === type);
  }

  /** Half-open (SYN_RECV) sockets per remote address in a namespace (from `ss`). */
  async synRecv(ns: NsRole = 'server'): Promise<Map<string, number>> {
    const r = await this.exec(ns, 'ss', ['-H', '-n', '-t', 'state', 'syn-recv']);
    const counts = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      // Recv-Q Send-Q Local:Port Peer:Port
      const peer = f[f.length - 1];
      const ip = peer.slice(0, peer.lastIndexOf(':')).replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
      counts.set(ip, (counts.get(ip) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Starts tcpdump in a namespace (default server eth0) writing to a file in the lab dir. With
   * `immediate` false it runs without --immediate-mode: it then wakes once per filled block or
   * second instead of once per packet, so it takes no CPU from what a benchmark measures during a
   * burst (its timestamps are the kernel's either way), and stop() waits for the last block.
   */
  async capture(ns: NsRole = 'server', filter = 'tcp', iface = 'eth0', name = `cap-${crypto.randomBytes(3).toString('hex')}.pcap`,
    immediate = true): Promise<Capture> {
    const file = path.join(this.dir, name);
    const args = ['-i', iface, '-n', ...(immediate ? ['--immediate-mode'] : []), '-U', '-s', '128', '-w', file, '--', filter];
    const p = this.spawn(ns, 'tcpdump', args, { label: `tcpdump ${name}` });
    await p.waitFor(() => /listening on/.test(p.stderr), 10_000, 'tcpdump to listen');
    return new Capture(p, file, this, immediate);
  }

  /** `ip -ts -o monitor route` in a namespace; lines carry [timestamp] prefixes. */
  async monitorRoutes(ns: NsRole = 'server'): Promise<LabProcess> {
    const p = this.spawn(ns, IP, ['-ts', '-o', 'monitor', 'route'], { label: 'ip monitor route' });
    // ip monitor prints nothing on start: give it a moment to subscribe.
    await new Promise((r) => setTimeout(r, 200));
    if (!p.running) throw new Error(`ip monitor route exited: ${p.stderr}`);
    return p;
  }

  // ---- synwatch ----

  /**
   * Starts `synwatch ARGS` (node dist/synwatch.js) in the server namespace with info logs,
   * and, for `live`, waits for its "capturing" line.
   */
  async synwatch(args: string[], options: { waitFor?: string | null; timeoutMs?: number; label?: string } = {}): Promise<LabProcess> {
    const full = ['--log-level', 'info', ...args];
    const p = this.spawn('server', process.execPath, [SYNWATCH_MAIN, ...full], { label: options.label ?? `synwatch ${args[0]}` });
    const waitMsg = options.waitFor === undefined ? (args[0] === 'live' ? 'capturing' : null) : options.waitFor;
    if (waitMsg) await p.waitForJson((o) => o.msg === waitMsg, options.timeoutMs ?? 15_000, `"${waitMsg}"`);
    return p;
  }

  /** Runs a one-shot synwatch command (blocks, unblock) in the server namespace. */
  synwatchOnce(args: string[], timeoutMs = 30_000): Promise<ExecResult> {
    return this.exec('server', process.execPath, [SYNWATCH_MAIN, ...args], { allowFail: true, timeoutMs });
  }

  // ---- teardown ----

  /** Kills every process the lab started (by PID) and removes its namespaces and temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.procs].map((p) => p.stop(2000)));
    this.destroySync();
  }

  /** Synchronous teardown (the process 'exit' handler): SIGKILL by PID, delete namespaces. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    removeLab(this.procs, this.created, [this.dir]);
    unregisterTeardown(this);
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

/**
 * scapy: COUNT IPv6 SYNs SRC -> DST:PORT at GAP µs (argv: src dst port count gap), sport varying,
 * random ISNs; then, for each further group "pause_ms dst count gap", a pause and another burst
 * from the same process (one start-up: scapy's import takes seconds on a loaded machine).
 */
export const SCAPY_SYN6_SCRIPT = [
  'import sys, time, random',
  'import logging; logging.getLogger("scapy.runtime").setLevel(logging.ERROR)',
  'from scapy.all import IPv6, TCP, conf, raw',
  'src, port = sys.argv[1], int(sys.argv[3])',
  'bursts = [(0.0, sys.argv[2], int(sys.argv[4]), float(sys.argv[5]) / 1e6)]',
  'rest = sys.argv[6:]',
  'for k in range(0, len(rest) - 3, 4): bursts.append((float(rest[k]) / 1e3, rest[k + 1], int(rest[k + 2]), float(rest[k + 3]) / 1e6))',
  's = conf.L3socket6()',
  'base = random.randint(1024, 40000)',
  'sent = 0',
  'for pause, dst, count, gap in bursts:',
  '    time.sleep(pause)',
  '    t0 = time.monotonic()',
  '    for i in range(count):',
  '        s.send(IPv6(src=src, dst=dst) / TCP(sport=base + (sent % 20000), dport=port, flags="S", seq=random.getrandbits(32), window=64240))',
  '        sent += 1',
  '        if gap > 0:',
  '            nxt = t0 + (i + 1) * gap',
  '            d = nxt - time.monotonic()',
  '            if d > 0: time.sleep(d)',
  's.close()',
  'print(sent)',
].join('\n');

/**
 * The lab's HTTP server: node, dual stack on [::]:port with the given listen backlog (node, not
 * `python3 -m http.server`, whose backlog of 5 caps the SYN queue); prints "listening" on stderr.
 */
export function httpServerScript(port: number, backlog: number): string {
  return [
    "const http = require('http');",
    "const s = http.createServer((q, r) => { r.setHeader('content-type', 'text/plain'); r.end('synwatch lab ok\\n'); });",
    `s.listen({ port: ${port}, host: '::', backlog: ${backlog} }, () => process.stderr.write('listening\\n'));`,
    "process.on('SIGTERM', () => process.exit(0));",
].join('\n');
}

/** Waits for a process running httpServerScript() to listen. */
export async function startHttpServer(p: LabProcess): Promise<LabProcess> {
  await p.waitFor(() => p.lines.includes('listening'), 10_000, 'the HTTP server to listen');
  return p;
}

/**
 * A lab's synchronous teardown: SIGKILL its processes by PID, then (with sweepInside) whatever
 * still runs inside its namespaces (`ip netns pids`: only this lab's processes are in them),
 * then the namespaces and directories.
 */
export function removeLab(procs: Iterable<LabProcess>, namespaces: string[], dirs: string[], sweepInside = false): void {
  for (const p of procs) p.signal('SIGKILL');
  for (const n of namespaces) {
    if (sweepInside) killProcessesIn(n);
    try {
      execFileSync(IP, ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // already gone
    }
  }
  for (const d of dirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

/** Runs a command (no shell); rejects on a non-zero exit unless allowFail; SIGKILL after timeoutMs (default 30 s). */
export function runCommand(cmd: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (options.input !== undefined) child.stdin!.end(options.input);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r = { code, signal, stdout, stderr };
      if (code !== 0 && !options.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim() || stdout.trim()}`));
      } else resolve(r);
    });
  });
}

/** Routes of the named namespace's main table, IPv4 and IPv6, from `ip -j route show`. */
export async function listRoutes(ns: string): Promise<RouteRow[]> {
  const out: RouteRow[] = [];
  for (const family of [4, 6] as const) {
    const r = await runCommand(IP, ['-n', ns, '-j', `-${family}`, 'route', 'show', 'table', 'main']);
    const rows = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout) as Record<string, unknown>[];
    for (const row of rows) {
      out.push({
        family, dst: String(row.dst), type: typeof row.type === 'string' ? row.type : 'unicast',
        protocol: row.protocol === undefined ? 'boot' : String(row.protocol),
        dev: typeof row.dev === 'string' ? row.dev : undefined,
        gateway: typeof row.gateway === 'string' ? row.gateway : undefined, raw: row,
      });
    }
  }
  return out;
}

/** Starts `cmd args` inside the named namespace; the PID is the command's own (`ip netns exec` execs in place). */
export function spawnInNamespace(ns: string, cmd: string, args: string[] = [], options: { label?: string; env?: NodeJS.ProcessEnv } = {}): LabProcess {
  const child = spawnChild(IP, ['netns', 'exec', ns, cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env,
  });
  return new LabProcess(child, options.label ?? `${cmd} in ${ns}`);
}

/** An interface's MAC address inside the named namespace. */
export async function macAddress(ns: string, iface: string): Promise<string> {
  const r = await runCommand(IP, ['-n', ns, '-j', 'link', 'show', 'dev', iface]);
  const mac = (JSON.parse(r.stdout) as Array<{ address?: string }>)[0]?.address;
  if (!mac) throw new Error(`no MAC for ${iface} in ${ns}`);
  return mac;
}

/** Polls an async probe until it yields a value or the time is up. */
export async function pollUntil<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function checksum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

/** A classic pcap (Ethernet) of `count` TCP SYNs with valid checksums, sport 10000 + i. */
export function synPcap(o: { srcMac: string; dstMac: string; src: string; dst: string; dport: number; count: number }): Buffer {
  const FRAME = 14 + 20 + 20;
  const out = Buffer.alloc(24 + o.count * (16 + FRAME));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const dstMac = Buffer.from(o.dstMac.replace(/:/g, ''), 'hex');
  const srcMac = Buffer.from(o.srcMac.replace(/:/g, ''), 'hex');
  const src = ipv4Bytes(o.src);
  const dst = ipv4Bytes(o.dst);
  let off = 24;
  for (let i = 0; i < o.count; i++) {
    out.writeUInt32LE(0, off);
    out.writeUInt32LE(i, off + 4); // µs: tcpreplay --pps sets the pace, not these
    out.writeUInt32LE(FRAME, off + 8);
    out.writeUInt32LE(FRAME, off + 12);
    const f = out.subarray(off + 16, off + 16 + FRAME);
    dstMac.copy(f, 0);
    srcMac.copy(f, 6);
    f.writeUInt16BE(0x0800, 12);
    const ip = f.subarray(14, 34);
    ip[0] = 0x45;
    ip.writeUInt16BE(40, 2);
    ip.writeUInt16BE(i & 0xffff, 4);
    ip[8] = 64;
    ip[9] = 6;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
    const tcp = f.subarray(34, 54);
    tcp.writeUInt16BE(10000 + (i % 50000), 0);
    tcp.writeUInt16BE(o.dport, 2);
    tcp.writeUInt32BE(crypto.randomInt(0, 0xffffffff), 4);
    tcp[12] = 5 << 4;
    tcp[13] = 0x02; // SYN
    tcp.writeUInt16BE(64240, 14);
    const pseudo = Buffer.concat([src, dst, Buffer.from([0, 6, 0, 20])]);
    tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp])), 16);
    off += 16 + FRAME;
  }
  return out;
}
