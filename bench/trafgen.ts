/**
 * Bounded SYN floods with trafgen (netsniff-ng) for the live benchmarks (load.ts, latency.ts).
 *
 * trafgen writes whole Ethernet frames from a packet socket, so the sender needs no addresses,
 * no ARP and no routes, but the frame must carry the receiving interface's MAC (a wrong one
 * arrives as PACKET_OTHERHOST: captured, then dropped by IP). One trafgen process sends
 * ~250-290k SYN/s from one core (TX_RING, no rate option); `-n` makes the count exact.
 *
 * Pacing. `-b NNNpps` is a per-second quota, not a rate: trafgen's shaper (shaper_delay() in
 * trafgen.c) sends NNN packets as fast as it can, then sleeps for the rest of the second.
 * Measured here with tcpdump timestamps: `-b 10000pps` sends each second's 10,000 SYNs in
 * ~35 ms (3-4 µs apart) and is then silent for ~960 ms; `-b 100000pps` sends 100,000 in ~400 ms.
 * `-t GAP` sleeps between packets, but nanosleep's slack makes `-t 5us` ~30 µs. So the smooth
 * pacing ('tbf') is the kernel's: a tbf qdisc on the sender's interface at NNN x 54 bytes/s with
 * a 2 ms burst, and trafgen `-t 0 --qdisc-path` (sendto through the qdisc; a full queue
 * returns ENOBUFS and trafgen retries the same frame, so the count stays exact). 'quota' is
 * `-b NNNpps`, the bursts above. Infinity ("max") is TX_RING with neither.
 *
 * Options every run passes, and why:
 *   --cpus 1         trafgen forks one process per CPU by default, each pinned to its CPU: on
 *                    2 vCPUs that takes the core synwatch and tcpdump need.
 *   --no-sock-mem    by default trafgen raises net.core.{r,w}mem_{default,max} for the run:
 *                    host-wide settings the benchmark has no business changing. (0.6.8 lists
 *                    -A in --help but its getopt string lacks it: only the long form works.)
 *   --notouch-irq    by default it rewrites the NIC's IRQ affinity (veth has none; never try).
 *   timeout -s INT   the time bound; SIGINT (not SIGTERM) so trafgen still prints its summary.
 */

/** Ethernet + IPv4 + TCP without options: every frame trafgenPacket() describes. */
export const SYN_FRAME_BYTES = 54;

/** 'tbf': the kernel paces (smooth); 'quota': trafgen -b (each second's SYNs in one burst). */
export type Pacing = 'tbf' | 'quota';

export interface SynFlood {
  /** Interface in the sending namespace. */
  dev: string;
  srcMac: string;
  dstMac: string;
  /** Source IPv4 address; with randomSourceOctet, its last octet is drawn per packet in 1..254. */
  src: string;
  randomSourceOctet?: boolean;
  dst: string;
  dport: number;
  /** SYNs to send (floods are bounded). */
  count: number;
  /** SYN/s; Infinity = as fast as trafgen goes (TX_RING, no -b). */
  pps: number;
  /** How a finite rate is kept (default 'quota'); 'tbf' needs tbfCommand() applied to dev first. */
  pacing?: Pacing;
  /** Hard limit, seconds (default: the expected duration x 1.5 + 10 s, at >= 50k SYN/s for Infinity). */
  timeoutS?: number;
}

/** trafgen's packet configuration: one SYN, random source port, ISN and IP ID per packet. */
export function trafgenPacket(f: SynFlood): string {
  const sa = f.randomSourceOctet ? `sa=${f.src}, sa[3]=drnd(1, 254)` : `sa=${f.src}`;
  // ipv4() and tcp() fill in lengths and checksums, recomputed for the dynamic fields.
  return `{ eth(da=${f.dstMac}, sa=${f.srcMac}), ipv4(${sa}, da=${f.dst}, id=drnd(), ttl=64), ` +
    `tcp(sp=drnd(1024, 65535), dp=${f.dport}, seq=drnd(), syn, win=64240) }`;
}

/** The time bound of a flood, seconds. */
export function floodLimitS(f: SynFlood): number {
  return f.timeoutS ?? Math.ceil((f.count / Math.min(f.pps, 50_000)) * 1.5 + 10);
}

/** The command line, `timeout ... trafgen ...`, to run inside the sending namespace. */
export function trafgenCommand(f: SynFlood): string[] {
  if (!(Number.isInteger(f.count) && f.count > 0) || !(f.pps > 0)) throw new Error('trafgen: count and pps must be > 0');
  const rate = !Number.isFinite(f.pps) ? [] : f.pacing === 'tbf' ? ['-t', '0', '--qdisc-path'] : ['-b', `${Math.round(f.pps)}pps`];
  return ['timeout', '-s', 'INT', '-k', '5', String(floodLimitS(f)),
    'trafgen', '-o', f.dev, '--cpus', '1', '--no-sock-mem', '--notouch-irq', '-n', String(f.count), ...rate, trafgenPacket(f)];
}

/**
 * `tc qdisc replace dev DEV root tbf ...` pacing SYN_FRAME_BYTES frames at `pps`. Burst: 2 ms
 * worth of frames (>= 20): tokens beyond the burst are lost, and this VM's timers fire late
 * enough that a 20-frame burst held 100k SYN/s to 80-90k (2 ms: 98k; 200k SYN/s: 182-195k).
 * Queue: 20 ms (>= 1,000 frames), so a sender preempted for less leaves no gap on the wire.
 * A short flood (latency.ts's 40 SYNs) wants burstFrames: the bucket starts full, and 2 ms
 * worth would send all of it back to back.
 */
export function tbfCommand(dev: string, pps: number, burstFrames?: number): string[] {
  const frames = (ms: number, min: number) => Math.max(min, Math.round((pps * ms) / 1000)) * SYN_FRAME_BYTES;
  return ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${Math.round(pps * SYN_FRAME_BYTES * 8)}bit`,
    'burst', String(burstFrames ? burstFrames * SYN_FRAME_BYTES : frames(2, 20)), 'limit', String(frames(20, 1000))];
}

export interface TrafgenSummary {
  /** "N packets outgoing". */
  packets: number;
  bytes: number | null;
  /** The send loop's duration ("S sec, U usec on CPU0"), seconds. */
  seconds: number | null;
}

/**
 * trafgen's exit summary:
 *       100000 packets outgoing
 *      5400000 bytes outgoing
 *            1 sec, 1115 usec on CPU0 (100000 packets)
 */
export function parseTrafgenSummary(text: string): TrafgenSummary | null {
  const p = /(\d+) packets outgoing/.exec(text);
  if (!p) return null;
  const b = /(\d+) bytes outgoing/.exec(text);
  const t = /(\d+) sec, (\d+) usec on CPU/.exec(text);
  return { packets: Number(p[1]), bytes: b ? Number(b[1]) : null, seconds: t ? Number(t[1]) + Number(t[2]) / 1e6 : null };
}
