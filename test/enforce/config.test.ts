/**
 * Config file validation, CLI-over-file merging, the shared commander flags, and the backend
 * loader's fallback (no namespace needed: nothing is installed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { addEnforceOptions, ConfigError, DEFAULT_CONFIG, loadConfigFile, mergeConfig, validateConfig } from '../../src/enforce/config';
import { openRouteBackend } from '../../src/enforce/netlink';
import { parseBackendSpec } from '../../src/enforce/backends';
import { RecordingBackend } from '../../src/enforce/recording';

test('defaults apply when neither file nor flags say otherwise', () => {
  assert.deepEqual(mergeConfig({}, {}), {
    allow: [], blockTtl: 600, maxActiveBlocks: 1000, maxNewBlocksPerSecond: 50, routeType: 'unreachable', backend: 'route',
    threshold: undefined, interval: undefined, stateDir: '/var/lib/synwatch', dryRun: false,
  });
  assert.equal(DEFAULT_CONFIG.routeType, 'unreachable');
});

test('flags override the file; allow lists concatenate with their origins', () => {
  const file = validateConfig({ allow: ['203.0.113.0/24'], blockTtl: 60, routeType: 'blackhole', threshold: 7, dryRun: true }, 'f.json');
  const cfg = mergeConfig(file, { allow: ['2001:db8::/32'], blockTtl: '30', maxActiveBlocks: '5', stateDir: '/tmp/x' });
  assert.deepEqual(cfg.allow, [{ cidr: '203.0.113.0/24', origin: 'config' }, { cidr: '2001:db8::/32', origin: '--allow' }]);
  assert.equal(cfg.blockTtl, 30);
  assert.equal(cfg.maxActiveBlocks, 5);
  assert.equal(cfg.routeType, 'blackhole');
  assert.equal(cfg.threshold, 7);
  assert.equal(cfg.stateDir, '/tmp/x');
  assert.equal(cfg.dryRun, true);
});

test('bad config values name the key and the value', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ blockTtl: -1 }, /f\.json: "blockTtl" must be a number > 0, got -1/],
    [{ maxActiveBlocks: 1.5 }, /"maxActiveBlocks" must be an integer >= 1, got 1\.5/],
    [{ routeType: 'reject' }, /"routeType" must be one of unreachable, prohibit, blackhole, got "reject"/],
    [{ allow: ['10.0.0.0/99'] }, /"allow" entry "10\.0\.0\.0\/99" is not a CIDR/],
    [{ blockTTL: 5 }, /unknown key "blockTTL"/],
    [[1, 2], /expected a JSON object/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => validateConfig(raw, 'f.json'), (e: unknown) => e instanceof ConfigError && re.test(e.message), String(re));
  }
});

test('bad flags name the flag', () => {
  assert.throws(() => mergeConfig({}, { blockTtl: 'soon' }), /--block-ttl must be a number > 0, got "soon"/);
  assert.throws(() => mergeConfig({}, { maxNewBlocksPerSecond: '0' }), /--max-new-blocks-per-second must be a number > 0/);
  assert.throws(() => mergeConfig({}, { routeType: 'drop' }), /--route-type must be one of/);
  assert.throws(() => mergeConfig({}, { allow: ['example.com'] }), /--allow "example\.com" is not/);
});

test('loadConfigFile: unreadable and invalid JSON files are ConfigErrors naming the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-config-'));
  try {
    const f = path.join(dir, 'c.json');
    assert.throws(() => loadConfigFile(f), new RegExp(`config file ${f}: cannot read \\(ENOENT\\)`));
    fs.writeFileSync(f, '{"blockTtl": 5,}');
    assert.throws(() => loadConfigFile(f), /invalid JSON/);
    fs.writeFileSync(f, JSON.stringify({ blockTtl: 5, maxNewBlocksPerSecond: 0.5 }));
    assert.deepEqual(loadConfigFile(f), { blockTtl: 5, maxNewBlocksPerSecond: 0.5 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('addEnforceOptions: repeatable --allow, no commander defaults that would mask the file', () => {
  const cmd = addEnforceOptions(new Command('x').exitOverride());
  cmd.parse(['--allow', '203.0.113.1', '--allow', '2001:db8::/32', '--block-ttl', '9', '--dry-run'], { from: 'user' });
  const opts = cmd.opts();
  assert.deepEqual(opts.allow, ['203.0.113.1', '2001:db8::/32']);
  assert.equal(opts.blockTtl, '9');
  assert.equal(opts.dryRun, true);
  assert.equal(opts.routeType, undefined);
  assert.equal(mergeConfig({ routeType: 'prohibit' }, opts).routeType, 'prohibit');
});

test('openRouteBackend falls back to ip route with one warning when the addon cannot load', () => {
  const warnings: string[] = [];
  const b = openRouteBackend({ addonPath: '/nonexistent/synwatch_route.node', warn: (m) => warnings.push(m) });
  assert.equal(b.name, 'iproute');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^netlink route addon unavailable \(cannot load \/nonexistent\/synwatch_route\.node: .*\); using the slower 'ip route' backend$/);
  assert.throws(() => openRouteBackend({ prefer: 'netlink', addonPath: '/nonexistent/x.node' }), { code: 'EADDON' });
});

test('RecordingBackend records calls, simulates the table, touches nothing', () => {
  const b = new RecordingBackend();
  b.add('203.0.113.5', 4, 'unreachable');
  b.add('203.0.113.5', 4, 'unreachable');
  b.add('2001:db8::5', 6, 'blackhole');
  b.del('2001:db8::5', 6, 'blackhole');
  b.del('198.51.100.1', 4, 'unreachable');
  assert.equal(b.calls.length, 5);
  assert.deepEqual(b.list(), [{ ip: '203.0.113.5', family: 4, type: 'unreachable' }]);
});

test('backend: route by default, nftables or both from the file or --backend (the flag wins); anything else names the value', () => {
  assert.equal(mergeConfig({}, {}).backend, 'route');
  assert.equal(mergeConfig(validateConfig({ backend: 'nftables' }, 'f.json'), {}).backend, 'nftables');
  assert.equal(mergeConfig(validateConfig({ backend: 'nftables' }, 'f.json'), { backend: 'route,nftables' }).backend, 'route,nftables');
  assert.throws(() => validateConfig({ backend: 'iptables' }, 'f.json'),
    { name: 'ConfigError', message: 'f.json: "backend" must be route, nftables or route,nftables, got "iptables"' });
  assert.throws(() => mergeConfig({}, { backend: 'bogus' }), {
    name: 'ConfigError',
    message: '--backend must be route, nftables or route,nftables (route may be spelt auto, netlink or iproute), got "bogus"',
  });
});

test('parseBackendSpec: each backend at most once, in any order, route in any of its spellings', () => {
  assert.deepEqual(parseBackendSpec('route'), { route: 'auto', nftables: false });
  assert.deepEqual(parseBackendSpec('nftables'), { route: null, nftables: true });
  assert.deepEqual(parseBackendSpec('nftables,route'), { route: 'auto', nftables: true });
  assert.deepEqual(parseBackendSpec('netlink,nftables'), { route: 'netlink', nftables: true });
  assert.deepEqual(parseBackendSpec('iproute'), { route: 'iproute', nftables: false });
  for (const bad of ['', 'route,route', 'nftables,nftables', 'netlink,iproute', 'route,', 'xdp', 'nft']) {
    assert.throws(() => parseBackendSpec(bad), { name: 'RouteError', code: 'EINVAL' }, bad);
  }
});
