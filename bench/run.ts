/**
 * synwatch benchmark: whole-process throughput against tcpdump and tshark, an in-process stage
 * breakdown, peak RSS, and a CPU profile of the hottest functions. `npm run bench`.
 *
 * Contract: generates (or reuses) the captures of generate.ts in the scratch directory, checks
 * that `analyze --json` reports exactly the totals the generator wrote into each manifest (so
 * the benchmark measures real work: every SYN an attempt, every handshake completed), then times
 *   synwatch  dist/synwatch.js analyze F --json > /dev/null: the `synwatch` command as installed
 *             (package.json bin, run through its #! line; also timed as `node dist/synwatch.js`)
 *   tcpdump   tcpdump -r F -nn 'tcp[tcpflags] & tcp-syn != 0' -w /dev/null
 *   tshark    tshark -r P -Y 'tcp.flags.syn==1' -w /dev/null, P = the first 100k records of F
 *             (editcap), scaled to F's record count (tshark is too slow for the full files)
 * each under /usr/bin/time (peak RSS); runs are interleaved (synwatch, tcpdump, next capture,
 * next round) so that background load hits every tool alike, and every number is the median of
 * `--runs` runs. Packets/s = records / wall seconds. The stage breakdown runs stages.ts in a
 * fresh process per run. Everything runs from a private copy of dist/ taken at the start, so a
 * colleague's rebuild mid-run changes nothing. Prints a Markdown report and writes it to bench/results.md.
 * Exit 0 when the totals check passed (whatever the acceptance targets say), 1 otherwise.
 *
 * Flags: --runs N (5)  --dir D (/tmp/synwatch-bench)  --only flood,mixed,spoofed
 *        --count N (records per capture; smaller files for a quick try, not written to results)
 *        --tshark-runs N (1)  --no-stages  --no-profile  --no-write  --out FILE
 */
import { execFileSync, spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CaptureKind, DEFAULT_DIR, ensureCapture, ExpectedTotals, kindsFrom, Manifest, parseFlags,
} from './generate';
import { HotSpot, profileAnalyze, REPO } from './profile';
import { Stage, StageResult, STAGES } from './stages';

/** Set by main() to a private copy of the build (see snapshotBuild). */
let ROOT = REPO;
const cliJs = () => path.join(ROOT, 'dist/synwatch.js');
const stagesJs = () => path.join(ROOT, 'dist/bench/stages.js');
const TIME = '/usr/bin/time';
const TSHARK_PREFIX = 100_000;
/** Acceptance targets (see bench/README.md). */
const TARGET_RATIO_VS_TCPDUMP = 0.25;
const TARGET_RSS_MB = 400;
const TCPDUMP_FILTER = 'tcp[tcpflags] & tcp-syn != 0';
const TSHARK_FILTER = 'tcp.flags.syn==1';

