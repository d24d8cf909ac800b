/**
 * Load benchmark of `synwatch live` (not a test), side by side with tcpdump on the same
 * interface at the same time. Run as root after `npm run build`:
 *
 *   node dist/bench/load.js [--mode load|stall|write|soak] [--rates 10000,50000,100000,200000,max]
 *        [--seconds 5] [--trials 1] [--minutes 10] [--stall-seconds 2] [--sample-seconds 10]
 *        [--synwatch-args "--buffer-mib 64"] [--pacing tbf|quota] [--scrape-ms 100] [--out FILE] [--strict]
 *
 * Lab (bench/pair-lab.ts): a sender and a server namespace joined by one veth pair. trafgen
 * (bench/trafgen.ts) writes SYNs from 198.51.100.1-254 (random last octet, source port and ISN)
 * to 203.0.113.10:80, a fixed count (`-n`) at a fixed rate, "max" = as fast as one trafgen process
 * goes. --pacing tbf (default): a tbf qdisc on the sender's veth keeps the rate smooth; --pacing
 * quota: trafgen's `-b NNNpps`, which sends each second's SYNs in one burst at full speed (see
 * bench/trafgen.ts: a burst test, not a rate). The server runs, on its eth0 and at the same time:
 *
 *   synwatch live -i eth0 --dry-run --threshold 10 --status-interval 1 [--synwatch-args]
 *   tcpdump -i eth0 -B 65536 -s 128 -w /dev/null
 *
 * Every source holds >= 10 half-open attempts within milliseconds, so synwatch flags all 254
 * and logs their decisions during the flood. Per trial (fresh synwatch and tcpdump each):
 *   - sent: trafgen's exit summary ("N packets outgoing"), checked against the delta of the
 *     server veth's rx_packets (/sys/class/net/eth0/statistics in the server namespace);
 *   - synwatch: its `stopped` line (SIGINT after the flood has drained): `synOnly` (SYNs seen),
 *     `packets`, and, when this build reports them, `captured`, `received`, `kernelDrops`,
 *     `ifDrops` (n/a otherwise);
 *   - tcpdump: its exit summary on SIGINT (packets captured / received by filter / dropped by
 *     kernel);
 *   - CPU per SYN, both processes: utime+stime (/proc/PID/stat) from the flood's start to the end
 *     of the drain, minus the idle rate measured in the second before, divided by SYNs seen.
 *
 * Modes:
 *   load   every --rates rate, --seconds worth of SYNs each (max: 280k SYN/s worth), --trials times;
 *   stall  one 100k SYN/s flood; synwatch is SIGSTOPped for --stall-seconds in its middle, then
 *          SIGCONTed: acceptance |sent - seen - kernelDrops| / sent <= 1% (the drop counter
 *          accounts for every SYN not seen);
 *   write  as load at 200k SYN/s with `--write <lab dir>/write-N/cap.pcap` passed to synwatch;
 *          the records in the file(s) written are counted with `tcpdump -r`;
 *   soak   --minutes at 100k SYN/s (trafgen -n = rate x duration, under `timeout`); synwatch's
 *          VmRSS and its status lines' kernelDrops sampled every --sample-seconds.
 * --rates overrides the mode's rate (stall, write and soak use the first one given).
 * --scrape-ms N (any mode): synwatch also gets `--metrics-listen 127.0.0.1:9464`, and a scraper
 * in the server namespace (a node process, keep-alive HTTP, one request in flight at most) GETs
 * /metrics every N ms from synwatch's start to its stop; the report adds a table of its scrapes
 * (answered, failed, skipped because the previous one was still in flight, latency).
 *
 * Writes a Markdown report to --out (default bench/load-results.md for load,
 * bench/load-MODE-results.md for the others) and prints it. With --strict, exits 1 when the
 * stall acceptance fails or cannot be evaluated.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabProcess, labUnavailableReason, REPO_ROOT, runCommand, sleep, SYNWATCH_MAIN, which } from '../test/e2e/lab';
import { eachFlag, runMain, UsageError } from './cli';
import { PairLab } from './pair-lab';
import { CLK_TCK, cpuSeconds, median, vmRssKb } from './proc';
import { Pacing, parseTrafgenSummary, SynFlood, tbfCommand, trafgenCommand } from './trafgen';

type Mode = 'load' | 'stall' | 'write' | 'soak';
const MODES: Mode[] = ['load', 'stall', 'write', 'soak'];
const DEFAULT_RATES: Record<Mode, number[]> = {
  load: [10_000, 50_000, 100_000, 200_000, Infinity], stall: [100_000], write: [200_000], soak: [100_000],
};
/** What one trafgen process sends at most in this lab (measured): sizes the "max" floods. */
const MAX_PPS_NOMINAL = 280_000;
/** synwatch's flag threshold here: every one of the 254 sources crosses it during the flood. */
const THRESHOLD = 10;

