/**
 * Latency and load benchmark (not a test): `synwatch live` against `synwatch poll --interval 1`
 * on identical floods in the namespace lab (test/e2e/lab.ts). Run as root after `npm run build`:
 *
 *   node dist/bench/latency.js [--trials 10] [--rates 100,1000,10000] [--threshold 20]
 *        [--miss-rates 10000,20000,30000,40000,max] [--miss-count 40000] [--miss-trials 3] [--modes live,poll]
 *        [--sender auto|tcpreplay|trafgen] [--pair-rates 100000] [--flood-rates 100000]
 *        [--out bench/latency-results.md] [--strict]
 *
 * Latency of one trial: from the threshold-crossing SYN (the Nth SYN from a fresh attacker
 * address, N = --threshold, timestamped by tcpdump in the server namespace; live runs with
 * --crowd-attempts N too, so no earlier rule flags the source first) to the route's
 * appearance in the kernel (`ip -ts -o monitor route` in the server namespace). Both clocks are
 * the kernel's CLOCK_REALTIME (tcpdump: the packet's capture timestamp; ip monitor: read when the
 * netlink notification reaches it, so ip monitor runs real-time: see ROUTE_MONITOR). tcpdump runs
 * without --immediate-mode: it then wakes once a second instead of once per packet, and takes no
 * CPU from synwatch during a trial's burst (its timestamps are the kernel's either way). Each
 * trial floods 2N SYNs at the given rate with
 * `tcpreplay --pps` (hping3 -i u1 tops out near 10k SYN/s) from a source address no earlier
 * trial used, so every trial starts cold. Poll trials start at a random phase of the 1 s poll
 * interval. Above 20k SYN/s (--sender auto) trafgen sends instead (bench/trafgen.ts): here
 * `tcpreplay --pps=100000` reached only 24-35k SYN/s at the server, because the sender's own
 * CPU runs the router's forwarding and the server's SYN handling in its softirq, on every send.
 * So a trafgen trial steers the router's receive processing from the attacker to the other
 * CPUs (RPS on r-atk) and paces with a tbf qdisc of a 2-frame burst on the attacker's eth0
 * (this VM's timers fire ~30 µs apart at best: 40 SYNs at "100k" arrived at 57-89k SYN/s).
 * The measurement is the same; the achieved column says what arrived.
 *
 * --pair-rates: live trials again, at these rates, in the load benchmark's two-namespace lab
 * (bench/pair-lab.ts; pairLatencyPhase): no router forwards the SYNs and no TCP stack answers
 * them. In the lab above, at the top rate, that kernel work fills the one CPU trafgen leaves
 * during a trial's burst (ftrace, bench/findings.md); this shows what synwatch does without it.
 * --flood-rates: live trials in that lab while synwatch is under a background flood of each rate,
 * from 254 other sources on its allowlist; each trial's SYNs unpaced (pairLatencyPhase). A
 * trial's own 40 SYNs do not make a flood; this is the latency at a flood's rate.
 * Every trial of every lab is listed in the report.
 *
 * Miss rate: `synwatch live --dry-run` with a threshold no source reaches, floods of --miss-count
 * SYNs at each --miss-rates rate ("max" = tcpreplay --topspeed), --miss-trials times each, a
 * fresh synwatch process per trial; the SYNs synwatch reports (its exit/status totals) against the
 * SYNs tcpdump saw on the same interface. CPU per packet: utime+stime from /proc/PID/stat before
 * and after the flood, minus the idle rate measured just before, divided by the SYNs seen.
 *
 * Writes the tables to --out (default bench/latency-results.md) and prints them. With --strict,
 * exits 1 when the acceptance lines fail (median <= 5 ms at 1,000 SYN/s, poll/live >= 50x).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecOptions, ExecResult, Lab, LabProcess, labUnavailableReason, REPO_ROOT, runCommand, sleep, SYNWATCH_MAIN, TCPDUMP_BLOCK_TIMEOUT_MS, which } from '../test/e2e/lab';
import { PairLab } from './pair-lab';
import { eachFlag, runMain, UsageError } from './cli';
import { cpuSeconds, median } from './proc';
import { floodLimitS, SynFlood, tbfCommand, trafgenCommand } from './trafgen';
import { liveUnavailableReason } from '../test/e2e/synwatch';

type Mode = 'live' | 'poll';
type Sender = 'auto' | 'tcpreplay' | 'trafgen';
/**
 * `chrt ROUTE_MONITOR`: ip monitor, real-time. Its timestamp is taken when it reads the
 * notification, so it is late by however long it waits for a CPU after the route went in: 0.8-
 * 2.0 ms in 3 of 320 trials at normal priority, with the route in the kernel 0.2-0.3 ms after the
 * SYN by synwatch's own routeTime. It runs once per trial, after the route: its priority takes
 * nothing from what is measured.
 */
const ROUTE_MONITOR = ['-f', '10', 'ip', '-ts', '-o', 'monitor', 'route'];
/** Above this rate tcpreplay --pps does not keep up in this lab (see the top of the file): trafgen sends. */
const TCPREPLAY_MAX_PPS = 20_000;

