/**
 * The load benchmark's lab: two network namespaces joined by one veth pair, nothing else.
 *
 *   sender (sw-<pid>-<hex>-atk)                 server (sw-<pid>-<hex>-srv)
 *   eth0 198.51.100.1/24  ---------- veth ----------  eth0 203.0.113.10/24
 *   trafgen: SYNs from 198.51.100.1-254               synwatch live + tcpdump on eth0
 *
 * test/e2e/lab.ts routes the attacker's packets through a router namespace: at 280k SYN/s that
 * forwarding costs a core of the two this machine has, so the load benchmark sends straight
 * into the server's interface instead.
 *
 * - The server drops the flood in netfilter's prerouting hook (priority raw): packet sockets
 *   see every frame before netfilter, so synwatch and tcpdump capture all of it, and the server
 *   answers nothing (no RSTs, no SYN-ACKs on the wire to capture or count).
 * - IPv6 is off in both namespaces: no neighbour or router solicitations on the link, so every
 *   frame tcpdump counts is a SYN the sender wrote.
 *
 * Safety (as lab.ts): veth pair created inside the namespaces, documentation addresses only,
 * processes tracked and killed by PID, and at teardown every process still inside the two
 * namespaces (a trafgen whose `timeout` was killed) by PID too. The namespace and temporary
 * directory names follow lab.ts's pattern, so sweepStaleNamespaces() removes them when this
 * process dies without its exit handler (kill -9).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  ExecOptions, ExecResult, killProcessesIn, LabProcess, macAddress, runCommand, spawnInNamespace, startLab, sweepStaleNamespaces,
  Teardown, unregisterTeardown,
} from '../test/e2e/lab';

export type PairRole = 'sender' | 'server';

export class PairLab implements Teardown {
  readonly id = `${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  readonly ns: Record<PairRole, string> = { sender: `sw-${this.id}-atk`, server: `sw-${this.id}-srv` };
  readonly iface = 'eth0';
  readonly senderAddr = '198.51.100.1';
  readonly serverAddr = '203.0.113.10';
  readonly port = 80;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), `sw-lab-${this.id}-`));
  readonly procs = new Set<LabProcess>();
  senderMac = '';
  serverMac = '';
  private created: string[] = [];
  private destroyed = false;

  private constructor() {}

  static async create(): Promise<PairLab> {
    sweepStaleNamespaces();
    const lab = new PairLab();
    return startLab(lab, () => lab.build());
  }

  private async build(): Promise<void> {
    for (const n of [this.ns.sender, this.ns.server]) {
      await runCommand('ip', ['netns', 'add', n]);
      this.created.push(n);
    }
    await runCommand('ip', ['-n', this.ns.sender, 'link', 'add', this.iface, 'type', 'veth', 'peer', 'name', this.iface, 'netns', this.ns.server]);
    for (const role of ['sender', 'server'] as const) {
      await this.exec(role, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      await this.exec(role, 'sh', ['-ec', `ip link set lo up; ip link set ${this.iface} up`]);
    }
    await this.exec('sender', 'ip', ['addr', 'add', `${this.senderAddr}/24`, 'dev', this.iface]);
    await this.exec('server', 'ip', ['addr', 'add', `${this.serverAddr}/24`, 'dev', this.iface]);
    await this.exec('server', 'nft', ['add table inet swbench; ' +
      'add chain inet swbench pre { type filter hook prerouting priority raw; policy accept; }; ' +
      `add rule inet swbench pre tcp dport ${this.port} drop`]);
    [this.senderMac, this.serverMac] = await Promise.all([macAddress(this.ns.sender, this.iface), macAddress(this.ns.server, this.iface)]);
  }

  exec(role: PairRole, cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return runCommand('ip', ['netns', 'exec', this.ns[role], cmd, ...args], options);
  }

  /** Starts a process in a namespace, tracked (killed by PID on destroy). */
  spawn(role: PairRole, cmd: string, args: string[] = [], options: { label?: string } = {}): LabProcess {
    if (this.destroyed) throw new Error('lab already destroyed');
    const p = spawnInNamespace(this.ns[role], cmd, args, options);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** A counter of /sys/class/net/IFACE/statistics in a namespace (rx_packets, rx_dropped, ...). */
  async counter(role: PairRole, name: string): Promise<number> {
    // `ip netns exec` mounts the namespace's own sysfs, so this is the namespace's eth0.
    const r = await this.exec(role, 'cat', [`/sys/class/net/${this.iface}/statistics/${name}`]);
    return Number(r.stdout.trim());
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.procs].map((p) => {
      p.signal('SIGCONT'); // a SIGSTOPped synwatch would sit on its SIGTERM
      return p.stop(3000);
    }));
    this.destroySync();
  }

  /** Synchronous teardown (also the process 'exit' handler): by PID, then the namespaces. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.procs) {
      p.signal('SIGCONT');
      p.signal('SIGTERM'); // `timeout` passes it on to trafgen
    }
    if (this.procs.size) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    for (const p of this.procs) p.signal('SIGKILL');
    for (const n of this.created) {
      killProcessesIn(n); // whatever still runs inside (trafgen under a killed `timeout`): this lab started it
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    unregisterTeardown(this);
  }
}