interface Args {
  mode: Mode;
  rates: number[];
  seconds: number;
  trials: number;
  minutes: number;
  stallSeconds: number;
  sampleSeconds: number;
  synwatchArgs: string[];
  pacing: Pacing;
  out: string;
  strict: boolean;
  /** 0: no scraper. */
  scrapeMs: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    mode: 'load', rates: [], seconds: 5, trials: 1, minutes: 10, stallSeconds: 2, sampleSeconds: 10, synwatchArgs: [], pacing: 'tbf', out: '', strict: false, scrapeMs: 0,
  };
  const positive = (k: string, x: string) => {
    const n = Number(x);
    if (!(n > 0)) throw new UsageError(`${k} must be a positive number, got "${x}"`);
    return n;
  };
  eachFlag(argv, __filename, (k, v) => {
    if (k === '--mode') {
      const m = v();
      if (!MODES.includes(m as Mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${m}"`);
      a.mode = m as Mode;
    } else if (k === '--rates') a.rates = v().split(',').map((x) => (x === 'max' ? Infinity : positive(k, x)));
    else if (k === '--seconds') a.seconds = positive(k, v());
    else if (k === '--trials') a.trials = Math.round(positive(k, v()));
    else if (k === '--minutes') a.minutes = positive(k, v());
    else if (k === '--stall-seconds') a.stallSeconds = positive(k, v());
    else if (k === '--sample-seconds') a.sampleSeconds = positive(k, v());
    else if (k === '--synwatch-args') a.synwatchArgs = v().split(/\s+/).filter(Boolean);
    else if (k === '--pacing') {
      const p = v();
      if (p !== 'tbf' && p !== 'quota') throw new UsageError(`--pacing must be tbf or quota, got "${p}"`);
      a.pacing = p;
    } else if (k === '--out') a.out = path.resolve(v());
    else if (k === '--strict') a.strict = true;
    else if (k === '--scrape-ms') a.scrapeMs = positive(k, v());
    else return false;
    return true;
  });
  if (a.rates.length === 0) a.rates = DEFAULT_RATES[a.mode];
  if (a.mode !== 'load') a.rates = a.rates.slice(0, 1);
  if (a.mode === 'stall' && a.stallSeconds >= a.seconds) throw new UsageError(`--stall-seconds (${a.stallSeconds}) must be shorter than --seconds (${a.seconds})`);
  a.out ||= path.join(REPO_ROOT, a.mode === 'load' ? 'bench/load-results.md' : `bench/load-${a.mode}-results.md`);
  return a;
}

// ---- what the processes report ----

type Json = Record<string, unknown>;

/** The capture counters of the new capture (status and stopped lines); null = not reported. */
const CAPTURE_KEYS = ['captured', 'received', 'kernelDrops', 'ifDrops'] as const;
type CaptureKey = (typeof CAPTURE_KEYS)[number];
type CaptureCounters = Record<CaptureKey, number | null>;

/** A numeric field of a log line, top level first, else in a nested object (null if absent). */
function numberField(o: Json, key: string): number | null {
  if (typeof o[key] === 'number') return o[key] as number;
  for (const v of Object.values(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const r = numberField(v as Json, key);
      if (r !== null) return r;
    }
  }
  return null;
}

function captureCounters(o: Json | undefined): CaptureCounters {
  return Object.fromEntries(CAPTURE_KEYS.map((k) => [k, o ? numberField(o, k) : null])) as CaptureCounters;
}

interface TcpdumpSummary {
  captured: number | null;
  received: number | null;
  kernelDrops: number | null;
  ifDrops: number | null;
}

/** tcpdump's exit summary: "N packets captured", "N packets received by filter", "N packets dropped by kernel". */
function parseTcpdumpSummary(stderr: string): TcpdumpSummary {
  const n = (re: RegExp) => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : null;
  };
  return {
    captured: n(/(\d+) packets? captured/), received: n(/(\d+) packets? received by filter/),
    kernelDrops: n(/(\d+) packets? dropped by kernel/), ifDrops: n(/(\d+) packets? dropped by interface/),
  };
}

// ---- one trial ----

interface Sample {
  tS: number;
  rssKb: number | null;
  synOnly: number | null;
  kernelDrops: number | null;
}

interface WrittenFile {
  name: string;
  bytes: number;
  records: number | null;
}

