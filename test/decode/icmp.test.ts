/** ICMP and ICMPv6 errors quoting a TCP header: TcpInIcmp, never a segment. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordsToIp } from '../../src/decode/address';
import { DecodeResult, TCP_SYN } from '../../src/decode/packet';
import { decode, expectAnomaly, hex, LINKTYPE, patch, PKT } from './packets';

test('ICMP port unreachable quoting a SYN: TcpInIcmp with the quoted flow', () => {
  const { result, view, counters } = decode(PKT.icmpQuotingSyn);
  assert.equal(result, DecodeResult.TcpInIcmp);
  assert.equal(counters.tcpInIcmp, 1);
  assert.equal(counters.tcpSegments, 0);
  assert.equal(view.icmpType, 3);
  assert.equal(view.icmpCode, 10);
  assert.equal(wordsToIp(view.src), '172.99.233.20', 'the quoted source, not the reporter');
  assert.equal(wordsToIp(view.dst), '104.253.185.41');
  assert.equal(view.sport, 4211);
  assert.equal(view.dport, 443);
  assert.equal(view.flags, TCP_SYN);
});

test('ICMP host unreachable over Linux cooked capture quoting a whole SYN', () => {
  const { result, view } = decode(PKT.icmpQuotingSynSll, LINKTYPE.LINUX_SLL);
  assert.equal(result, DecodeResult.TcpInIcmp);
  assert.equal(view.sport, 933);
  assert.equal(view.seq, 0x3c742d93);
});

test('a quote of only 8 TCP bytes (RFC 792) gives ports and seq, flags stay 0', () => {
  const b = hex(PKT.icmpQuotingSyn).subarray(0, 14 + 20 + 8 + 20 + 8);
  const { result, view } = decode(b);
  assert.equal(result, DecodeResult.TcpInIcmp);
  assert.equal(view.dport, 443);
  assert.equal(view.seq, 0x5337b1ac);
  assert.equal(view.flags, 0);
  assert.equal(view.ack, 0);
});

test('echo request/reply and quotes of non-TCP are nonTcp', () => {
  const echo = decode(patch(PKT.icmpQuotingSyn, 34, 8, 0));
  assert.equal(echo.result, DecodeResult.Other);
  assert.equal(echo.counters.nonTcp, 1);
  const udp = decode(patch(PKT.icmpQuotingSyn, 42 + 9, 17));
  assert.equal(udp.result, DecodeResult.Other);
});

test('a quote of a non-first fragment holds no TCP header', () => {
  const { result } = decode(patch(PKT.icmpQuotingSyn, 42 + 6, 0x00, 0x10));
  assert.equal(result, DecodeResult.Other);
});

test('an ICMP error cut before the quoted IP header is truncatedIcmp', () => {
  expectAnomaly(decode(PKT.icmpQuotingSyn, LINKTYPE.ETHERNET, { caplen: 14 + 20 + 8 + 12, wirelen: 82 }), 'truncatedIcmp', 20, 28);
});

test('ICMPv6 destination unreachable quoting an IPv6 SYN', () => {
  // PKT.synV6's IPv6 header as the outer one (next header 58, payload 8 + 80), then an ICMPv6
  // unreachable (type 1, code 4) quoting the whole original packet.
  const ip6 = PKT.synV6.slice(28, 108);
  const outer = ip6.slice(0, 8) + (88).toString(16).padStart(4, '0') + '3a' + ip6.slice(14);
  const frame = PKT.synV6.slice(0, 28) + outer + '01040000' + '00000000' + ip6 + PKT.synV6.slice(108);
  const { result, view, counters } = decode(frame);
  assert.equal(result, DecodeResult.TcpInIcmp);
  assert.equal(counters.tcpInIcmp, 1);
  assert.equal(view.icmpType, 1);
  assert.equal(view.ipVersion, 6);
  assert.equal(wordsToIp(view.src), '2001:db8:1:2::1002');
  assert.equal(view.dport, 80);
  assert.equal(view.flags, TCP_SYN);
  // An informational ICMPv6 message (echo request, 128) with the same bytes is not.
  const echo = decode(frame.slice(0, 108) + '80' + frame.slice(110));
  assert.equal(echo.result, DecodeResult.Other);
});
