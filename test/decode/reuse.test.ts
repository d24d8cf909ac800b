/** One view for every frame: nothing of a frame may survive into the next. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeCounters, DecodeResult, PacketView } from '../../src/decode/packet';
import { decode, hex, LINKTYPE, PKT } from './packets';

/** A fresh view, as the reference for "nothing stale". */
function fresh(bytes: string | Buffer, linkType: number = LINKTYPE.ETHERNET, wirelen?: number): PacketView {
  return decode(bytes, linkType, { wirelen }).view;
}

const STALE_MAKERS: ReadonlyArray<readonly [string, string | Buffer, number, number?]> = [
  ['VLAN tags', PKT.synQinQinQ, LINKTYPE.ETHERNET],
  ['IPv4 options', hex(PKT.synEth.slice(0, 28) + '4600002c' + PKT.synEth.slice(36, 68) + '94040000' + PKT.synEth.slice(68)), LINKTYPE.ETHERNET],
  ['IPv6 addresses and ext headers', PKT.synV6Routing, LINKTYPE.ETHERNET],
  ['an ICMP quote', PKT.icmpQuotingSyn, LINKTYPE.ETHERNET],
  ['an anomaly', PKT.truncatedIpv6Header, LINKTYPE.ETHERNET, 74],
  ['truncation', PKT.tsoPrefix, LINKTYPE.ETHERNET, 4879],
  ['a first fragment', PKT.synFirstFragment, LINKTYPE.ETHERNET],
];

const PLAIN: ReadonlyArray<readonly [string, string, number]> = [
  ['a plain IPv4 SYN', PKT.synEth, LINKTYPE.ETHERNET],
  ['a raw IPv4 SYN', PKT.synRaw, LINKTYPE.RAW],
  ['ARP', PKT.synEth.slice(0, 24) + '0806' + '0001080006040001', LINKTYPE.ETHERNET],
  ['an unknown link type', PKT.synEth, 147],
];

for (const [what, bytes, lt, wirelen] of STALE_MAKERS) {
  for (const [plain, plainBytes, plainLt] of PLAIN) {
    test(`${what} followed by ${plain} leaves nothing stale`, () => {
      const view = new PacketView();
      const counters = new DecodeCounters();
      decode(bytes, lt, { view, counters, wirelen });
      decode(plainBytes, plainLt, { view, counters });
      assert.deepEqual({ ...view, src: [...view.src], dst: [...view.dst] }, {
        ...fresh(plainBytes, plainLt),
        src: [...fresh(plainBytes, plainLt).src],
        dst: [...fresh(plainBytes, plainLt).dst],
      });
    });
  }
}

test('a view reused over 10 000 mixed frames keeps one shape and the same answers', () => {
  const view = new PacketView();
  const counters = new DecodeCounters();
  const frames = [...STALE_MAKERS.map(([, b, lt, w]) => [b, lt, w] as const), ...PLAIN.map(([, b, lt]) => [b, lt, undefined] as const)];
  const expected = frames.map(([b, lt, w]) => decode(b, lt, { wirelen: w }).result);
  for (let i = 0; i < 10_000; i++) {
    const k = i % frames.length;
    const [b, lt, w] = frames[k];
    assert.equal(decode(b, lt, { view, counters, wirelen: w }).result, expected[k]);
  }
  assert.equal(counters.frames, 10_000);
  assert.ok(expected.includes(DecodeResult.TcpSegment) && expected.includes(DecodeResult.Anomaly));
});