interface Args {
  trials: number;
  rates: number[];
  threshold: number;
  /** SYN/s; Infinity = as fast as tcpreplay goes (--topspeed), "max" on the command line. */
  missRates: number[];
  missCount: number;
  missTrials: number;
  modes: Mode[];
  sender: Sender;
  /** Live only, in the two-namespace lab (bench/pair-lab.ts); empty: not run. */
  pairRates: number[];
  /** Live only, two-namespace lab, trials under a background flood of each of these SYN/s. */
  floodRates: number[];
  out: string;
  strict: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    trials: 10, rates: [100, 1000, 10000], threshold: 20, missRates: [10000, 20000, 30000, 40000, Infinity], missCount: 40000, missTrials: 3,
    modes: ['live', 'poll'], sender: 'auto', pairRates: [], floodRates: [], out: path.join(REPO_ROOT, 'bench/latency-results.md'), strict: false,
  };
  const nums = (v: string) => v.split(',').map(Number).filter((x) => x > 0);
  eachFlag(argv, __filename, (k, v) => {
    if (k === '--trials') a.trials = Number(v());
    else if (k === '--rates') a.rates = nums(v());
    else if (k === '--threshold') a.threshold = Number(v());
    else if (k === '--miss-rates') a.missRates = v().split(',').map((x) => (x === 'max' ? Infinity : Number(x))).filter((x) => x > 0);
    else if (k === '--miss-trials') a.missTrials = Number(v());
    else if (k === '--miss-count') a.missCount = Number(v());
    else if (k === '--pair-rates') a.pairRates = nums(v());
    else if (k === '--flood-rates') a.floodRates = nums(v());
    else if (k === '--modes') a.modes = v().split(',') as Mode[];
    else if (k === '--sender') {
      const x = v();
      if (x !== 'auto' && x !== 'tcpreplay' && x !== 'trafgen') throw new UsageError(`--sender must be auto, tcpreplay or trafgen, got "${x}"`);
      a.sender = x;
    } else if (k === '--out') a.out = path.resolve(v());
    else if (k === '--strict') a.strict = true;
    else return false;
    return true;
  });
  if (!(a.trials >= 1 && a.threshold >= 2)) throw new UsageError('--trials >= 1 and --threshold >= 2');
  return a;
}

// ---- measurements ----

interface Trial {
  mode: Mode;
  /**
   * 'router': test/e2e/lab.ts, the server answers; 'pair': bench/pair-lab.ts, the server drops the
   * SYNs; 'flood': the pair lab under a background flood (pairLatencyPhase).
   */
  lab: 'router' | 'pair' | 'flood';
  /** SYN/s: the trial's own (router, pair) or the background flood's (flood). */
  rate: number;
  ip: string;
  /** Achieved rate of this trial's SYNs (tcpdump), SYN/s. */
  achievedRate: number;
  /** 'flood': the background's rate while the trials ran (server veth rx_packets), SYN/s. */
  backgroundRate?: number;
  /** µs since the epoch. */
  nthSynUs?: number;
  routeUs?: number;
  latencyMs?: number;
  /** synwatch's own decision time minus tcpdump's Nth SYN time (live: the same packet). */
  decisionSkewMs?: number;
  /** live's own latencyUs (routeTime - synTime, its clock), ms. */
  internalMs?: number;
  error?: string;
}

/** "1795560768.280971 IP 203.0.113.67.2644 > ..." -> [µs, source address]. */
function parseTcpdumpLine(line: string): [number, string] | null {
  const m = /^(\d+)\.(\d{6}) IP6? (\S+?)\.\d+ > /.exec(line);
  if (!m) return null;
  return [Number(m[1]) * 1e6 + Number(m[2]), m[3]];
}

/** "[2026-11-24T22:52:49.225820] unreachable 203.0.113.67 proto 181" (TZ=UTC) -> [µs, ip]. */
function parseMonitorLine(line: string): [number, string] | null {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] unreachable (\S+) /.exec(line);
  if (!m) return null;
  return [Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]), m[3].replace(/\/(32|128)$/, '')];
}

/** "2026-11-24T23:04:36.903123Z" -> µs since the epoch (NaN if not that shape). */
function isoToUs(iso: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) return NaN;
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '0').padEnd(6, '0'));
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  // nearest rank: with 10 samples p99 is the largest
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** The SYN total a synwatch log line reports, whatever the key is called (null if none). */
export function synTotal(o: Record<string, unknown>): number | null {
  // live's status/stopped lines: synOnly (SYN segments without ACK the tracker saw).
  const candidates = ['synOnly', 'syns', 'synsSeen', 'synSeen', 'synCount', 'synPackets'];
  const look = (obj: Record<string, unknown>): number | null => {
    for (const k of candidates) if (typeof obj[k] === 'number') return obj[k] as number;
    for (const v of Object.values(obj)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const r = look(v as Record<string, unknown>);
        if (r !== null) return r;
      }
    }
    return null;
  };
  return look(o);
}

/** Kernel/libpcap drop counters a synwatch log line reports, if any. */
function dropTotal(o: Record<string, unknown>): number | null {
  for (const k of ['dropped', 'drops', 'kernelDrops', 'pcapDropped', 'ifDropped']) if (typeof o[k] === 'number') return o[k] as number;
  for (const v of Object.values(o)) if (v && typeof v === 'object' && !Array.isArray(v)) {
    const r = dropTotal(v as Record<string, unknown>);
    if (r !== null) return r;
  }
  return null;
}

// ---- phases ----

function synwatchArgs(mode: Mode, a: Args, stateDir: string, iface: string): string[] {
  return mode === 'live'
    // --crowd-attempts at the threshold: one trial's flood raises the flood alarm for the next
    // fresh source, whose 4th attempt would otherwise flag it (the crowd rule) before its Nth SYN,
    // the one this bench times (negative latencies, seen 2026-12-02).
    ? ['live', '-i', iface, '--threshold', String(a.threshold), '--crowd-attempts', String(a.threshold), '--state-dir', stateDir]
    : ['poll', '--interval', '1', '--threshold', String(a.threshold), '--state-dir', stateDir];
}

function senderFor(a: Args, rate: number): 'tcpreplay' | 'trafgen' {
  return a.sender === 'auto' ? (rate > TCPREPLAY_MAX_PPS ? 'trafgen' : 'tcpreplay') : a.sender;
}

