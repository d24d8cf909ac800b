/**
 * Block backends compared (not a test; issue #12's measurements). Run as root after
 * `npm run build && npm run build:native`:
 *
 *   node dist/bench/backends.js [--rate 100000] [--seconds 3] [--adds 2000] [--out bench/backends-results.md]
 *
 * (a)+(b) Per backend (route, nftables), in a fresh PairLab (bench/pair-lab.ts; its own raw drop
 *   table removed, rp_filter 0 as in the issue): synwatch live starts with a ledger holding a
 *   block for each of the flood's 254 sources (198.51.100.1-254), so every SYN of the flood comes
 *   from a blocked source; trafgen (tbf-paced) sends --rate SYN/s for --seconds. Read around the
 *   flood: the server namespace's Tcp InSegs (/proc/net/snmp: what reached TCP), the machine's
 *   softirq time (/proc/stat, all CPUs: the machine is shared, so this includes the others'
 *   work), and synwatch's CPU (/proc/PID/stat). Nothing listens on port 80: a SYN that reaches
 *   TCP costs the lookup and a RST that the reject route then refuses.
 * (c) In one namespace: --adds element adds through the addon (synwatch's one libnftables
 *   context), into a set already holding 1,000 elements, each timed with hrtime; p50/p99/max;
 *   the same for renewals (add of an existing element) and, for comparison, netlink route adds.
 * Writes a Markdown report (with the load average) and prints it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabProcess, labUnavailableReason, REPO_ROOT, runCommand, sleep, SYNWATCH_MAIN } from '../test/e2e/lab';
import { eachFlag, runMain } from './cli';
import { PairLab } from './pair-lab';
import { CLK_TCK, cpuSeconds } from './proc';
import { parseTrafgenSummary, tbfCommand, trafgenCommand } from './trafgen';

interface Args { rate: number; seconds: number; adds: number; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { rate: 100_000, seconds: 3, adds: 2000, out: path.join(REPO_ROOT, 'bench/backends-results.md') };
  eachFlag(argv, 'backends.js', (flag, value) => {
    if (flag === '--rate') a.rate = Number(value());
    else if (flag === '--seconds') a.seconds = Number(value());
    else if (flag === '--adds') a.adds = Number(value());
    else if (flag === '--out') a.out = value();
    else return false;
    return true;
  });
  return a;
}

/** Machine-wide softirq seconds (/proc/stat "cpu" line, 7th value). */
function softirqSeconds(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return Number(cpu[7]) / CLK_TCK;
}

async function tcpInSegs(lab: PairLab): Promise<number> {
  const text = (await lab.exec('server', 'cat', ['/proc/net/snmp'])).stdout;
  const [head, values] = text.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.trim().split(/\s+/));
  return Number(values[head.indexOf('InSegs')]);
}

/** A ledger blocking 198.51.100.1-254 for an hour from now. */
function seedLedger(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now() * 1000;
  const lines = Array.from({ length: 254 }, (_, k) => JSON.stringify({ v: 1, op: 'block', ip: `198.51.100.${k + 1}`, family: 4,
    type: 'unreachable', reason: 'flood', atUs: now, sinceUs: now, expiresUs: now + 3600e6 }));
  fs.writeFileSync(path.join(dir, 'ledger.jsonl'), `${lines.join('\n')}\n`, { mode: 0o600 });
}

interface FloodRow { backend: string; sent: number; tcp: number; softirqS: number; synwatchS: number; wallS: number; captured: number; note: string }

