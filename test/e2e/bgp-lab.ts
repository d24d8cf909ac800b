/**
 * The BGP lab: two servers that each run `synwatch live` and BIRD with the shipped
 * contrib/bird/bird.conf, an edge router that runs FRR with the shipped contrib/frr/frr.conf and
 * contrib/frr/rtbh.nft, an attacker and a legitimate client outside it (test/e2e/bgp.test.ts,
 * bench/bgp.ts).
 *
 *   attacker (atk) 203.0.113.66.. ── r-atk ┐                 ┌ r-srv ── server1 (srv) 198.51.100.10/26
 *     2001:db8:203::66..                    │ edge (rtr): FRR │          2001:db8:100::10/64
 *   client (cli) 192.0.2.20 ──────── r-cli ┘ AS 64512, RR    └ r-sv2 ── server2 (sv2) 198.51.100.74/26
 *     2001:db8:192::20                        discard .254              2001:db8:100:1::10/64
 *
 * iBGP in AS 64512 (private): each server's BIRD peers with the edge router over IPv4 and IPv6;
 * the edge reflects one server's blocks to the other and installs them as blackhole routes.
 * The configuration files are the shipped ones: bird.conf's defines are substituted per server,
 * frr.conf and rtbh.nft are used as they are (their addresses are this lab's).
 *
 * Safety (as lab.ts): namespaces sw-<pid>-<hex>-{rtr,srv,sv2,atk,cli}, veth pairs created inside
 * them, documentation addresses only, floods bounded by count and `timeout`, every daemon run in
 * the foreground, tracked and killed by PID, then whatever still runs inside the namespaces (by
 * PID, `ip netns pids`), then the namespaces and temporary directories; an exit handler does the
 * same when the test process dies, and sweepStaleNamespaces() after a kill -9.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  ExecOptions, ExecResult, findScapyPython, httpServerScript, LabProcess, listRoutes, pollUntil, removeLab, REPO_ROOT, RouteRow,
  runCommand, SCAPY_SYN6_SCRIPT, spawnInNamespace, startHttpServer, startLab, sweepStaleNamespaces, SYNWATCH_MAIN, Teardown, unregisterTeardown, which,
} from './lab';

export type BgpRole = 'edge' | 'server1' | 'server2' | 'attacker' | 'client';
export type ServerRole = 'server1' | 'server2';

export const BIRD_CONF = path.join(REPO_ROOT, 'contrib/bird/bird.conf');
export const FRR_CONF = path.join(REPO_ROOT, 'contrib/frr/frr.conf');
export const RTBH_NFT = path.join(REPO_ROOT, 'contrib/frr/rtbh.nft');
const FRR_BIN = '/usr/lib/frr';
const HTTP_PORT = 8080;

const NS_SUFFIX: Record<BgpRole, string> = { edge: 'rtr', server1: 'srv', server2: 'sv2', attacker: 'atk', client: 'cli' };

/** One server's addresses, and the edge router's on its link. */
export interface ServerAddr { v4: string; v6: string; edge4: string; edge6: string; prefix4: number; edgeIf: string }

export const BGP_LAB_ADDR = {
  server1: { v4: '198.51.100.10', v6: '2001:db8:100::10', edge4: '198.51.100.1', edge6: '2001:db8:100::1', prefix4: 26, edgeIf: 'r-srv' } as ServerAddr,
  server2: { v4: '198.51.100.74', v6: '2001:db8:100:1::10', edge4: '198.51.100.65', edge6: '2001:db8:100:1::1', prefix4: 26, edgeIf: 'r-sv2' } as ServerAddr,
  client4: '192.0.2.20', client6: '2001:db8:192::20',
  /** 203.0.113.66 upwards; 2001:db8:203::66 upwards. */
  attacker4: Array.from({ length: 12 }, (_, k) => `203.0.113.${66 + k}`),
  attacker6: Array.from({ length: 2 }, (_, k) => `2001:db8:203::${(0x66 + k).toString(16)}`),
};

/** Why the BGP lab cannot run here, or null. */
export function bgpLabUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  for (const t of ['ip', 'nft', 'hping3', 'timeout', 'curl', 'bird', 'birdc', 'vtysh']) if (!which(t)) return `${t} not installed`;
  for (const d of ['zebra', 'bgpd', 'staticd']) if (!fs.existsSync(path.join(FRR_BIN, d))) return `${FRR_BIN}/${d} not installed (Debian frr)`;
  if (!fs.existsSync(SYNWATCH_MAIN)) return `${SYNWATCH_MAIN} not built`;
  return null;
}