/**
 * A short flood from `from` with trafgen, paced by a tbf qdisc of a 2-frame burst, while the
 * router's receive processing from the attacker runs on the CPUs other than trafgen's (CPU 0).
 */
async function trafgenFlood(lab: Lab, o: { from: string; count: number; pps: number }): Promise<void> {
  const [srcMac, dstMac] = await Promise.all([lab.mac('attacker', 'eth0'), lab.mac('router', 'r-atk')]);
  const others = ((1 << os.cpus().length) - 1) & ~1;
  const rps = (mask: number) => lab.exec('router', 'sh', ['-c', `echo ${mask.toString(16)} > /sys/class/net/r-atk/queues/rx-0/rps_cpus`]);
  const f: SynFlood = { dev: 'eth0', srcMac, dstMac, src: o.from, dst: lab.addr.server4, dport: lab.httpPort, count: o.count, pps: o.pps, pacing: 'tbf' };
  if (others) await rps(others);
  try {
    await tbfPacedTrafgen((cmd, args, options) => lab.exec('attacker', cmd, args, options), f);
  } finally {
    if (others) await rps(0);
  }
}

/** trafgen sends `f` behind a tbf qdisc of a 2-frame burst on f.dev, removed afterwards;
 *  `run` runs a command in the sending namespace. */
