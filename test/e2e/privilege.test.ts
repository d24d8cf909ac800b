/**
 * Least privilege, end to end (issue #15): `synwatch live --user nobody` in the namespace lab
 * parses packets as uid 65534 with no effective capability in any thread, and still blocks an
 * hping3 flood, expires the block, reloads its config (read as the new user), lets a root shell's
 * `unblock --all` work while it runs and removes its blocks on exit. Plus the kernel fact the
 * design rests on, measured in a namespace of its own: a route change through the rtnetlink
 * socket opened as root fails once the sender holds no CAP_NET_ADMIN, and works with it raised.
 *
 * The enforcement part runs once per backend in BACKENDS: each says how to start live for it and
 * how to see a block in the kernel (a route; an element of synwatch's nftables set).
 * Floods are bounded (hping3 -c, `timeout`); labs and namespaces are removed in after/finally.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, LabProcess, labUnavailableReason, pollUntil, SYNWATCH_MAIN } from './lab';
import { decisions, decisionSummary, liveUnavailableReason, nftElements, synwatchRoutes, waitForNoRoute, waitForRoute } from './synwatch';
import { netnsUnavailable, TestNetns } from '../enforce/netns';
import { DEFAULT_RUN_USER, parseStatus } from '../../src/live/privilege';
import { spawnSync } from 'node:child_process';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;
const ROUTE_ADDON = path.resolve(__dirname, '../../../native/build/Release/synwatch_route.node');
const USER = 'nobody';
const THRESHOLD = 20;
const ROUTE_WAIT_MS = 5_000;
const CAP_NET_ADMIN = 1n << 12n;

interface BlockBackend {
  name: string;
  /** Extra `live` arguments selecting the backend. */
  extra: string[];
  /** Resolves once the kernel blocks `ip` through this backend. */
  waitForBlock(lab: Lab, ip: string): Promise<unknown>;
  /** Resolves once the kernel no longer blocks `ip`. */
  waitForNoBlock(lab: Lab, ip: string, timeoutMs: number): Promise<unknown>;
  /** What of this backend's is left in the kernel (must be empty after unblock --all). */
  leftovers(lab: Lab): Promise<string[]>;
}

const BACKENDS: BlockBackend[] = [
  {
    name: 'route',
    extra: ['--backend', 'netlink'],
    waitForBlock: (lab, ip) => waitForRoute(lab, ip, ROUTE_WAIT_MS),
    waitForNoBlock: (lab, ip, timeoutMs) => waitForNoRoute(lab, ip, timeoutMs),
    leftovers: async (lab) => (await synwatchRoutes(lab)).map((r) => r.dst),
  },
  {
    name: 'nftables',
    extra: ['--backend', 'nftables'],
    waitForBlock: (lab, ip) => pollUntil(async () => (await nftElements(lab)).includes(ip), ROUTE_WAIT_MS, `${ip} in the nftables set`, 50),
    waitForNoBlock: (lab, ip, timeoutMs) => pollUntil(async () => !(await nftElements(lab)).includes(ip), timeoutMs, `${ip} out of the nftables set`, 50),
    leftovers: (lab) => nftElements(lab),
  },
];

