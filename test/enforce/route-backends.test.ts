/**
 * Real-kernel tests of both route backends (netlink addon, `ip route` fallback), each inside a
 * fresh network namespace; checked against `ip -j route show ... proto 181`. The namespace is
 * deleted in after() whatever happens. Needs root; builds the addon if it is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIST, ensureAddonBuilt, netnsUnavailable, TestNetns } from './netns';
import { SYNWATCH_RTM_PROTOCOL } from '../../src/enforce/routes';

const skip = netnsUnavailable();


interface OpResult {
  ok: boolean;
  code?: string;
  errno?: number;
  name?: string;
  message?: string;
  routes?: Array<{ ip: string; family: number; type: string }>;
}

type Op =
  | { op: 'add' | 'del'; ip: string; family: 4 | 6; type: string }
  | { op: 'list' };

const OPS_SCRIPT = `
const { loadNetlinkBackend } = require(process.env.SW_DIST + '/src/enforce/netlink.js');
const { IpRouteBackend } = require(process.env.SW_DIST + '/src/enforce/iproute.js');
const { backend: which, ops } = JSON.parse(process.env.SW_ARGS);
const b = which === 'netlink' ? loadNetlinkBackend() : new IpRouteBackend();
const out = ops.map((o) => {
  try {
    if (o.op === 'list') return { ok: true, routes: b.list() };
    b[o.op](o.ip, o.family, o.type);
    return { ok: true };
  } catch (e) {
    return { ok: false, code: e.code, errno: e.errno, name: e.name, message: e.message };
  }
});
process.stdout.write(JSON.stringify(out));
`;

for (const backend of ['netlink', 'iproute'] as const) {
  describe(`${backend} backend in a network namespace`, { skip: skip ?? undefined }, () => {
    let ns: TestNetns;

    const ops = (list: Op[], extraArgs: string[] = []): OpResult[] => {
      const r = ns.nodeIn(OPS_SCRIPT, { backend, ops: list }, extraArgs);
      assert.equal(r.status, 0, `script failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as OpResult[];
    };
    const ours = (family: 4 | 6) => ns.routes(family, SYNWATCH_RTM_PROTOCOL).map((r) => `${r.type} ${r.dst}`).sort();

    before(() => {
      if (backend === 'netlink') ensureAddonBuilt();
      ns = TestNetns.withVeth();
      // Routes synwatch did not add: same prefixes, default protocol (boot).
      ns.ip(['route', 'add', 'unreachable', '203.0.113.9']);
      ns.ip(['-6', 'route', 'add', 'unreachable', '2001:db8::9']);
    });
    after(() => ns?.delete());

    // Sorted as list() sorts: IPv4 first, then numerically.
    const INSTALLED = [
      { ip: '203.0.113.10', family: 4, type: 'unreachable' },
      { ip: '203.0.113.11', family: 4, type: 'prohibit' },
      { ip: '203.0.113.12', family: 4, type: 'blackhole' },
      { ip: '2001:db8::5', family: 6, type: 'unreachable' },
      { ip: '2001:db8::6', family: 6, type: 'blackhole' },
      { ip: '2001:db8::7', family: 6, type: 'prohibit' },
    ] as const;

    test('add installs marked host routes of each type, IPv4 and IPv6', () => {
      const res = ops(INSTALLED.map((r) => ({ op: 'add' as const, ...r })));
      assert.deepEqual(res.map((r) => r.ok), INSTALLED.map(() => true), JSON.stringify(res));
      assert.deepEqual(ours(4), ['blackhole 203.0.113.12', 'prohibit 203.0.113.11', 'unreachable 203.0.113.10']);
      assert.deepEqual(ours(6), ['blackhole 2001:db8::6', 'prohibit 2001:db8::7', 'unreachable 2001:db8::5']);
    });

    test('adding an existing route (EEXIST) is success and changes nothing', () => {
      const res = ops([
        { op: 'add', ip: '203.0.113.10', family: 4, type: 'unreachable' },
        { op: 'add', ip: '2001:db8::5', family: 6, type: 'unreachable' },
      ]);
      assert.deepEqual(res, [{ ok: true }, { ok: true }]);
      assert.equal(ours(4).length, 3);
    });

    test('list returns only routes with synwatch\'s marker, canonical and sorted', () => {
      const [res] = ops([{ op: 'list' }]);
      assert.deepEqual(res.routes, INSTALLED);
    });

    test('delete removes ours; deleting a missing route (ESRCH) is success', () => {
      const res = ops([
        { op: 'del', ip: '203.0.113.10', family: 4, type: 'unreachable' },
        { op: 'del', ip: '203.0.113.10', family: 4, type: 'unreachable' },
        { op: 'del', ip: '2001:db8::5', family: 6, type: 'unreachable' },
        { op: 'del', ip: '2001:db8::5', family: 6, type: 'unreachable' },
        { op: 'del', ip: '203.0.113.200', family: 4, type: 'blackhole' },
      ]);
      assert.ok(res.every((r) => r.ok), JSON.stringify(res));
      assert.deepEqual(ours(4), ['blackhole 203.0.113.12', 'prohibit 203.0.113.11']);
      assert.deepEqual(ours(6), ['blackhole 2001:db8::6', 'prohibit 2001:db8::7']);
    });

    test('a route synwatch did not add is never deleted (the kernel matches the protocol)', () => {
      const res = ops([
        { op: 'del', ip: '203.0.113.9', family: 4, type: 'unreachable' },
        { op: 'del', ip: '2001:db8::9', family: 6, type: 'unreachable' },
      ]);
      assert.deepEqual(res, [{ ok: true }, { ok: true }]);
      assert.ok(ns.routes(4).some((r) => r.dst === '203.0.113.9' && r.type === 'unreachable'), 'foreign IPv4 route removed');
      assert.ok(ns.routes(6).some((r) => r.dst === '2001:db8::9' && r.type === 'unreachable'), 'foreign IPv6 route removed');
    });

    test('bad arguments throw EINVAL without reaching the kernel', () => {
      const res = ops([
        { op: 'add', ip: 'not-an-ip', family: 4, type: 'unreachable' },
        { op: 'add', ip: '::ffff:203.0.113.50', family: 6, type: 'unreachable' },
        { op: 'add', ip: '203.0.113.50', family: 6, type: 'unreachable' },
        { op: 'add', ip: '203.0.113.50', family: 4, type: 'throw' },
      ]);
      for (const r of res) {
        assert.equal(r.ok, false);
        assert.equal(r.code, 'EINVAL');
        assert.equal(r.errno, 22);
        assert.equal(r.name, 'RouteError');
      }
      assert.ok(!ours(4).some((r) => r.includes('203.0.113.50')));
    });

    test('without CAP_NET_ADMIN the kernel refuses: RouteError code EPERM, errno 1', () => {
      const r = ns.exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
        process.execPath, '-e', OPS_SCRIPT], {
        env: {
          ...process.env, SW_DIST: DIST,
          SW_ARGS: JSON.stringify({ backend, ops: [{ op: 'add', ip: '203.0.113.60', family: 4, type: 'unreachable' },
            { op: 'del', ip: '203.0.113.11', family: 4, type: 'prohibit' }] }),
        },
      });
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout) as OpResult[];
      for (const x of res) {
        assert.equal(x.ok, false);
        assert.equal(x.code, 'EPERM', x.message);
        assert.equal(x.errno, 1);
      }
      assert.ok(ours(4).includes('prohibit 203.0.113.11'));
    });
  });
}

describe('netlink addon latency', { skip: skip ?? undefined }, () => {
  let ns: TestNetns;
  before(() => {
    ensureAddonBuilt();
    ns = TestNetns.withVeth();
  });
  after(() => ns?.delete());

  test('add and delete each take well under 1 ms', (t) => {
    const r = ns.nodeIn(`
      const { loadNetlinkBackend } = require(process.env.SW_DIST + '/src/enforce/netlink.js');
      const b = loadNetlinkBackend();
      // Documentation addresses only: 250 IPv4 (192.0.2.0/24) and 1000 IPv6 (2001:db8:100::/112).
      const time = (ips, family) => {
        const t0 = process.hrtime.bigint();
        for (const ip of ips) b.add(ip, family, 'unreachable');
        const t1 = process.hrtime.bigint();
        const listed = b.list().length;
        const t2 = process.hrtime.bigint();
        for (const ip of ips) b.del(ip, family, 'unreachable');
        const t3 = process.hrtime.bigint();
        return { addUs: Number(t1 - t0) / ips.length / 1000, delUs: Number(t3 - t2) / ips.length / 1000,
          listMs: Number(t2 - t1) / 1e6, listed, left: b.list().length };
      };
      const v4 = [], v6 = [];
      for (let i = 1; i <= 250; i++) v4.push('192.0.2.' + i);
      for (let i = 1; i <= 1000; i++) v6.push('2001:db8:100::' + i.toString(16));
      process.stdout.write(JSON.stringify({ v4: time(v4, 4), v6: time(v6, 6) }));
    `);
    assert.equal(r.status, 0, r.stderr);
    type M = { addUs: number; delUs: number; listMs: number; listed: number; left: number };
    const m = JSON.parse(r.stdout) as { v4: M; v6: M };
    assert.equal(m.v4.listed, 250);
    assert.equal(m.v6.listed, 1000);
    for (const [fam, x] of Object.entries(m)) {
      assert.equal(x.left, 0);
      // The requirement (well under 1 ms) is asserted; the numbers themselves are a diagnostic.
      assert.ok(x.addUs < 1000, `${fam} add took ${x.addUs} µs`);
      assert.ok(x.delUs < 1000, `${fam} del took ${x.delUs} µs`);
      t.diagnostic(`netlink ${fam}: add ${x.addUs.toFixed(1)} µs, del ${x.delUs.toFixed(1)} µs, ` +
        `list of ${x.listed} ${x.listMs.toFixed(2)} ms`);
    }
  });
});
