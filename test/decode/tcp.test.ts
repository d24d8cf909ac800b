/** TCP: data offset, header beyond IP, snaplen cuts, 9-bit flags, 32-bit numbers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeResult, TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/decode/packet';
import { decode, expectAnomaly, LINKTYPE, patch, PKT } from './packets';

/** Offset of the TCP header in PKT.synEth (Ethernet 14 + IPv4 20). */
const T = 34;

test('data offset 3 (< 5) is badTcpDataOffset with both numbers', () => {
  const { result, view, counters } = decode(patch(PKT.synEth, T + 12, 0x30));
  assert.equal(result, DecodeResult.Anomaly);
  assert.deepEqual([view.anomaly, view.anomalyValue, view.anomalyLimit], ['badTcpDataOffset', 3, 5]);
  assert.equal(counters.anomalies.badTcpDataOffset, 1);
  assert.equal(counters.tcpSegments, 0);
});

test('data offset 15 (60 bytes) in a 20-byte IP payload is tcpHeaderBeyondIp', () => {
  expectAnomaly(decode(patch(PKT.synEth, T + 12, 0xf0)), 'tcpHeaderBeyondIp', 60, 20);
});

test('an IP total length too short for 20 bytes of TCP is tcpHeaderBeyondIp, not truncation', () => {
  expectAnomaly(decode(patch(PKT.synEth, 16, 0, 30)), 'tcpHeaderBeyondIp', 20, 10);
});

test('fewer than 20 TCP bytes captured is truncatedTcp (zeek ip-discarder-truncated-tcp-oob)', () => {
  const { result, view, counters } = decode(PKT.truncatedBeforeTcp, LINKTYPE.ETHERNET, { wirelen: 54 });
  assert.equal(result, DecodeResult.Anomaly);
  assert.deepEqual([view.anomaly, view.anomalyValue, view.anomalyLimit], ['truncatedTcp', 0, 20]);
  assert.equal(counters.tcpSegments, 0);
  for (let cut = 1; cut < 20; cut++) {
    const r = decode(PKT.synEth, LINKTYPE.ETHERNET, { caplen: T + cut, wirelen: 54 });
    assert.equal(r.view.anomaly, 'truncatedTcp');
    assert.equal(r.view.anomalyValue, cut);
  }
});

test('options cut by the snaplen: a segment with the full header length, flagged truncated', () => {
  // The VLAN SYN has a 44-byte header; keep 30 of it.
  const { result, view } = decode(PKT.synVlan, LINKTYPE.ETHERNET, { caplen: 18 + 20 + 30, wirelen: 82 });
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.tcpHeaderLen, 44);
  assert.equal(view.truncated, true);
  assert.equal(view.payloadLen, 0);
});

test('all nine flag bits, AE (the old NS bit) included', () => {
  const { view } = decode(patch(PKT.synEth, T + 12, 0x51, 0xff));
  assert.equal(view.flags, 0x1ff);
  for (const bit of [TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK, TCP_ECE, TCP_CWR, TCP_AE]) assert.ok(view.flags & bit);
});

test('seq and ack above 2^31 are non-negative numbers', () => {
  const { view } = decode(patch(PKT.synEth, T + 4, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 1));
  assert.equal(view.seq, 0xfffffffe);
  assert.equal(view.ack, 0x80000001);
});

test('payloadLen is the IP payload minus the TCP header', () => {
  const { view } = decode(PKT.pshAckNull, LINKTYPE.NULL);
  assert.equal(view.tcpHeaderLen, 20);
  assert.equal(view.payloadLen, 0x6c - 20 - 20);
});