async function floodTrial(backend: string, a: Args): Promise<FloodRow> {
  const lab = await PairLab.create();
  let sw: LabProcess | undefined;
  try {
    await lab.exec('server', 'nft', ['delete', 'table', 'inet', 'swbench']);
    await lab.exec('server', 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', `net.ipv4.conf.${lab.iface}.rp_filter=0`]);
    const stateDir = path.join(lab.dir, 'state');
    seedLedger(stateDir);
    sw = lab.spawn('server', process.execPath, [SYNWATCH_MAIN, '--log-level', 'info', 'live', '-i', lab.iface, '--backend', backend,
      '--state-dir', stateDir, '--status-interval', '1'], { label: 'synwatch live' });
    await sw.waitForJson((o) => o.msg === 'capturing', 20_000, '"capturing"');
    const [tc, ...tcArgs] = tbfCommand(lab.iface, a.rate);
    await lab.exec('sender', tc, tcArgs);
    await sleep(1500);
    const count = Math.round(a.rate * a.seconds);
    const before = { tcp: await tcpInSegs(lab), soft: softirqSeconds(), cpu: cpuSeconds(sw.pid), t: process.hrtime.bigint() };
    const [cmd, ...args] = trafgenCommand({ dev: lab.iface, srcMac: lab.senderMac, dstMac: lab.serverMac, src: '198.51.100.1',
      randomSourceOctet: true, dst: lab.serverAddr, dport: lab.port, count, pps: a.rate, pacing: 'tbf' });
    const flood = lab.spawn('sender', cmd, args, { label: 'trafgen' });
    await flood.exited;
    await sleep(500); // synwatch drains its ring
    const wallS = Number(process.hrtime.bigint() - before.t) / 1e9;
    const row: FloodRow = {
      backend, sent: parseTrafgenSummary(flood.stdout + flood.stderr)?.packets ?? NaN, tcp: (await tcpInSegs(lab)) - before.tcp,
      softirqS: softirqSeconds() - before.soft, synwatchS: cpuSeconds(sw.pid) - before.cpu, wallS, captured: NaN, note: '',
    };
    await sw.stop(5000);
    const stopped = sw.json.find((o) => o.msg === 'stopped');
    row.captured = Number(stopped?.synOnly);
    const restored = sw.json.filter((o) => o.msg === 'decision' && o.action === 'block').length;
    if (restored !== 254) row.note = `${restored} of 254 blocks restored`;
    return row;
  } finally {
    await lab.destroy();
  }
}

const ADDS_SCRIPT = `
const { openBlockBackend, parseBackendSpec } = require(process.env.SW_DIST + '/src/enforce/backends.js');
const n = Number(process.env.SW_ADDS);
const timed = (b, f) => { const t = []; for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); f(b, i); t.push(Number(process.hrtime.bigint() - t0) / 1000); } return t.sort((x, y) => x - y); };
const ip = (i) => '10.' + ((i >> 16) & 255) + '.' + ((i >> 8) & 255) + '.' + (i & 255);
const nft = openBlockBackend(parseBackendSpec('nftables'));
nft.prepare();
for (let i = 0; i < 1000; i++) nft.add(ip(100000 + i), 4, 'unreachable', 600e6);
const add = timed(nft, (b, i) => b.add(ip(i), 4, 'unreachable', 600e6));
const renew = timed(nft, (b, i) => b.renew(ip(i), 4, 'unreachable', 660e6));
const route = openBlockBackend(parseBackendSpec('netlink'));
const radd = timed(route, (b, i) => b.add(ip(i), 4, 'unreachable'));
process.stdout.write(JSON.stringify({ add, renew, routeAdd: radd }));
`;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function addTimes(a: Args): Promise<Record<string, number[]>> {
  const ns = `sw-${process.pid}-bench-nftadd`;
  await runCommand('ip', ['netns', 'add', ns]);
  try {
    const r = await runCommand('ip', ['netns', 'exec', ns, 'env', `SW_DIST=${path.join(REPO_ROOT, 'dist')}`, `SW_ADDS=${a.adds}`,
      process.execPath, '-e', ADDS_SCRIPT], { timeoutMs: 120_000 });
    return JSON.parse(r.stdout) as Record<string, number[]>;
  } finally {
    await runCommand('ip', ['netns', 'del', ns], { allowFail: true });
  }
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const why = labUnavailableReason();
  if (why) throw new Error(`bench unavailable: ${why}`);
  const load0 = os.loadavg();
  const rows: FloodRow[] = [];
  for (const backend of ['route', 'nftables']) rows.push(await floodTrial(backend, a));
  const times = await addTimes(a);
  const load1 = os.loadavg();
  const L: string[] = ['# Block backends: what reaches TCP, and what it costs', '',
    `- run ${new Date().toISOString()}: \`node dist/bench/backends.js --rate ${a.rate} --seconds ${a.seconds} --adds ${a.adds}\``,
    `- load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${load1.map((x) => x.toFixed(2)).join(' ')} at end; 2 vCPUs shared with other agents' tests: softirq is machine-wide and includes their work`,
    '', `## (a), (b) ${a.rate.toLocaleString('en')} SYN/s for ${a.seconds} s, every source already blocked (254 blocks restored from the ledger)`, '',
    '| backend | SYNs sent | reached TCP (TcpInSegs) | live captured | softirq CPU s (machine) | synwatch CPU s | wall s |', '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.backend} | ${r.sent} | ${r.tcp} | ${r.captured} | ${r.softirqS.toFixed(2)} | ${r.synwatchS.toFixed(2)} | ${r.wallS.toFixed(1)} |${r.note ? ` ${r.note}` : ''}`),
    '', `## (c) time per call, ${a.adds} calls, set already holding 1,000 elements (µs)`, '',
    '| call | p50 | p99 | max |', '|---|---:|---:|---:|',
    ...Object.entries({ 'nftables add (libnftables, one context)': times.add, 'nftables renew (replace, one transaction)': times.renew, 'netlink route add (for comparison)': times.routeAdd })
      .map(([k, t]) => `| ${k} | ${pct(t, 50).toFixed(0)} | ${pct(t, 99).toFixed(0)} | ${t[t.length - 1].toFixed(0)} |`),
    ''];
  const text = L.join('\n');
  fs.writeFileSync(a.out, text);
  process.stdout.write(text);
  return 0;
}

runMain('backends', main);