async function tbfPacedTrafgen(run: (cmd: string, args: string[], options?: ExecOptions) => Promise<ExecResult>, f: SynFlood): Promise<void> {
  const [tc, ...tcArgs] = tbfCommand(f.dev, f.pps, 2);
  await run(tc, tcArgs);
  try {
    const [cmd, ...args] = trafgenCommand(f);
    const r = await run(cmd, args, { allowFail: true, timeoutMs: (floodLimitS(f) + 10) * 1000 });
    if (r.code !== 0) throw new Error(`trafgen failed (${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  } finally {
    await run('tc', ['qdisc', 'del', 'dev', f.dev, 'root'], { allowFail: true });
  }
}

async function latencyPhase(lab: Lab, mode: Mode, a: Args, addrs: string[], log: (s: string) => void): Promise<Trial[]> {
  const stateDir = path.join(lab.dir, `state-${mode}`);
  const monitor = lab.spawn('server', 'chrt', ROUTE_MONITOR, { label: 'ip monitor', env: { ...process.env, TZ: 'UTC' } });
  await sleep(200);
  // Without --immediate-mode: a per-packet tcpdump would take the CPU synwatch needs during a burst.
  const cap = await lab.capture('server', 'src net 203.0.113.0/24 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn', 'eth0', `syn-${mode}.pcap`, false);
  const sw = await lab.synwatch(synwatchArgs(mode, a, stateDir, lab.serverIface), { waitFor: mode === 'live' ? 'capturing' : 'poll started', label: `synwatch ${mode}` });
  await sleep(300); // signal handlers and the first poll are in place
  const trials: Trial[] = [];
  const routeSeen = (ip: string) => monitor.stdout.split('\n').some((l) => parseMonitorLine(l)?.[1] === ip);
  let k = 0;
  try {
    for (const rate of a.rates) {
      for (let t = 0; t < a.trials; t++) {
        const ip = addrs[k++];
        if (mode === 'poll') await sleep(Math.random() * 1000); // random phase against the poll timer
        const trial: Trial = { mode, lab: 'router', rate, ip, achievedRate: NaN };
        try {
          if (senderFor(a, rate) === 'trafgen') await trafgenFlood(lab, { from: ip, count: 2 * a.threshold, pps: rate });
          else await lab.replayFlood({ from: ip, to: lab.addr.server4, count: 2 * a.threshold, pps: rate });
          await monitor.waitFor(() => routeSeen(ip), mode === 'poll' ? 3000 : 2000, `the route for ${ip}`);
        } catch (e) {
          trial.error = (e as Error).message.split('\n')[0];
        }
        trials.push(trial);
        log(`${mode} ${rate}/s trial ${t + 1}/${a.trials} ${ip}${trial.error ? ` ERROR ${trial.error}` : ''}`);
      }
    }
    await sleep(300);
  } finally {
    await sw.stop(5000);
    await cap.stop();
    await monitor.stop();
  }
  joinTrials(trials, await cap.packets('tcp'), monitor.stdout, sw.json, a.threshold);
  // Leave no block behind for the next phase.
  await lab.synwatchOnce(['unblock', '--all', '--state-dir', stateDir]);
  return trials;
}

/** The background flood's sources ('flood' phases): 192.0.2.1-254, on live's allowlist. */
const FLOOD_SOURCES = '192.0.2.0/24';
/** Background flood: started this long before the first trial (its 254 sources flagged by then). */
const FLOOD_SETTLE_MS = 1500;
/** Background flood: its SYN count is this many seconds' worth (a bound; it is stopped after the trials). */
const FLOOD_MAX_S = 120;

/**
 * Live trials in the two-namespace lab (bench/pair-lab.ts, the load benchmark's): trafgen writes
 * straight into the server's interface, and the server drops the SYNs in netfilter's prerouting
 * hook after the packet taps, so no router forwards them and no TCP stack answers them. What is
 * timed is the same (the Nth SYN's tcpdump timestamp to the route in `ip monitor`); what differs
 * is the kernel's own work per SYN, which in test/e2e/lab.ts fills the one CPU trafgen leaves
 * (bench/findings.md). Sources 198.51.100.10 and up, one per trial, as in latencyPhase.
 *
 * Without floodPps ('pair'): each trial's SYNs at `rates`, paced by a 2-frame tbf. With it
 * ('flood'): synwatch is under a flood of floodPps SYN/s from 254 other sources (192.0.2.1-254,
 * random ports and ISNs, tbf-paced, as in the load benchmark) for the whole phase, and each
 * trial's SYNs go out unpaced (trafgen's TX_RING, which bypasses the qdisc and so the flood's
 * tbf) in between. The flood's sources are on live's --allow list: synwatch tracks, flags and
 * logs them like any other, and installs no route for them, so the trials' routes are the only
 * ones and the new-block cap is theirs.
 */
async function pairLatencyPhase(a: Args, log: (s: string) => void, rates: number[], floodPps?: number): Promise<Trial[]> {
  const lab = await PairLab.create();
  const tag: Trial['lab'] = floodPps ? 'flood' : 'pair';
  const trials: Trial[] = [];
  try {
    const stateDir = path.join(lab.dir, `state-${tag}`);
    const capFile = path.join(lab.dir, `syn-${tag}.pcap`);
    const monitor = lab.spawn('server', 'env', ['TZ=UTC', 'chrt', ...ROUTE_MONITOR], { label: 'ip monitor' });
    // Without --immediate-mode, as in latencyPhase; stopped after its 1 s block timeout. Under a
    // flood, the trials' SYNs only (198.51.100.0/24).
    const synOnly = 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn';
    const cap = lab.spawn('server', 'tcpdump', ['-i', lab.iface, '-U', '-B', '65536', '-s', '128', '-w', capFile,
      floodPps ? `src net 198.51.100.0/24 and ${synOnly}` : synOnly], { label: 'tcpdump' });
    await cap.waitFor(() => cap.stderr.includes('listening on'), 10_000, 'tcpdump to listen');
    const sw = lab.spawn('server', process.execPath, [SYNWATCH_MAIN, '--log-level', 'info', ...synwatchArgs('live', a, stateDir, lab.iface),
      ...(floodPps ? ['--allow', FLOOD_SOURCES] : [])], { label: `synwatch live (${tag})` });
    await sw.waitForJson((o) => o.msg === 'capturing', 15_000, '"capturing"');
    await sleep(300);
    const routeSeen = (ip: string) => monitor.stdout.split('\n').some((l) => parseMonitorLine(l)?.[1] === ip);
    const inSender = (cmd: string, args: string[], options?: ExecOptions) => lab.exec('sender', cmd, args, options);
    const burst = (ip: string, pps: number): SynFlood => ({
      dev: lab.iface, srcMac: lab.senderMac, dstMac: lab.serverMac, src: ip, dst: lab.serverAddr, dport: lab.port,
      count: 2 * a.threshold, pps, pacing: 'tbf',
    });
    let background: LabProcess | undefined;
    let k = 0;
    try {
      if (floodPps) {
        const [tc, ...tcArgs] = tbfCommand(lab.iface, floodPps);
        await inSender(tc, tcArgs);
        const [cmd, ...args] = trafgenCommand({ ...burst('192.0.2.0', floodPps), randomSourceOctet: true, count: Math.round(floodPps * FLOOD_MAX_S) });
        background = lab.spawn('sender', cmd, args, { label: 'trafgen (background flood)' });
        await sleep(FLOOD_SETTLE_MS);
      }
      const rx0 = await lab.counter('server', 'rx_packets');
      const t0 = process.hrtime.bigint();
      for (const rate of rates) {
        for (let t = 0; t < a.trials; t++) {
          const ip = `198.51.100.${10 + k++}`;
          const trial: Trial = { mode: 'live', lab: tag, rate: floodPps ?? rate, ip, achievedRate: NaN };
          try {
            if (floodPps) {
              const [cmd, ...args] = trafgenCommand({ ...burst(ip, Infinity), pacing: undefined });
              const r = await inSender(cmd, args, { allowFail: true, timeoutMs: 20_000 });
              if (r.code !== 0) throw new Error(`trafgen failed (${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
            } else {
              await tbfPacedTrafgen(inSender, burst(ip, rate));
            }
            await monitor.waitFor(() => routeSeen(ip), 2000, `the route for ${ip}`);
          } catch (e) {
            trial.error = (e as Error).message.split('\n')[0];
          }
          trials.push(trial);
          log(`live (${tag} lab) ${thousands(floodPps ?? rate)}/s trial ${t + 1}/${a.trials} ${ip}${trial.error ? ` ERROR ${trial.error}` : ''}`);
        }
      }
      if (floodPps) {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const backgroundRate = ((await lab.counter('server', 'rx_packets')) - rx0 - 2 * a.threshold * trials.length) / seconds;
        if (!background?.running) throw new Error(`the background flood ended before the trials did (${background?.stderr.trim().split('\n').slice(-1)[0] ?? ''})`);
        for (const tr of trials) tr.backgroundRate = backgroundRate;
      }
      await sleep(TCPDUMP_BLOCK_TIMEOUT_MS + 200); // tcpdump's last block is handed over
    } finally {
      if (background) {
        background.signal('SIGINT');
        await background.stop(5000);
        await inSender('tc', ['qdisc', 'del', 'dev', lab.iface, 'root'], { allowFail: true });
      }
      await sw.stop(5000);
      cap.signal('SIGINT');
      await cap.stop(5000);
      await monitor.stop();
    }
    const r = await runCommand('tcpdump', ['-r', capFile, '-nn', '-tt', '--', 'tcp'], { allowFail: true, timeoutMs: 60_000 });
    joinTrials(trials, r.stdout.split('\n'), monitor.stdout, sw.json, a.threshold);
  } finally { // its routes go with the namespace, its state directory with lab.dir
    await lab.destroy();
  }
  return trials;
}

/**
 * Fills in each trial's latency: the Nth SYN per source address (`synLines`: tcpdump -nn -tt
 * lines), the first route add per address (`monitorText`: ip -ts -o monitor route), and
 * synwatch's own decision line for the cross-check (sets `error` where one is missing).
 */
