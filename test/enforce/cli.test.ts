/**
 * `synwatch blocks` and `synwatch unblock` against a real kernel, inside a network namespace,
 * with a ledger in a temp state dir. A manually added route (no synwatch marker) must survive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureAddonBuilt, netnsUnavailable, TestNetns } from './netns';
import { readLedger } from '../../src/enforce/ledger';
import { SYNWATCH_RTM_PROTOCOL } from '../../src/enforce/routes';
import { CLI } from '../support/paths';

const skip = netnsUnavailable();

describe('blocks and unblock in a network namespace', { skip: skip ?? undefined }, () => {
  let ns: TestNetns;
  let stateDir: string;
  const ours = () => [...ns.routes(4, SYNWATCH_RTM_PROTOCOL), ...ns.routes(6, SYNWATCH_RTM_PROTOCOL)].map((r) => r.dst).sort();

  before(() => {
    ensureAddonBuilt();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-cli-'));
    ns = TestNetns.withVeth();
    ns.ip(['route', 'add', 'unreachable', '203.0.113.9']); // the operator's own route
    // Two blocks through the policy path (ledger + addon), one orphan route with our marker.
    const r = ns.nodeIn(`
      const d = process.env.SW_DIST;
      const { Ledger } = require(d + '/src/enforce/ledger.js');
      const { openRouteBackend } = require(d + '/src/enforce/netlink.js');
      const { BlockPolicy } = require(d + '/src/enforce/policy.js');
      const { Allowlist } = require(d + '/src/enforce/allowlist.js');
      const ledger = Ledger.open(JSON.parse(process.env.SW_ARGS));
      const backend = openRouteBackend({ prefer: 'netlink' });
      const now = Date.now() * 1000;
      const p = new BlockPolicy({ ttlSeconds: 600, maxActiveBlocks: 10, maxNewBlocksPerSecond: 10, routeType: 'unreachable',
        dryRun: false, allowlist: new Allowlist() }, backend, ledger, () => {});
      const ev = (ip) => ({ ip, family: ip.includes(':') ? 6 : 4, tsUs: now, reason: 'flood', halfOpen: 9, attempts: 9, completed: 0, incomplete: 9, distinctPorts: 1 });
      p.onFlag(ev('203.0.113.20'));
      p.onFlag(ev('2001:db8::20'));
      backend.add('198.51.100.66', 4, 'blackhole');
      ledger.close();
    `, stateDir);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    ns?.delete();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('the installed command (the bundle in dist/) finds and loads the netlink addon', () => {
    // The addon path is found from the package root; a wrong one would be EADDON, exit 1.
    const r = ns.exec(CLI, ['blocks', '--json', '--backend', 'netlink', '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 3);
  });

  test('blocks --json lists our routes joined with the ledger, never the foreign one', () => {
    const r = ns.synwatch(['blocks', '--json', '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((x) => [x.ip, x.type, x.state]), [
      ['198.51.100.66', 'blackhole', 'orphan'],
      ['203.0.113.20', 'unreachable', 'active'],
      ['2001:db8::20', 'unreachable', 'active'],
    ]);
    assert.match(String(rows[1].expires), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(rows[0].since, null);
  });

  test('blocks prints a table', () => {
    const r = ns.synwatch(['blocks', '--state-dir', stateDir, '--backend', 'iproute']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^IP\s+TYPE\s+SINCE\s+EXPIRES\s+STATE$/);
    assert.equal(lines.length, 4);
    assert.match(lines[2], /^203\.0\.113\.20\s+unreachable\s+\S+Z\s+\S+Z\s+active$/);
    assert.ok(!r.stdout.includes('203.0.113.9'));
  });

  test('unblock of a route synwatch did not add changes nothing and exits 1', () => {
    const r = ns.synwatch(['unblock', '203.0.113.9', '--state-dir', stateDir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^synwatch: unblock: 203\.0\.113\.9 is not blocked by synwatch/);
    assert.ok(ns.routes(4).some((x) => x.dst === '203.0.113.9' && x.type === 'unreachable'));
  });

  test('unblock IP removes the route and records it in the ledger', () => {
    const r = ns.synwatch(['unblock', '::ffff:203.0.113.20', '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'unblocked 203.0.113.20 (unreachable)\n');
    assert.deepEqual(ours(), ['198.51.100.66', '2001:db8::20']);
    assert.deepEqual(readLedger(stateDir).blocks.map((b) => b.ip), ['2001:db8::20']);
    const last = fs.readFileSync(path.join(stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').at(-1)!;
    assert.deepEqual([JSON.parse(last).op, JSON.parse(last).reason], ['unblock', 'operator']);
  });

  test('usage errors exit 2 with one line', () => {
    for (const args of [['unblock', '--state-dir', stateDir], ['unblock', 'nope', '--state-dir', stateDir], ['unblock', '203.0.113.20', '--all']]) {
      const r = ns.synwatch(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  test('unblock --all removes every synwatch route (orphans too) and leaves the foreign one', () => {
    const r = ns.synwatch(['unblock', '--all', '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'unblocked 198.51.100.66 (blackhole, was orphan)\nunblocked 2001:db8::20 (unreachable)\n');
    assert.deepEqual(ours(), []);
    assert.deepEqual(readLedger(stateDir).blocks, []);
    assert.ok(ns.routes(4).some((x) => x.dst === '203.0.113.9'));
  });
});
