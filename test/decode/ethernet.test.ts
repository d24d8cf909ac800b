/** Ethernet and what rides between it and IP: padding, VLAN stacks, PPPoE, PBB, VN-tag, FabricPath, MPLS. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordsToIp } from '../../src/decode/address';
import { DecodeResult, TCP_ACK, TCP_SYN } from '../../src/decode/packet';
import { decode, hex, LINKTYPE, patch, PKT } from './packets';

test('an Ethernet IPv4 SYN fills every TCP field', () => {
  const { result, view, counters } = decode(PKT.synEth);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.ipVersion, 4);
  assert.equal(wordsToIp(view.src), '51.142.253.91');
  assert.equal(wordsToIp(view.dst), '15.236.229.88');
  assert.deepEqual([...view.src], [0, 0, 0xffff, 0x338efd5b]);
  assert.equal(view.ipProto, 6);
  assert.equal(view.sport, 2555);
  assert.equal(view.dport, 22746);
  assert.equal(view.seq, 0x2f57e58a);
  assert.equal(view.ack, 0);
  assert.equal(view.flags, TCP_SYN);
  assert.equal(view.tcpHeaderLen, 20);
  assert.equal(view.payloadLen, 0);
  assert.equal(view.truncated, false);
  assert.equal(counters.tcpSegments, 1);
  assert.equal(counters.ipv4, 1);
  assert.equal(counters.frames, 1);
});

test('Ethernet padding to 60 bytes is trimmed: payloadLen comes from the IP total length', () => {
  const { result, view } = decode(PKT.synEthPadded);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.payloadLen, 0);
  assert.equal(view.truncated, false);
  assert.equal(wordsToIp(view.src), '160.161.74.108');
});

test('one, two and three VLAN tags (802.1Q, QinQ, QinQinQ) are peeled and counted', () => {
  for (const [frame, depth] of [[PKT.synVlan, 1], [PKT.synQinQ, 2], [PKT.synQinQinQ, 3]] as const) {
    const { result, view } = decode(frame);
    assert.equal(result, DecodeResult.TcpSegment);
    assert.equal(view.vlanDepth, depth);
    assert.equal(wordsToIp(view.src), '141.142.228.5');
    assert.equal(view.dport, 80);
    assert.equal(view.tcpHeaderLen, 44);
  }
});

test('802.1ad (0x88a8) and pre-standard 0x9100 outer tags are VLAN tags too', () => {
  for (const tpid of [0x88a8, 0x9100]) {
    const { result, view } = decode(patch(PKT.synQinQ, 12, tpid >> 8, tpid & 0xff));
    assert.equal(result, DecodeResult.TcpSegment);
    assert.equal(view.vlanDepth, 2);
  }
});

test('a VLAN tag cut by the snaplen is truncatedLink with the numbers', () => {
  const { result, view, counters } = decode(PKT.synQinQ, LINKTYPE.ETHERNET, { caplen: 16 });
  assert.equal(result, DecodeResult.Anomaly);
  assert.equal(view.anomaly, 'truncatedLink');
  assert.equal(view.anomalyValue, 2);
  assert.equal(view.anomalyLimit, 4);
  assert.equal(counters.anomalies.truncatedLink, 1);
});

test('a stack of more than 8 VLAN tags is tooManyLinkHeaders, not a loop', () => {
  const tags = '8100000a'.repeat(40);
  const frame = PKT.synEth.slice(0, 24) + tags + PKT.synEth.slice(24);
  const { result, view } = decode(frame);
  assert.equal(result, DecodeResult.Anomaly);
  assert.equal(view.anomaly, 'tooManyLinkHeaders');
});

test('PPPoE session in QinQ carries the SYN', () => {
  const { result, view } = decode(PKT.synPppoeQinQ);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.vlanDepth, 2);
  assert.equal(wordsToIp(view.src), '1.1.1.1');
  assert.equal(view.dport, 443);
  assert.equal(view.flags, TCP_SYN);
});

test('PBB (802.1ah) with inner VLAN, VN-tag sandwich and FabricPath reach the TCP header', () => {
  const pbb = decode(PKT.synPbb);
  assert.equal(pbb.result, DecodeResult.TcpSegment);
  assert.equal(pbb.view.vlanDepth, 2);
  assert.equal(wordsToIp(pbb.view.src), '10.199.249.11');
  const vn = decode(PKT.synAckVnTag, LINKTYPE.ETHERNET, { wirelen: 88 });
  assert.equal(vn.result, DecodeResult.TcpSegment);
  assert.equal(vn.view.flags, TCP_SYN | TCP_ACK);
  assert.equal(vn.view.vlanDepth, 2);
  assert.equal(vn.view.truncated, true, 'caplen 70 of 88');
  const fp = decode(PKT.synFabricPath);
  assert.equal(fp.result, DecodeResult.TcpSegment);
  assert.equal(fp.view.sport, 0xdead);
});

test('MPLS: labels are popped to the bottom of stack, then the nibble says IPv4', () => {
  // The VLAN SYN with its EtherType turned into MPLS and two labels (the second bottom-of-stack) inserted.
  const frame = PKT.synVlan.slice(0, 32) + '8847' + '0001e0ff' + '0002e1ff' + PKT.synVlan.slice(36);
  const { result, view } = decode(frame);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(wordsToIp(view.src), '141.142.228.5');
  // A pseudowire control word (nibble 0) is not IP.
  const pw = PKT.synVlan.slice(0, 32) + '8847' + '0002e1ff' + '00000000' + PKT.synVlan.slice(36);
  const other = decode(pw);
  assert.equal(other.result, DecodeResult.Other);
  assert.equal(other.counters.nonIp, 1);
});

test('ARP and other EtherTypes are nonIp, an 802.3 frame without SNAP too', () => {
  const arp = decode(patch(PKT.synEth, 12, 0x08, 0x06));
  assert.equal(arp.result, DecodeResult.Other);
  assert.equal(arp.counters.nonIp, 1);
  // 802.3 length field, then STP's LLC (42 42 03).
  const stp = decode(hex('0180c2000000001122334455002742420300000000'));
  assert.equal(stp.result, DecodeResult.Other);
  assert.equal(stp.counters.nonIp, 1);
});

test('an 802.3 frame with LLC/SNAP and EtherType IPv4 is decoded', () => {
  // The SYN's EtherType replaced by an 802.3 length and AA AA 03 00 00 00 08 00.
  const frame = PKT.synEth.slice(0, 24) + '0030' + 'aaaa03000000' + '0800' + PKT.synEth.slice(28);
  const { result, view } = decode(frame);
  assert.equal(result, DecodeResult.TcpSegment);
  assert.equal(view.sport, 2555);
});

test('a frame shorter than the Ethernet header is truncatedLink', () => {
  for (let caplen = 0; caplen < 14; caplen++) {
    const { result, view } = decode(PKT.synEth, LINKTYPE.ETHERNET, { caplen });
    assert.equal(result, DecodeResult.Anomaly);
    assert.equal(view.anomaly, 'truncatedLink');
  }
});