interface Row {
  rate: number;
  trial: number;
  count: number;
  sent: number | null;
  sendSeconds: number | null;
  rxDelta: number | null;
  sw: {
    seen: number | null;
    packets: number | null;
    counters: CaptureCounters;
    cpuUsPerSyn: number | null;
    /** Set instead of cpuUsPerSyn when the CPU time was under 2 clock ticks: "< this many µs/SYN". */
    cpuBelowUs: number | null;
    cpuPct: number | null;
    /** CPU share of the idle second before the flood (subtracted), % of a core. */
    idlePct: number | null;
    /** CPU from spawn to 1 s after "capturing" (start-up, warm-up included), ms. */
    startupCpuMs: number | null;
    /** Decision lines logged (the policy's --max-new-blocks-per-second caps them). */
    decisions: number;
    /** Sources the detector flagged (`flagged` of the stopped line). */
    flagged: number | null;
    lagMaxMs: number | null;
    dropsNote: string | null;
  };
  td: TcpdumpSummary & { cpuUsPerSyn: number | null; cpuBelowUs: number | null };
  stall?: { atS: number; forS: number; stoppedAtS?: number; resumedAtS?: number };
  written?: WrittenFile[];
  samples?: Sample[];
  scrape?: ScrapeSummary;
  notes: string[];
  error?: string;
}

/** The scraper's summary (SCRAPER below), printed as one JSON line when it is stopped. */
interface ScrapeSummary {
  ok: number;
  failed: number;
  skipped: number;
  medianMs: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  bytes: number | null;
}

const SCRAPE_LISTEN = '127.0.0.1:9464';
/**
 * GET http://ADDR/metrics every N ms (argv), one request in flight at most (a tick that finds one
 * still running is counted as skipped), keep-alive like Prometheus; on SIGINT prints a summary.
 */
const SCRAPER = `
const http = require('http');
const [url, everyMs] = [process.argv[1], Number(process.argv[2])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ms = []; let failed = 0, skipped = 0, busy = false, bytes = null;
setInterval(() => {
  if (busy) { skipped++; return; }
  busy = true;
  const t0 = process.hrtime.bigint();
  http.get(url, { agent, timeout: 5000 }, (res) => {
    let n = 0;
    res.on('data', (b) => { n += b.length; });
    res.on('end', () => { busy = false; if (res.statusCode === 200) { ms.push(Number(process.hrtime.bigint() - t0) / 1e6); bytes = n; } else failed++; });
  }).on('error', () => { busy = false; failed++; });
}, everyMs);
process.on('SIGINT', () => {
  ms.sort((a, b) => a - b);
  const q = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : null);
  process.stdout.write(JSON.stringify({ ok: ms.length, failed, skipped, medianMs: q(0.5), p99Ms: q(0.99), maxMs: ms.length ? ms[ms.length - 1] : null, bytes }) + '\\n');
  process.exit(0);
});
`;

interface TrialSpec {
  rate: number;
  trial: number;
  count: number;
  stall?: { atS: number; forS: number };
  writeDir?: string;
  sampleSeconds?: number;
}

const statusLines = (p: LabProcess) => p.json.filter((o) => o.msg === 'status');

/** Waits until synwatch has caught up: two status lines after `from` report the same packet count. */
async function drained(sw: LabProcess, from: number, timeoutMs: number): Promise<void> {
  await sw.waitFor(() => {
    const st = sw.json.slice(from).filter((o) => o.msg === 'status');
    return st.length >= 2 && st[st.length - 1].packets === st[st.length - 2].packets;
  }, timeoutMs, 'its packet count to settle');
}

async function stopWithSigint(p: LabProcess, waitMs: number): Promise<void> {
  if (!p.running) return;
  p.signal('SIGCONT');
  p.signal('SIGINT');
  const t = setTimeout(() => p.signal('SIGKILL'), waitMs);
  await p.exited;
  clearTimeout(t);
}

/** Records in a capture file, counted with `tcpdump -r` (one output line per record). */
async function countRecords(file: string): Promise<number | null> {
  const r = await runCommand('sh', ['-c', 'tcpdump -r "$1" -nn -q 2>/dev/null | wc -l', 'sh', file], { allowFail: true, timeoutMs: 600_000 });
  return r.code === 0 ? Number(r.stdout.trim()) : null;
}

/** CPU per SYN; under 2 clock ticks of CPU time the figure is resolution, reported as a bound. */
function perSyn(o: CpuFigure, busyS: number, syns: number | null): void {
  if (!syns) return;
  const floorS = 2 / CLK_TCK;
  if (busyS < floorS) o.cpuBelowUs = (floorS * 1e6) / syns;
  else o.cpuUsPerSyn = (busyS * 1e6) / syns;
}

type CpuFigure = { cpuUsPerSyn: number | null; cpuBelowUs: number | null };

function cpuCell(o: CpuFigure): string {
  return o.cpuBelowUs !== null ? `< ${o.cpuBelowUs.toFixed(2)}` : f2(o.cpuUsPerSyn);
}

/** Median over trials; trials under the resolution count as their bound, and make it a bound. */
function medianCpu(os: CpuFigure[]): string {
  const m = medianOf(os.map((o) => o.cpuUsPerSyn ?? o.cpuBelowUs));
  return os.some((o) => o.cpuBelowUs !== null) ? `≤ ${f2(m)}` : f2(m);
}

