/**
 * Real-kernel tests of the nftables backend (and of route+nftables at once), inside a fresh
 * network namespace, checked against `nft -j list` there. The namespace (and with it every
 * table and route in it) is deleted in after() whatever happens. Skipped only when not root
 * or when the addon was not built because libnftables-dev is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { netnsUnavailable, REPO_ROOT, TestNetns } from './netns';

const ADDON = path.join(REPO_ROOT, 'native/build/Release/synwatch_nftables.node');
const skip = netnsUnavailable() ?? (fs.existsSync(ADDON) ? null : 'synwatch_nftables addon not built (libnftables-dev missing)');

interface OpResult { ok: boolean; code?: string; message?: string; value?: unknown }
type Op = { op: 'open' | 'prepare' | 'list' | 'heal' } | { op: 'add' | 'renew' | 'del'; ip: string; family: 4 | 6; keepUs?: number };

/** Runs ops on one backend in one process (the spec picks it), as live does. */
const OPS_SCRIPT = `
const { openBlockBackend, parseBackendSpec } = require(process.env.SW_DIST + '/src/enforce/backends.js');
const { spec, ops, addonPath } = JSON.parse(process.env.SW_ARGS);
let b = null;
const out = ops.map((o) => {
  try {
    if (o.op === 'open') { b = openBlockBackend(parseBackendSpec(spec), { nftablesAddonPath: addonPath, warn: () => {} }); return { ok: true, value: b.name }; }
    if (o.op === 'prepare') return { ok: true, value: b.prepare() };
    if (o.op === 'list') return { ok: true, value: b.list() };
    if (o.op === 'heal') return { ok: true, value: b.heal(() => [{ ip: '203.0.113.30', family: 4, type: 'unreachable', keepUs: 60e6 }]) };
    b[o.op](o.ip, o.family, 'unreachable', o.keepUs);
    return { ok: true };
  } catch (e) {
    return { ok: false, code: e.code, message: e.message };
  }
});
process.stdout.write(JSON.stringify(out));
`;

