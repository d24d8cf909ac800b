/**
 * The default live filter, compiled by the real libpcap: crafted frames go into a pcap file,
 * `tcpdump -r FILE -nn -tt EXPR` says which ones pass. Frame i is stamped i+1 seconds, so the
 * printed time names it. Skips with a message when tcpdump is absent.
 *
 * tcpdump -r compiles without Linux's BPF extensions, so these tests check the tags as they sit
 * in the frame; a live socket also matches a tag the kernel moved into metadata (the outer
 * `vlan` tests SKF_AD_VLAN_TAG_PRESENT first), which only a live capture can show.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { DEFAULT_LIVE_FILTER, liveFilter } from '../../src/capture/filter';
import {
  ETHERTYPE, IPPROTO, LINKTYPE, TCP_FLAGS, TcpSpec, VlanTag, ethernet, inetChecksum, ipBytes, ipv4, ipv6, Ipv6Ext,
  pcapFile, sll2, tcpIpv4, tcpIpv6,
} from '../support/frames';

const { FIN, SYN, ACK, RST, PSH } = TCP_FLAGS;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const NS_PER_SEC = 1_000_000_000n;

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const SKIP = hasTcpdump ? false : 'tcpdump not installed (the tests compile the filter with the real libpcap)';
const dir = mkdtempSync(path.join(tmpdir(), 'synwatch-filter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Packets (layer 3, with their EtherType)

const V4 = { src: '192.0.2.10', dst: '198.51.100.20' };
const V6 = { src: '2001:db8::10', dst: '2001:db8::20' };
const DATA = Buffer.alloc(100, 0x61);

interface Packet {
  name: string;
  etherType: number;
  bytes: Buffer;
  /** Passes the default filter. */
  pass: boolean;
}

function seg(flags: number, payload?: Buffer, dport = 80): TcpSpec {
  return { sport: 40000, dport, seq: 1000, ack: flags & ACK ? 2000 : 0, flags, payload };
}

/** UDP with its checksum over the IPv4 or IPv6 pseudo-header (RFC 768, RFC 8200 §8.1). */
function udp(src: string, dst: string, payload: Buffer): Buffer {
  const d = Buffer.alloc(8 + payload.length);
  d.writeUInt16BE(5353, 0);
  d.writeUInt16BE(53, 2);
  d.writeUInt16BE(d.length, 4);
  payload.copy(d, 8);
  const s = ipBytes(src), t = ipBytes(dst);
  const tail = s.length === 4 ? Buffer.from([0, IPPROTO_UDP, d.length >> 8, d.length & 0xff])
    : Buffer.from([0, 0, d.length >> 8, d.length & 0xff, 0, 0, 0, IPPROTO_UDP]);
  d.writeUInt16BE(inetChecksum(s, t, tail, d) || 0xffff, 6);
  return d;
}

/** An ARP request (RFC 826) from V4.src for V4.dst. */
function arpRequest(): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(ETHERTYPE.IPV4, 2);
  b.writeUInt8(6, 4);
  b.writeUInt8(4, 5);
  b.writeUInt16BE(1, 6); // request
  Buffer.from([0x00, 0x00, 0x5e, 0x00, 0x53, 0x02]).copy(b, 8);
  ipBytes(V4.src).copy(b, 14);
  ipBytes(V4.dst).copy(b, 24);
  return b;
}

const v4 = (name: string, flags: number, pass: boolean, payload?: Buffer, options?: Buffer): Packet =>
  ({ name: `IPv4 ${name}`, etherType: ETHERTYPE.IPV4, bytes: tcpIpv4({ ...V4, id: 7, options }, seg(flags, payload)), pass });
const v6 = (name: string, flags: number, pass: boolean, payload?: Buffer, ext?: Ipv6Ext[]): Packet =>
  ({ name: `IPv6 ${name}`, etherType: ETHERTYPE.IPV6, bytes: tcpIpv6({ ...V6, ext }, seg(flags, payload)), pass });

const HOP_BY_HOP: Ipv6Ext = { type: 'hop-by-hop', options: Buffer.from([0x05, 2, 0, 0]) }; // router alert
const ROUTING: Ipv6Ext = { type: 'routing', routingType: 0, segmentsLeft: 0, addresses: ['2001:db8::30'] };
const FRAGMENT: Ipv6Ext = { type: 'fragment', offset: 0, more: false, id: 0x5eed }; // atomic fragment
const DEST_OPTS: Ipv6Ext = { type: 'destination', options: Buffer.from([0x1e, 2, 0, 0]) }; // experimental
const EXTENSIONS: [string, Ipv6Ext][] =
  [['hop-by-hop', HOP_BY_HOP], ['routing', ROUTING], ['fragment', FRAGMENT], ['destination options', DEST_OPTS]];

