/** Address text <-> words: what the policy, the allowlist and the route backends accept. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalIp, ipToWords, wordsToIp } from '../../src/decode/address';

test('canonical dotted quads come back as they are', () => {
  for (const ip of ['0.0.0.0', '1.2.3.4', '198.51.100.254', '203.0.113.0', '255.255.255.255', '10.0.100.9']) {
    assert.equal(canonicalIp(ip), ip);
    assert.equal(wordsToIp(ipToWords(ip)!), ip);
  }
});

test('dotted quads with leading zeros or spaces are read as decimal and canonicalised', () => {
  assert.equal(canonicalIp('010.001.000.009'), '10.1.0.9');
  assert.equal(canonicalIp('00.0.0.0'), '0.0.0.0');
  assert.equal(canonicalIp(' 192.0.2.7\n'), '192.0.2.7');
  assert.equal(canonicalIp('::ffff:192.0.2.7'), '192.0.2.7');
  assert.deepEqual([...ipToWords('203.0.113.9')!], [0, 0, 0xffff, 0xcb007109]);
  assert.deepEqual([...ipToWords('255.255.255.255')!], [0, 0, 0xffff, 0xffffffff]);
});

test('what is not a dotted quad or IPv6 address is refused', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1.2.3.4.', '.1.2.3.4', '1..2.3', '1.2.3.0004', '1.2.3.-4',
    '1.2.3.4/32', '1.2.3.a', '１.2.3.4', '1.2.3.4 5', 'example.org', '0x1.2.3.4', '1e2.2.3.4']) {
    assert.equal(canonicalIp(bad), null, JSON.stringify(bad));
    assert.equal(ipToWords(bad), null, JSON.stringify(bad));
  }
});

test('IPv6 text is canonicalised to RFC 5952', () => {
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8::1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8::192.0.2.1'), '2001:db8::c000:201');
  assert.equal(canonicalIp('2001:db8::1::2'), null);
  assert.equal(canonicalIp('fe80::1%eth0'), null);
});
