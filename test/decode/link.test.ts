/** The link-type table: SLL, SLL2, NULL/LOOP in both byte orders, raw IP, FDDI, NFLOG, unknown types. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordsToIp } from '../../src/decode/address';
import { LINK_TYPES } from '../../src/decode/frame';
import { DecodeResult, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/decode/packet';
import { decode, expectAnomaly, hex, LINKTYPE, patch, PKT } from './packets';

test('Linux cooked v1 (113) SYN', () => {
  const { result, view } = decode(PKT.synSll, LINKTYPE.LINUX_SLL);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(wordsToIp(view.src), '192.168.42.163');
  assert.equal(wordsToIp(view.dst), '192.168.42.210');
  assert.equal(view.sport, 933);
  assert.equal(view.flags, TCP_SYN);
  assert.equal(view.tcpHeaderLen, 32);
});

test('Linux cooked v1 with an untagged-by-the-NIC 802.1Q header', () => {
  // The protocol field says 0x8100 and the tag sits in front of the IP header.
  const frame = PKT.synSll.slice(0, 28) + '8100' + '0064' + '0800' + PKT.synSll.slice(32);
  const { result, view } = decode(frame, LINKTYPE.LINUX_SLL);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.vlanDepth, 1);
});

test('Linux cooked v2 (276) SYN on loopback', () => {
  const { result, view } = decode(PKT.synSll2, LINKTYPE.LINUX_SLL2);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(wordsToIp(view.src), '127.0.0.1');
  assert.equal(view.dport, 8000);
  assert.equal(view.flags, TCP_SYN);
});

test('SLL headers cut by the snaplen are truncatedLink (16 and 20 bytes needed)', () => {
  const v1 = decode(PKT.synSll, LINKTYPE.LINUX_SLL, { caplen: 15 });
  assert.deepEqual([v1.view.anomaly, v1.view.anomalyValue, v1.view.anomalyLimit], ['truncatedLink', 15, 16]);
  const v2 = decode(PKT.synSll2, LINKTYPE.LINUX_SLL2, { caplen: 19 });
  assert.deepEqual([v2.view.anomaly, v2.view.anomalyValue, v2.view.anomalyLimit], ['truncatedLink', 19, 20]);
});

test('BSD NULL: AF_INET in little-endian (x86) and big-endian (SPARC, PowerPC) order', () => {
  const le = decode(PKT.pshAckNull, LINKTYPE.NULL);
  assert.equal(le.result, DecodeResult.TcpSegment);
  assert.equal(le.view.flags, TCP_PSH | TCP_ACK);
  assert.equal(le.view.payloadLen, 68);
  const be = decode(patch(PKT.pshAckNull, 0, 0, 0, 0, 2), LINKTYPE.NULL);
  assert.equal(be.result, DecodeResult.TcpSegment);
  assert.equal(be.view.seq, le.view.seq);
});

test('LOOP (108) in network order, and NULL IPv6 as 24, 28 and 30 in either order', () => {
  const loop = decode(patch(PKT.pshAckNull, 0, 0, 0, 0, 2), LINKTYPE.LOOP);
  assert.equal(loop.result, DecodeResult.TcpSegment);
  for (const af of [24, 28, 30]) {
    for (const bytes of [[af, 0, 0, 0], [0, 0, 0, af]]) {
      const { result, view } = decode(patch(PKT.synNullV6, 0, ...bytes), LINKTYPE.NULL);
      assert.equal(result, DecodeResult.TcpSegment, `AF ${af} ${bytes}`);
      assert.equal(view.ipVersion, 6);
      assert.equal(wordsToIp(view.src), '::1');
    }
  }
});

test('NULL with another family (7, ISO) is nonIp, not an error', () => {
  const { result, counters } = decode(patch(PKT.pshAckNull, 0, 7, 0, 0, 0), LINKTYPE.NULL);
  assert.equal(result, DecodeResult.Other);
  assert.equal(counters.nonIp, 1);
});

test('raw IP link types: 101, 12 and 14 by nibble; 228 and 229 by announcement', () => {
  for (const lt of [101, 12, 14, 228]) {
    const { result, view } = decode(PKT.synRaw, lt);
    assert.equal(result, DecodeResult.TcpSegment, `linktype ${lt}`);
    assert.equal(wordsToIp(view.dst), '10.0.0.2');
  }
  const v4 = decode(PKT.synRawV4, LINKTYPE.IPV4);
  assert.equal(v4.result, DecodeResult.TcpSegment);
  const v6 = decode(PKT.synNullV6.slice(8), LINKTYPE.RAW);
  assert.equal(v6.view.ipVersion, 6);
  const v6announced = decode(PKT.synNullV6.slice(8), LINKTYPE.IPV6);
  assert.equal(v6announced.result, DecodeResult.TcpSegment);
});

test('an IPv4 packet on LINKTYPE_IPV6 is badIpVersion 4 where 6 was announced', () => {
  expectAnomaly(decode(PKT.synRaw, LINKTYPE.IPV6), 'badIpVersion', 4, 6);
});

test('FDDI with LLC/SNAP (an RST)', () => {
  const { result, view } = decode(PKT.rstFddi, LINKTYPE.FDDI, { wirelen: 70 });
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(wordsToIp(view.src), '128.3.140.132');
  assert.equal(view.dport, 80);
  assert.equal(view.flags, TCP_RST);
});

test('NFLOG: the IP packet is the payload TLV, TLVs in little- or big-endian order', () => {
  const le = decode(PKT.synNflog, LINKTYPE.NFLOG);
  assert.equal(le.result, DecodeResult.TcpSegment);
  assert.equal(wordsToIp(le.view.src), '10.0.2.15');
  assert.equal(le.view.flags, TCP_SYN);
  // The same record as a big-endian host writes it: each TLV's length and type byte-swapped.
  const b = hex(PKT.synNflog);
  for (let p = 4; p + 4 <= b.length; ) {
    const len = b.readUInt16LE(p);
    b.writeUInt16BE(len, p);
    b.writeUInt16BE(b.readUInt16LE(p + 2), p + 2);
    p += (len + 3) & ~3;
  }
  const be = decode(b, LINKTYPE.NFLOG);
  assert.equal(be.result, DecodeResult.TcpSegment);
  assert.equal(be.view.seq, le.view.seq);
});

test('NFLOG TLV with a length below its own header is badNflogTlvLen, not a loop', () => {
  expectAnomaly(decode(patch(PKT.synNflog, 4, 2, 0), LINKTYPE.NFLOG), 'badNflogTlvLen', 2, 4);
});

test('unknown link types are counted per type, never fatal', () => {
  const { result, counters } = decode(PKT.synEth, 147);
  assert.equal(result, DecodeResult.Other);
  decode(PKT.synEth, 147, { counters });
  decode(PKT.synEth, 4242, { counters });
  assert.deepEqual([...counters.unknownLinkTypes], [[147, 2], [4242, 1]]);
  assert.equal(counters.nonIp, 3);
});

test('FCS-length bits above the link type (classic pcap header) are ignored', () => {
  const { result } = decode(PKT.synEth, 0x14000000 | LINKTYPE.ETHERNET);
  assert.equal(result, DecodeResult.TcpSegment);
});

test('the link-type table has one entry per type', () => {
  const types = LINK_TYPES.map(([lt]) => lt);
  assert.equal(new Set(types).size, types.length);
  for (const lt of [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]) assert.ok(types.includes(lt), `linktype ${lt}`);
});
