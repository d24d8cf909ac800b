/**
 * Frame builder: real wire bytes for tests and for the synthetic captures in fixtures/.
 *
 * Contract: every function returns a fresh Buffer holding exactly the bytes a NIC would see
 * (Ethernet without FCS), with correct IPv4 header and TCP checksums (TCP over the RFC 9293 /
 * RFC 8200 pseudo-header). Nothing here reads or imports synwatch's own code: these bytes are an
 * independent oracle, so a bug in the decoder cannot hide behind the same bug in its tests.
 * Pure TypeScript over node's Buffer; no dependencies.
 *
 * Layering is by composition, innermost first:
 *   tcpIpv4({src, dst, id}, {sport, dport, seq, flags, options}) -> IPv4 packet
 *   ethernet({etherType: ETHERTYPE.IPV4, tags: [{vid: 100}]}, packet) -> frame
 *   pcapFile({linkType: LINKTYPE.ETHERNET}, [{tsNs, data: frame}]) -> file bytes
 * Timestamps are bigint nanoseconds since the Unix epoch so nanosecond files lose nothing.
 */

/** LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = { ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;
export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, IPV6: 0x86dd } as const;
/** IP protocol / IPv6 next-header numbers used here. */
export const IPPROTO = { HOPOPTS: 0, TCP: 6, ROUTING: 43, FRAGMENT: 44, NONE: 59, DSTOPTS: 60 } as const;
/** TCP flag bits (RFC 9293 and RFC 3168). */
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;
/** Linux cooked-capture packet types (SLL/SLL2 "packet type" byte). */
export const SLL_PACKET = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;
/** ARPHRD_ETHER: the SLL2 hardware type of an Ethernet interface. */
export const ARPHRD_ETHER = 1;

const ETH_HEADER_LEN = 14;
const VLAN_TAG_LEN = 4;
/** Ethernet minimum frame without the 4-byte FCS: shorter frames are padded on the wire. */
export const ETH_MIN_FRAME = 60;
const SLL2_HEADER_LEN = 20;
const SLL2_ADDR_FIELD_LEN = 8;
const IPV4_MIN_HEADER = 20;
const IPV4_MAX_OPTIONS = 40;
const IPV4_FLAG_DF = 0x4000;
const IPV4_FLAG_MF = 0x2000;
const IPV6_HEADER_LEN = 40;
const IPV6_FRAG_HEADER_LEN = 8;
const TCP_MIN_HEADER = 20;
const TCP_MAX_OPTIONS = 40;
/** TCP option kinds (IANA). 34 is TCP Fast Open (RFC 7413). */
const TCPOPT = { EOL: 0, NOP: 1, MSS: 2, WS: 3, SACK_PERM: 4, SACK: 5, TS: 8, TFO: 34 } as const;
const DEFAULT_TTL = 64;
const DEFAULT_WINDOW = 64240;

// ---------------------------------------------------------------------------------------------
// Addresses and checksums

/** IPv4 (4 bytes) or IPv6 (16 bytes) from text; throws on anything else (tests want loud errors). */
export function ipBytes(text: string): Buffer {
  if (!text.includes(':')) {
    const parts = text.split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
      throw new Error(`bad IPv4 address "${text}"`);
    }
    return Buffer.from(parts.map(Number));
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address "${text}": more than one "::"`);
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) throw new Error(`bad IPv6 address "${text}": wrong group count`);
  const all = [...head, ...Array<string>(zeros).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 group "${g}" in "${text}"`);
    out.writeUInt16BE(parseInt(g, 16), 2 * i);
  });
  return out;
}

