/**
 * Real frames for the decoder's unit tests, as hex, each with where it comes from
 * (/work/shared/corpus, file and frame number) and what it is. Variants of them (a field changed
 * to make a case) are made in the tests, next to the assertion that needs them.
 */
import assert from 'node:assert/strict';
import { CaptureRecord } from '../../src/capture/record';
import { decodeFrame } from '../../src/decode/frame';
import { DecodeCounters, DecodeResult, PacketView } from '../../src/decode/packet';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  FDDI: 10,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

export const PKT = {
  /** A-synflood/chrissanders__ppa1e_dosattack.pcap #1: Ethernet IPv4 SYN 51.142.253.91:2555 -> 15.236.229.88:22746, 54 bytes, no padding. */
  synEth:
    '147c705c2f13dffee12a2867080045000028854b00004006cf56338efd5b0fece55809fb58da2f57e58a00000000500202000ffd0000',
  /** A-synflood/StopDDoS__pkt.TCP.synflood.spoofed.pcap #1: SYN padded to 60 bytes (6 bytes of Ethernet padding). */
  synEthPadded:
    '4c72b97cb5b744f4770fea49080045000028e9150000f206e098a0a14a6c0a0a0a0aa39d63dd36fc00000000000050020000724a0000000086665455',
  /** zeek-traces/http-vlan-0.pcap #1: 802.1Q (VLAN 0) SYN with options. */
  synVlan:
    '0010db88d2efc8bcc896d2a08100b000080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000',
  /** zeek-traces/http-qinq-0.pcap #1: the same SYN with two 0x8100 tags. */
  synQinQ:
    '0010db88d2efc8bcc896d2a08100b0008100b000080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000',
  /** zeek-traces/vlan-qinqinq.pcap #1: the same SYN with three tags (VLANs 30, 20, 10). */
  synQinQinQ:
    '0010db88d2efc8bcc896d2a08100001e810000148100000a080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000',
  /** zeek-traces/pppoe-over-qinq.pcap #1: SYN in PPPoE session in QinQ (0x8100, 0x8100, 0x8864). */
  synPppoeQinQ:
    '00000000000100000000000081000e78810009aa886411000f070042002145000040000040003f0635b301010101020202024faa01bbd7a8415500000000b002ffffeced0000020405a0010303060101080a012dd88c0000000004020000',
  /** zeek-traces/pbb.pcap #5: SYN in 802.1Q, 802.1ah PBB I-tag, inner 802.1Q. */
  synPbb:
    '02cccc003cff02cccc003aff81000fd388e7001ebb4410604b7dba7510604b7f2d2781000fb4080045000034432040008006affd0ac7f90b0ac7f90cc1c1c1088044b7b600000000800220008caa0000020405b40103030201010402',
  /** zeek-traces/vntag_vlan_sandwich_clean.pcap #1: SYN-ACK in VLAN, VN-tag, VLAN; caplen 70 of 88. */
  synAckVnTag:
    '000000000002000000000001810000fa892600000033810000fa08004500003c000040003a0682480a0a0a010a0a0a0201bbde8026dcf2817b67833fa012ffff6fb500000204',
  /** zeek-traces/cisco-fabric-path.pcap #34: SYN behind a Cisco FabricPath header (0x8903). */
  synFabricPath:
    '15e9fd9c8100424fcb82ac6a890300009998cf7389eb829070bf47a708004500002800010000400674c50101010602020202deadbeef000000000000000050022000ec3a0000',
  /** A-synflood/niesuv__syn.pcap #1: Linux cooked v1 SYN 192.168.42.163:933 -> 192.168.42.210:80. */
  synSll:
    '000000010006c03c59fab89c0000080045000034884b400080069bb2c0a82aa3c0a82ad203a500503c742d93000000008002faf02f5d0000020405b40103030801010402',
  /** B-benign/lwerdna__simple_http_sll2.pcap #1: Linux cooked v2 SYN on lo. */
  synSll2:
    '08000000000000010304000600000000000000004500003c34ff4000400607bb7f0000017f00000192ee1f400852ae1200000000a002ffd7fe3000000204ffd70402080a1e93c7f70000000001030307',
  /** A-synflood/thekrishnanand__syn_flood.pcapng #1: BSD NULL, AF_INET little-endian, PSH-ACK. */
  pshAckNull:
    '020000004500006ca4034000800658867f0000017f00000107e6c20f51c9ae6ab595ce86501800f64eb80000170303003f75ce2dee1744c8b49938189bc18f2b09d70c972bbe42bb02458220e670d2a2486dc75afc06dcfe4973114136dc7972952591006f8b86c8762153a36219a2e2',
  /** zeek-traces/http/connect-with-header.pcap #1: BSD NULL, AF_INET6 30 (macOS) little-endian, IPv6 SYN ::1 -> ::1. */
  synNullV6:
    '1e0000006000d08d002c06400000000000000000000000000000000100000000000000000000000000000001cd2a00504ec852bd00000000b002ffff0034000002043fc4010303050101080a49b886850000000004020000',
  /** zeek-traces/http/basic-auth-with-colon.pcap #1: LINKTYPE_IPV4 SYN. */
  synRawV4:
    '4500003c44f84000400691f8ac1885cdac1885cda8521f4000b58bdb00000000a002ffd7b91300000204ffd70402080a66c7763a0000000001030307',
  /** zeek-traces/rotation.pcap #1: LINKTYPE_RAW SYN 10.0.0.1:20 -> 10.0.0.2:1024. */
  synRaw:
    '4500002800010000400666cd0a0000010a0000020014040000000000000000005002200077cc0000',
  /** zeek-traces/llc.pcap #1: FDDI, LLC/SNAP, IPv4 RST; caplen 68 of 70. */
  rstFddi:
    '50aa00040082a7aa00040083a7aaaa03000000080045000028125200000806494880038c84c28c882207f3005052c73e0d52c73e0d500420000ebe000000000000140001',
  /** zeek-traces/nflog-http.pcap #1: NFLOG, AF_INET, SYN in the payload TLV (type 9). */
  synNflog:
    '0200002a080001000000030005000a0000000000080005000000000208000b000000000008000e0000000000400009004500003ce8ef400040060fe30a00020f5db8d822c26200503f32bad100000000a002721042180000020405b40402080a0027523e0000000001030307',
  /** B-benign/chrissanders__http_ip4and6.pcapng #11: Ethernet IPv6 SYN 2001:db8:1:2::1002 -> 2001:db8:1:2::1000. */
  synV6:
    '000c291fa755000c29d346dd86dd600000000028064020010db800010002000000000000100220010db800010002000000000000100088cf0050cc33c2dc00000000a0027080e1fa0000020405a00402080a000661e90000000001030307',
  /** zeek-traces/ipv6-http-atomic-frag.pcap #4: IPv6 SYN behind destination options (60). */
  synV6DestOpts:
    'aa0004000a0400101895316a86dd60000000001c3c4020010db800010000000000000000000220010db8000100000000000000000001060001040000000090570050e31ebd4e000000005002200003570000',
  /** zeek-traces/ipv6-http-atomic-frag.pcap #13: IPv6 SYN behind an atomic fragment header (44, offset 0, M clear). */
  synV6AtomicFrag:
    'aa0004000a0400101895316a86dd60000000001c2c4020010db800010000000000000000000220010db80001000000000000000000010600000000000000e92e005069817905000000005002200068660000',
  /** zeek-traces/ipv6-http-atomic-frag.pcap #23: IPv6 SYN behind hop-by-hop options (0). */
  synV6HopByHop:
    'aa0004000a0400101895316a86dd60000000001c004020010db800010000000000000000000220010db800010000000000000000000106000104000000006b010050515fabe10000000050022000cbd90000',
  /** zeek-traces/chksums/ip6-route0-tcp-good-chksum.pcap #1: IPv6 SYN behind a type 0 routing header (43). */
  synV6Routing:
    'ffffffffffff00000000000086dd60000000003c2b40200104f80004000702e081fffe52ffff200104f80004000702e081fffe529a6b0604000200000000200100780001003200000000000000012001007800010032000000000000000275300050000000000000000050022000517e0000',
  /** zeek-traces/tunnels/4in6.pcap #1: an IPv4 SYN inside IPv6 (next header 4). */
  synV4inV6:
    '00901a4165410016cf419c2086dd600000000028044020024637d5d30000000000004637d5d320014860000020010000000000000068450000280001000040063b6b4637d5d3c05863017a690050000000000000000050022000d5c40000',
  /** zeek-traces/ipv4/fragmented-syn.pcap #1: first fragment (MF, offset 0) of a SYN whose 40-byte header goes on in #2. */
  synFirstFragment:
    '1e0b8b14f6f998eecbbd07fe08004500002c0001200040068ebac0a801640a00000530390050000003e800000000a0022000c5730000020405b4',
  /** zeek-traces/ipv4/fragmented-syn.pcap #2: the second fragment (offset 24 bytes). */
  synSecondFragment:
    '1e0b8b14f6f998eecbbd07fe080045000024000100034006aebfc0a801640a0000050402080a00bc614e0000000001030307',
  /** A-synflood/StopDDoS__amp.TCP.reflection.SYNACK.pcap #128: ICMP port unreachable quoting IP + 20 bytes of a SYN. */
  icmpQuotingSyn:
    '00163e0decf2985d82115449080045c00044f78a00003a01523468fdb9290a0a0a0a030ab4af0000000045000028c5cb0000f3064a65ac63e91468fdb929107301bb5337b1ac0000000050026ef072410000',
  /** A-synflood/niesuv__syn.pcap #2: Linux cooked ICMP host-unreachable quoting the whole SYN of #1. */
  icmpQuotingSynSll:
    '000400010006000c294c143d0000080045c000502f24000040017403c0a82ad2c0a82aa3030ad3e20000000045000034884b400080069bb2c0a82aa3c0a82ad203a500503c742d93000000008002faf02f5d0000020405b40103030801010402',
  /** zeek-traces/trunc/ip-discarder-truncated-tcp-oob.pcapng #1: IPv4 header complete, TCP not captured (caplen 34 of 54). */
  truncatedBeforeTcp: '02000000000202000000000108004500002810010000400656cd0a0000010a000002',
  /** zeek-traces/trunc/ip4-trunc.pcap #1: IPv4 header cut after 6 bytes (caplen 20 of 46). */
  truncatedIpv4Header: '0010db88d2efc8bcc896d2a00800450000200001',
  /** zeek-traces/trunc/ip6-trunc.pcap #1: IPv6 header cut after 34 bytes (caplen 48 of 74). */
  truncatedIpv6Header: 'ffffffffffff00000000000086dd6000000000140040200104f80004000702e081fffe52ffff200104f80004000702e0',
  /** B-benign/evgenii-moriakhin__no_flood.pcap #165, first 80 of 4879 bytes: TSO capture, IPv4 total length 0, PSH-ACK. */
  tsoPrefix:
    '50ff2070c7bf4c034f4ea0b1080045000000fa70400080060000c0a80122021628dfc77101bb27721517851cddbe50180200ecc5000017030312d400000000000001adb81385be17d6c8b946815c08053a7a273b7f',
  /** tcpdump-tests/bigtcp-ipv6.pcap #1, first 100 of 80054 bytes: Linux BIG TCP, IPv6 payload length 0, no jumbo option. */
  bigTcpV6Prefix:
    'b8cef6048b14d4aff7db489786dd60081ccd0000063d260413804091ce00000000000000000b260413804091ce00000000000000000da903a1038707a699e5840de4801801aac8cb00000101080ad47019ebe643040c6e657470657266006e65747065',
} as const;

