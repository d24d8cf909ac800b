/** IPv4: options, impossible lengths, snaplen cuts, TSO zero length, fragments, IP-in-IP. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordsToIp } from '../../src/decode/address';
import { DecodeResult, TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/decode/packet';
import { decode, expectAnomaly, hex, LINKTYPE, patch, PKT } from './packets';

/** PKT.synEth with a 4-byte Router Alert option (94 04 00 00): IHL 6, total length 44. */
function synWithOption(): Buffer {
  const b = hex(PKT.synEth.slice(0, 68) + '94040000' + PKT.synEth.slice(68));
  b[14] = 0x46;
  b.writeUInt16BE(44, 16);
  return b;
}

test('IP options are skipped: the TCP header starts after IHL * 4 bytes', () => {
  const { result, view } = decode(synWithOption());
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.sport, 2555);
  assert.equal(view.flags, TCP_SYN);
  assert.equal(view.payloadLen, 0);
});

test('options cut by the snaplen are truncatedIpv4 with the header length needed', () => {
  expectAnomaly(decode(synWithOption(), LINKTYPE.ETHERNET, { caplen: 14 + 22, wirelen: 58 }), 'truncatedIpv4', 22, 24);
});

test('an IPv4 header cut by the snaplen (zeek trunc/ip4-trunc) is truncatedIpv4', () => {
  const { result, view, counters } = decode(PKT.truncatedIpv4Header, LINKTYPE.ETHERNET, { wirelen: 46 });
  assert.equal(result, DecodeResult.Anomaly);
  assert.deepEqual([view.anomaly, view.anomalyValue, view.anomalyLimit], ['truncatedIpv4', 6, 20]);
  assert.equal(counters.anomalies.truncatedIpv4, 1);
  assert.equal(counters.tcpSegments, 0);
});

test('IHL 4 (< 5) is badIpv4HeaderLen', () => {
  expectAnomaly(decode(patch(PKT.synEth, 14, 0x44)), 'badIpv4HeaderLen', 4, 5);
});

test('a total length below the header length is badIpv4TotalLen', () => {
  expectAnomaly(decode(patch(PKT.synEth, 16, 0, 19)), 'badIpv4TotalLen', 19, 20);
});

test('EtherType IPv4 with version 6 inside is badIpVersion', () => {
  expectAnomaly(decode(patch(PKT.synEth, 14, 0x65)), 'badIpVersion', 6, 4);
});

test('TSO: total length 0 takes the length from the wire, counted apart, no anomaly', () => {
  // 80 bytes of a 4879-byte frame: the capture was cut too, so payloadLen must come from wirelen.
  const { result, view, counters } = decode(PKT.tsoPrefix, LINKTYPE.ETHERNET, { wirelen: 4879 });
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.flags, TCP_PSH | TCP_ACK);
  assert.equal(view.payloadLen, 4879 - 14 - 20 - 20);
  assert.equal(view.truncated, true);
  assert.equal(counters.ipv4TsoZeroLength, 1);
  assert.equal(Object.keys(counters.anomalies).length, 0);
});

test('snaplen cut after the TCP header: still a segment, truncated, payloadLen from IP not caplen', () => {
  // The NULL PSH-ACK (68 payload bytes) captured to 60 bytes.
  const { result, view, counters } = decode(PKT.pshAckNull, LINKTYPE.NULL, { caplen: 60, wirelen: 112 });
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.truncated, true);
  assert.equal(view.payloadLen, 68);
  assert.equal(counters.truncated, 1);
});

test('a total length beyond the frame on the wire: noted, decoded on with the wire length (as tshark)', () => {
  // The NULL PSH-ACK (IP total 108, as on the wire) claiming 120 bytes.
  const { result, view, counters } = decode(patch(PKT.pshAckNull, 4 + 2, 0, 120), LINKTYPE.NULL);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.deepEqual([view.anomaly, view.anomalyValue, view.anomalyLimit], ['ipLengthBeyondFrame', 120, 108]);
  assert.equal(counters.anomalies.ipLengthBeyondFrame, 1);
  assert.equal(view.payloadLen, 68);
  assert.equal(view.truncated, false);
});

test('the first fragment carries TCP even when the header goes on in the next (zeek fragmented-syn)', () => {
  const first = decode(PKT.synFirstFragment);
  assert.equal(first.result, DecodeResult.TcpSegment);
  assert.equal(first.view.fragmented, true);
  assert.equal(first.view.flags, TCP_SYN);
  assert.equal(first.view.tcpHeaderLen, 40);
  assert.equal(first.view.payloadLen, 0);
  assert.equal(first.view.sport, 12345);
  const second = decode(PKT.synSecondFragment);
  assert.equal(second.result, DecodeResult.Other);
  assert.equal(second.counters.fragments, 1);
  assert.equal(second.counters.nonTcp, 1);
  assert.equal(second.counters.tcpSegments, 0);
});

test('the same too-long TCP header outside a fragment is tcpHeaderBeyondIp', () => {
  expectAnomaly(decode(patch(PKT.synFirstFragment, 20, 0, 0)), 'tcpHeaderBeyondIp', 40, 24);
});

test('IPv4 in IPv6 (4in6) is followed one level: the inner addresses and TCP', () => {
  const { result, view, counters } = decode(PKT.synV4inV6);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.ipVersion, 4);
  assert.deepEqual([...view.src.subarray(0, 3)], [0, 0, 0xffff], 'no word left from the outer IPv6');
  assert.equal(wordsToIp(view.src), '70.55.213.211');
  assert.equal(view.flags, TCP_SYN);
  assert.equal(counters.ipv6, 1);
  assert.equal(counters.ipv4, 1);
});

test('UDP and other protocols are nonTcp', () => {
  const { result, counters } = decode(patch(PKT.synEth, 23, 17));
  assert.equal(result, DecodeResult.Other);
  assert.equal(counters.nonTcp, 1);
  assert.equal(counters.ipv4, 1);
});
