/**
 * `synwatch poll` end to end on a real kernel: a server namespace (syncookies off, listener on
 * :8080) and an attacker namespace whose outgoing RSTs nftables drops, so hping3's bounded SYNs
 * leave half-open handshakes in the server's /proc/net/tcp6. poll --once must flag the attacker:
 * dry-run (decision only), allowlisted (skip), then for real (route with synwatch's marker).
 * Both namespaces are deleted in after(), whatever happens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureAddonBuilt, netnsUnavailable, TestNetns } from '../enforce/netns';
import { SYNWATCH_RTM_PROTOCOL } from '../../src/enforce/routes';

function unavailable(): string | null {
  const base = netnsUnavailable();
  if (base) return base;
  for (const tool of ['hping3', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  return null;
}
const skip = unavailable();

interface LogLine {
  msg: string;
  action?: string;
  ip?: string;
  reason?: string;
  detail?: string;
}

function decisions(stderr: string): LogLine[] {
  return stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg === 'decision');
}

describe('poll against a real SYN flood between two namespaces', { skip: skip ?? undefined }, () => {
  let srv: TestNetns;
  let atk: TestNetns;
  let server: ChildProcess | undefined;
  let stateDir: string;

  before(async () => {
    ensureAddonBuilt();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-poll-'));
    [srv, atk] = TestNetns.pair();
    // Without syncookies the kernel keeps a request socket (SYN_RECV) for every SYN.
    srv.exec('sysctl', ['-qw', 'net.ipv4.tcp_syncookies=0']);
    // The attacker's kernel would answer the SYN-ACK with RST (no socket of its own): drop it.
    const nft = atk.exec('nft', ['-f', '-'], {
      input: 'table inet swtest {\n chain out {\n  type filter hook output priority 0;\n  tcp flags rst drop\n }\n}\n',
    });
    assert.equal(nft.status, 0, nft.stderr);
    server = spawn('ip', ['netns', 'exec', srv.name, process.execPath, '-e', `
      const s = require('net').createServer((c) => c.destroy());
      s.listen({ port: 8080, host: '::', backlog: 1024 }, () => process.stdout.write('ready\\n'));
      setTimeout(() => process.exit(0), 60000).unref();
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      server!.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
    });
    // Bounded: 40 SYNs, 5 ms apart, to the server's documentation address only.
    const h = atk.exec('timeout', ['20', 'hping3', '-q', '-S', '-p', '8080', '-c', '40', '-i', 'u5000', '198.51.100.1']);
    assert.ok(h.status === 0 || h.status === 1, `hping3: ${h.stderr}`);
    const halfOpen = srv.exec('cat', ['/proc/net/tcp6']).stdout.split('\n').filter((l) => / 03 /.test(l)).length;
    assert.ok(halfOpen >= 30, `only ${halfOpen} half-open handshakes in the server namespace`);
  });

  after(() => {
    server?.kill('SIGKILL');
    srv?.delete();
    atk?.delete();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('dry-run: one block decision for the attacker, no route, no ledger', () => {
    const r = srv.synwatch(['poll', '--once', '--dry-run', '--threshold', '20', '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    const ds = decisions(r.stderr);
    assert.deepEqual(ds.map((d) => [d.action, d.ip, d.reason]), [['block', '198.51.100.2', 'flood']]);
    assert.match(ds[0].detail ?? '', /via dry-run; halfOpen=\d+/);
    assert.deepEqual(srv.routes(4, SYNWATCH_RTM_PROTOCOL), []);
    assert.ok(!fs.existsSync(path.join(stateDir, 'ledger.jsonl')));
  });

  test('below the threshold nothing is flagged', () => {
    const r = srv.synwatch(['poll', '--once', '--dry-run', '--threshold', '1000']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(decisions(r.stderr), []);
  });

  test('an allowlisted attacker is skipped, naming the entry', () => {
    const r = srv.synwatch(['poll', '--once', '--dry-run', '--threshold', '20', '--allow', '198.51.100.0/30']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(decisions(r.stderr).map((d) => [d.action, d.reason, d.detail]), [['skip', 'allowlisted', '198.51.100.0/30 (--allow)']]);
  });

  test('for real: the route is installed with synwatch\'s marker and the ledger records it', () => {
    const r = srv.synwatch(['poll', '--once', '--threshold', '20', '--state-dir', stateDir, '--route-type', 'blackhole']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(decisions(r.stderr).map((d) => [d.action, d.ip]), [['block', '198.51.100.2']]);
    assert.deepEqual(srv.routes(4, SYNWATCH_RTM_PROTOCOL).map((x) => `${x.type} ${x.dst}`), ['blackhole 198.51.100.2']);
    const ledger = fs.readFileSync(path.join(stateDir, 'ledger.jsonl'), 'utf8');
    assert.match(ledger, /"op":"block","ip":"198\.51\.100\.2"/);
    // A second run reconciles: the block is restored from the ledger, not added again.
    const again = srv.synwatch(['poll', '--once', '--threshold', '20', '--state-dir', stateDir, '--route-type', 'blackhole']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(decisions(again.stderr).map((d) => [d.action, d.detail?.includes('restored from ledger')]), [['block', true]]);
  });

  test('bad options are usage errors naming the option', () => {
    const r = srv.synwatch(['poll', '--once', '--threshold', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--threshold must be an integer >= 1, got "0"/);
  });
});
