/**
 * `synwatch live` over its own libpcap addon, in the namespace lab (test/e2e/lab.ts): start-up
 * errors as one line each, kernel timestamps as packet time (a --write file analyzed offline
 * gives live's decisions, to the microsecond), --write rotation, IPv6 SYNs behind an extension
 * header through the default filter, and the capture counters in the status and stopped lines.
 *
 * One lab for the file, destroyed in `after` (the lab's exit handler covers a crash); floods are
 * bounded in count and by `timeout`. Skipped, with the reason, when not root, when the lab tools
 * are missing, or while the live command is not built.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExecResult, findScapyPython, Lab, LabProcess, labUnavailableReason, REPO_ROOT, sleep, SYNWATCH_MAIN, which } from './lab';
import { decisions, decisionSummary, liveUnavailableReason, LogLine } from './synwatch';
import { hasStackTrace } from '../support/cli';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;
const THRESHOLD = 20;
/** Bound on a log line after the traffic that causes it, generous for a loaded CI machine. */
const LOG_WAIT_MS = 10_000;
/** The capture counters live's status and stopped lines carry (src/live/runner.ts). */
const CAPTURE_COUNTERS = ['captured', 'received', 'kernelDrops', 'ifDrops'] as const;

let lab: Lab;
before(async () => {
  if (skip) return;
  lab = await Lab.create({ attackers4: 2, attackers6: 1 });
});
after(async () => {
  await lab?.destroy();
});

/** `synwatch ARGS` run to its end in the server namespace, behind `prefix` (env, setpriv). */
function synwatchOnce(args: string[], prefix: string[] = []): Promise<ExecResult> {
  const [cmd, ...rest] = [...prefix, process.execPath, SYNWATCH_MAIN, ...args];
  return lab.exec('server', cmd, rest, { allowFail: true, timeoutMs: 30_000 });
}

/** Exit `code` and exactly one line on stderr, matching `line`, no stack trace, nothing on stdout. */
function assertOneLineError(r: ExecResult, code: number, line: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], line);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.code, code, `exit ${r.code} (${r.signal}): ${r.stderr}`);
}

/** live in the server namespace, stopped with SIGINT after `traffic`; fails on a non-zero exit. */
async function liveAround(args: string[], traffic: (p: LabProcess) => Promise<void>): Promise<LabProcess> {
  // A state directory of its own: live's status socket lives there, never in /var/lib/synwatch.
  const p = await lab.synwatch(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 'state'), ...args], { timeoutMs: 20_000, label: 'synwatch live' });
  try {
    await traffic(p);
  } finally {
    p.signal('SIGINT');
    const killer = setTimeout(() => p.signal('SIGKILL'), 10_000);
    await p.exited;
    clearTimeout(killer);
  }
  assert.deepEqual({ code: p.exitCode, signal: p.exitSignal }, { code: 0, signal: null }, `live on SIGINT; stderr tail: ${p.stderr.slice(-1500)}`);
  return p;
}

function stoppedLine(p: LabProcess): LogLine {
  const line = p.json.find((o) => o.msg === 'stopped');
  assert.ok(line, `a "stopped" line; stderr tail: ${p.stderr.slice(-1000)}`);
  return line;
}