/**
 * contrib/bird/bird.conf with its defines set for one server of the lab: its router id, the edge
 * router as peer, and, never to block, the lab's own network and the client (the allowlist).
 */
export function birdConfigFor(server: ServerRole, source = fs.readFileSync(BIRD_CONF, 'utf8')): string {
  const a = BGP_LAB_ADDR[server];
  const set = (text: string, name: string, value: string): string => {
    const re = new RegExp(`^define ${name}\\s*=.*?;`, 'm');
    if (!re.test(text)) throw new Error(`bird.conf has no "define ${name} = ...;" line`);
    return text.replace(re, `define ${name} = ${value};`);
  };
  let c = set(source, 'SYNWATCH_ROUTER_ID', a.v4);
  c = set(c, 'SYNWATCH_PEER', a.edge4);
  c = set(c, 'SYNWATCH_PEER6', a.edge6);
  c = set(c, 'SYNWATCH_NEVER4', '[ 198.51.100.0/24+, 192.0.2.0/24+, 127.0.0.0/8+ ]');
  return set(c, 'SYNWATCH_NEVER6', '[ 2001:db8:100::/48+, 2001:db8:192::/64+, ::1/128, fe80::/10+ ]');
}

/** A route change seen by `ip -ts -o monitor route`, with its kernel notification time. */
export interface RouteEvent { atMs: number; deleted: boolean; type: string; dst: string; proto: string; line: string }

const MONITOR_LINE = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (Deleted )?(?:(unreachable|blackhole|prohibit|unicast|local|broadcast|multicast) )?(\S+)(.*)$/;

/** Parses one line of `ip -ts -o monitor route` (null for other lines). */
export function parseRouteEvent(line: string): RouteEvent | null {
  const m = MONITOR_LINE.exec(line);
  if (!m) return null;
  const atMs = new Date(`${m[1]}Z`).getTime() + Number(m[2]) / 1000;
  const proto = / proto (\S+)/.exec(m[6])?.[1] ?? 'boot';
  return { atMs, deleted: m[3] !== undefined, type: m[4] ?? 'unicast', dst: m[5].replace(/\/(32|128)$/, ''), proto, line };
}

/** Route notifications of one namespace, kept with their times. */
export class RouteMonitor {
  readonly events: RouteEvent[] = [];
  constructor(readonly proc: LabProcess) {
    proc.child.stdout?.on('data', () => this.drain());
  }

  private consumed = 0;

  private drain(): void {
    const lines = this.proc.stdout.split('\n');
    for (; this.consumed < lines.length - 1; this.consumed++) {
      const e = parseRouteEvent(lines[this.consumed]);
      if (e) this.events.push(e);
    }
  }

  /** The first event (old ones included) for `dst` that is an add (or a delete). */
  find(dst: string, deleted: boolean, sinceMs = 0): RouteEvent | undefined {
    this.drain();
    return this.events.find((e) => e.dst === dst && e.deleted === deleted && e.atMs >= sinceMs);
  }

  wait(dst: string, deleted: boolean, timeoutMs: number, sinceMs = 0): Promise<RouteEvent> {
    return this.proc.waitFor(() => this.find(dst, deleted, sinceMs), timeoutMs, `${deleted ? 'the removal of' : 'a route for'} ${dst}`);
  }
}

