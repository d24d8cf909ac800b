/**
 * The HTML report at scale: a 10-minute capture of 10 million packets, its page size and how long
 * chromium takes to render it. `npm run build && node dist/bench/html.js [--runs N] [--dir D]`.
 *
 * Contract: writes (or reuses) <dir>/html-10min.pcap (default dir /tmp/synwatch-bench, never the
 * repository), deterministic: 600 s of packet time; legitimate clients in 203.0.113.0/24
 * complete a handshake every 2 ms throughout (900,000 packets); from 120 s to 480 s a flood to
 * 198.51.100.10:80, 70 % of its SYNs from 300 repeat sources and 30 % from one-shot spoofed
 * addresses, every 5th SYN answered by a SYN-ACK; exactly 10,000,000 records. Then runs
 * `synwatch analyze --json --html OUT F` once (wall time), and opens OUT from file:// in
 * chromium `--runs` times (fresh page each, one browser): "script" is the page script's own time
 * (window.synwatchReport.renderMs), "to drawn" the navigation timing's loadEventEnd: from
 * navigation start through reading and parsing the file, the script, and uPlot's first draw
 * (a microtask of the script, so before the load event). The first page of a fresh browser is
 * reported apart (it pays for the renderer's start). Medians. Prints Markdown and writes
 * bench/html-results.md with the load average it ran under.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { DEFAULT_DIR, fmix32, ipv4, parseFlags, PcapWriter, Rng, TCP_ACK, TCP_SYN, TcpOpts } from './generate';
import { launchChromium } from '../test/support/browser';

const RECORDS = 10_000_000;
const DURATION_MS = 600_000;
const FLOOD_FROM_MS = 120_000;
const FLOOD_TO_MS = 480_000;
const LEGIT_EVERY_MS = 2;
const T0_US = 1_764_633_600 * 1e6; // 2025-12-02T00:00:00Z
const REPO = path.resolve(__dirname, '..', '..');

function generate(file: string): void {
  const tmp = `${file}.tmp`;
  const w = new PcapWriter(tmp, 262144);
  const rng = new Rng(fmix32(20261202));
  const legitPackets = (DURATION_MS / LEGIT_EVERY_MS) * 3;
  const floodPackets = RECORDS - legitPackets;
  // SYNs, with a SYN-ACK after every 5th: packets = syns + floor(syns / 5).
  let syns = Math.floor(floodPackets / 1.2);
  while (syns + Math.floor(syns / 5) < floodPackets) syns++;
  const real = new Uint32Array(300);
  for (let i = 0; i < real.length; i++) real[i] = ipv4(rng.range(1, 223), rng.int(256), rng.int(256), rng.range(1, 254));
  const server = ipv4(198, 51, 100, 10);
  const floodSteps = FLOOD_TO_MS - FLOOD_FROM_MS;
  let synIndex = 0;
  for (let ms = 0; ms < DURATION_MS; ms++) {
    const t = T0_US + ms * 1000;
    if (ms % LEGIT_EVERY_MS === 0) {
      const client = ipv4(203, 0, 113, 1 + ((ms / LEGIT_EVERY_MS) % 200));
      const cport = 1024 + ((ms / LEGIT_EVERY_MS) % 60000);
      const cisn = rng.u32(), sisn = rng.u32();
      w.tcp(t, client, server, cport, 443, cisn, 0, TCP_SYN, 64240, TcpOpts.Syn, 0);
      w.tcp(t + 50, server, client, 443, cport, sisn, (cisn + 1) >>> 0, TCP_SYN | TCP_ACK, 65160, TcpOpts.Syn, 0, true);
      w.tcp(t + 100, client, server, cport, 443, (cisn + 1) >>> 0, (sisn + 1) >>> 0, TCP_ACK, 502, TcpOpts.None, 0);
    }
    if (ms < FLOOD_FROM_MS || ms >= FLOOD_TO_MS) continue;
    const j = ms - FLOOD_FROM_MS;
    const n = Math.floor(((j + 1) * syns) / floodSteps) - Math.floor((j * syns) / floodSteps);
    const spacing = 850 / Math.max(n, 1);
    for (let k = 0; k < n && w.records < RECORDS; k++) {
      const at = t + 150 + Math.floor(k * spacing);
      const src = synIndex % 10 < 7 ? real[rng.int(real.length)] : fmix32(synIndex ^ 0x9e3779b9);
      const sport = rng.range(1024, 65535), isn = rng.u32();
      w.tcp(at, src, server, sport, 80, isn, 0, TCP_SYN, 512, TcpOpts.None, 0);
      synIndex++;
      if (synIndex % 5 === 0 && w.records < RECORDS) {
        w.tcp(at + 1, server, src, 80, sport, rng.u32(), (isn + 1) >>> 0, TCP_SYN | TCP_ACK, 65160, TcpOpts.Syn, 0, true);
      }
    }
  }
  w.close();
  if (w.records !== RECORDS) throw new Error(`generated ${w.records} records, not ${RECORDS}`);
  fs.renameSync(tmp, file);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const runs = Number(flags.get('runs') ?? 5);
  const dir = flags.get('dir') ?? DEFAULT_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'html-10min.pcap');
  if (!fs.existsSync(file)) {
    process.stderr.write(`generating ${file}\n`);
    generate(file);
  }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(', ');
  const out = path.join(dir, 'html-10min.html');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist', 'synwatch.js'), 'analyze', '--json', '--html', out, file],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const analyzeS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`analyze exited ${r.status}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const pageBytes = fs.statSync(out).size;
  const session = await launchChromium();
  const script: number[] = [];
  const drawn: number[] = [];
  let first = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const page = await session.context.newPage();
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      await page.waitForFunction(() => (globalThis as any).synwatchReport !== undefined);
      await page.waitForFunction(() => ((performance as any).getEntriesByType('navigation')[0])?.loadEventEnd > 0);
      const m = await page.evaluate(() => ({
        script: (globalThis as any).synwatchReport.renderMs,
        drawn: ((performance as any).getEntriesByType('navigation')[0]).loadEventEnd,
      }));
      if (i === 0) first = m.drawn;
      script.push(m.script);
      drawn.push(m.drawn);
      await page.close();
    }
  } finally {
    await session.close();
  }
  const lines = [
    '# HTML report at scale',
    '',
    `\`node dist/bench/html.js --runs ${runs}\`: a 10-minute capture of 10,000,000 packets (${(fs.statSync(file).size / 1e6).toFixed(0)} MB;`,
    `${report.totals.attempts.toLocaleString('en-US')} attempts, ${report.alerts.length} alerts, ${report.decisions.length} decisions,`,
    `${report.timeline.bins} bins of ${report.timeline.binSeconds} s), analyzed with \`synwatch analyze --json --html\`, the page opened`,
    `from file:// in Debian chromium (headless, playwright-core), ${runs} times. Load average at the start: ${load} (2 vCPUs shared with other work: noisy).`,
    '',
    '| what | value |',
    '|---|---:|',
    `| page size | ${(pageBytes / 1e6).toFixed(2)} MB (${pageBytes.toLocaleString('en-US')} bytes) |`,
    `| analyze, wall (the whole command, once) | ${analyzeS.toFixed(1)} s |`,
    `| render: page script, median (min–max) | ${median(script).toFixed(0)} ms (${Math.min(...script).toFixed(0)}–${Math.max(...script).toFixed(0)}) |`,
    `| render: navigation start to drawn, median (min–max) | ${median(drawn).toFixed(0)} ms (${Math.min(...drawn).toFixed(0)}–${Math.max(...drawn).toFixed(0)}) |`,
    `| render: the same, first page of a fresh browser | ${first.toFixed(0)} ms |`,
    '',
  ];
  const md = lines.join('\n');
  process.stdout.write(md);
  if (!flags.has('no-write')) fs.writeFileSync(path.join(REPO, 'bench', 'html-results.md'), md);
}

main().catch((e) => {
  process.stderr.write(`bench/html: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