describe('nftables backend in a network namespace', { skip: skip ?? undefined, concurrency: false }, () => {
  let ns: TestNetns;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-nft-state-'));

  const ops = (spec: string, list: Op[], addonPath?: string): OpResult[] => {
    const r = ns.nodeIn(OPS_SCRIPT, { spec, ops: list, addonPath });
    assert.equal(r.status, 0, `script failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as OpResult[];
  };
  const nft = (args: string[]) => ns.exec('nft', args);
  /** Our set's elements: address -> timeout (s). */
  const elements = (family: 4 | 6): Map<string, number> => {
    const r = nft(['-j', 'list', 'set', 'inet', 'synwatch', family === 4 ? 'blocked4' : 'blocked6']);
    const m = new Map<string, number>();
    if (r.status !== 0) return m;
    for (const item of JSON.parse(r.stdout).nftables) {
      for (const e of item.set?.elem ?? []) m.set(typeof e === 'string' ? e : e.elem.val, typeof e === 'string' ? 0 : e.elem.timeout);
    }
    return m;
  };
  const foreignIntact = () => {
    const r = nft(['list', 'table', 'inet', 'foreign']);
    assert.equal(r.status, 0, `foreign table gone: ${r.stderr}`);
    assert.match(r.stdout, /198\.51\.100\.77/, 'foreign element gone');
    assert.equal(nft(['list', 'table', 'ip', 'synwatch']).status, 0, 'table ip synwatch (same name, other family) gone');
  };

  const addForeignTables = () => {
    const r = ns.exec('nft', ['-f', '-'], { input: [
      'table inet foreign {', '  set s { type ipv4_addr; elements = { 198.51.100.77 }; }',
      '  chain c { type filter hook prerouting priority 0; policy accept; }', '}',
      'table ip synwatch {', '  chain c { type filter hook input priority 0; policy accept; }', '}', ''].join('\n') });
    assert.equal(r.status, 0, r.stderr);
  };

  before(() => {
    ns = TestNetns.withVeth();
    // Someone else's tables: must survive every operation.
    addForeignTables();
    foreignIntact();
  });
  after(() => {
    ns?.delete();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('prepare creates table inet synwatch, marked, with a drop chain at prerouting priority raw; twice is the same', () => {
    const res = ops('nftables', [{ op: 'open' }, { op: 'prepare' }, { op: 'prepare' }]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true], JSON.stringify(res));
    assert.equal(res[0].value, 'nftables');
    const t = nft(['list', 'table', 'inet', 'synwatch']).stdout;
    assert.match(t, /comment "synwatch: /);
    assert.match(t, /type filter hook prerouting priority raw; policy accept;/);
    assert.match(t, /ip saddr @blocked4 counter packets \d+ bytes \d+ drop/);
    assert.match(t, /ip6 saddr @blocked6 counter packets \d+ bytes \d+ drop/);
    assert.equal(t.match(/ drop/g)?.length, 2, 'rules not duplicated by a second prepare');
    foreignIntact();
  });

  test('add puts IPv4 and IPv6 elements in with the block lifetime as kernel timeout; list shows them as drop', () => {
    const res = ops('nftables', [{ op: 'open' }, { op: 'add', ip: '203.0.113.10', family: 4, keepUs: 600e6 },
      { op: 'add', ip: '2001:db8::10', family: 6, keepUs: 90e6 }, { op: 'list' }]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true, true], JSON.stringify(res));
    assert.equal(elements(4).get('203.0.113.10'), 600);
    assert.equal(elements(6).get('2001:db8::10'), 90);
    assert.deepEqual(res[3].value, [{ ip: '203.0.113.10', family: 4, type: 'drop' }, { ip: '2001:db8::10', family: 6, type: 'drop' }]);
    foreignIntact();
  });

  test('renew pushes the kernel timeout out (and in), atomically replacing the element', () => {
    const res = ops('nftables', [{ op: 'open' }, { op: 'renew', ip: '203.0.113.10', family: 4, keepUs: 1200e6 }]);
    assert.ok(res[1].ok, JSON.stringify(res));
    assert.equal(elements(4).get('203.0.113.10'), 1200);
    ops('nftables', [{ op: 'open' }, { op: 'renew', ip: '203.0.113.10', family: 4, keepUs: 300e6 }]);
    assert.equal(elements(4).get('203.0.113.10'), 300);
  });

  test('the kernel expires an element by itself once its timeout passes (synwatch gone)', async () => {
    ops('nftables', [{ op: 'open' }, { op: 'add', ip: '203.0.113.11', family: 4, keepUs: 1000e3 }]);
    assert.ok(elements(4).has('203.0.113.11'));
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!elements(4).has('203.0.113.11'), 'element still there after its 1 s timeout');
  });

  test('del removes an element; deleting a missing one is success; bad addresses are EINVAL before nft sees them', () => {
    const res = ops('nftables', [{ op: 'open' }, { op: 'del', ip: '2001:db8::10', family: 6 }, { op: 'del', ip: '2001:db8::10', family: 6 },
      { op: 'add', ip: '203.0.113.1; flush ruleset', family: 4, keepUs: 1e6 }, { op: 'add', ip: '2001:db8::1', family: 4, keepUs: 1e6 }]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true, false, false], JSON.stringify(res));
    assert.deepEqual([res[3].code, res[4].code], ['EINVAL', 'EINVAL']);
    assert.ok(!elements(6).has('2001:db8::10'));
    assert.ok(elements(4).has('203.0.113.10'), 'the other element stays');
    foreignIntact();
  });

  test('after `nft flush ruleset` an add re-creates the table, and heal re-installs the live blocks', () => {
    nft(['flush', 'ruleset']);
    assert.notEqual(nft(['list', 'table', 'inet', 'synwatch']).status, 0);
    const res = ops('nftables', [{ op: 'open' }, { op: 'heal' }, { op: 'heal' }, { op: 'add', ip: '203.0.113.31', family: 4, keepUs: 60e6 }]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true, true], JSON.stringify(res));
    assert.deepEqual([res[1].value, res[2].value], [1, null], 'heal re-installs once, then finds nothing missing');
    assert.deepEqual([...elements(4).keys()].sort(), ['203.0.113.30', '203.0.113.31']);
    nft(['flush', 'ruleset']);
    const again = ops('nftables', [{ op: 'open' }, { op: 'add', ip: '203.0.113.32', family: 4, keepUs: 60e6 }]);
    assert.ok(again[1].ok, JSON.stringify(again));
    assert.deepEqual([...elements(4).keys()], ['203.0.113.32']);
    assert.match(nft(['list', 'table', 'inet', 'synwatch']).stdout, /ip saddr @blocked4 counter/);
    // Our flushes removed the foreign tables too (that was the test's doing): put them back.
    addForeignTables();
  });

  test('route,nftables: one add gives a route with protocol 181 and an element; del removes both', () => {
    const res = ops('route,nftables', [{ op: 'open' }, { op: 'prepare' }, { op: 'add', ip: '203.0.113.40', family: 4, keepUs: 60e6 }, { op: 'list' }]);
    assert.deepEqual(res.map((r) => r.ok), [true, true, true, true], JSON.stringify(res));
    assert.equal(res[0].value, 'netlink+nftables');
    assert.ok(ns.routes(4, 181).some((r) => r.dst === '203.0.113.40' && r.type === 'unreachable'));
    assert.ok(elements(4).has('203.0.113.40'));
    assert.ok((res[3].value as Array<{ ip: string; type: string }>).some((e) => e.ip === '203.0.113.40' && e.type === 'unreachable'));
    const del = ops('route,nftables', [{ op: 'open' }, { op: 'del', ip: '203.0.113.40', family: 4 }]);
    assert.ok(del[1].ok, JSON.stringify(del));
    assert.ok(!ns.routes(4, 181).some((r) => r.dst === '203.0.113.40'));
    assert.ok(!elements(4).has('203.0.113.40'));
  });

  test('synwatch blocks / unblock --backend nftables list and remove only our elements', () => {
    ops('nftables', [{ op: 'open' }, { op: 'add', ip: '2001:db8::33', family: 6, keepUs: 60e6 }]);
    const b = ns.synwatch(['blocks', '--backend', 'nftables', '--state-dir', stateDir, '--json']);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout).map((r: { ip: string; type: string; state: string }) => `${r.ip} ${r.type} ${r.state}`),
      ['203.0.113.32 drop orphan', '2001:db8::33 drop orphan']);
    const u = ns.synwatch(['unblock', '203.0.113.32', '--backend', 'nftables', '--state-dir', stateDir]);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(u.stdout, 'unblocked 203.0.113.32 (drop, was orphan)\n');
    assert.deepEqual([...elements(6).keys()], ['2001:db8::33']);
    const all = ns.synwatch(['unblock', '--all', '--backend', 'nftables', '--state-dir', stateDir]);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(all.stdout, 'unblocked 2001:db8::33 (drop, was orphan)\n');
    assert.deepEqual([...elements(4).keys(), ...elements(6).keys()], []);
    foreignIntact();
  });

  test('blocks / unblock without --backend find our routes and, when our table is there, our elements; someone else\'s table is left out', () => {
    for (const r of ops('route,nftables', [{ op: 'open' }, { op: 'prepare' }, { op: 'add', ip: '203.0.113.41', family: 4, keepUs: 60e6 }])) assert.ok(r.ok, JSON.stringify(r));
    for (const r of ops('nftables', [{ op: 'open' }, { op: 'add', ip: '203.0.113.42', family: 4, keepUs: 60e6 }])) assert.ok(r.ok, JSON.stringify(r));
    const b = ns.synwatch(['blocks', '--state-dir', stateDir, '--json']);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout).map((r: { ip: string; type: string }) => `${r.ip} ${r.type}`),
      ['203.0.113.41 unreachable', '203.0.113.42 drop']);
    const all = ns.synwatch(['unblock', '--all', '--state-dir', stateDir]);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(all.stdout, 'unblocked 203.0.113.41 (unreachable, was orphan)\nunblocked 203.0.113.42 (drop, was orphan)\n');
    assert.deepEqual([...elements(4).keys()], []);
    assert.ok(!ns.routes(4, 181).some((r) => r.dst === '203.0.113.41'), 'the route went too');

    // A table inet synwatch of someone else's holds none of our blocks: routes only, table untouched.
    nft(['delete', 'table', 'inet', 'synwatch']);
    nft(['add', 'table', 'inet', 'synwatch', '{ comment "my own rules"; }']);
    for (const r of ops('route', [{ op: 'open' }, { op: 'add', ip: '203.0.113.43', family: 4 }])) assert.ok(r.ok, JSON.stringify(r));
    const routesOnly = ns.synwatch(['unblock', '--all', '--state-dir', stateDir]);
    assert.equal(routesOnly.status, 0, routesOnly.stderr);
    assert.equal(routesOnly.stdout, 'unblocked 203.0.113.43 (unreachable, was orphan)\n');
    assert.match(nft(['list', 'table', 'inet', 'synwatch']).stdout, /comment "my own rules"/);
    nft(['delete', 'table', 'inet', 'synwatch']);
    foreignIntact();
  });

  test('errors are one line: unknown backend (exit 2), a table inet synwatch we did not make, libnftables addon missing (exit 1)', () => {
    const unknown = ns.synwatch(['blocks', '--backend', 'iptables', '--state-dir', stateDir]);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, 'synwatch: --backend must be route, nftables or route,nftables (route may be spelt auto, netlink or iproute), got "iptables"\n');

    nft(['delete', 'table', 'inet', 'synwatch']);
    nft(['add', 'table', 'inet', 'synwatch', '{ comment "my own rules"; }']);
    const conflict = ns.synwatch(['blocks', '--backend', 'nftables', '--state-dir', stateDir]);
    assert.equal(conflict.status, 1);
    assert.equal(conflict.stderr.trim().split('\n').length, 1, conflict.stderr);
    assert.match(conflict.stderr, /^synwatch: nftables table inet synwatch exists and was not made by synwatch \(it has the comment "my own rules"\)/);
    const res = ops('nftables', [{ op: 'open' }]);
    assert.equal(res[0].code, 'ECONFLICT');
    assert.match(nft(['list', 'table', 'inet', 'synwatch']).stdout, /comment "my own rules"/, 'the conflicting table is left alone');
    nft(['delete', 'table', 'inet', 'synwatch']);

    // Without CAP_NET_ADMIN: one line of ours, not libnftables' own "(you must be root)" on stderr too.
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].some((f) => fs.existsSync(f));
    const noCap = !setpriv ? null : ns.exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
      process.execPath, path.join(REPO_ROOT, 'dist/synwatch.js'), 'blocks', '--backend', 'nftables', '--state-dir', '/nonexistent']);
    if (setpriv) {
      assert.equal(noCap!.status, 1);
      assert.equal(noCap!.stderr, 'synwatch: the nftables backend needs CAP_NET_ADMIN, which this process does not have: run it as root\n');
    }

    const missing = ops('nftables', [{ op: 'open' }], '/nonexistent/synwatch_nftables.node');
    assert.equal(missing[0].code, 'EADDON');
    assert.match(missing[0].message ?? '', /^the nftables backend needs \/nonexistent\/synwatch_nftables\.node, built only where libnftables is installed \(Debian: apt-get install libnftables-dev/);
    assert.ok(!(missing[0].message ?? '').includes('\n'));
    foreignIntact();
  });
});