function joinTrials(trials: Trial[], synLines: string[], monitorText: string, synwatchJson: Record<string, unknown>[], threshold: number): void {
  // Join: Nth SYN per address (tcpdump) and first route add per address (ip monitor).
  const synsBy = new Map<string, number[]>();
  for (const line of synLines) {
    const p = parseTcpdumpLine(line);
    if (!p) continue;
    let list = synsBy.get(p[1]);
    if (!list) synsBy.set(p[1], (list = []));
    list.push(p[0]);
  }
  const routeBy = new Map<string, number>();
  for (const line of monitorText.split('\n')) {
    const p = parseMonitorLine(line);
    if (p && !routeBy.has(p[1])) routeBy.set(p[1], p[0]);
  }
  const decisionBy = new Map<string, { synUs: number; internalUs?: number }>();
  for (const o of synwatchJson) {
    if (o.msg !== 'decision' || o.action !== 'block' || typeof o.ip !== 'string' || decisionBy.has(o.ip)) continue;
    // live: synTime (ISO, µs) and latencyUs; poll: tsUs.
    const synUs = typeof o.synTime === 'string' ? isoToUs(o.synTime) : typeof o.tsUs === 'number' ? o.tsUs : NaN;
    if (Number.isFinite(synUs)) decisionBy.set(o.ip, { synUs, internalUs: typeof o.latencyUs === 'number' ? o.latencyUs : undefined });
  }
  for (const tr of trials) {
    const syns = (synsBy.get(tr.ip) ?? []).sort((x, y) => x - y);
    if (syns.length >= 2) tr.achievedRate = ((syns.length - 1) * 1e6) / (syns[syns.length - 1] - syns[0]);
    if (syns.length < threshold) {
      tr.error ??= `only ${syns.length} SYNs captured`;
      continue;
    }
    tr.nthSynUs = syns[threshold - 1];
    tr.routeUs = routeBy.get(tr.ip);
    if (tr.routeUs === undefined) {
      tr.error ??= 'no route';
      continue;
    }
    tr.latencyMs = (tr.routeUs - tr.nthSynUs) / 1000;
    const d = decisionBy.get(tr.ip);
    if (d !== undefined) {
      tr.decisionSkewMs = (d.synUs - tr.nthSynUs) / 1000;
      if (d.internalUs !== undefined) tr.internalMs = d.internalUs / 1000;
    }
  }
}

interface MissRow {
  rate: number;
  achievedRate: number;
  tcpdumpSyns: number;
  synwatchSyns: number | null;
  missPct: number | null;
  pcapDrops: number | null;
  cpuUsPerPacket: number | null;
  cpuPct: number | null;
  note?: string;
}

/** The kernel ring of synwatch's packet socket (`ss -0 -e -m -p`), e.g. "ring_rx(blk_size:..,frm_nr:1023,..)". */
async function packetRing(lab: Lab, pid: number): Promise<string | null> {
  const r = await lab.exec('server', 'ss', ['-0', '-a', '-e', '-m', '-p', '-n'], { allowFail: true });
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => l.includes(`pid=${pid},`));
  if (i < 0) return null;
  const text = lines.slice(i, i + 3).join(' ');
  const ring = /ring_rx\([^)]*\)/.exec(text)?.[0];
  return ring ? `${/ver:\d+/.exec(text)?.[0] ?? ''} ${ring}`.trim() : null;
}

