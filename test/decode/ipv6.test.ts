/** IPv6: the extension-header chain, fragments, zero payload length, snaplen cuts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordsToIp } from '../../src/decode/address';
import { DecodeResult, TCP_ACK, TCP_SYN } from '../../src/decode/packet';
import { decode, expectAnomaly, LINKTYPE, patch, PKT } from './packets';

test('an IPv6 SYN: four address words each, ports, flags', () => {
  const { result, view, counters } = decode(PKT.synV6);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.ipVersion, 6);
  assert.equal(wordsToIp(view.src), '2001:db8:1:2::1002');
  assert.deepEqual([...view.dst], [0x20010db8, 0x00010002, 0, 0x1000]);
  assert.equal(view.dport, 80);
  assert.equal(view.flags, TCP_SYN);
  assert.equal(view.tcpHeaderLen, 40);
  assert.equal(counters.ipv6, 1);
});

test('hop-by-hop, destination options, routing and an atomic fragment header are walked', () => {
  for (const frame of [PKT.synV6HopByHop, PKT.synV6DestOpts, PKT.synV6Routing, PKT.synV6AtomicFrag]) {
    const { result, view } = decode(frame);
    assert.equal(result, DecodeResult.TcpSegment);
    assert.equal(view.ipProto, 6);
    assert.equal(view.flags & (TCP_SYN | TCP_ACK), TCP_SYN);
    assert.equal(view.payloadLen, 0);
    assert.equal(view.fragmented, false);
  }
});

test('a non-first IPv6 fragment carries no TCP: fragments and nonTcp', () => {
  // The atomic-fragment SYN with fragment offset 8 (bytes 56-57 of the frame).
  const { result, counters } = decode(patch(PKT.synV6AtomicFrag, 56, 0x00, 0x08));
  assert.equal(result, DecodeResult.Other);
  assert.equal(counters.fragments, 1);
  assert.equal(counters.nonTcp, 1);
});

test('a first IPv6 fragment (offset 0, M set) is a segment flagged fragmented', () => {
  const { result, view } = decode(patch(PKT.synV6AtomicFrag, 57, 0x01));
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.fragmented, true);
});

test('AH (51) length is in 4-byte words minus 2; mobility (135) like other options', () => {
  // The hop-by-hop SYN with its 8-byte extension relabelled: next header 51 and AH length 0 (= 8 bytes).
  const ah = patch(PKT.synV6HopByHop, 20, 51);
  ah[55] = 0;
  assert.equal(decode(ah).result, DecodeResult.TcpSegment);
  assert.equal(decode(patch(PKT.synV6HopByHop, 20, 135)).result, DecodeResult.TcpSegment);
});

test('no next header (59) and ESP (50) are nonTcp', () => {
  for (const nh of [59, 50]) {
    const { result, counters } = decode(patch(PKT.synV6, 20, nh));
    assert.equal(result, DecodeResult.Other);
    assert.equal(counters.nonTcp, 1);
  }
});

test('an extension header longer than the payload is badIpv6ExtLen', () => {
  // Hop-by-hop length 5 (48 bytes) in a 28-byte payload.
  expectAnomaly(decode(patch(PKT.synV6HopByHop, 55, 5)), 'badIpv6ExtLen', 48, 28);
});

test('an extension header cut by the snaplen is truncatedIpv6Ext', () => {
  expectAnomaly(decode(PKT.synV6Routing, LINKTYPE.ETHERNET, { caplen: 14 + 50, wirelen: 114 }), 'truncatedIpv6Ext', 50, 80);
});

test('a chain of more than 16 extension headers is ipv6ExtChainTooLong, not a loop', () => {
  // 20 empty destination-options headers (8 bytes each, next header 60) before a TCP header.
  const ext = '3c00000000000000'.repeat(19) + '0600000000000000';
  const tcp = PKT.synV6.slice(108);
  const len = (ext.length + tcp.length) / 2;
  const frame =
    PKT.synV6.slice(0, 36) + len.toString(16).padStart(4, '0') + '3c' + PKT.synV6.slice(42, 108) + ext + tcp;
  const { result, view } = decode(frame);
  assert.equal(result, DecodeResult.Anomaly);
  assert.equal(view.anomaly, 'ipv6ExtChainTooLong');
});

test('an IPv6 header cut by the snaplen (zeek trunc/ip6-trunc) is truncatedIpv6', () => {
  expectAnomaly(decode(PKT.truncatedIpv6Header, LINKTYPE.ETHERNET, { wirelen: 74 }), 'truncatedIpv6', 34, 40);
});

test('a payload length beyond the frame on the wire: noted, decoded on', () => {
  const { result, view } = decode(patch(PKT.synV6, 18, 0, 0x40));
  assert.equal(result, DecodeResult.TcpSegment);
  assert.deepEqual([view.anomaly, view.anomalyValue, view.anomalyLimit], ['ipLengthBeyondFrame', 104, 80]);
  assert.equal(view.payloadLen, 0);
});

test('payload length 0 without a jumbo option (Linux BIG TCP): length from the wire', () => {
  const { result, view, counters } = decode(PKT.bigTcpV6Prefix, LINKTYPE.ETHERNET, { wirelen: 80054 });
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.payloadLen, 80054 - 14 - 40 - 32);
  assert.equal(view.truncated, true);
  assert.equal(counters.ipv6ZeroPayloadLength, 1);
});