/** npm's bundled node-gyp, found from the npm on PATH (or beside this node), never assumed. */
function nodeGypScript(): string | null {
  const candidates: string[] = [];
  try {
    const npm = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    candidates.push(path.resolve(path.dirname(npm), '../node_modules/node-gyp/bin/node-gyp.js'));
  } catch {
    // no npm on PATH
  }
  candidates.push(path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

/** The headers of this node when installed beside it (Debian: /usr/include/node), else node-gyp's cache. */
function nodedirArgs(): string[] {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The capability-dropping wrapper installed here: setpriv (util-linux) or capsh (libcap2-bin). */
function dropNetRaw(): string[] | null {
  if (which('setpriv')) return ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw'];
  // capsh hands what follows `--` to bash: `-c 'exec "$0" "$@"'` runs the command itself.
  if (which('capsh')) return ['capsh', '--drop=cap_net_raw', '--', '-c', 'exec "$0" "$@"'];
  return null;
}

describe('live start-up errors: one line, no stack trace', { skip, concurrency: false }, () => {
  it('an unknown interface exits 1 naming it and the interfaces there are', async () => {
    const r = await synwatchOnce(['live', '-i', 'nope0', '--state-dir', path.join(lab.dir, 'state')]);
    assertOneLineError(r, 1, /^synwatch: unknown interface 'nope0' \(have: .*\)$/);
    const have = /\(have: (.*)\)$/.exec(r.stderr.trim())![1].split(', ');
    assert.ok(have.includes(lab.serverIface) && have.includes('lo'), `the server's interfaces: ${have.join(', ')}`);
  });

  it('a --filter that does not compile exits 1 naming the filter', async () => {
    const r = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--filter', 'tcp and and']);
    assertOneLineError(r, 1, /^synwatch: invalid --filter 'tcp and and': \S/);
  });

  it('without CAP_NET_RAW exits 1 naming the capability', { skip: dropNetRaw() ? false : 'neither setpriv nor capsh installed' }, async () => {
    const r = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run'], dropNetRaw()!);
    assertOneLineError(r, 1, /^synwatch: .*CAP_NET_RAW/);
  });

  it('built where libpcap and libnftables were missing: exits 1 saying live capture (or the nftables backend) is unavailable and why',
    { skip: nodeGypScript() ? false : "npm's node-gyp not found" }, async () => {
      // What a machine without libpcap-dev builds: native/ copied and built with the switch on.
      const native = path.join(lab.dir, 'native-without-pcap');
      fs.mkdirSync(native);
      for (const f of ['binding.gyp', 'have-pcap.sh', 'have-nftables.sh', 'src']) fs.cpSync(path.join(REPO_ROOT, 'native', f), path.join(native, f), { recursive: true });
      const built = spawnSync(process.execPath, [nodeGypScript()!, 'rebuild', '-C', native, ...nodedirArgs()], {
        encoding: 'utf8', timeout: 180_000, env: { ...process.env, SYNWATCH_WITHOUT_PCAP: '1', SYNWATCH_WITHOUT_NFTABLES: '1' },
      });
      assert.equal(built.status, 0, `node-gyp rebuild: ${built.stderr.slice(-2000)}`);
      const release = path.join(native, 'build/Release');
      assert.deepEqual(fs.readdirSync(release).filter((f) => f.endsWith('.node')), ['synwatch_route.node'], 'only the route addon was built');
      const r = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run'], ['env', `SYNWATCH_NATIVE_DIR=${release}`]);
      assertOneLineError(r, 1, /^synwatch: live capture unavailable: .*libpcap was missing at build time/);
      const nft = await synwatchOnce(['live', '-i', lab.serverIface, '--backend', 'nftables', '--state-dir', path.join(lab.dir, 'no-nft')],
        ['env', `SYNWATCH_NATIVE_DIR=${release}`]);
      assertOneLineError(nft, 1, /^synwatch: the nftables backend needs .*synwatch_nftables\.node, built only where libnftables is installed/);
      assert.ok(!fs.existsSync(path.join(lab.dir, 'no-nft')), 'state written before the backend was refused');
    });

  it('--snaplen 10 exits 2 naming the option', async () => {
    const r = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--snaplen', '10']);
    assertOneLineError(r, 2, /^synwatch: .*--snaplen.*'10'/);
  });

  it('--write-files without --write-max-mib exits 2 naming the options', async () => {
    const alone = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--write-files', '3']);
    assertOneLineError(alone, 2, /^synwatch: .*--write-files.*--write FILE/);
    const withWrite = await synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--write', path.join(lab.dir, 'w.pcap'), '--write-files', '3']);
    assertOneLineError(withWrite, 2, /^synwatch: --write-files needs --write-max-mib/);
    assert.ok(!fs.existsSync(path.join(lab.dir, 'w.pcap')), 'nothing written on a usage error');
  });
});

describe('live --write: kernel timestamps are packet time', { skip, concurrency: false }, () => {
  let live: LabProcess | undefined;
  let file = '';

  it('writes exactly the records it captured, and analyze of the file decides as live did, to the microsecond', async () => {
    file = path.join(lab.dir, 'cap.pcap');
    const [a, b] = lab.addr.attacker4;
    live = await liveAround(['--dry-run', '--threshold', String(THRESHOLD), '--write', file, '--status-interval', '0.5'], async (p) => {
      await Promise.all([
        lab.hping3Flood({ from: a, to: lab.addr.server4, count: 300, intervalUs: 2000 }),
        lab.hping3Flood({ from: b, to: lab.addr.server4, count: 300, intervalUs: 2000 }),
        (async () => {
          for (let i = 0; i < 3; i++) assert.ok((await lab.curl('client')).ok, 'the client is served');
        })(),
      ]);
      await p.waitForJson((o) => o.msg === 'decision' && o.action === 'block' && o.ip === b, LOG_WAIT_MS, `the block of ${b}`);
      await p.waitForJson((o) => o.msg === 'status', LOG_WAIT_MS, 'a status line');
    });
    const stopped = stoppedLine(live);
    const captured = stopped.captured as number;
    assert.ok(captured >= 600, `captured the floods: ${captured}`);
    const written = stopped.written as { records: number; files: number; droppedRecords: number; currentFile: string };
    assert.deepEqual([written.records, written.files, written.droppedRecords, written.currentFile], [captured, 1, 0, file]);

    const dump = await lab.execHost('tcpdump', ['-r', file, '-nn', '-q'], { timeoutMs: 60_000 });
    assert.equal(dump.stdout.split('\n').filter((l) => l.trim() !== '').length, captured, 'tcpdump -r counts `captured` records');
    const analyzed = await lab.execHost(process.execPath, [SYNWATCH_MAIN, 'analyze', '--json', '--threshold', String(THRESHOLD), file], { timeoutMs: 60_000 });
    const report = JSON.parse(analyzed.stdout) as { capture: { records: number; warnings: unknown[] }; decisions: Array<{ action: string; ip: string; at: string }> };
    assert.equal(report.capture.records, captured, 'analyze reads `captured` records');
    assert.deepEqual(report.capture.warnings, []);

    // The same kernel timestamp is live's synTime and the file's record time.
    const offline = report.decisions.filter((d) => d.action === 'block').map((d) => [d.ip, d.at]).sort();
    const online = decisions(live, 'block').map((d) => [d.ip, d.synTime]).sort();
    assert.deepEqual(online.map(([ip]) => ip), [a, b].sort(), decisionSummary(live));
    assert.deepEqual(offline, online, 'analyze of the written file blocks the same sources at the same packet times');
    assert.ok(!decisions(live).some((d) => d.ip === lab.addr.client4), 'the client is never a decision');
  });

  it('puts numeric captured, received, kernelDrops and ifDrops in the status and stopped lines', () => {
    assert.ok(live, 'the --write run above ran');
    const status = live.json.filter((o) => o.msg === 'status');
    assert.ok(status.length >= 1, 'status lines at --status-interval 0.5');
    for (const [what, line] of [...status.map((s, i) => [`status #${i}`, s] as const), ['stopped', stoppedLine(live)] as const]) {
      for (const k of CAPTURE_COUNTERS) {
        assert.ok(Number.isSafeInteger(line[k]) && (line[k] as number) >= 0, `${what}: ${k} is a count: ${JSON.stringify(line[k])}`);
      }
      const [captured, received, kernelDrops] = [line.captured, line.received, line.kernelDrops] as number[];
      // received counts what passed the filter, dropped included; more may sit in the ring.
      assert.ok(captured + kernelDrops <= received, `${what}: captured ${captured} + kernelDrops ${kernelDrops} <= received ${received}`);
    }
    const stopped = stoppedLine(live);
    // Not captured == received: a SYN-ACK retransmission may land between the last drain and
    // the close, counted by the kernel and never read.
    assert.ok((stopped.captured as number) > 0);
    assert.equal(stopped.kernelDrops, 0, 'a light flood: nothing dropped');
    assert.equal(stopped.ifDrops, 0);
    const last = status.at(-1)!;
    assert.ok((last.captured as number) <= (stopped.captured as number), 'counters only grow');
  });
});

describe('live --write-max-mib 1 --write-files 2', { skip, concurrency: false }, () => {
  it('rotates through more than two files and keeps only the newest two, cap.NNNNNN.pcap', async () => {
    const dir = path.join(lab.dir, 'rotate');
    fs.mkdirSync(dir);
    const live = await liveAround(['--dry-run', '--write', path.join(dir, 'cap.pcap'), '--write-max-mib', '1', '--write-files', '2'], async () => {
      // 50,000 SYNs of 54 bytes are 3.3 MiB of records (70 bytes each): at least four 1 MiB files.
      await lab.replayFlood({ from: lab.addr.attacker4[0], to: lab.addr.server4, count: 50_000, pps: 25_000 });
      await sleep(300);
    });
    const stopped = stoppedLine(live);
    const written = stopped.written as { records: number; files: number; droppedRecords: number; currentFile: string };
    assert.ok((stopped.captured as number) >= 50_000, `captured the flood: ${stopped.captured}`);
    assert.equal(written.records, stopped.captured);
    assert.equal(written.droppedRecords, 0);
    assert.ok(written.files > 2, `rotated into more than two files: ${written.files}`);
    const left = fs.readdirSync(dir).sort();
    assert.ok(left.length <= 2, `at most two files remain: ${left.join(', ')}`);
    assert.ok(left.every((f) => /^cap\.\d{6}\.pcap$/.test(f)), `named cap.NNNNNN.pcap: ${left.join(', ')}`);
    const numbers = left.map((f) => Number(f.split('.')[1]));
    assert.deepEqual(numbers, [written.files - 1, written.files], 'the newest two');
    assert.equal(written.currentFile, path.join(dir, left.at(-1)!));
    for (const f of left) assert.ok(fs.statSync(path.join(dir, f)).size <= 1024 * 1024, `${f} within 1 MiB`);
  });
});

describe('live: IPv6 SYNs behind an extension header', { skip, concurrency: false }, () => {
  const py = skip ? null : findScapyPython();

  it('pass the default filter: the source is flagged and (dry-run) blocked, its SYNs counted', { skip: py ? false : 'no python3 with scapy' }, async () => {
    const attacker = lab.addr.attacker6[0];
    const COUNT = 60;
    // SYNs with a hop-by-hop options header (PadN only) before TCP: next header 0, not 6.
    const script = [
      'import sys, random',
      'import logging; logging.getLogger("scapy.runtime").setLevel(logging.ERROR)',
      'from scapy.all import IPv6, IPv6ExtHdrHopByHop, TCP, conf',
      'src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])',
      's = conf.L3socket6()',
      'base = random.randint(1024, 40000)',
      'for i in range(count):',
      '    s.send(IPv6(src=src, dst=dst) / IPv6ExtHdrHopByHop() / TCP(sport=base + i, dport=port, flags="S", seq=random.getrandbits(32), window=64240))',
      's.close()',
    ].join('\n');
    const cap = await lab.capture('server', `ip6 and src host ${attacker} and ip6[6] == 0`);
    let live: LabProcess;
    try {
      live = await liveAround(['--dry-run', '--threshold', String(THRESHOLD)], async (p) => {
        await lab.exec('attacker', 'timeout', ['30', py!, '-c', script, attacker, lab.addr.server6, String(lab.httpPort), String(COUNT)], { timeoutMs: 40_000 });
        await p.waitForJson((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker, LOG_WAIT_MS, `the block of ${attacker}`);
      });
    } finally {
      await cap.stop();
    }
    assert.ok((await cap.count('ip6')) >= COUNT, 'the SYNs reached the server with their hop-by-hop header');
    const block = decisions(live, 'block', attacker);
    assert.equal(block.length, 1, decisionSummary(live));
    assert.equal(block[0].reason, 'flood');
    const stopped = stoppedLine(live);
    assert.ok((stopped.synOnly as number) >= COUNT, `synOnly ${stopped.synOnly} counts the ${COUNT} SYNs`);
  });
});