async function runTrial(lab: PairLab, a: Args, spec: TrialSpec, log: (s: string) => void): Promise<Row> {
  const row: Row = {
    rate: spec.rate, trial: spec.trial, count: spec.count, sent: null, sendSeconds: null, rxDelta: null,
    sw: { seen: null, packets: null, counters: captureCounters(undefined), cpuUsPerSyn: null, cpuBelowUs: null, cpuPct: null, idlePct: null, startupCpuMs: null, decisions: 0, flagged: null, lagMaxMs: null, dropsNote: null },
    td: { ...parseTcpdumpSummary(''), cpuUsPerSyn: null, cpuBelowUs: null }, notes: [],
  };
  const tag = `${Number.isFinite(spec.rate) ? spec.rate : 'max'}-${spec.trial}`;
  const stateDir = path.join(lab.dir, `state-${tag}`);
  const extra = [...a.synwatchArgs];
  if (spec.writeDir) {
    fs.mkdirSync(spec.writeDir, { recursive: true });
    extra.push('--write', path.join(spec.writeDir, 'cap.pcap'));
  }
  if (a.scrapeMs > 0) extra.push('--metrics-listen', SCRAPE_LISTEN);
  let scraper: LabProcess | undefined;
  let td: LabProcess | undefined;
  let sw: LabProcess | undefined;
  let flood: LabProcess | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    td = lab.spawn('server', 'tcpdump', ['-i', lab.iface, '-B', '65536', '-s', '128', '-w', '/dev/null'], { label: 'tcpdump' });
    await td.waitFor(() => /listening on/.test(td!.stderr), 10_000, 'tcpdump to listen');
    sw = lab.spawn('server', process.execPath, [SYNWATCH_MAIN, '--log-level', 'info', 'live', '-i', lab.iface, '--dry-run',
      '--threshold', String(THRESHOLD), '--status-interval', '1', '--state-dir', stateDir, ...extra], { label: 'synwatch live' });
    await sw.waitForJson((o) => o.msg === 'capturing', 20_000, '"capturing"');
    if (a.scrapeMs > 0) scraper = lab.spawn('server', process.execPath, ['-e', SCRAPER, `http://${SCRAPE_LISTEN}/metrics`, String(a.scrapeMs)], { label: 'scraper' });
    const paced = a.pacing === 'tbf' && Number.isFinite(spec.rate);
    if (paced) {
      const [tc, ...tcArgs] = tbfCommand(lab.iface, spec.rate);
      await lab.exec('sender', tc, tcArgs);
    }
    const swp = sw;
    const tdp = td;
    // Idle rates (status timer, 100 ms ticks; after a second for start-up's compiling to end), then the flood.
    await sleep(1000);
    const i0 = [cpuSeconds(swp.pid), cpuSeconds(tdp.pid)];
    const it0 = process.hrtime.bigint();
    await sleep(1000);
    const idleWall = Number(process.hrtime.bigint() - it0) / 1e9;
    const idle = [(cpuSeconds(swp.pid) - i0[0]) / idleWall, (cpuSeconds(tdp.pid) - i0[1]) / idleWall];
    row.sw.idlePct = idle[0] * 100;
    row.sw.startupCpuMs = i0[0] * 1000;
    if (idle[0] > 0.05) row.notes.push(`synwatch used ${(idle[0] * 100).toFixed(0)}% of a core before the flood (subtracted over the whole flood: its µs/SYN may be low)`);
    const rx0 = await lab.counter('server', 'rx_packets');
    const c0 = [cpuSeconds(swp.pid), cpuSeconds(tdp.pid)];
    const t0 = process.hrtime.bigint();
    const elapsedS = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const f: SynFlood = {
      dev: lab.iface, srcMac: lab.senderMac, dstMac: lab.serverMac, src: '198.51.100.1', randomSourceOctet: true,
      dst: lab.serverAddr, dport: lab.port, count: spec.count, pps: spec.rate, pacing: a.pacing,
    };
    const [cmd, ...args] = trafgenCommand(f);
    flood = lab.spawn('sender', cmd, args, { label: 'trafgen' });
    let stallDone: Promise<void> = Promise.resolve();
    if (spec.stall) {
      const st = spec.stall;
      row.stall = { ...st };
      stallDone = new Promise((resolve) => {
        timers.push(setTimeout(() => {
          swp.signal('SIGSTOP');
          row.stall!.stoppedAtS = elapsedS();
          log(`${tag}: synwatch (pid ${swp.pid}) SIGSTOP at ${row.stall!.stoppedAtS.toFixed(2)} s`);
          timers.push(setTimeout(() => {
            swp.signal('SIGCONT');
            row.stall!.resumedAtS = elapsedS();
            log(`${tag}: synwatch SIGCONT at ${row.stall!.resumedAtS.toFixed(2)} s`);
            resolve();
          }, st.forS * 1000));
        }, st.atS * 1000));
      });
    }
    if (spec.sampleSeconds) {
      const samples: Sample[] = (row.samples = []);
      const sample = () => {
        const last = statusLines(swp).at(-1);
        const s = { tS: elapsedS(), rssKb: vmRssKb(swp.pid), synOnly: last ? numberField(last, 'synOnly') : null, kernelDrops: last ? numberField(last, 'kernelDrops') : null };
        samples.push(s);
        log(`${tag}: t=${s.tS.toFixed(0)} s rss ${s.rssKb} kB synOnly ${s.synOnly} kernelDrops ${s.kernelDrops ?? 'n/a'}`);
      };
      sample();
      timers.push(setInterval(sample, spec.sampleSeconds * 1000));
    }
    await flood.exited;
    const summary = parseTrafgenSummary(flood.stdout + flood.stderr);
    if (flood.exitCode !== 0) row.notes.push(`trafgen exited ${flood.exitCode ?? flood.exitSignal}${flood.exitCode === 124 ? ' (timeout)' : ''}`);
    if (summary) {
      row.sent = summary.packets;
      row.sendSeconds = summary.seconds;
    } else row.notes.push(`no trafgen summary: ${(flood.stderr || flood.stdout).trim().split('\n').slice(-2).join(' ')}`);
    for (const t of timers.splice(0)) clearTimeout(t);
    // A stall whose timers were cleared before it ended: resume now.
    if (row.stall && row.stall.resumedAtS === undefined) {
      swp.signal('SIGCONT');
      row.stall.resumedAtS = elapsedS();
      row.notes.push('the flood ended before the stall did');
    } else await stallDone;
    const mark = swp.json.length;
    try {
      await drained(swp, mark, 30_000);
    } catch (e) {
      row.notes.push(`drain: ${(e as Error).message.split('\n')[0]}`);
    }
    const wall = elapsedS();
    const c1 = [cpuSeconds(swp.pid), cpuSeconds(tdp.pid)];
    row.rxDelta = (await lab.counter('server', 'rx_packets')) - rx0;
    const busy = [c1[0] - c0[0] - idle[0] * wall, c1[1] - c0[1] - idle[1] * wall];
    if (scraper) {
      await stopWithSigint(scraper, 5_000);
      const line = scraper.stdout.trim().split('\n').at(-1);
      if (line) row.scrape = JSON.parse(line) as ScrapeSummary;
      else row.notes.push(`the scraper printed no summary (exit ${scraper.exitCode ?? scraper.exitSignal})`);
    }
    await stopWithSigint(swp, 15_000);
    await stopWithSigint(tdp, 5_000);
    const stopped = swp.json.find((o) => o.msg === 'stopped');
    if (!stopped) row.notes.push(`synwatch wrote no "stopped" line (exit ${swp.exitCode ?? swp.exitSignal})`);
    const lastTotals = stopped ?? statusLines(swp).at(-1);
    if (lastTotals) {
      row.sw.seen = numberField(lastTotals, 'synOnly');
      row.sw.packets = numberField(lastTotals, 'packets');
      row.sw.counters = captureCounters(lastTotals);
      row.sw.flagged = numberField(lastTotals, 'flagged');
    }
    const lastStatus = statusLines(swp).at(-1);
    if (lastStatus && typeof lastStatus.drops === 'string') row.sw.dropsNote = lastStatus.drops;
    const lags = statusLines(swp).map((o) => (o.eventLoopLagMs as { max?: unknown } | undefined)?.max).filter((x): x is number => typeof x === 'number');
    row.sw.lagMaxMs = lags.length ? Math.max(...lags) : null;
    const decisions = swp.json.filter((o) => o.msg === 'decision');
    row.sw.decisions = decisions.length;
    perSyn(row.sw, busy[0], row.sw.seen);
    if (row.sendSeconds) row.sw.cpuPct = (busy[0] / row.sendSeconds) * 100;
    Object.assign(row.td, parseTcpdumpSummary(tdp.stderr));
    perSyn(row.td, busy[1], row.td.captured);
    if (row.rxDelta !== null && row.sent !== null && row.rxDelta !== row.sent) row.notes.push(`server veth rx_packets +${row.rxDelta} != sent ${row.sent}`);
    if (spec.writeDir) {
      row.written = [];
      for (const name of fs.readdirSync(spec.writeDir).sort()) {
        const file = path.join(spec.writeDir, name);
        row.written.push({ name, bytes: fs.statSync(file).size, records: await countRecords(file) });
      }
      fs.rmSync(spec.writeDir, { recursive: true, force: true });
    }
  } catch (e) {
    row.error = (e as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 400);
  } finally {
    for (const t of timers) clearTimeout(t);
    await lab.exec('sender', 'tc', ['qdisc', 'del', 'dev', lab.iface, 'root'], { allowFail: true }); // back to noqueue
    for (const p of [flood, scraper, sw, td]) {
      if (p) {
        p.signal('SIGCONT');
        await p.stop(3000);
      }
    }
  }
  log(`${tag}: sent ${row.sent} rx +${row.rxDelta} synwatch ${row.sw.seen} (kernelDrops ${row.sw.counters.kernelDrops ?? 'n/a'}) ` +
    `tcpdump ${row.td.captured} (dropped ${row.td.kernelDrops}) cpu ${cpuCell(row.sw)}/${cpuCell(row.td)} us/SYN (synwatch idle ${fmt(row.sw.idlePct, 1)}% of a core)${row.error ? ` ERROR ${row.error}` : ''}`);
  return row;
}