async function missPhase(lab: Lab, a: Args, log: (s: string) => void, notes: string[]): Promise<MissRow[]> {
  const rows: MissRow[] = [];
  const lagMax: number[] = [];
  const from = lab.addr.attacker4[0];
  for (const rate of a.missRates) for (let trial = 0; trial < a.missTrials; trial++) {
    const stateDir = path.join(lab.dir, `state-miss-${rate}-${trial}`);
    const cap = await lab.capture('server', `src host ${from} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`, 'eth0', `miss-${rate}-${trial}.pcap`);
    let sw: LabProcess | undefined;
    const row: MissRow = { rate, achievedRate: NaN, tcpdumpSyns: 0, synwatchSyns: null, missPct: null, pcapDrops: null, cpuUsPerPacket: null, cpuPct: null };
    try {
      // No source reaches this threshold: pure capture and tracking, no routes.
      sw = await lab.synwatch(['live', '-i', lab.serverIface, '--dry-run', '--threshold', '100000000', '--state-dir', stateDir, '--status-interval', '1'],
        { label: 'synwatch live (miss)' });
      await sleep(500);
      const idle0 = cpuSeconds(sw.pid);
      const idleT0 = process.hrtime.bigint();
      await sleep(1000);
      const idleRate = (cpuSeconds(sw.pid) - idle0) / (Number(process.hrtime.bigint() - idleT0) / 1e9);
      const c0 = cpuSeconds(sw.pid);
      const t0 = process.hrtime.bigint();
      await lab.replayFlood({ from, to: lab.addr.server4, count: a.missCount, pps: rate });
      await sleep(1000); // let synwatch drain its buffer
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const busy = cpuSeconds(sw.pid) - c0 - idleRate * wall;
      if (rows.length === 0) {
        const ring = await packetRing(lab, sw.pid);
        if (ring) {
          const frames = /frm_nr:(\d+)/.exec(ring)?.[1];
          notes.push(`synwatch live's capture ring (\`ss -0 -e -m -p\`): ${ring}` +
            (frames ? `: it holds ${frames} packets whatever their size (ver:1 = TPACKET_V2: libpcap uses fixed-size frames in immediate mode, sized by the snaplen), i.e. ${(Number(frames) / 40).toFixed(0)} ms of a 40k SYN/s flood; a longer event-loop stall loses SYNs.` : ''));
        }
      }
      for (const o of sw.json) {
        const lag = (o.eventLoopLagMs as { max?: unknown } | undefined)?.max;
        if (o.msg === 'status' && typeof lag === 'number') lagMax.push(lag);
      }
      await sw.stop(10_000);
      await cap.stop();
      const times = (await cap.packets('tcp')).map(parseTcpdumpLine).filter((p): p is [number, string] => p !== null).map((p) => p[0]);
      row.tcpdumpSyns = times.length;
      if (times.length >= 2) row.achievedRate = ((times.length - 1) * 1e6) / (times[times.length - 1] - times[0]);
      // The last line reporting totals (the exit line, else the last status line).
      const withTotals = sw.json.filter((o) => synTotal(o) !== null);
      const last = withTotals[withTotals.length - 1];
      const first = sw.json.find((o) => o.msg === 'status' && synTotal(o) !== null);
      if (last) {
        // Totals count from start; SYNs before the flood (none expected from this source) are not subtracted.
        row.synwatchSyns = synTotal(last);
        row.pcapDrops = dropTotal(last);
        if (row.synwatchSyns !== null && row.tcpdumpSyns > 0) row.missPct = Math.max(0, (1 - row.synwatchSyns / row.tcpdumpSyns) * 100);
        if (first && first !== last && (synTotal(first) ?? 0) > 0) row.note = `status before the flood already counted ${synTotal(first)}`;
      } else {
        row.note = 'synwatch reported no SYN total';
      }
      const seen = row.synwatchSyns ?? row.tcpdumpSyns;
      if (seen > 0) row.cpuUsPerPacket = (busy * 1e6) / seen;
      // Share of one core while SYNs arrived (flood span from tcpdump's first to last SYN).
      const spanS = times.length >= 2 ? (times[times.length - 1] - times[0]) / 1e6 : wall;
      row.cpuPct = (busy / Math.max(spanS, 1e-3)) * 100;
    } catch (e) {
      row.note = (e as Error).message.split('\n')[0];
    } finally {
      await sw?.stop(5000);
      await cap.stop();
    }
    rows.push(row);
    if (rate === a.missRates[a.missRates.length - 1] && trial === a.missTrials - 1 && lagMax.length) {
      notes.push(`Event-loop lag reported in live's status lines during the miss runs: max ${Math.max(...lagMax).toFixed(1)} ms, median of the per-second maxima ${median([...lagMax].sort((x, y) => x - y)).toFixed(1)} ms.`);
    }
    fs.rmSync(cap.file, { force: true });
    log(`miss ${rate}/s #${trial + 1}: tcpdump ${row.tcpdumpSyns} synwatch ${row.synwatchSyns} miss ${row.missPct?.toFixed(3)}% cpu ${row.cpuUsPerPacket?.toFixed(2)} us/pkt ${row.note ?? ''}`);
  }
  return rows;
}

// ---- report ----