const PACKETS: Packet[] = [
  v4('SYN', SYN, true),
  v4('SYN-ACK', SYN | ACK, true),
  v4('RST', RST, true),
  v4('RST-ACK', RST | ACK, true),
  v4('pure ACK', ACK, true),
  v4('FIN-ACK without data (no payload: the test is on length)', FIN | ACK, true),
  v4('SYN with data (TCP Fast Open)', SYN, true, DATA),
  v4('RST with data (RFC 9293 §3.5.3 diagnostic text)', RST | ACK, true, DATA),
  v4('SYN with IP options', SYN, true, undefined, Buffer.from([0x94, 4, 0, 0])),
  v4('pure ACK with IP options', ACK, true, undefined, Buffer.from([0x94, 4, 0, 0])),
  v4('data ACK', PSH | ACK, false, DATA),
  v4('data ACK with IP options', PSH | ACK, false, DATA, Buffer.from([0x94, 4, 0, 0])),
  { name: 'IPv4 UDP', etherType: ETHERTYPE.IPV4, bytes: ipv4({ ...V4, protocol: IPPROTO_UDP }, udp(V4.src, V4.dst, DATA)), pass: false },
  { name: 'ARP request', etherType: ETHERTYPE.ARP, bytes: arpRequest(), pass: false },
  v6('SYN', SYN, true),
  v6('SYN-ACK', SYN | ACK, true),
  v6('RST', RST, true),
  v6('pure ACK', ACK, true),
  v6('SYN with data (TCP Fast Open)', SYN, true, DATA),
  v6('RST with data', RST | ACK, true, DATA),
  v6('data ACK', PSH | ACK, false, DATA),
  { name: 'IPv6 UDP', etherType: ETHERTYPE.IPV6, bytes: ipv6({ ...V6, nextHeader: IPPROTO_UDP }, udp(V6.src, V6.dst, DATA)), pass: false },
  { name: 'IPv6 ICMPv6 echo request', etherType: ETHERTYPE.IPV6,
    bytes: ipv6({ ...V6, nextHeader: IPPROTO_ICMPV6 }, Buffer.from([128, 0, 0, 0, 0, 1, 0, 1])), pass: false },
  { name: 'IPv6 no next header', etherType: ETHERTYPE.IPV6, bytes: ipv6({ ...V6, nextHeader: IPPROTO.NONE }, Buffer.alloc(0)), pass: false },
  ...EXTENSIONS.map(([n, e]) => v6(`${n} header, then SYN`, SYN, true, undefined, [e])),
  // By design: BPF cannot walk extension headers, so everything behind one goes to the decoder.
  ...EXTENSIONS.map(([n, e]): Packet => ({ name: `IPv6 ${n} header, then UDP (passes by design)`, etherType: ETHERTYPE.IPV6,
    bytes: ipv6({ ...V6, nextHeader: IPPROTO_UDP, ext: [e] }, udp(V6.src, V6.dst, DATA)), pass: true })),
  v6('hop-by-hop and fragment headers, then data ACK (passes by design)', PSH | ACK, true, DATA, [HOP_BY_HOP, FRAGMENT]),
];

// ---------------------------------------------------------------------------------------------
// Frames and libpcap

interface Frame { name: string; data: Buffer; pass: boolean }

const ENCAPSULATIONS: [string, VlanTag[]][] = [
  ['untagged', []],
  ['802.1Q 100', [{ vid: 100 }]],
  ['802.1ad 10 + 802.1Q 20', [{ tpid: ETHERTYPE.QINQ, vid: 10 }, { vid: 20 }]],
];

function frames(packets: Packet[], tags: VlanTag[], label: string, pad = true): Frame[] {
  return packets.map((p) => ({ name: `${label}: ${p.name}`, data: ethernet({ etherType: p.etherType, tags, pad }, p.bytes), pass: p.pass }));
}