export class BgpLab implements Teardown {
  readonly id = `${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  readonly ns: Record<BgpRole, string>;
  readonly addr = BGP_LAB_ADDR;
  readonly httpPort = HTTP_PORT;
  /** Temporary directory: configs, state dirs, BIRD sockets. */
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), `sw-lab-${this.id}-`));
  /** FRR's directory (its daemons run as user frr): vty sockets, zserv socket, pid files. */
  readonly frrDir = fs.mkdtempSync(path.join(os.tmpdir(), `sw-lab-${this.id}-frr-`));
  readonly procs = new Set<LabProcess>();
  readonly bird = new Map<ServerRole, LabProcess>();
  readonly synwatch = new Map<ServerRole, LabProcess>();
  private readonly frrPids: number[] = [];
  private created: string[] = [];
  private destroyed = false;

  private constructor() {
    const base = `sw-${this.id}`;
    this.ns = Object.fromEntries(Object.entries(NS_SUFFIX).map(([r, s]) => [r, `${base}-${s}`])) as Record<BgpRole, string>;
  }

  static async create(): Promise<BgpLab> {
    const why = bgpLabUnavailableReason();
    if (why) throw new Error(`BGP lab unavailable: ${why}`);
    sweepStaleNamespaces();
    const lab = new BgpLab();
    return startLab(lab, () => lab.build());
  }

  exec(role: BgpRole, cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return runCommand('ip', ['netns', 'exec', this.ns[role], cmd, ...args], options);
  }

  private sh(role: BgpRole, lines: string[]): Promise<ExecResult> {
    return this.exec(role, 'sh', ['-ec', lines.join('\n')]);
  }

  spawn(role: BgpRole, cmd: string, args: string[] = [], label?: string): LabProcess {
    if (this.destroyed) throw new Error('lab already destroyed');
    const p = spawnInNamespace(this.ns[role], cmd, args, { label: label ?? `${cmd} in ${role}` });
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  // ---- building ----

  private async build(): Promise<void> {
    for (const n of Object.values(this.ns)) {
      await runCommand('ip', ['netns', 'add', n]);
      this.created.push(n);
      await runCommand('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
      await runCommand('ip', ['netns', 'exec', n, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    }
    const edge = this.ns.edge;
    for (const [rIf, role] of [['r-srv', 'server1'], ['r-sv2', 'server2'], ['r-atk', 'attacker'], ['r-cli', 'client']] as const) {
      await runCommand('ip', ['-n', edge, 'link', 'add', rIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns[role]]);
    }
    const s1 = this.addr.server1, s2 = this.addr.server2;
    await this.sh('edge', [
      'sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0',
      `ip addr add ${s1.edge4}/${s1.prefix4} dev r-srv`, `ip addr add ${s1.edge6}/64 dev r-srv nodad`,
      `ip addr add ${s2.edge4}/${s2.prefix4} dev r-sv2`, `ip addr add ${s2.edge6}/64 dev r-sv2 nodad`,
      'ip addr add 203.0.113.1/24 dev r-atk', 'ip addr add 2001:db8:203::1/64 dev r-atk nodad',
      'ip addr add 192.0.2.1/24 dev r-cli', 'ip addr add 2001:db8:192::1/64 dev r-cli nodad',
      'for i in r-srv r-sv2 r-atk r-cli; do ip link set $i up; done',
    ]);
    for (const role of ['server1', 'server2'] as const) {
      const a = this.addr[role];
      await this.sh(role, [
        'sysctl -q -w net.ipv4.tcp_syncookies=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0',
        `ip addr add ${a.v4}/${a.prefix4} dev eth0`, `ip addr add ${a.v6}/64 dev eth0 nodad`, 'ip link set eth0 up',
        `ip route add default via ${a.edge4}`, `ip -6 route add default via ${a.edge6}`,
        // Per-attacker counters of what reaches this server, ahead of everything else.
        'nft add table inet swlab', "nft 'add chain inet swlab count { type filter hook prerouting priority -500; policy accept; }'",
        ...[...this.addr.attacker4, ...this.addr.attacker6].map((x) =>
          `nft add rule inet swlab count ${x.includes(':') ? 'ip6' : 'ip'} saddr ${x} counter comment '"${x}"'`),
      ]);
    }
    await this.sh('attacker', [
      ...this.addr.attacker4.map((x) => `ip addr add ${x}/24 dev eth0`),
      ...this.addr.attacker6.map((x) => `ip addr add ${x}/64 dev eth0 nodad`),
      'ip link set eth0 up', 'ip route add default via 203.0.113.1', 'ip -6 route add default via 2001:db8:203::1',
      // The attacker's kernel would reset every SYN-ACK: drop its own RSTs.
      'nft add table inet swlab', "nft 'add chain inet swlab out { type filter hook output priority 0; }'",
      "nft add rule inet swlab out 'tcp flags & rst == rst' drop",
    ]);
    await this.sh('client', [
      `ip addr add ${this.addr.client4}/24 dev eth0`, `ip addr add ${this.addr.client6}/64 dev eth0 nodad`, 'ip link set eth0 up',
      'ip route add default via 192.0.2.1', 'ip -6 route add default via 2001:db8:192::1',
    ]);
    for (const role of ['server1', 'server2'] as const) {
      await startHttpServer(this.spawn(role, process.execPath, ['-e', httpServerScript(HTTP_PORT, 1024)], `http server in ${role}`));
    }
  }

  // ---- the edge router: FRR and its nftables table ----

  /** zebra, staticd and bgpd in the foreground as user frr, then contrib/frr/frr.conf through vtysh. */
  async startFrr(): Promise<void> {
    const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
    fs.chownSync(this.frrDir, uid, gid);
    const empty = path.join(this.frrDir, 'empty.conf');
    fs.writeFileSync(empty, '');
    fs.chownSync(empty, uid, gid);
    const common = (d: string) => ['-f', empty, '-i', path.join(this.frrDir, `${d}.pid`), '-z', path.join(this.frrDir, 'zserv.api'),
      '--vty_socket', this.frrDir, '-P', '0'];
    const daemon = async (d: string, extra: string[], ready: string) => {
      const p = this.spawn('edge', path.join(FRR_BIN, d), [...common(d), ...extra], `frr ${d}`);
      this.frrPids.push(p.pid);
      await p.waitFor(() => fs.existsSync(path.join(this.frrDir, ready)), 15_000, `${d} to start`);
    };
    await daemon('zebra', [], 'zebra.vty');
    await daemon('staticd', [], 'staticd.vty');
    await daemon('bgpd', [], 'bgpd.vty');
    const r = await this.vtysh(['-f', FRR_CONF], true);
    if (r.code !== 0) throw new Error(`vtysh -f ${FRR_CONF} failed (${r.code}): ${(r.stdout + r.stderr).trim().slice(-1500)}`);
    await this.exec('edge', 'nft', ['-f', RTBH_NFT]);
  }

  vtysh(args: string[], allowFail = false): Promise<ExecResult> {
    return this.exec('edge', 'vtysh', ['--vty_socket', this.frrDir, ...args], { allowFail, timeoutMs: 20_000 });
  }

  /** The edge router's BGP sessions (neighbor address -> state), IPv4 and IPv6 unicast. */
  async edgeSessions(): Promise<Map<string, string>> {
    const r = await this.vtysh(['-c', 'show bgp summary json']);
    const doc = JSON.parse(r.stdout) as Record<string, { peers?: Record<string, { state?: string }> }>;
    const out = new Map<string, string>();
    for (const af of Object.values(doc)) for (const [peer, v] of Object.entries(af.peers ?? {})) out.set(peer, String(v.state));
    return out;
  }

  /** Waits until the edge router has all four sessions (two servers, IPv4 and IPv6) established. */
  waitForSessions(timeoutMs: number, peers = [this.addr.server1.v4, this.addr.server1.v6, this.addr.server2.v4, this.addr.server2.v6]): Promise<true> {
    return pollUntil(async () => {
      const s = await this.edgeSessions();
      return peers.every((p) => s.get(p) === 'Established');
    }, timeoutMs, `BGP sessions ${peers.join(', ')} established`, 200);
  }

  /** Packets the edge router's source-RTBH rule dropped (contrib/frr/rtbh.nft's counter). */
  async edgeDropped(): Promise<number> {
    const r = await this.exec('edge', 'nft', ['-j', 'list', 'counter', 'inet', 'synwatch_rtbh', 'dropped']);
    const doc = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    const c = doc.nftables.find((o) => o.counter)?.counter;
    if (!c) throw new Error('no synwatch_rtbh counter on the edge router');
    return c.packets;
  }

  // ---- the servers: BIRD and synwatch ----

  /** BIRD in the foreground with the shipped bird.conf, defines set for this server. */
  async startBird(server: ServerRole): Promise<LabProcess> {
    const conf = path.join(this.dir, `bird-${server}.conf`);
    fs.writeFileSync(conf, birdConfigFor(server));
    const p = this.spawn(server, 'bird', ['-f', '-c', conf, '-s', this.birdSocket(server), '-P', path.join(this.dir, `bird-${server}.pid`)], `bird in ${server}`);
    this.bird.set(server, p);
    await p.waitFor(() => fs.existsSync(this.birdSocket(server)), 10_000, 'the BIRD control socket');
    return p;
  }

  birdSocket(server: ServerRole): string {
    return path.join(this.dir, `bird-${server}.ctl`);
  }

  birdc(server: ServerRole, args: string[]): Promise<ExecResult> {
    return this.exec(server, 'birdc', ['-s', this.birdSocket(server), ...args], { allowFail: true, timeoutMs: 10_000 });
  }

  stateDir(server: ServerRole): string {
    return path.join(this.dir, `state-${server}`);
  }

  /** `synwatch live -i eth0` in a server, waiting for its "capturing" line. */
  async startSynwatch(server: ServerRole, extra: string[] = []): Promise<LabProcess> {
    const p = this.spawn(server, process.execPath, [SYNWATCH_MAIN, '--log-level', 'info', 'live', '-i', 'eth0',
      '--state-dir', this.stateDir(server), ...extra], `synwatch live in ${server}`);
    this.synwatch.set(server, p);
    await p.waitForJson((o) => o.msg === 'capturing', 20_000, '"capturing"');
    return p;
  }

  /** A one-shot synwatch command (unblock, blocks) in a server, on its state directory. */
  synwatchOnce(server: ServerRole, args: string[]): Promise<ExecResult> {
    return this.exec(server, process.execPath, [SYNWATCH_MAIN, ...args, '--state-dir', this.stateDir(server)], { allowFail: true, timeoutMs: 30_000 });
  }

  // ---- observation and traffic ----

  routes(role: BgpRole): Promise<RouteRow[]> {
    return listRoutes(this.ns[role]);
  }

  async routeFor(role: BgpRole, ip: string): Promise<RouteRow[]> {
    return (await this.routes(role)).filter((r) => r.dst === ip);
  }

  /** `ip -ts -o monitor route` in a namespace, parsed. */
  async monitor(role: BgpRole): Promise<RouteMonitor> {
    const p = this.spawn(role, 'ip', ['-ts', '-o', 'monitor', 'route'], `ip monitor route in ${role}`);
    await new Promise((r) => setTimeout(r, 200)); // it prints nothing when subscribed
    if (!p.running) throw new Error(`ip monitor route exited: ${p.stderr}`);
    return new RouteMonitor(p);
  }

  /** Packets from `src` that reached a server (its prerouting counter, before anything drops). */
  async reached(server: ServerRole, src: string): Promise<number> {
    const r = await this.exec(server, 'nft', ['-j', 'list', 'chain', 'inet', 'swlab', 'count']);
    const doc = JSON.parse(r.stdout) as { nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { packets: number } }> } }> };
    const rule = doc.nftables.find((o) => o.rule?.comment === src)?.rule;
    const c = rule?.expr.find((e) => e.counter)?.counter;
    if (!c) throw new Error(`no counter for ${src} in ${server}`);
    return c.packets;
  }

  /** A bounded SYN flood with hping3 from an attacker address (IPv4): -c count, -i u<gap>, under `timeout`. */
  async synFlood(from: string, to: string, count: number, intervalUs: number): Promise<ExecResult> {
    const limitS = Math.ceil((count * intervalUs) / 1e6 + 10);
    const r = await this.exec('attacker', 'timeout', [String(limitS), 'hping3', '-q', '-S', '-a', from, '-p', String(HTTP_PORT),
      '-c', String(count), '-i', `u${intervalUs}`, to], { allowFail: true, timeoutMs: (limitS + 5) * 1000 });
    if (r.code !== 0 && r.code !== 1) throw new Error(`hping3 failed (${r.code}): ${r.stderr.trim()}`);
    return r;
  }

  /**
   * Bounded IPv6 SYN floods with scapy (hping3 has no IPv6), one process under `timeout`: COUNT
   * SYNs to `to`, then each `then` burst after its pause.
   */
  async synFlood6(from: string, to: string, count: number, intervalUs: number,
    then: Array<{ pauseMs: number; to: string; count: number; intervalUs: number }> = []): Promise<ExecResult> {
    const py = findScapyPython();
    if (!py) throw new Error('synFlood6: no python3 with scapy');
    const busyS = [{ pauseMs: 0, count, intervalUs }, ...then].reduce((t, b) => t + b.pauseMs / 1e3 + (b.count * b.intervalUs) / 1e6, 0);
    const limitS = Math.ceil(busyS + 30);
    const more = then.flatMap((b) => [String(b.pauseMs), b.to, String(b.count), String(b.intervalUs)]);
    const r = await this.exec('attacker', 'timeout', [String(limitS), py, '-c', SCAPY_SYN6_SCRIPT, from, to, String(HTTP_PORT), String(count), String(intervalUs), ...more],
      { allowFail: true, timeoutMs: (limitS + 5) * 1000 });
    if (r.code !== 0) throw new Error(`scapy flood failed (${r.code}): ${r.stderr.trim().slice(-1000)}`);
    return r;
  }

  /** The client fetches a server's page; true when it got a 2xx. */
  async served(server: ServerRole, family: 4 | 6 = 4): Promise<boolean> {
    const host = family === 4 ? this.addr[server].v4 : `[${this.addr[server].v6}]`;
    const r = await this.exec('client', 'curl', ['-sS', '-g', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${host}:${HTTP_PORT}/`],
      { allowFail: true, timeoutMs: 10_000 });
    return r.code === 0 && /^2\d\d$/.test(r.stdout.trim());
  }

  // ---- teardown ----

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.procs].map((p) => p.stop(3000)));
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // FRR keeps a crash-log directory per daemon process in /var/tmp/frr: ours go too.
    const frrScratch = this.frrPids.flatMap((pid) => ['zebra', 'staticd', 'bgpd'].map((n) => `/var/tmp/frr/${n}.${pid}`));
    removeLab(this.procs, this.created, [this.dir, this.frrDir, ...frrScratch], true);
    unregisterTeardown(this);
  }
}