/** The kernel's view of every thread of `pid`. */
function threadsOf(pid: number): ReturnType<typeof parseStatus>[] {
  return fs.readdirSync(`/proc/${pid}/task`).map(Number).map((tid) => parseStatus(tid, fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')));
}

describe('the kernel checks the sender of a netlink route change, not only the socket opener', { skip: netnsUnavailable() ?? (fs.existsSync(ROUTE_ADDON) ? false : 'route addon not built') }, () => {
  it('after a full drop a route add through the root-opened socket is EPERM; with CAP_NET_ADMIN raised it works', () => {
    const ns = TestNetns.create('priv');
    try {
      const r = ns.nodeIn(`
        const a = require(${JSON.stringify(ROUTE_ADDON)});
        const t = a.types.unreachable, out = {};
        const attempt = (k) => { try { a.add(4, '203.0.113.9', t); a.del(4, '203.0.113.9', t); out[k] = 'ok'; } catch (e) { out[k] = e.code; } };
        a.open();
        attempt('root');
        a.dropTo(${JSON.stringify(USER)}, true);
        attempt('droppedLowered');
        a.setEffective(true); attempt('droppedRaised'); a.setEffective(false);
        attempt('loweredAgain');
        process.stdout.write(JSON.stringify(out));`);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { root: 'ok', droppedLowered: 'EPERM', droppedRaised: 'ok', loweredAgain: 'EPERM' });
    } finally {
      ns.delete();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`live --user ${USER}, ${backend.name} backend`, { skip, concurrency: false }, () => {
    let lab: Lab;
    let live: LabProcess;
    let stateDir: string;
    let config: string;
    const writeConfig = (c: Record<string, unknown>) => fs.writeFileSync(config, JSON.stringify({ stateDir, ...c }), { mode: 0o644 });

    before(async () => {
      lab = await Lab.create({ attackers4: 4, attackers6: 0 });
      // The config is re-read after the drop: the user must be able to reach it.
      fs.chmodSync(lab.dir, 0o711);
      stateDir = path.join(lab.dir, 'state');
      config = path.join(lab.dir, 'synwatch.json');
      // The state directory comes from the config (a --state-dir would override it), so a
      // reload can try to change it.
      writeConfig({ blockTtl: 3 });
      live = await lab.synwatch(['live', '-i', lab.serverIface, '--threshold', String(THRESHOLD), '--user', USER,
        '--config', config, '--unblock-on-exit', ...backend.extra], { timeoutMs: 20_000, label: 'synwatch live' });
    });

    after(async () => {
      await live?.stop();
      await lab?.destroy();
    });

    it('runs as the user, with no effective, inheritable or ambient capability in any thread', () => {
      assert.equal(fs.readFileSync(`/proc/${live.pid}/comm`, 'utf8').trim(), 'node', 'the PID is synwatch itself');
      const line = live.json.find((o) => o.msg === 'dropped privileges');
      assert.ok(line, 'a "dropped privileges" line');
      assert.equal(line.user, USER);
      const main = parseStatus(live.pid, fs.readFileSync(`/proc/${live.pid}/status`, 'utf8'));
      assert.notEqual(main.uid[0], 0);
      assert.deepEqual(main.uid, [65534, 65534, 65534, 65534]);
      assert.equal(main.capEff, 0n, 'CapEff: 0000000000000000');
      const threads = threadsOf(live.pid);
      assert.ok(threads.length > 1, `node runs several threads (${threads.length})`);
      // The libuv pool is started before the drop: no thread is born later, as a copy of the main one.
      assert.equal(threads.length, line.threads, 'the threads now are the threads checked at the drop');
      for (const t of threads) {
        assert.deepEqual(t.uid, [65534, 65534, 65534, 65534], `thread ${t.tid} uid`);
        assert.deepEqual(t.gid, [65534, 65534, 65534, 65534], `thread ${t.tid} gid`);
        assert.equal(t.capEff, 0n, `thread ${t.tid} CapEff`);
        assert.equal(t.capInh, 0n, `thread ${t.tid} CapInh`);
        assert.equal(t.capAmb, 0n, `thread ${t.tid} CapAmb`);
        // CAP_NET_ADMIN stays permitted (never effective at rest) in the main thread only.
        assert.equal(t.capPrm, t.tid === live.pid ? CAP_NET_ADMIN : 0n, `thread ${t.tid} CapPrm`);
      }
      assert.match(fs.readFileSync(`/proc/${live.pid}/status`, 'utf8'), /^NoNewPrivs:\s+1$/m);
    });

    it('blocks an hping3 flood after the drop, and the TTL removes the block', async () => {
      const attacker = lab.addr.attacker4[0];
      const flood = lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
      await backend.waitForBlock(lab, attacker);
      await flood;
      assert.ok(decisions(live, 'block', attacker).length >= 1, decisionSummary(live));
      // blockTtl 3 s from the config: gone without anyone's help, as the dropped process.
      await backend.waitForNoBlock(lab, attacker, 10_000);
      const unblock = await live.waitForJson((o) => o.msg === 'decision' && o.action === 'unblock' && o.ip === attacker, 2000, 'the TTL unblock');
      assert.match(String(unblock.reason), /ttl/);
      const ledger = fs.readFileSync(path.join(stateDir, 'ledger.jsonl'), 'utf8');
      assert.match(ledger, new RegExp(`"op":"unblock","ip":"${attacker.replace(/\./g, '\\.')}"`), 'the ledger, opened before the drop, still records');
    });

    it('SIGHUP re-reads the config as the user; a new stateDir or an unreadable file is refused and nothing changes', async () => {
      const reloads = () => live.json.filter((o) => o.msg === 'reloaded').length;
      const failures = () => live.json.filter((o) => /^reload failed/.test(String(o.msg))).length;
      writeConfig({ blockTtl: 120 });
      live.signal('SIGHUP');
      const ok = await live.waitForJson((o) => o.msg === 'reloaded', 5000, 'the reload');
      assert.equal(ok.blockTtl, 120);

      writeConfig({ blockTtl: 120, stateDir: path.join(lab.dir, 'elsewhere') });
      live.signal('SIGHUP');
      await pollUntil(async () => failures() >= 1, 5000, 'the refused reload');
      assert.match(live.lines.filter((l) => l.includes('reload failed')).join('\n'), /stateDir needs a restart/);

      // Root could read a 0600 file; the dropped process cannot, which shows who reads it.
      writeConfig({ blockTtl: 60 });
      fs.chmodSync(config, 0o600);
      live.signal('SIGHUP');
      await pollUntil(async () => failures() >= 2, 5000, 'the unreadable reload');
      assert.match(live.lines.filter((l) => l.includes('reload failed')).pop() ?? '', /EACCES/);
      fs.chmodSync(config, 0o644);
      writeConfig({ blockTtl: 120 });
      assert.equal(reloads(), 1, 'only the first reload applied');
      assert.ok(live.running, 'still running after refused reloads');
    });

    it('`synwatch unblock --all` from a root shell removes a block while live runs', async () => {
      const attacker = lab.addr.attacker4[1];
      await lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
      await backend.waitForBlock(lab, attacker);
      // No --backend: unblock finds synwatch's routes and, when its table is there, its nftables set.
      const r = await lab.synwatchOnce(['unblock', '--all', '--state-dir', stateDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`unblocked ${attacker.replace(/\./g, '\\.')}`));
      assert.deepEqual(await backend.leftovers(lab), []);
      assert.ok(live.running);
    });

    it('--unblock-on-exit: SIGTERM after the drop exits 0 and removes the blocks', async () => {
      const attacker = lab.addr.attacker4[2];
      await lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
      await backend.waitForBlock(lab, attacker);
      const r = await live.stop(5000);
      assert.equal(r.code, 0, `exit ${r.code}; stderr tail: ${live.stderr.slice(-1500)}`);
      assert.deepEqual(await backend.leftovers(lab), []);
      assert.ok(decisions(live, 'unblock', attacker).some((d) => d.reason === 'shutdown'), decisionSummary(live));
    });
  });
}

describe('live refuses what it could not do after the drop, in one line', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ attackers4: 1, attackers6: 0, httpServer: false });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('without --user: the synwatch user when it exists, else root with a warning line once set up', async () => {
    const hasDefault = spawnSync('getent', ['passwd', DEFAULT_RUN_USER]).status === 0;
    const live = await lab.synwatch(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's0'), '--dry-run'],
      { timeoutMs: 20_000, label: 'synwatch live (default user)' });
    try {
      const uid = parseStatus(live.pid, fs.readFileSync(`/proc/${live.pid}/status`, 'utf8')).uid[0];
      const warning = live.json.find((o) => o.level === 40 && /running as root after set-up/.test(String(o.msg)));
      if (hasDefault) {
        assert.notEqual(uid, 0);
        assert.equal(warning, undefined);
      } else {
        assert.equal(uid, 0, 'no drop without the default user');
        assert.ok(warning, `a warning says so: ${live.stderr.slice(0, 1000)}`);
        assert.match(String(warning.msg), /user synwatch does not exist/);
      }
    } finally {
      await live.stop();
    }
  });

  it('--dry-run --user keeps no capability at all, in any thread (no route will be changed)', async () => {
    const live = await lab.synwatch(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's5'), '--dry-run', '--user', USER],
      { timeoutMs: 20_000, label: 'synwatch live --dry-run' });
    try {
      for (const t of threadsOf(live.pid)) {
        assert.deepEqual(t.uid, [65534, 65534, 65534, 65534], `thread ${t.tid} uid`);
        assert.deepEqual([t.capInh, t.capPrm, t.capEff, t.capAmb], [0n, 0n, 0n, 0n], `thread ${t.tid} capabilities`);
      }
    } finally {
      await live.stop();
    }
  });

  it('a --user when not started as root (a user with ambient capabilities cannot drop them in every thread)',
    { skip: spawnSync('setpriv', ['--version']).status === 0 ? false : 'setpriv not installed' }, async () => {
      const caps = '+net_raw,+net_admin';
      const r = await lab.exec('server', 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`,
        process.execPath, SYNWATCH_MAIN, 'live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's4'), '--user', USER], { allowFail: true });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /--user nobody: synwatch runs as uid 65534, and drops to a user only when started as root/);
    });

  it('a --user that does not exist', async () => {
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's1'), '--user', 'sw-no-such-user']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--user sw-no-such-user: no such user/);
    assert.ok(!fs.existsSync(path.join(lab.dir, 's1')), 'nothing was set up');
  });

  it('the ip route backend with a --user (ip(8) would run without the capability)', async () => {
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's2'), '--user', USER, '--backend', 'iproute']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /ip route backend cannot change routes after the drop/);
  });

  it('--write-max-mib into a directory the user cannot write', async () => {
    const dir = path.join(lab.dir, 'w');
    fs.mkdirSync(dir, { mode: 0o700 });
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--state-dir', path.join(lab.dir, 's3'), '--user', USER,
      '--write', path.join(dir, 'cap.pcap'), '--write-max-mib', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /user nobody cannot create files in .* so --write-max-mib could not rotate/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