interface Timing {
  wallS: number;
  cpuS: number;
  maxRssKb: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * NODE_EXTRA_CA_CERTS makes node 20 load that certificate bundle at start-up, before any script
 * runs, whether or not the script ever opens a TLS connection (synwatch never does). Measured on
 * this sandbox, which sets it for its own proxy: `node -e 0` 20 ms without it, 60-80 ms with it.
 * The synwatch command's #! line drops it (src/cli/main.ts); `node dist/synwatch.js` keeps
 * it. The bench times both, and node's own start-up with and without it.
 */
const EXTRA_CA = 'NODE_EXTRA_CA_CERTS';

/** The bench's environment without NODE_EXTRA_CA_CERTS. */
function envWithoutExtraCa(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[EXTRA_CA];
  return env;
}

/** Runs argv once, stdout to /dev/null, under /usr/bin/time when present; throws on failure. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Timing {
  const useTime = fs.existsSync(TIME);
  const timeOut = path.join(os.tmpdir(), `synwatch-bench-time-${process.pid}`);
  const full = useTime ? [TIME, '-f', '%U %S %M', '-o', timeOut, ...argv] : argv;
  const devNull = fs.openSync('/dev/null', 'w');
  const opts: SpawnSyncOptions = { stdio: ['ignore', devNull, 'pipe'], maxBuffer: 64 << 20, env };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), opts);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.closeSync(devNull);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${String(r.stderr).slice(0, 2000)}`);
  if (!useTime) return { wallS, cpuS: NaN, maxRssKb: NaN };
  const [user, sys, rss] = fs.readFileSync(timeOut, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(timeOut, { force: true });
  return { wallS, cpuS: user + sys, maxRssKb: rss };
}

/** The synwatch command as installed: the script itself, through its #! line. */
function synwatchArgv(file: string): string[] {
  return [cliJs(), 'analyze', file, '--json'];
}

/** The same script under the bench's own node, which honours the environment as it is. */
function synwatchViaNodeArgv(file: string): string[] {
  return [process.execPath, cliJs(), 'analyze', file, '--json'];
}

function tcpdumpArgv(file: string): string[] {
  return ['tcpdump', '-r', file, '-nn', TCPDUMP_FILTER, '-w', '/dev/null'];
}

function tsharkArgv(file: string): string[] {
  return ['tshark', '-r', file, '-Y', TSHARK_FILTER, '-w', '/dev/null'];
}

interface TotalsCheck {
  ok: boolean;
  mismatches: string[];
  report: Record<string, unknown>;
}

/** One untimed analyze run whose JSON totals must equal the manifest's expected totals. */
function checkTotals(m: Manifest): TotalsCheck {
  const out = execFileSync(process.execPath, [cliJs(), 'analyze', m.file, '--json'], { maxBuffer: 256 << 20, encoding: 'utf8' });
  const report = JSON.parse(out) as { totals: Record<string, number> };
  const mismatches: string[] = [];
  for (const k of Object.keys(m.expected) as (keyof ExpectedTotals)[]) {
    if (report.totals[k] !== m.expected[k]) mismatches.push(`${k}: report ${report.totals[k]}, expected ${m.expected[k]}`);
  }
  return { ok: mismatches.length === 0, mismatches, report: report.totals };
}

/** The first TSHARK_PREFIX records of the capture, made with editcap once. */
function prefixFile(m: Manifest): string {
  const out = m.file.replace(/\.pcap$/, `-${TSHARK_PREFIX / 1000}k.pcap`);
  const fresh = fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(m.file).mtimeMs;
  if (!fresh) execFileSync('editcap', ['-r', m.file, out, `1-${TSHARK_PREFIX}`], { stdio: 'ignore' });
  return out;
}

/**
 * A private copy of the build (dist/, package.json; node_modules and native/ linked), so that
 * colleagues rebuilding dist/ during the minutes a run takes can neither break nor skew it.
 */
function snapshotBuild(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'synwatch-bench-build-'));
  fs.cpSync(path.join(REPO, 'dist'), path.join(root, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  for (const d of ['node_modules', 'native']) {
    if (fs.existsSync(path.join(REPO, d))) fs.symlinkSync(path.join(REPO, d), path.join(root, d));
  }
  return root;
}

function runStageOnce(stage: Stage, file: string): StageResult {
  const out = execFileSync(process.execPath, [stagesJs(), stage, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as StageResult;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function firstLine(cmd: string, args: string[]): string {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Running as user')) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const mpps = (records: number, s: number) => (records / s / 1e6).toFixed(3);
const secs = (s: number) => s.toFixed(3);
const mb = (kb: number) => (Number.isNaN(kb) ? 'n/a' : (kb / 1024).toFixed(0));

interface CaptureResult {
  m: Manifest;
  check: TotalsCheck;
  synwatch: Timing[];
  /** `node dist/synwatch.js analyze`: the environment as given (NODE_EXTRA_CA_CERTS too). */
  synwatchViaNode: Timing[];
  tcpdump: Timing[];
  tshark: Timing[];
  stages: Map<Stage, StageResult[]>;
}

function med(ts: Timing[], f: (t: Timing) => number): number {
  return median(ts.map(f));
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const runs = Number(flags.get('runs') ?? 5);
  const tsharkRuns = Number(flags.get('tshark-runs') ?? 1);
  if (!(runs >= 1) || !(tsharkRuns >= 1)) throw new Error('--runs and --tshark-runs must be >= 1');
  const dir = path.resolve(flags.get('dir') ?? DEFAULT_DIR);
  if (dir === REPO || dir.startsWith(`${REPO}${path.sep}`)) throw new Error(`scratch directory ${dir} is inside the repository`);
  const count = flags.has('count') ? Number(flags.get('count')) : undefined;
  const kinds = kindsFrom(flags.get('only'));
  const write = !flags.has('no-write') && (count === undefined || flags.has('out'));
  const outFile = flags.get('out') ?? path.join(REPO, 'bench/results.md');
  const haveTcpdump = has('tcpdump');
  const haveTshark = has('tshark') && has('editcap');
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const extraCa = process.env[EXTRA_CA] !== undefined;
  const nodeStart: Timing[] = [];
  const nodeStartNoExtraCa: Timing[] = [];
  const load0 = os.loadavg();
  const started = new Date();

  ROOT = snapshotBuild();
  process.on('exit', () => fs.rmSync(ROOT, { recursive: true, force: true }));
  const results: CaptureResult[] = [];
  for (const kind of kinds) {
    log(`capture ${kind}: generating or reusing in ${dir}`);
    const m = ensureCapture(kind, dir, { count });
    log(`  checking totals`);
    const check = checkTotals(m);
    if (!check.ok) log(`  TOTALS MISMATCH: ${check.mismatches.join('; ')}`);
    results.push({ m, check, synwatch: [], synwatchViaNode: [], tcpdump: [], tshark: [], stages: new Map(STAGES.map((s) => [s, []])) });
  }

  for (let r = 0; r < runs; r++) {
    for (const c of results) {
      log(`whole process, run ${r + 1}/${runs}: ${c.m.kind}`);
      c.synwatch.push(timed(synwatchArgv(c.m.file)));
      c.synwatchViaNode.push(timed(synwatchViaNodeArgv(c.m.file)));
      if (haveTcpdump) c.tcpdump.push(timed(tcpdumpArgv(c.m.file)));
    }
    nodeStart.push(timed([process.execPath, '-e', '0']));
    if (extraCa) nodeStartNoExtraCa.push(timed([process.execPath, '-e', '0'], envWithoutExtraCa()));
  }
  if (haveTshark) {
    for (const c of results) {
      const prefix = prefixFile(c.m);
      for (let r = 0; r < tsharkRuns; r++) {
        log(`tshark on the ${TSHARK_PREFIX / 1000}k prefix of ${c.m.kind}, run ${r + 1}/${tsharkRuns}`);
        c.tshark.push(timed(tsharkArgv(prefix)));
      }
    }
  }
  if (!flags.has('no-stages')) {
    for (let r = 0; r < runs; r++) {
      for (const c of results) {
        log(`stages, run ${r + 1}/${runs}: ${c.m.kind}`);
        for (const s of STAGES) c.stages.get(s)!.push(runStageOnce(s, c.m.file));
      }
    }
  }
  const profiles: { kind: CaptureKind; totalMs: number; hotSpots: HotSpot[] }[] = [];
  if (!flags.has('no-profile')) {
    for (const c of results) {
      if (c.m.kind === 'mixed') continue;
      log(`profiling analyze on ${c.m.kind}`);
      profiles.push({ kind: c.m.kind, ...profileAnalyze(ROOT, c.m.file, 12) });
    }
  }
  const load1 = os.loadavg();

  // ------------------------------------------------------------------ report
  const L: string[] = [];
  L.push('# synwatch benchmark results', '');
  L.push(`Written by \`npm run bench\` (bench/run.ts); see bench/README.md for what each number means.`, '');
  L.push('## Machine', '');
  L.push(`- CPU: ${cpuModel()}, nproc ${os.availableParallelism()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}`);
  L.push(`- node ${process.version}; ${firstLine('tcpdump', ['--version'])}; ${firstLine('tshark', ['--version'])}`);
  L.push(`- run ${started.toISOString()}, ${runs} run(s) per number; load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${load1.map((x) => x.toFixed(2)).join(' ')} at end (the machine is shared: compare the tools within one run, and look at CPU seconds too)`);
  L.push('');
  L.push('## Captures (bench/generate.ts, seeded, in the scratch directory)', '');
  L.push('| capture | records | MiB | SYN sources | what |', '|---|---:|---:|---:|---|');
  for (const { m } of results) L.push(`| ${m.kind} | ${m.records} | ${(m.bytes / 2 ** 20).toFixed(1)} | ${m.sources} | ${m.description} |`);
  L.push('');
  L.push('## Totals check (analyze --json vs the generator\'s manifest)', '');
  L.push('| capture | packets | synOnly | synAck | rst | attempts | completed | result |', '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { m, check } of results) {
    const t = check.report as Record<string, number>;
    L.push(`| ${m.kind} | ${t.packets} | ${t.synOnly} | ${t.synAck} | ${t.rst} | ${t.attempts} | ${t.completed} | ${check.ok ? 'OK (= expected)' : `MISMATCH: ${check.mismatches.join('; ')}`} |`);
  }
  L.push('');
  L.push(`## Whole-process throughput (median of ${runs}; Mpkt/s = records / wall s)`, '');
  L.push('| capture | synwatch s | synwatch Mpkt/s | tcpdump s | tcpdump Mpkt/s | synwatch / tcpdump | synwatch CPU s | tcpdump CPU s | synwatch / tcpdump by CPU | tshark Mpkt/s ¹ | tshark s, est. full file ¹ |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of results) {
    const sw = med(c.synwatch, (t) => t.wallS);
    const swCpu = med(c.synwatch, (t) => t.cpuS);
    const td = med(c.tcpdump, (t) => t.wallS);
    const tdCpu = med(c.tcpdump, (t) => t.cpuS);
    const ts = med(c.tshark, (t) => t.wallS);
    const tsRate = TSHARK_PREFIX / ts;
    const na = (ok: boolean, v: () => string) => (ok ? v() : 'n/a');
    L.push(`| ${c.m.kind} | ${secs(sw)} | ${mpps(c.m.records, sw)} | ${na(haveTcpdump, () => secs(td))} | ${na(haveTcpdump, () => mpps(c.m.records, td))} | ${na(haveTcpdump, () => (td / sw).toFixed(2))} | ${secs(swCpu)} | ${na(haveTcpdump, () => secs(tdCpu))} | ${na(haveTcpdump, () => (tdCpu / swCpu).toFixed(2))} | ${na(haveTshark, () => (tsRate / 1e6).toFixed(3))} | ${na(haveTshark, () => (c.m.records / tsRate).toFixed(1))} |`);
  }
  L.push('', `Node start-up alone (\`node -e 0\`, median of ${runs}): ${(med(nodeStart, (t) => t.wallS) * 1000).toFixed(0)} ms.`);
  if (extraCa) {
    L.push('', `This environment sets ${EXTRA_CA} (${process.env[EXTRA_CA]}), which node 20 loads at every start, before any script runs: \`node -e 0\` takes ${(med(nodeStartNoExtraCa, (t) => t.wallS) * 1000).toFixed(0)} ms without it. The synwatch command's #! line drops it (synwatch opens no TLS connection); run as \`node dist/synwatch.js\`, which keeps it, in the same interleaved runs:`, '');
  } else {
    L.push('', 'Run as `node dist/synwatch.js` instead of the command, in the same interleaved runs:', '');
  }
  L.push('| capture | node synwatch.js s | node synwatch.js Mpkt/s | node synwatch.js / tcpdump | node synwatch.js CPU s |', '|---|---:|---:|---:|---:|');
  for (const c of results) {
    const sw = med(c.synwatchViaNode, (t) => t.wallS);
    const td = med(c.tcpdump, (t) => t.wallS);
    L.push(`| ${c.m.kind} | ${secs(sw)} | ${mpps(c.m.records, sw)} | ${haveTcpdump ? (td / sw).toFixed(2) : 'n/a'} | ${secs(med(c.synwatchViaNode, (t) => t.cpuS))} |`);
  }
  L.push('', `¹ tshark ran ${tsharkRuns}× on the first ${TSHARK_PREFIX} records only (\`editcap -r F P 1-${TSHARK_PREFIX}\`); its rate is ${TSHARK_PREFIX} / wall s and the full-file time is scaled from it.`, '');

  if (!flags.has('no-stages')) {
    L.push(`## Stage breakdown (in-process, fresh process per run, median of ${runs}; ms, and Mpkt/s in parentheses)`, '');
    L.push('| capture | read | + decode | + track | + detect | + policy + report (analyzeCapture) | whole process |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const c of results) {
      const cells = STAGES.map((s) => {
        const ms = median(c.stages.get(s)!.map((x) => x.ms));
        return `${ms.toFixed(0)} (${mpps(c.m.records, ms / 1000)})`;
      });
      const whole = med(c.synwatch, (t) => t.wallS);
      L.push(`| ${c.m.kind} | ${cells.join(' | ')} | ${(whole * 1000).toFixed(0)} (${mpps(c.m.records, whole)}) |`);
    }
    L.push('', 'Each stage includes the ones to its left; the difference between two columns is what a stage adds. "whole process" adds node start-up, module loading and the CLI.', '');
    L.push(`CPU milliseconds (user + system) of the same stage runs, median of ${runs}: the steadier figure when the machine is loaded.`, '');
    L.push('| capture | read | + decode | + track | + detect | + policy + report | whole process |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const c of results) {
      const cells = STAGES.map((s) => median(c.stages.get(s)!.map((x) => x.cpuMs)).toFixed(0));
      L.push(`| ${c.m.kind} | ${cells.join(' | ')} | ${(med(c.synwatch, (t) => t.cpuS) * 1000).toFixed(0)} |`);
    }
    L.push('');
    const bad: string[] = [];
    for (const c of results) {
      for (const s of ['track', 'detect', 'analyze'] as Stage[]) {
        for (const x of c.stages.get(s)!) {
          if (x.attempts !== c.m.expected.attempts || x.synOnly !== c.m.expected.synOnly || x.records !== c.m.records) {
            bad.push(`${c.m.kind}/${s}: attempts ${x.attempts}, synOnly ${x.synOnly}, records ${x.records}`);
          }
        }
      }
    }
    L.push(bad.length === 0 ? 'Stage totals: every track/detect/analyze run counted the expected records, SYNs and attempts.' : `Stage totals MISMATCH: ${bad.join('; ')}`, '');
    if (bad.length > 0) results[0].check.ok = false;
  }

  L.push(`## Peak RSS (whole process, /usr/bin/time "Maximum resident set size", max of ${runs} runs)`, '');
  L.push('| capture | synwatch MB | tcpdump MB |', '|---|---:|---:|');
  for (const c of results) {
    L.push(`| ${c.m.kind} | ${mb(Math.max(...c.synwatch.map((t) => t.maxRssKb)))} | ${haveTcpdump ? mb(Math.max(...c.tcpdump.map((t) => t.maxRssKb))) : 'n/a'} |`);
  }
  L.push('');

  L.push('## Acceptance targets', '');
  const flood = results.find((c) => c.m.kind === 'flood');
  if (flood && haveTcpdump) {
    const ratio = med(flood.tcpdump, (t) => t.wallS) / med(flood.synwatch, (t) => t.wallS);
    const cpuRatio = med(flood.tcpdump, (t) => t.cpuS) / med(flood.synwatch, (t) => t.cpuS);
    L.push(`- flood: synwatch throughput ${ratio.toFixed(2)} × tcpdump's BPF-only pass by wall time (${cpuRatio.toFixed(2)} × by CPU time); target ≥ ${TARGET_RATIO_VS_TCPDUMP} (direction ≥ 1): ${ratio >= TARGET_RATIO_VS_TCPDUMP ? 'PASS' : 'FAIL'}`);
    const viaNode = med(flood.tcpdump, (t) => t.wallS) / med(flood.synwatchViaNode, (t) => t.wallS);
    L.push(`- flood, run as \`node dist/synwatch.js\`${extraCa ? ` (${EXTRA_CA} kept)` : ''}: ${viaNode.toFixed(2)} × tcpdump by wall time`);
  }
  const spoofed = results.find((c) => c.m.kind === 'spoofed');
  if (spoofed) {
    const rssMb = Math.max(...spoofed.synwatch.map((t) => t.maxRssKb)) / 1024;
    L.push(`- spoofed (3M sources): peak RSS ${rssMb.toFixed(0)} MB; target ≤ ${TARGET_RSS_MB} MB: ${rssMb <= TARGET_RSS_MB ? 'PASS' : 'FAIL'}`);
  }
  L.push('');

  for (const p of profiles) {
    L.push(`## Hot spots: \`node --cpu-prof\` of analyze on ${p.kind} (self time, ${p.totalMs.toFixed(0)} ms sampled)`, '');
    L.push('| self ms | share | function | source (by name) | compiled |', '|---:|---:|---|---|---|');
    for (const h of p.hotSpots) L.push(`| ${h.selfMs.toFixed(0)} | ${(100 * h.share).toFixed(1)}% | ${h.fn} | ${h.ts} | ${h.js} |`);
    L.push('');
  }

  L.push('## Commands', '', '```');
  L.push(`npm run bench -- --runs ${runs}        # = npm run build && node dist/bench/run.js`);
  L.push(`node dist/bench/generate.js --dir ${dir}`);
  L.push(`/usr/bin/time -f '%U %S %M' dist/synwatch.js analyze ${dir}/CAPTURE.pcap --json > /dev/null   # = synwatch analyze`);
  L.push(`/usr/bin/time -f '%U %S %M' node dist/synwatch.js analyze ${dir}/CAPTURE.pcap --json > /dev/null`);
  L.push(`/usr/bin/time -f '%U %S %M' tcpdump -r ${dir}/CAPTURE.pcap -nn '${TCPDUMP_FILTER}' -w /dev/null`);
  L.push(`editcap -r ${dir}/CAPTURE.pcap ${dir}/CAPTURE-100k.pcap 1-${TSHARK_PREFIX}`);
  L.push(`/usr/bin/time -f '%U %S %M' tshark -r ${dir}/CAPTURE-100k.pcap -Y '${TSHARK_FILTER}' -w /dev/null`);
  L.push(`node dist/bench/stages.js read|decode|track|detect|analyze ${dir}/CAPTURE.pcap`);
  L.push(`node dist/bench/profile.js ${dir}/flood.pcap`);
  L.push('```', '');

  const md = L.join('\n');
  process.stdout.write(md);
  if (write) {
    fs.writeFileSync(outFile, md);
    log(`wrote ${outFile}`);
  }
  return results.every((c) => c.check.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