const f1 = (x: number | null | undefined, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const thousands = (x: number) => x.toLocaleString('en-US');

interface Summary {
  rate: number;
  live?: { median: number; p99: number; n: number; errors: number; achieved: number; skewMax?: number; internalMedian?: number };
  poll?: { median: number; p99: number; n: number; errors: number; achieved: number };
}

function summarize(trials: Trial[], mode: Mode, rate: number, lab: Trial['lab'] = 'router') {
  const sel = trials.filter((t) => t.mode === mode && t.rate === rate && t.lab === lab);
  if (sel.length === 0) return undefined;
  const lat = sel.map((t) => t.latencyMs).filter((x): x is number => x !== undefined).sort((x, y) => x - y);
  const achieved = median(sel.map((t) => t.achievedRate).filter((x) => Number.isFinite(x)).sort((x, y) => x - y));
  const skews = sel.map((t) => t.decisionSkewMs).filter((x): x is number => x !== undefined).map(Math.abs);
  const internal = sel.map((t) => t.internalMs).filter((x): x is number => x !== undefined).sort((x, y) => x - y);
  return { median: median(lat), p99: quantile(lat, 0.99), n: lat.length, errors: sel.length - lat.length, achieved,
    skewMax: skews.length ? Math.max(...skews) : undefined, internalMedian: internal.length ? median(internal) : undefined };
}

/** Which sender the trials of each rate used, for the report. */
function senderText(a: Args): string {
  const by = (s: 'tcpreplay' | 'trafgen') => a.rates.filter((r) => senderFor(a, r) === s).map(thousands).join(', ');
  const parts = [by('tcpreplay') && `\`tcpreplay --pps\` at ${by('tcpreplay')} SYN/s`,
    by('trafgen') && `trafgen paced by a 2-frame tbf, router RPS off the sender's CPU, at ${by('trafgen')} SYN/s`];
  return parts.filter(Boolean).join('; ');
}

function report(a: Args, trials: Trial[], miss: MissRow[], notes: string[], command: string): { text: string; pass: boolean } {
  const L: string[] = [];
  const sums: Summary[] = a.rates.map((rate) => ({ rate, live: summarize(trials, 'live', rate), poll: summarize(trials, 'poll', rate) }));
  L.push('# synwatch latency benchmark: live capture vs /proc polling', '');
  L.push(`Generated ${new Date().toISOString()} by \`${command}\` on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}, Node ${process.version}.`, '');
  L.push(`Latency = route in the kernel (\`ip -ts -o monitor route\`, server namespace) minus the threshold-crossing SYN (the ${a.threshold}th SYN from a fresh source, tcpdump timestamp, server namespace). ` +
    `Each trial: ${2 * a.threshold} SYNs at the given rate from one new source (${senderText(a)}), ${a.trials} trials per rate and mode; ` +
    `live = \`synwatch live -i eth0 --threshold ${a.threshold}\`, poll = \`synwatch poll --interval 1 --threshold ${a.threshold}\` (random start phase). p99 is nearest-rank (with 10 trials, the maximum).`, '');
  if (sums.length) {
    L.push('| rate (SYN/s) | achieved | live median (ms) | live p99 (ms) | poll median (ms) | poll p99 (ms) | poll/live (median) | live n | poll n |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  }
  for (const s of sums) {
    const ratio = s.live && s.poll ? s.poll.median / s.live.median : NaN;
    L.push(`| ${thousands(s.rate)} | ${f1(s.live?.achieved ?? s.poll?.achieved, 0)} | ${f1(s.live?.median, 2)} | ${f1(s.live?.p99, 2)} | ${f1(s.poll?.median, 1)} | ${f1(s.poll?.p99, 1)} | ` +
      `${Number.isFinite(ratio) ? `${ratio.toFixed(0)}x` : 'n/a'} | ${s.live ? `${s.live.n}${s.live.errors ? ` (+${s.live.errors} failed)` : ''}` : '-'} | ` +
      `${s.poll ? `${s.poll.n}${s.poll.errors ? ` (+${s.poll.errors} failed)` : ''}` : '-'} |`);
  }
  const skew = sums.map((s) => s.live?.skewMax).filter((x): x is number => x !== undefined);
  if (skew.length) {
    L.push('', `Cross-check: live's synTime (the kernel timestamp of the flagging SYN on synwatch's own capture socket) differs from tcpdump's kernel timestamp of the ${a.threshold}th SYN by at most ${Math.max(...skew).toFixed(3)} ms;` +
      ` live's own latencyUs (routeTime - synTime), median per rate: ${sums.map((x) => `${thousands(x.rate)}/s ${f1(x.live?.internalMedian, 3)} ms`).join(', ')}.`);
  }
  if (a.pairRates.length) {
    L.push('', '## Live in the two-namespace lab (bench/pair-lab.ts)', '',
      `The same measurement with \`synwatch live\` (same options) in the load benchmark's lab: trafgen (tbf, 2-frame burst) writes ${2 * a.threshold} SYNs per trial ` +
      'straight into the server\'s veth, and the server drops them in netfilter prerouting after the packet taps: no router forwards them and no TCP stack answers ' +
      '(in the lab above both run in softirq on the one CPU trafgen leaves, and fill it during a trial\'s burst; bench/findings.md). No poll column: nothing is half-open.', '');
    L.push('| rate asked (SYN/s) | achieved | live median (ms) | live p99 (ms) | live n | latencyUs median (ms) |', '|---:|---:|---:|---:|---:|---:|');
    for (const rate of a.pairRates) {
      const s = summarize(trials, 'live', rate, 'pair');
      L.push(`| ${thousands(rate)} | ${f1(s?.achieved, 0)} | ${f1(s?.median, 2)} | ${f1(s?.p99, 2)} | ${s ? `${s.n}${s.errors ? ` (+${s.errors} failed)` : ''}` : '-'} | ${f1(s?.internalMedian, 3)} |`);
    }
  }
  if (a.floodRates.length) {
    L.push('', '## Live under a flood (two-namespace lab)', '',
      `The two-namespace lab again, with synwatch under a background flood for the whole phase: trafgen (tbf) sends SYNs from 254 other sources (${FLOOD_SOURCES}, random ports and ISNs) at the rate asked, ` +
      `started ${FLOOD_SETTLE_MS / 1000} s before the first trial; those sources are on live's \`--allow\` list (tracked, flagged and logged, never routed). ` +
      `Each trial's ${2 * a.threshold} SYNs from one new source go out unpaced in between (trafgen's TX_RING bypasses the flood's qdisc). ` +
      'Background achieved = the server veth\'s rx_packets over the trials, minus the trials\' SYNs, per second.', '');
    L.push('| background asked (SYN/s) | background achieved | trial burst (median) | live median (ms) | live p99 (ms) | live n | latencyUs median (ms) |', '|---:|---:|---:|---:|---:|---:|---:|');
    for (const pps of a.floodRates) {
      const s = summarize(trials, 'live', pps, 'flood');
      const bg = trials.find((t) => t.lab === 'flood' && t.rate === pps)?.backgroundRate;
      L.push(`| ${thousands(pps)} | ${f1(bg, 0)} | ${f1(s?.achieved, 0)} | ${f1(s?.median, 2)} | ${f1(s?.p99, 2)} | ${s ? `${s.n}${s.errors ? ` (+${s.errors} failed)` : ''}` : '-'} | ${f1(s?.internalMedian, 3)} |`);
    }
  }
  L.push('', '<details><summary>Every trial</summary>', '');
  L.push('| lab | mode | rate (SYN/s) | source | achieved | latency (ms) | synTime - tcpdump (ms) | latencyUs (ms) | error |');
  L.push('|---|---|---:|---|---:|---:|---:|---:|---|');
  for (const t of trials) {
    L.push(`| ${t.lab} | ${t.mode} | ${thousands(t.rate)} | ${t.ip} | ${f1(t.achievedRate, 0)} | ${f1(t.latencyMs, 3)} | ${f1(t.decisionSkewMs, 3)} | ${f1(t.internalMs, 3)} | ${t.error ?? ''} |`);
  }
  L.push('', '</details>', '');
  let pass = true;
  const k1 = sums.find((s) => s.rate === 1000);
  if (k1?.live) {
    const ok = k1.live.median <= 5;
    pass &&= ok;
    L.push(`- Acceptance: live median at 1,000 SYN/s = ${k1.live.median.toFixed(2)} ms (<= 5 ms): **${ok ? 'PASS' : 'FAIL'}**`);
  }
  if (k1?.live && k1.poll) {
    const ratio = k1.poll.median / k1.live.median;
    const ok = ratio >= 50;
    pass &&= ok;
    L.push(`- Acceptance: poll/live median at 1,000 SYN/s = ${ratio.toFixed(0)}x (>= 50x): **${ok ? 'PASS' : 'FAIL'}**`);
  }
  if (miss.length) {
    L.push('', '## Capture misses and CPU per packet (synwatch live, --dry-run, no source over the threshold)', '');
    L.push(`Floods of ${thousands(a.missCount)} SYNs from one source (\`tcpreplay --pps\`); "tcpdump" = SYNs tcpdump captured on the same interface; ` +
      '"synwatch" = the SYN total in synwatch\'s last status/exit line; CPU = utime+stime of the synwatch process over the flood (+1 s drain), idle rate subtracted, per SYN seen.', '');
    L.push('| target rate | achieved (median) | trials | tcpdump SYNs | synwatch SYNs | missed (all trials) | worst trial | CPU (µs/SYN, median) | CPU (% of a core during the flood, median) | notes |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    const byRate = a.missRates.map((rate) => ({ rate, rows: miss.filter((r) => r.rate === rate) }));
    const med = (xs: Array<number | null>) => median(xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((x, y) => x - y));
    const agg = byRate.map(({ rate, rows }) => {
      const counted = rows.filter((r) => r.synwatchSyns !== null && r.tcpdumpSyns > 0);
      const td = counted.reduce((x, r) => x + r.tcpdumpSyns, 0);
      const sw = counted.reduce((x, r) => x + (r.synwatchSyns ?? 0), 0);
      return { rate, rows, td, sw, missPct: td > 0 ? Math.max(0, (1 - sw / td) * 100) : null,
        worst: counted.length ? Math.max(...counted.map((r) => r.missPct ?? 0)) : null, achieved: med(rows.map((r) => r.achievedRate)) };
    });
    for (const g of agg) {
      const notes = [...new Set(g.rows.map((r) => r.note).filter((x): x is string => !!x))].join('; ');
      L.push(`| ${Number.isFinite(g.rate) ? thousands(g.rate) : 'max (--topspeed)'} | ${f1(g.achieved, 0)} | ${g.rows.length} | ${g.td} | ${g.sw} | ` +
        `${g.missPct === null ? 'n/a' : `${g.missPct.toFixed(3)}%`} | ${g.worst === null ? 'n/a' : `${g.worst.toFixed(3)}%`} | ` +
        `${f1(med(g.rows.map((r) => r.cpuUsPerPacket)), 2)} | ${f1(med(g.rows.map((r) => r.cpuPct)), 0)} | ${notes} |`);
    }
    L.push('', 'Misses are counted against tcpdump on the same interface; synwatch\'s own kernelDrops are in bench/load-*.md.');
    const firstMiss = agg.find((g) => (g.missPct ?? 0) > 0.01);
    L.push('', firstMiss
      ? `Live capture starts to miss SYNs at about ${thousands(Math.round(firstMiss.achieved))} SYN/s (the first rate above with > 0.01% of SYNs missed over its trials).`
      : `No rate measured made live capture miss SYNs (up to ${thousands(Math.round(Math.max(...agg.map((g) => g.achieved).filter(Number.isFinite), 0)))} SYN/s achieved; the sender, not synwatch, is the limit here).`);
  }
  if (notes.length) L.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  const failed = trials.filter((t) => t.error);
  if (failed.length) L.push('', '## Failed trials', '', ...failed.map((t) => `- ${t.mode} ${t.rate}/s ${t.ip}: ${t.error}`));
  return { text: L.join('\n') + '\n', pass };
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const tools = a.rates.some((r) => senderFor(a, r) === 'trafgen') || a.pairRates.length || a.floodRates.length ? ['tcpreplay', 'trafgen', 'tc'] : ['tcpreplay'];
  const missing = tools.find((t) => !which(t));
  const why = labUnavailableReason() ?? (missing ? `${missing} not installed` : null);
  if (why) {
    process.stderr.write(`latency benchmark: ${why}\n`);
    return 2;
  }
  const notes: string[] = [];
  const liveWhy = liveUnavailableReason();
  if (liveWhy && a.modes.includes('live')) {
    notes.push(`live not measured: ${liveWhy}`);
    a.modes = a.modes.filter((m) => m !== 'live');
    a.missRates = [];
    a.pairRates = [];
    a.floodRates = [];
  }
  const log = (s: string) => process.stderr.write(`latency: ${s}\n`);
  const lab = await Lab.create({ attackers4: 1, attackers6: 0, synBacklog: 4096, listenBacklog: 4096 });
  let trials: Trial[] = [];
  let miss: MissRow[] = [];
  try {
    const per = a.rates.length * a.trials;
    const addrs = await lab.addAttacker4(per * a.modes.length);
    // poll first: its /proc view would see (and block) the live phase's leftover half-open entries.
    const order: Mode[] = (['poll', 'live'] as Mode[]).filter((m) => a.modes.includes(m));
    for (const [i, mode] of order.entries()) trials.push(...await latencyPhase(lab, mode, a, addrs.slice(i * per, (i + 1) * per), log));
    if (a.modes.includes('live') && a.missRates.length) miss = await missPhase(lab, a, log, notes);
  } finally {
    await lab.destroy();
  }
  if (a.pairRates.length) trials.push(...await pairLatencyPhase(a, log, a.pairRates));
  for (const pps of a.floodRates) trials.push(...await pairLatencyPhase(a, log, [Infinity], pps));
  const command = `node dist/bench/latency.js ${process.argv.slice(2).join(' ')}`.trim();
  const { text, pass } = report(a, trials, miss, notes, command);
  fs.writeFileSync(a.out, text);
  process.stdout.write(text);
  log(`wrote ${path.relative(process.cwd(), a.out) || a.out}`);
  return a.strict && !pass ? 1 : 0;
}

if (require.main === module) runMain('latency benchmark', main);