// ---- report ----

const fmt = (x: number | null | undefined, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const f2 = (x: number | null | undefined) => fmt(x, 2);
const int = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toLocaleString('en-US'));
const rateName = (r: number) => (Number.isFinite(r) ? int(r) : 'max');
const achieved = (r: Row) => (r.sent !== null && r.sendSeconds ? r.sent / r.sendSeconds : null);
/** Share of the sent SYNs not seen, %. */
const missPct = (seen: number | null, sent: number | null) => (seen !== null && sent ? ((sent - seen) / sent) * 100 : null);
const pct = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(3)}%`);
const medianOf = (xs: Array<number | null>) => median(xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((x, y) => x - y));

/** |sent - seen - kernelDrops| / sent, % (null without a drop counter). */
function unaccountedPct(r: Row): number | null {
  const k = r.sw.counters.kernelDrops;
  if (k === null || r.sent === null || r.sw.seen === null || r.sent === 0) return null;
  return (Math.abs(r.sent - r.sw.seen - k) / r.sent) * 100;
}

function trialTable(rows: Row[]): string[] {
  const L = [
    '| target SYN/s | trial | sent (trafgen) | achieved SYN/s | server rx | synwatch seen | synwatch missed | captured | received | kernelDrops | ifDrops | synwatch µs/SYN | synwatch % core | tcpdump captured | tcpdump dropped | tcpdump missed | tcpdump µs/SYN | flagged | decisions | max loop lag (ms) | synwatch start-up CPU (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const c = r.sw.counters;
    L.push(`| ${rateName(r.rate)} | ${r.trial} | ${int(r.sent)} | ${int(achieved(r) === null ? null : Math.round(achieved(r)!))} | ${int(r.rxDelta)} | ` +
      `${int(r.sw.seen)} | ${pct(missPct(r.sw.seen, r.sent))} | ${int(c.captured)} | ${int(c.received)} | ${int(c.kernelDrops)} | ${int(c.ifDrops)} | ` +
      `${cpuCell(r.sw)} | ${fmt(r.sw.cpuPct, 0)} | ${int(r.td.captured)} | ${int(r.td.kernelDrops)} | ${pct(missPct(r.td.captured, r.sent))} | ` +
      `${cpuCell(r.td)} | ${int(r.sw.flagged)} | ${r.sw.decisions} | ${fmt(r.sw.lagMaxMs)} | ${fmt(r.sw.startupCpuMs, 0)} |`);
  }
  return L;
}

function summaryTable(rows: Row[], rates: number[]): string[] {
  const L = [
    '| target SYN/s | trials | achieved (median) | sent | synwatch missed (all trials) | worst trial | kernelDrops (all trials) | synwatch µs/SYN (median) | tcpdump missed (all trials) | tcpdump µs/SYN (median) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const rate of rates) {
    const rs = rows.filter((r) => r.rate === rate && !r.error && r.sent !== null);
    if (rs.length === 0) continue;
    const sent = rs.reduce((s, r) => s + r.sent!, 0);
    const sum = (f: (r: Row) => number | null) => (rs.every((r) => f(r) !== null) ? rs.reduce((s, r) => s + f(r)!, 0) : null);
    const seen = sum((r) => r.sw.seen);
    const worst = Math.max(...rs.map((r) => missPct(r.sw.seen, r.sent) ?? NaN));
    L.push(`| ${rateName(rate)} | ${rs.length} | ${int(Math.round(medianOf(rs.map(achieved))))} | ${int(sent)} | ${pct(missPct(seen, sent))} | ${pct(Number.isFinite(worst) ? worst : null)} | ` +
      `${int(sum((r) => r.sw.counters.kernelDrops))} | ${medianCpu(rs.map((r) => r.sw))} | ${pct(missPct(sum((r) => r.td.captured), sent))} | ${medianCpu(rs.map((r) => r.td))} |`);
  }
  return L;
}

function report(a: Args, rows: Row[], command: string, load: [number[], number[]]): { text: string; pass: boolean | null } {
  const L: string[] = [];
  let pass: boolean | null = null;
  L.push(`# synwatch live load benchmark (--mode ${a.mode})`, '');
  L.push(`Generated ${new Date().toISOString()} by \`${command}\` on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}, Node ${process.version}; ` +
    `load average ${load[0].map((x) => x.toFixed(2)).join(' ')} at start, ${load[1].map((x) => x.toFixed(2)).join(' ')} at end.`, '');
  const pacing = a.pacing === 'tbf'
    ? 'paced by a tbf qdisc on the sender\'s veth at the target rate (bursts of at most 2 ms worth; trafgen `-t 0 --qdisc-path`)'
    : 'paced by trafgen `-b NNNpps`, a per-second quota: each second\'s SYNs leave in one burst at ~250k SYN/s';
  L.push(`Lab: two namespaces joined by one veth pair (bench/pair-lab.ts). trafgen (one process, \`-n\` exact count; ${pacing}; max = TX_RING, unpaced) sends SYNs from 198.51.100.1-254 ` +
    '(random last octet, source port and ISN) to 203.0.113.10:80; the server drops them after the packet taps (nftables prerouting), so nothing answers. On the server\'s eth0, at the same time: ' +
    `\`synwatch live -i eth0 --dry-run --threshold ${THRESHOLD} --status-interval 1${a.synwatchArgs.length ? ` ${a.synwatchArgs.join(' ')}` : ''}\` and \`tcpdump -i eth0 -B 65536 -s 128 -w /dev/null\`; a fresh pair per trial.`, '');
  L.push('Columns: sent = trafgen\'s "packets outgoing"; achieved = sent / trafgen\'s send time; server rx = delta of the server veth\'s rx_packets; synwatch seen = `synOnly` of its `stopped` line (SIGINT after the flood drained); ' +
    'captured/received/kernelDrops/ifDrops = the same line\'s capture counters (n/a: this build does not report them); missed = (sent - seen) / sent; tcpdump captured/dropped = its exit summary; ' +
    'µs/SYN = utime+stime from the flood\'s start to the end of the drain, idle rate subtracted, per SYN seen ("< x": under 2 clock ticks of CPU, the resolution); % core = the same CPU time over trafgen\'s send time; flagged = `flagged` of the stopped line (254 sources expected); decisions = decision lines logged (capped by the policy\'s --max-new-blocks-per-second, 50 by default); ' +
    'max loop lag = largest event-loop delay in the status lines; start-up CPU = synwatch\'s utime+stime from its spawn to 1 s after "capturing" (node\'s start, the warm-up, and a second idle), not in µs/SYN.', '');
  const main = rows.filter((r) => !r.error);
  L.push('## Trials', '', ...trialTable(rows), '');
  if (a.mode === 'load' && a.trials > 1) L.push('## By rate', '', ...summaryTable(rows, a.rates), '');
  if (a.mode === 'stall') {
    L.push(`## Stall: synwatch SIGSTOPped for ${a.stallSeconds} s in the middle of the flood`, '');
    L.push('| trial | SIGSTOP at (s) | SIGCONT at (s) | sent | seen | kernelDrops | sent - seen | \\|sent - seen - kernelDrops\\| / sent | within 1% |');
    L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const r of main) {
      const u = unaccountedPct(r);
      L.push(`| ${r.trial} | ${fmt(r.stall?.stoppedAtS, 2)} | ${fmt(r.stall?.resumedAtS, 2)} | ${int(r.sent)} | ${int(r.sw.seen)} | ${int(r.sw.counters.kernelDrops)} | ` +
        `${int(r.sent !== null && r.sw.seen !== null ? r.sent - r.sw.seen : null)} | ${pct(u)} | ${u === null ? 'n/a' : u <= 1 ? 'yes' : 'no'} |`);
    }
    const us = main.map(unaccountedPct);
    pass = main.length > 0 && us.every((u) => u !== null) ? us.every((u) => u! <= 1) : null;
    L.push('', `- Acceptance: kernelDrops accounts for every SYN not seen, within 1% of the SYNs sent: **${pass === null ? 'n/a (no kernelDrops reported)' : pass ? 'PASS' : 'FAIL'}**`, '');
  }
  if (a.mode === 'write') {
    L.push('## Written capture', '', '| trial | files | bytes | records (tcpdump -r) | synwatch captured | synwatch packets | sent | records / sent |', '|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const r of main) {
      const w = r.written ?? [];
      const recs = w.length && w.every((x) => x.records !== null) ? w.reduce((s, x) => s + x.records!, 0) : null;
      L.push(`| ${r.trial} | ${w.map((x) => x.name).join(', ') || 'none'} | ${int(w.reduce((s, x) => s + x.bytes, 0))} | ${int(recs)} | ${int(r.sw.counters.captured)} | ${int(r.sw.packets)} | ` +
        `${int(r.sent)} | ${recs !== null && r.sent ? `${((recs / r.sent) * 100).toFixed(3)}%` : 'n/a'} |`);
    }
    if (main.length === 0) L.push('| - | no trial ran to the end (see Failed trials) | | | | | | |');
    L.push('');
  }
  if (a.mode === 'soak') {
    for (const r of main) {
      const s = r.samples ?? [];
      const rss = s.map((x) => x.rssKb).filter((x): x is number => x !== null);
      const drops = s.map((x) => x.kernelDrops).filter((x): x is number => x !== null);
      L.push(`## Soak: ${a.minutes} min at ${rateName(r.rate)} SYN/s, sampled every ${a.sampleSeconds} s`, '');
      L.push(`- synwatch VmRSS: first ${fmtMb(rss[0])}, last ${fmtMb(rss.at(-1))}, max ${fmtMb(rss.length ? Math.max(...rss) : undefined)}`);
      L.push(`- kernelDrops (status lines): ${drops.length ? `first ${int(drops[0])}, last ${int(drops.at(-1))}, max ${int(Math.max(...drops))}` : 'n/a (this build does not report them)'}`, '');
      L.push('| t (s) | VmRSS (MB) | synOnly | kernelDrops |', '|---:|---:|---:|---:|');
      for (const x of s) L.push(`| ${x.tS.toFixed(0)} | ${x.rssKb === null ? 'n/a' : (x.rssKb / 1024).toFixed(1)} | ${int(x.synOnly)} | ${int(x.kernelDrops)} |`);
      L.push('');
    }
  }
  if (a.scrapeMs > 0) {
    L.push(`## Scrapes: GET /metrics every ${a.scrapeMs} ms (synwatch with --metrics-listen ${SCRAPE_LISTEN})`, '');
    L.push('| target SYN/s | trial | answered | failed | skipped (previous in flight) | median (ms) | p99 (ms) | max (ms) | bytes per scrape | kernelDrops |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const x = r.scrape;
      L.push(`| ${rateName(r.rate)} | ${r.trial} | ${int(x?.ok)} | ${int(x?.failed)} | ${int(x?.skipped)} | ${f2(x?.medianMs)} | ${f2(x?.p99Ms)} | ${f2(x?.maxMs)} | ${int(x?.bytes)} | ${int(r.sw.counters.kernelDrops)} |`);
    }
    L.push('');
  }
  const notes = rows.flatMap((r) => r.notes.map((n) => `${rateName(r.rate)} #${r.trial}: ${n}`));
  const dropsNote = rows.find((r) => r.sw.dropsNote)?.sw.dropsNote;
  if (rows.every((r) => r.sw.counters.kernelDrops === null) && dropsNote) notes.push(`this build's status line says: "${dropsNote}"`);
  if (notes.length) L.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  const failed = rows.filter((r) => r.error);
  if (failed.length) L.push('## Failed trials', '', ...failed.map((r) => `- ${rateName(r.rate)} #${r.trial}: ${r.error}`), '');
  return { text: L.join('\n'), pass };
}