/** MAC address "aa:bb:cc:dd:ee:ff" to 6 bytes. */
export function macBytes(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC "${text}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** RFC 1071 Internet checksum over the concatenation of `parts`. */
export function inetChecksum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i + 1 < all.length; i += 2) sum += (all[i] << 8) | all[i + 1];
  if (all.length & 1) sum += all[all.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Link layers

export interface VlanTag {
  /** Tag protocol identifier: 0x8100 (802.1Q, the default) or 0x88a8 (802.1ad outer tag). */
  tpid?: number;
  vid: number;
  pcp?: number;
  dei?: boolean;
}

export interface EthernetSpec {
  dst?: string;
  src?: string;
  etherType: number;
  /** Outermost first. */
  tags?: VlanTag[];
  /** Pad to the 60-byte minimum as a received frame is (captures on the sender show no padding). */
  pad?: boolean;
}

export function ethernet(spec: EthernetSpec, payload: Uint8Array): Buffer {
  const tags = spec.tags ?? [];
  const head = Buffer.alloc(ETH_HEADER_LEN + tags.length * VLAN_TAG_LEN);
  macBytes(spec.dst ?? '00:00:5e:00:53:01').copy(head, 0);
  macBytes(spec.src ?? '00:00:5e:00:53:02').copy(head, 6);
  let at = 12;
  for (const t of tags) {
    head.writeUInt16BE(t.tpid ?? ETHERTYPE.VLAN, at);
    head.writeUInt16BE(((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | (t.vid & 0xfff), at + 2);
    at += VLAN_TAG_LEN;
  }
  head.writeUInt16BE(spec.etherType, at);
  const frame = Buffer.concat([head, payload]);
  if (spec.pad && frame.length < ETH_MIN_FRAME) return Buffer.concat([frame, Buffer.alloc(ETH_MIN_FRAME - frame.length)]);
  return frame;
}

export interface Sll2Spec {
  /** EtherType of the payload. */
  protocol: number;
  ifindex?: number;
  hatype?: number;
  /** SLL_PACKET.*; HOST for received, OUTGOING for sent. */
  packetType?: number;
  /** Link-layer source address (MAC text); empty when omitted. */
  addr?: string;
}

/** Linux "cooked" v2 header (LINKTYPE_LINUX_SLL2, as `tcpdump -i any` writes since libpcap 1.10). */
export function sll2(spec: Sll2Spec, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(SLL2_HEADER_LEN);
  head.writeUInt16BE(spec.protocol, 0);
  // bytes 2..3 reserved (zero)
  head.writeUInt32BE(spec.ifindex ?? 2, 4);
  head.writeUInt16BE(spec.hatype ?? ARPHRD_ETHER, 8);
  head.writeUInt8(spec.packetType ?? SLL_PACKET.HOST, 10);
  const addr = spec.addr ? macBytes(spec.addr) : Buffer.alloc(0);
  head.writeUInt8(addr.length, 11);
  addr.copy(head, 12, 0, SLL2_ADDR_FIELD_LEN);
  return Buffer.concat([head, payload]);
}

// ---------------------------------------------------------------------------------------------
// IPv4

export interface Ipv4Spec {
  src: string;
  dst: string;
  protocol: number;
  id?: number;
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** Raw option bytes; padded with EOL to a multiple of 4 (at most 40). */
  options?: Uint8Array;
}

export function ipv4(spec: Ipv4Spec, payload: Uint8Array): Buffer {
  const opts = padTo4(spec.options ?? Buffer.alloc(0), TCPOPT.EOL);
  if (opts.length > IPV4_MAX_OPTIONS) throw new Error(`IPv4 options are ${opts.length} bytes > ${IPV4_MAX_OPTIONS}`);
  const off = spec.fragmentOffset ?? 0;
  if (off % 8 !== 0) throw new Error(`IPv4 fragment offset ${off} is not a multiple of 8`);
  const hlen = IPV4_MIN_HEADER + opts.length;
  const h = Buffer.alloc(hlen);
  h.writeUInt8(0x40 | (hlen >> 2), 0);
  h.writeUInt8(spec.tos ?? 0, 1);
  h.writeUInt16BE(hlen + payload.length, 2);
  h.writeUInt16BE((spec.id ?? 0) & 0xffff, 4);
  h.writeUInt16BE((spec.dontFragment ? IPV4_FLAG_DF : 0) | (spec.moreFragments ? IPV4_FLAG_MF : 0) | (off >> 3), 6);
  h.writeUInt8(spec.ttl ?? DEFAULT_TTL, 8);
  h.writeUInt8(spec.protocol, 9);
  ipBytes(spec.src).copy(h, 12);
  ipBytes(spec.dst).copy(h, 16);
  opts.copy(h, IPV4_MIN_HEADER);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

/** Split `payload` into IPv4 fragments of the given sizes (all but the last a multiple of 8). */
export function ipv4Fragments(spec: Ipv4Spec, payload: Uint8Array, sizes: number[]): Buffer[] {
  return splitFragments(payload, sizes).map(({ offset, bytes, more }) =>
    ipv4({ ...spec, fragmentOffset: offset, moreFragments: more, dontFragment: false }, bytes));
}

// ---------------------------------------------------------------------------------------------
// IPv6

export type Ipv6Ext =
  /** Options are TLVs; the header is padded with Pad1/PadN to a multiple of 8. */
  | { type: 'hop-by-hop'; options?: Uint8Array }
  | { type: 'destination'; options?: Uint8Array }
  /** Type 0/2-style routing header: 4 reserved bytes then the addresses (RFC 8200 §4.4). */
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; addresses: string[] }
  /** Offset in bytes (a multiple of 8). */
  | { type: 'fragment'; offset: number; more: boolean; id: number };

export interface Ipv6Spec {
  src: string;
  dst: string;
  /** Protocol of the upper layer after all extension headers. */
  nextHeader: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Extension headers in wire order. */
  ext?: Ipv6Ext[];
}

const EXT_PROTO: Record<Ipv6Ext['type'], number> = {
  'hop-by-hop': IPPROTO.HOPOPTS, destination: IPPROTO.DSTOPTS, routing: IPPROTO.ROUTING, fragment: IPPROTO.FRAGMENT,
};

function ipv6ExtBytes(e: Ipv6Ext, next: number): Buffer {
  if (e.type === 'fragment') {
    if (e.offset % 8 !== 0) throw new Error(`IPv6 fragment offset ${e.offset} is not a multiple of 8`);
    const b = Buffer.alloc(IPV6_FRAG_HEADER_LEN);
    b.writeUInt8(next, 0);
    b.writeUInt16BE(e.offset | (e.more ? 1 : 0), 2);
    b.writeUInt32BE(e.id >>> 0, 4);
    return b;
  }
  let body: Buffer;
  if (e.type === 'routing') {
    const addrs = e.addresses.map(ipBytes);
    body = Buffer.concat([Buffer.from([e.routingType ?? 0, e.segmentsLeft ?? addrs.length, 0, 0, 0, 0]), ...addrs]);
  } else {
    body = padOptionsTo8(Buffer.from(e.options ?? []));
  }
  const b = Buffer.concat([Buffer.from([next, (body.length + 2) / 8 - 1]), body]);
  return b;
}

/** Pad hop-by-hop/destination options with Pad1 or PadN so that 2 + length is a multiple of 8. */
function padOptionsTo8(opts: Buffer): Buffer {
  const need = (8 - ((opts.length + 2) % 8)) % 8;
  if (need === 0) return opts;
  if (need === 1) return Buffer.concat([opts, Buffer.from([0])]); // Pad1
  return Buffer.concat([opts, Buffer.from([1, need - 2]), Buffer.alloc(need - 2)]); // PadN
}

export function ipv6(spec: Ipv6Spec, payload: Uint8Array): Buffer {
  const ext = spec.ext ?? [];
  const parts: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const next = i + 1 < ext.length ? EXT_PROTO[ext[i + 1].type] : spec.nextHeader;
    parts.push(ipv6ExtBytes(ext[i], next));
  }
  const body = Buffer.concat([...parts, payload]);
  const h = Buffer.alloc(IPV6_HEADER_LEN);
  h.writeUInt32BE(((6 << 28) | ((spec.trafficClass ?? 0) << 20) | ((spec.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(body.length, 4);
  h.writeUInt8(ext.length ? EXT_PROTO[ext[0].type] : spec.nextHeader, 6);
  h.writeUInt8(spec.hopLimit ?? DEFAULT_TTL, 7);
  ipBytes(spec.src).copy(h, 8);
  ipBytes(spec.dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

/**
 * Split the fragmentable part into IPv6 fragments (RFC 8200 §4.5). `spec.ext` is the
 * unfragmentable part, repeated in every fragment; a Fragment header follows it.
 */
export function ipv6Fragments(spec: Ipv6Spec, fragmentable: Uint8Array, id: number, sizes: number[]): Buffer[] {
  return splitFragments(fragmentable, sizes).map(({ offset, bytes, more }) =>
    ipv6({ ...spec, ext: [...(spec.ext ?? []), { type: 'fragment', offset, more, id }] }, bytes));
}

/** The destination the upper-layer checksum uses: the last routing address while segments are left. */
export function ipv6FinalDestination(spec: Ipv6Spec): string {
  const rh = (spec.ext ?? []).find((e): e is Extract<Ipv6Ext, { type: 'routing' }> => e.type === 'routing');
  if (rh && (rh.segmentsLeft ?? rh.addresses.length) > 0) return rh.addresses[rh.addresses.length - 1];
  return spec.dst;
}

function splitFragments(payload: Uint8Array, sizes: number[]): { offset: number; bytes: Buffer; more: boolean }[] {
  const out: { offset: number; bytes: Buffer; more: boolean }[] = [];
  let offset = 0;
  for (const size of sizes) {
    if (size % 8 !== 0) throw new Error(`fragment size ${size} is not a multiple of 8`);
    out.push({ offset, bytes: Buffer.from(payload.subarray(offset, offset + size)), more: true });
    offset += size;
  }
  if (offset >= payload.length) throw new Error(`fragment sizes cover ${offset} of ${payload.length} bytes: nothing left for the last`);
  out.push({ offset, bytes: Buffer.from(payload.subarray(offset)), more: false });
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP

export type TcpOption =
  | { kind: 'mss'; value: number }
  | { kind: 'sack-perm' }
  | { kind: 'sack'; blocks: [number, number][] }
  | { kind: 'ts'; val: number; ecr: number }
  | { kind: 'ws'; shift: number }
  /** TCP Fast Open (RFC 7413): no cookie = a cookie request. */
  | { kind: 'tfo'; cookie?: Uint8Array }
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'raw'; bytes: Uint8Array };

export interface TcpSpec {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  /** TCP_FLAGS bits. */
  flags: number;
  window?: number;
  urgent?: number;
  /** In wire order; the block is padded with EOL to a multiple of 4. */
  options?: TcpOption[];
  payload?: Uint8Array;
}

export function tcpOptionBytes(opts: TcpOption[]): Buffer {
  const parts = opts.map((o): Buffer => {
    switch (o.kind) {
      case 'mss': { const b = Buffer.from([TCPOPT.MSS, 4, 0, 0]); b.writeUInt16BE(o.value, 2); return b; }
      case 'sack-perm': return Buffer.from([TCPOPT.SACK_PERM, 2]);
      case 'sack': {
        const b = Buffer.alloc(2 + 8 * o.blocks.length);
        b.writeUInt8(TCPOPT.SACK, 0); b.writeUInt8(b.length, 1);
        o.blocks.forEach(([l, r], i) => { b.writeUInt32BE(l >>> 0, 2 + 8 * i); b.writeUInt32BE(r >>> 0, 6 + 8 * i); });
        return b;
      }
      case 'ts': {
        const b = Buffer.alloc(10);
        b.writeUInt8(TCPOPT.TS, 0); b.writeUInt8(10, 1); b.writeUInt32BE(o.val >>> 0, 2); b.writeUInt32BE(o.ecr >>> 0, 6);
        return b;
      }
      case 'ws': return Buffer.from([TCPOPT.WS, 3, o.shift]);
      case 'tfo': { const c = Buffer.from(o.cookie ?? []); return Buffer.concat([Buffer.from([TCPOPT.TFO, 2 + c.length]), c]); }
      case 'nop': return Buffer.from([TCPOPT.NOP]);
      case 'eol': return Buffer.from([TCPOPT.EOL]);
      case 'raw': return Buffer.from(o.bytes);
    }
  });
  const b = padTo4(Buffer.concat(parts), TCPOPT.EOL);
  if (b.length > TCP_MAX_OPTIONS) throw new Error(`TCP options are ${b.length} bytes > ${TCP_MAX_OPTIONS}`);
  return b;
}

/** A TCP segment whose checksum covers the pseudo-header of `src` -> `dst` (IPv4 or IPv6 text). */
export function tcp(spec: TcpSpec, src: string, dst: string): Buffer {
  const opts = tcpOptionBytes(spec.options ?? []);
  const payload = Buffer.from(spec.payload ?? []);
  const hlen = TCP_MIN_HEADER + opts.length;
  const h = Buffer.alloc(hlen);
  h.writeUInt16BE(spec.sport, 0);
  h.writeUInt16BE(spec.dport, 2);
  h.writeUInt32BE(spec.seq >>> 0, 4);
  h.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
  h.writeUInt16BE(((hlen >> 2) << 12) | (spec.flags & 0x1ff), 12);
  h.writeUInt16BE(spec.window ?? DEFAULT_WINDOW, 14);
  h.writeUInt16BE(spec.urgent ?? 0, 18);
  opts.copy(h, TCP_MIN_HEADER);
  const seg = Buffer.concat([h, payload]);
  seg.writeUInt16BE(inetChecksum(pseudoHeader(src, dst, IPPROTO.TCP, seg.length), seg), 16);
  return seg;
}

function pseudoHeader(src: string, dst: string, proto: number, length: number): Buffer {
  const s = ipBytes(src), d = ipBytes(dst);
  if (s.length !== d.length) throw new Error(`pseudo-header mixes families: ${src} -> ${dst}`);
  if (s.length === 4) {
    const tail = Buffer.from([0, proto, length >> 8, length & 0xff]);
    return Buffer.concat([s, d, tail]);
  }
  const tail = Buffer.alloc(8);
  tail.writeUInt32BE(length, 0);
  tail.writeUInt8(proto, 7);
  return Buffer.concat([s, d, tail]);
}

/** An IPv4 packet carrying one TCP segment. */
export function tcpIpv4(ip: Omit<Ipv4Spec, 'protocol'>, seg: TcpSpec): Buffer {
  return ipv4({ ...ip, protocol: IPPROTO.TCP }, tcp(seg, ip.src, ip.dst));
}

/** An IPv6 packet (with any extension headers) carrying one TCP segment. */
export function tcpIpv6(ip: Omit<Ipv6Spec, 'nextHeader'>, seg: TcpSpec): Buffer {
  const spec = { ...ip, nextHeader: IPPROTO.TCP };
  return ipv6(spec, tcp(seg, ip.src, ipv6FinalDestination(spec)));
}

function padTo4(b: Uint8Array, fill: number): Buffer {
  const rem = b.length % 4;
  return rem === 0 ? Buffer.from(b) : Buffer.concat([b, Buffer.alloc(4 - rem, fill)]);
}

// ---------------------------------------------------------------------------------------------
// Capture files

export interface CapturedFrame {
  /** Nanoseconds since the Unix epoch. */
  tsNs: bigint;
  /** The frame as on the wire; cut to the snaplen (or to `caplen`) when written. */
  data: Uint8Array;
  /** Capture this many bytes at most (a per-frame snaplen); the wire length stays data.length. */
  caplen?: number;
  /** pcapng interface index (0 when omitted). */
  iface?: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_VERSION = [2, 4] as const;
const DEFAULT_SNAPLEN = 262144;
const NS_PER_SEC = 1_000_000_000n;

export interface PcapOptions {
  linkType: number;
  snaplen?: number;
  /** Nanosecond magic (0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  bigEndian?: boolean;
}

function cut(f: CapturedFrame, snaplen: number): number {
  return Math.min(f.data.length, snaplen, f.caplen ?? Infinity);
}

/** A classic libpcap file. */
export function pcapFile(opts: PcapOptions, frames: CapturedFrame[]): Buffer {
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  const w = new ByteWriter(opts.bigEndian ?? false);
  w.u32(opts.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US).u16(PCAP_VERSION[0]).u16(PCAP_VERSION[1]);
  w.u32(0).u32(0).u32(snaplen).u32(opts.linkType);
  const fracPerSec = opts.nanosecond ? NS_PER_SEC : 1_000_000n;
  for (const f of frames) {
    const caplen = cut(f, snaplen);
    const sec = f.tsNs / NS_PER_SEC;
    const frac = ((f.tsNs % NS_PER_SEC) * fracPerSec) / NS_PER_SEC;
    w.u32(Number(sec)).u32(Number(frac)).u32(caplen).u32(f.data.length);
    w.bytes(f.data.subarray(0, caplen));
  }
  return w.done();
}

export interface PcapngInterface {
  linkType: number;
  snaplen?: number;
  /** if_tsresol byte: n = 10^-n seconds (6 = us, 9 = ns); 0x80 | n = 2^-n seconds. Default 6. */
  tsresol?: number;
  name?: string;
}

export interface PcapngOptions {
  interfaces: PcapngInterface[];
  /** shb_userappl: the program that wrote the file. */
  application?: string;
  bigEndian?: boolean;
}

const PCAPNG = {
  SHB: 0x0a0d0d0a, IDB: 0x00000001, EPB: 0x00000006, BYTE_ORDER_MAGIC: 0x1a2b3c4d,
  OPT_END: 0, SHB_USERAPPL: 4, IF_NAME: 2, IF_TSRESOL: 9,
} as const;
const TSRESOL_BASE2 = 0x80;
const DEFAULT_TSRESOL = 6;

/** A pcapng file: one SHB, one IDB per interface, one EPB per frame (RFC draft-ietf-opsawg-pcapng). */
export function pcapngFile(opts: PcapngOptions, frames: CapturedFrame[]): Buffer {
  const be = opts.bigEndian ?? false;
  const blocks: Buffer[] = [];
  const shbBody = new ByteWriter(be).u32(PCAPNG.BYTE_ORDER_MAGIC).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff);
  if (opts.application) option(shbBody, PCAPNG.SHB_USERAPPL, Buffer.from(opts.application));
  blocks.push(block(be, PCAPNG.SHB, endOptions(shbBody, opts.application !== undefined).done()));
  for (const i of opts.interfaces) {
    const b = new ByteWriter(be).u16(i.linkType).u16(0).u32(i.snaplen ?? DEFAULT_SNAPLEN);
    if (i.name) option(b, PCAPNG.IF_NAME, Buffer.from(i.name));
    option(b, PCAPNG.IF_TSRESOL, Buffer.from([i.tsresol ?? DEFAULT_TSRESOL]));
    blocks.push(block(be, PCAPNG.IDB, endOptions(b, true).done()));
  }
  for (const f of frames) {
    const ifIndex = f.iface ?? 0;
    const iface = opts.interfaces[ifIndex];
    if (!iface) throw new Error(`frame names interface ${ifIndex}; only ${opts.interfaces.length} defined`);
    const units = toUnits(f.tsNs, iface.tsresol ?? DEFAULT_TSRESOL);
    const caplen = cut(f, iface.snaplen ?? DEFAULT_SNAPLEN);
    const b = new ByteWriter(be).u32(ifIndex).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn));
    b.u32(caplen).u32(f.data.length).bytes(f.data.subarray(0, caplen)).align4();
    blocks.push(block(be, PCAPNG.EPB, b.done()));
  }
  return Buffer.concat(blocks);
}

/** Timestamp units for an if_tsresol byte (floor, as a capturing host would truncate). */
function toUnits(tsNs: bigint, tsresol: number): bigint {
  const n = BigInt(tsresol & 0x7f);
  if (tsresol & TSRESOL_BASE2) return (tsNs << n) / NS_PER_SEC;
  return n <= 9n ? tsNs / 10n ** (9n - n) : tsNs * 10n ** (n - 9n);
}

function option(w: ByteWriter, code: number, value: Buffer): void {
  w.u16(code).u16(value.length).bytes(value).align4();
}

function endOptions(w: ByteWriter, any: boolean): ByteWriter {
  return any ? w.u16(PCAPNG.OPT_END).u16(0) : w;
}

function block(be: boolean, type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  return new ByteWriter(be).u32(type).u32(total).bytes(body).u32(total).done();
}

/** Append-only byte sink with a fixed byte order. */
class ByteWriter {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly bigEndian: boolean) {}
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.bigEndian) b.writeUInt16BE(v); else b.writeUInt16LE(v);
    return this.push(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeUInt32BE(v >>> 0); else b.writeUInt32LE(v >>> 0);
    return this.push(b);
  }
  bytes(v: Uint8Array): this { return this.push(Buffer.from(v)); }
  align4(): this { return this.length % 4 ? this.push(Buffer.alloc(4 - (this.length % 4))) : this; }
  done(): Buffer { return Buffer.concat(this.chunks); }
  private push(b: Buffer): this { this.chunks.push(b); this.length += b.length; return this; }
}