/** The link type each PKT frame was captured on (Ethernet unless listed). */
export function linkTypeOf(name: string): number {
  return LINK_OF[name] ?? LINKTYPE.ETHERNET;
}

const LINK_OF: Record<string, number> = {
  synSll: LINKTYPE.LINUX_SLL,
  icmpQuotingSynSll: LINKTYPE.LINUX_SLL,
  synSll2: LINKTYPE.LINUX_SLL2,
  pshAckNull: LINKTYPE.NULL,
  synNullV6: LINKTYPE.NULL,
  synRawV4: LINKTYPE.IPV4,
  synRaw: LINKTYPE.RAW,
  rstFddi: LINKTYPE.FDDI,
  synNflog: LINKTYPE.NFLOG,
};

export function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}

/** One frame decoded into a fresh view and counters (or given ones, to test reuse). */
export interface Decoded {
  result: DecodeResult;
  view: PacketView;
  counters: DecodeCounters;
}

export function decode(
  bytes: Buffer | string,
  linkType: number = LINKTYPE.ETHERNET,
  opts: { wirelen?: number; caplen?: number; view?: PacketView; counters?: DecodeCounters; at?: number } = {},
): Decoded {
  const frame = typeof bytes === 'string' ? hex(bytes) : bytes;
  // Put the frame at an offset inside a larger buffer, as a reader does, with junk on both sides.
  const at = opts.at ?? 7;
  const buf = Buffer.alloc(at + frame.length + 9, 0xee);
  frame.copy(buf, at);
  const caplen = opts.caplen ?? frame.length;
  const view = opts.view ?? new PacketView();
  const counters = opts.counters ?? new DecodeCounters();
  const result = decodeFrame(view, buf, at, caplen, opts.wirelen ?? caplen, linkType, counters);
  return { result, view, counters };
}

/** Decodes a CaptureRecord as a reader hands it over. */
export function decodeRecord(rec: CaptureRecord, view: PacketView, counters: DecodeCounters): DecodeResult {
  return decodeFrame(view, rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, counters);
}

/** A copy of `s` (hex) with `bytes` written at byte offset `at`. */
export function patch(s: string, at: number, ...bytes: number[]): Buffer {
  const b = hex(s);
  for (let i = 0; i < bytes.length; i++) b[at + i] = bytes[i];
  return b;
}

/** Asserts a decode ended in the named anomaly with these numbers, counted once. */
export function expectAnomaly(d: Decoded, name: string, value: number, limit: number): void {
  assert.equal(d.result, DecodeResult.Anomaly);
  assert.deepEqual([d.view.anomaly, d.view.anomalyValue, d.view.anomalyLimit], [name, value, limit]);
  assert.equal(d.counters.anomalies[name], 1);
}