function fmtMb(kb: number | null | undefined): string {
  return kb === null || kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(1)} MB`;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const why = labUnavailableReason() ?? (['trafgen', 'nft'].find((t) => !which(t)) ?? null);
  if (why) {
    process.stderr.write(`load benchmark: ${why.includes(' ') ? why : `${why} not installed`}\n`);
    return 2;
  }
  if (!fs.existsSync(SYNWATCH_MAIN)) {
    process.stderr.write(`load benchmark: ${SYNWATCH_MAIN} not built (npm run build)\n`);
    return 2;
  }
  const log = (s: string) => process.stderr.write(`load: ${s}\n`);
  const load0 = os.loadavg();
  const rows: Row[] = [];
  const lab = await PairLab.create();
  try {
    const specs: TrialSpec[] = [];
    for (const rate of a.rates) {
      for (let t = 1; t <= a.trials; t++) {
        const seconds = a.mode === 'soak' ? a.minutes * 60 : a.seconds;
        const spec: TrialSpec = { rate, trial: t, count: Math.round(seconds * (Number.isFinite(rate) ? rate : MAX_PPS_NOMINAL)) };
        if (a.mode === 'stall') spec.stall = { atS: (a.seconds - a.stallSeconds) / 2, forS: a.stallSeconds };
        if (a.mode === 'write') spec.writeDir = path.join(lab.dir, `write-${t}`);
        if (a.mode === 'soak') spec.sampleSeconds = a.sampleSeconds;
        specs.push(spec);
      }
    }
    for (const spec of specs) {
      log(`${a.mode} ${rateName(spec.rate)} SYN/s trial ${spec.trial}/${a.trials}: ${int(spec.count)} SYNs`);
      rows.push(await runTrial(lab, a, spec, log));
    }
  } finally {
    await lab.destroy();
  }
  const command = `node dist/bench/load.js ${process.argv.slice(2).map((x) => (/\s/.test(x) ? `"${x}"` : x)).join(' ')}`.trim();
  const { text, pass } = report(a, rows, command, [load0, os.loadavg()]);
  fs.writeFileSync(a.out, text);
  process.stdout.write(text);
  log(`wrote ${path.relative(process.cwd(), a.out) || a.out}`);
  if (rows.some((r) => r.error)) return 1;
  return a.strict && a.mode === 'stall' && pass !== true ? 1 : 0;
}

if (require.main === module) runMain('load benchmark', main);
