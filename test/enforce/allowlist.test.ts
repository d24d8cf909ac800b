/**
 * Allowlist: CIDR parsing and matching (IPv4, IPv6, IPv4-mapped), and the default allowlist built
 * from injected host facts (never the real host's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Allowlist, AllowlistError, buildDefaultAllowlist, parseCidr, parseProcNetIpv6RouteGateways, parseProcNetRouteGateways,
  parseResolvConfNameservers, type HostFacts,
} from '../../src/enforce/allowlist';

test('parseCidr canonicalises and masks; bad entries throw AllowlistError naming the value', () => {
  assert.equal(parseCidr('203.0.113.77/24', 'x').cidr, '203.0.113.0/24');
  assert.equal(parseCidr('198.51.100.7', 'x').cidr, '198.51.100.7/32');
  assert.equal(parseCidr('2001:DB8:0:0::1/32', 'x').cidr, '2001:db8::/32');
  assert.equal(parseCidr('::ffff:192.0.2.0/120', 'x').cidr, '192.0.2.0/24');
  assert.equal(parseCidr('0.0.0.0/0', 'x').cidr, '0.0.0.0/0');
  for (const bad of ['203.0.113.0/33', 'nope', '2001:db8::/129', '1.2.3.4/', '1.2.3.4/-1']) {
    assert.throws(() => parseCidr(bad, '--allow'), (e: unknown) => e instanceof AllowlistError && e.message.includes(`"${bad}" (--allow)`));
  }
});

test('matching covers IPv4, IPv6 and the IPv4-mapped form of either', () => {
  const list = new Allowlist([
    parseCidr('203.0.113.0/25', 'a'), parseCidr('2001:db8:5::/48', 'b'), parseCidr('::ffff:198.51.100.0/120', 'c'),
  ]);
  assert.equal(list.match('203.0.113.127')?.origin, 'a');
  assert.equal(list.match('203.0.113.128'), null);
  assert.equal(list.match('::ffff:203.0.113.1')?.origin, 'a');
  assert.equal(list.match('198.51.100.200')?.origin, 'c');
  assert.equal(list.match('2001:db8:5:ffff::1')?.origin, 'b');
  assert.equal(list.match('2001:db8:6::1'), null);
  assert.equal(list.match('garbage'), null);
  assert.equal(new Allowlist([parseCidr('::/0', 'all')]).match('203.0.113.1')?.origin, 'all');
  assert.equal(new Allowlist([parseCidr('0.0.0.0/0', 'v4')]).match('2001:db8::1'), null);
});

const FACTS: HostFacts = {
  interfaces: {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [
      { address: '192.0.2.10', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.10/24' },
      { address: '2001:db8:1::10', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: '2001:db8:1::10/64', scopeid: 0 },
    ],
  },
  // Real format, little-endian host: default via 192.0.2.1 on eth0, and a connected route.
  procNetRoute: [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n'),
  procNetIpv6Route: [
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000100000000000000000001 00000400 00000001 00000000 00000003     eth0',
    '20010db8000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
  ].join('\n'),
  resolvConf: '# generated\nsearch example.test\nnameserver 198.51.100.53\nnameserver fe80::1%eth0\noptions edns0\n',
  endianness: 'LE',
};

test('host-fact parsers read real /proc and resolv.conf formats', () => {
  assert.deepEqual(parseProcNetRouteGateways(FACTS.procNetRoute, 'LE'), [{ ip: '192.0.2.1', iface: 'eth0' }]);
  assert.deepEqual(parseProcNetRouteGateways(FACTS.procNetRoute.replace('010200C0', 'C0000201'), 'BE'), [{ ip: '192.0.2.1', iface: 'eth0' }]);
  assert.deepEqual(parseProcNetIpv6RouteGateways(FACTS.procNetIpv6Route), [{ ip: '2001:db8:1::1', iface: 'eth0' }]);
  assert.deepEqual(parseResolvConfNameservers(FACTS.resolvConf), ['198.51.100.53', 'fe80::1']);
});

test('the default allowlist always has the safety ranges and the host facts, each with its origin', () => {
  const list = buildDefaultAllowlist([{ cidr: '203.0.113.0/24', origin: '--allow' }], FACTS);
  const origin = (ip: string) => list.match(ip)?.origin ?? null;
  assert.equal(origin('127.0.0.53'), 'loopback');
  assert.equal(origin('::1'), 'loopback');
  assert.equal(origin('169.254.1.1'), 'link-local');
  assert.equal(origin('fe80::abcd'), 'link-local');
  assert.equal(origin('0.0.0.0'), 'unspecified');
  assert.equal(origin('::'), 'unspecified');
  assert.equal(origin('239.1.2.3'), 'multicast');
  assert.equal(origin('ff02::1'), 'multicast');
  assert.equal(origin('255.255.255.255'), 'broadcast');
  assert.equal(origin('192.0.2.255'), 'broadcast eth0');
  assert.equal(origin('192.0.2.10'), 'own-address eth0');
  assert.equal(origin('::ffff:192.0.2.10'), 'own-address eth0');
  assert.equal(origin('2001:db8:1::10'), 'own-address eth0');
  assert.equal(origin('192.0.2.1'), 'gateway eth0');
  assert.equal(origin('2001:db8:1::1'), 'gateway eth0');
  assert.equal(origin('198.51.100.53'), 'nameserver');
  assert.equal(origin('203.0.113.99'), '--allow');
  assert.equal(origin('192.0.2.11'), null, 'neighbours on the subnet are not allowlisted');
  assert.equal(origin('198.51.100.54'), null);
});

test('the default allowlist survives empty or broken host facts, but not a bad operator entry', () => {
  const empty: HostFacts = { interfaces: {}, procNetRoute: '', procNetIpv6Route: 'junk', resolvConf: 'nameserver not-an-ip', endianness: 'LE' };
  assert.equal(buildDefaultAllowlist([], empty).match('127.0.0.1')?.origin, 'loopback');
  assert.throws(() => buildDefaultAllowlist([{ cidr: '10.0.0.0/40', origin: 'config' }], empty), AllowlistError);
});