let files = 0;
/** The frames' indices and names that pass `expr` as libpcap compiles it for `linkType`. */
function passing(expr: string, list: { name: string; data: Buffer }[], linkType: number = LINKTYPE.ETHERNET): string[] {
  const file = path.join(dir, `f${files++}.pcap`);
  writeFileSync(file, pcapFile({ linkType }, list.map((f, i) => ({ tsNs: BigInt(i + 1) * NS_PER_SEC, data: f.data }))));
  const r = spawnSync('tcpdump', ['-r', file, '-nn', '-tt', '--', expr], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tcpdump failed: ${r.stderr}`);
  const seen: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+)\.\d{6} /.exec(line);
    if (m) seen.push(`${Number(m[1]) - 1} ${list[Number(m[1]) - 1].name}`);
  }
  return seen;
}

function expected(list: Frame[]): string[] {
  return list.flatMap((f, i) => (f.pass ? [`${i} ${f.name}`] : []));
}

/** libpcap's complaint about `expr` on `linkType`, or '' when it compiles. */
function compileError(expr: string, linkType: number): string {
  const file = path.join(dir, `f${files++}.pcap`);
  writeFileSync(file, pcapFile({ linkType }, []));
  const r = spawnSync('tcpdump', ['-r', file, '--', expr], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr.trim().split('\n').pop() ?? '?';
}

/** Linux cooked v1 (LINKTYPE_LINUX_SLL, what libpcap 1.10 gives on `-i any`): 16 bytes. */
function sll(etherType: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // to us
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  Buffer.from([0x00, 0x00, 0x5e, 0x00, 0x53, 0x02]).copy(h, 6);
  h.writeUInt16BE(etherType, 14);
  return Buffer.concat([h, payload]);
}

// ---------------------------------------------------------------------------------------------

describe('the default live filter, compiled by libpcap', { skip: SKIP }, () => {
  for (const [label, tags] of ENCAPSULATIONS) {
    test(`${label}: SYN, RST and payload-free TCP pass, data, UDP and ARP do not, IPv6 extension headers pass`, () => {
      const list = frames(PACKETS, tags, label);
      assert.deepEqual(passing(DEFAULT_LIVE_FILTER, list), expected(list));
    });
  }

  test('all encapsulations in one capture, as on a trunk port, unpadded as on the sender', () => {
    const list = ENCAPSULATIONS.flatMap(([label, tags]) => frames(PACKETS, tags, label, false));
    assert.deepEqual(passing(DEFAULT_LIVE_FILTER, list), expected(list));
  });

  test('802.1Q over 802.1Q and a 0x9100 outer tag are QinQ too', () => {
    const list = [
      ...frames(PACKETS, [{ vid: 10 }, { vid: 20 }], '802.1Q 10 + 802.1Q 20'),
      ...frames(PACKETS, [{ tpid: 0x9100, vid: 10 }, { vid: 20 }], '0x9100 10 + 802.1Q 20'),
    ];
    assert.deepEqual(passing(DEFAULT_LIVE_FILTER, list), expected(list));
  });

  test('three tags are not passed (two levels of nesting only)', () => {
    const list = frames(PACKETS, [{ tpid: ETHERTYPE.QINQ, vid: 10 }, { vid: 20 }, { vid: 30 }], 'three tags');
    assert.deepEqual(passing(DEFAULT_LIVE_FILTER, list), []);
  });

  test('why the tags nest: flat "or (vlan and vlan and F)" after "or (vlan and F)" tests QinQ 4 bytes too deep', () => {
    const syn = PACKETS.slice(0, 1);
    const list = ENCAPSULATIONS.flatMap(([label, tags]) => frames(syn, tags, label));
    const f = '(ip and tcp)';
    assert.deepEqual(passing(`${f} or (vlan and ${f}) or (vlan and vlan and ${f})`, list).map((s) => s.split(':')[0]),
      ['0 untagged', '1 802.1Q 100'], 'libpcap shifts the offsets of every test after a `vlan`, across `or`');
    assert.deepEqual(passing(`${f} or (vlan and (${f} or (vlan and ${f})))`, list).map((s) => s.split(':')[0]),
      ['0 untagged', '1 802.1Q 100', '2 802.1ad 10 + 802.1Q 20']);
  });
});

describe('--filter applies under the tags', { skip: SKIP }, () => {
  const to = (dport: number): Packet[] => [
    { name: `IPv4 SYN to ${dport}`, etherType: ETHERTYPE.IPV4, bytes: tcpIpv4(V4, seg(SYN, undefined, dport)), pass: dport === 80 },
    { name: `IPv6 SYN to ${dport}`, etherType: ETHERTYPE.IPV6, bytes: tcpIpv6(V6, seg(SYN, undefined, dport)), pass: dport === 80 },
    { name: `IPv4 data ACK to ${dport}`, etherType: ETHERTYPE.IPV4, bytes: tcpIpv4(V4, seg(PSH | ACK, DATA, dport)), pass: false },
  ];
  const list = ENCAPSULATIONS.flatMap(([label, tags]) => frames([...to(80), ...to(81)], tags, label));

  test("liveFilter('dst port 80') passes the SYNs to port 80, untagged, single- and double-tagged, and nothing else", () => {
    assert.deepEqual(passing(liveFilter('dst port 80'), list), expected(list));
  });

  test('ANDed once after the vlan branches (as live.ts did), it tests every frame 8 bytes deep', () => {
    const wrapped = `(${DEFAULT_LIVE_FILTER}) and (dst port 80)`;
    assert.deepEqual(passing(wrapped, list), expected(list).filter((f) => f.includes('802.1ad')),
      'only the double-tagged SYNs pass: the port test runs after both `vlan` shifts, whichever branch matched');
  });

  test("libpcap's port does not walk IPv6 extension headers: with --filter 'dst port 80' such SYNs stay in the kernel", () => {
    const ext = frames([v6('hop-by-hop header, then SYN to 80', SYN, false, undefined, [HOP_BY_HOP])], [], 'untagged');
    assert.deepEqual(passing(liveFilter('dst port 80'), ext), []);
  });
});

describe('liveFilter', () => {
  test('without --filter, or with an empty one, it is the default', () => {
    assert.equal(liveFilter(), DEFAULT_LIVE_FILTER);
    assert.equal(liveFilter(''), DEFAULT_LIVE_FILTER);
    assert.equal(liveFilter('  '), DEFAULT_LIVE_FILTER);
  });

  test('the extra expression stands once in each of the three branches, parenthesized', () => {
    const f = liveFilter('dst port 80 or dst port 443');
    assert.equal(f.split('(dst port 80 or dst port 443)').length - 1, 3);
    assert.equal(f.split('vlan').length - 1, 2);
  });

  test('a --filter with vlan, mpls, pppoes or geneve is refused: it would shift the branches after it', () => {
    for (const extra of ['vlan 100', 'vlan and port 80', 'port 80 and not vlan', '(mpls)', 'pppoes and tcp', 'geneve']) {
      assert.throws(() => liveFilter(extra), (e: Error & { code?: string }) =>
        e.code === 'bad-filter' && e.message.includes(`'${extra}'`), extra);
    }
  });

  test('names that merely contain those words are fine', () => {
    assert.match(liveFilter('host vlan-gw.example or host mpls1'), /host vlan-gw\.example or host mpls1/);
  });

  test('{ vlan: false }: the packet test alone, with --filter ANDed', () => {
    assert.doesNotMatch(liveFilter(undefined, { vlan: false }), /vlan/);
    assert.match(liveFilter('dst port 80', { vlan: false }), /^\(.*\) and \(dst port 80\)\)$/);
  });
});

describe('Linux cooked captures (-i any): libpcap has no `vlan` there', { skip: SKIP }, () => {
  test('the Ethernet filter does not compile on SLL or SLL2; liveFilter({ vlan: false }) does', () => {
    for (const lt of [LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2]) {
      assert.match(compileError(DEFAULT_LIVE_FILTER, lt), /no VLAN support/);
      assert.equal(compileError(liveFilter('dst port 80', { vlan: false }), lt), '');
    }
  });

  test('SLL and SLL2 frames pass as untagged Ethernet ones do', () => {
    const v1 = PACKETS.map((p) => ({ name: `SLL: ${p.name}`, data: sll(p.etherType, p.bytes), pass: p.pass }));
    assert.deepEqual(passing(liveFilter(undefined, { vlan: false }), v1, LINKTYPE.LINUX_SLL), expected(v1));
    const v2 = PACKETS.map((p) => ({ name: `SLL2: ${p.name}`, data: sll2({ protocol: p.etherType }, p.bytes), pass: p.pass }));
    assert.deepEqual(passing(liveFilter(undefined, { vlan: false }), v2, LINKTYPE.LINUX_SLL2), expected(v2));
  });
});
