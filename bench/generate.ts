/**
 * Deterministic benchmark captures: classic pcap (microsecond, little-endian, LINKTYPE_ETHERNET),
 * Ethernet / IPv4 / TCP with correct lengths and IPv4 header checksums (TCP checksums are zero,
 * as on a capture with checksum offload).
 *
 * Contract: `generate(kind, dir, opts)` writes `<dir>/<kind>.pcap` and `<dir>/<kind>.json` (a
 * manifest: parameters, record count, bytes, and the totals synwatch's report must show), and
 * returns the manifest. Same kind and options, same bytes: everything comes from a seeded PRNG
 * and packet time, never from the wall clock. `ensureCapture` regenerates only when the manifest
 * is missing or was written with other parameters. The directory is a scratch directory
 * (default /tmp/synwatch-bench), never inside the repository.
 *
 * Captures:
 *   flood    ~1M SYNs from 300 sources (random sport and ISN) to 3 targets over 80 s of packet
 *            time; the victim answers 25% with a SYN-ACK 300 us later, no handshake completes.
 *   mixed    ~1M packets, snaplen 96: 256 concurrent TCP sessions (handshake, request, response
 *            in 1448-byte segments with delayed ACKs, FIN close), 3% refused (RST), plus UDP
 *            (DNS-sized) and ARP noise.
 *   spoofed  3M SYNs, each from a distinct pseudo-random IPv4 source (a bijection of the index,
 *            so no two collide), to one target, over 30 s.
 *
 * CLI: node dist/bench/generate.js [--dir D] [--only flood,mixed,spoofed] [--force]
 *        [--count N]   (records per capture, overriding the defaults; for quick tries)
 */
import * as fs from 'fs';
import * as path from 'path';

export const DEFAULT_DIR = '/tmp/synwatch-bench';
/** Bump when the bytes a kind produces change, so stale captures are regenerated. */
export const GENERATOR_VERSION = 1;

export type CaptureKind = 'flood' | 'mixed' | 'spoofed';
export const CAPTURE_KINDS: readonly CaptureKind[] = ['flood', 'mixed', 'spoofed'];

/** Totals the analyze report must show (report.totals field names). */
export interface ExpectedTotals {
  packets: number;
  tcpSegments: number;
  synOnly: number;
  synAck: number;
  rst: number;
  attempts: number;
  completed: number;
}

export interface Manifest {
  kind: CaptureKind;
  generatorVersion: number;
  seed: number;
  /** Records requested (the capture holds exactly `records`). */
  count: number;
  snaplen: number;
  file: string;
  records: number;
  bytes: number;
  /** Distinct SYN source addresses. */
  sources: number;
  expected: ExpectedTotals;
  description: string;
}

export interface GenerateOptions {
  /** Records (packets) in the capture; for `flood`, SYNs (SYN-ACKs come on top). */
  count?: number;
  seed?: number;
}

export const DEFAULT_COUNTS: Record<CaptureKind, number> = {
  flood: 1_000_000,
  mixed: 1_000_000,
  spoofed: 3_000_000,
};

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32 (small fast counter), 32-bit state words, seeded through splitmix-style mixing.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = fmix32(seed ^ 0x9e3779b9);
    this.b = fmix32(seed ^ 0x243f6a88);
    this.c = fmix32(seed ^ 0xb7e15162);
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n), n <= 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  /** Exponentially distributed integer with the given mean (at least 1). */
  expInt(mean: number): number {
    const u = (this.u32() + 1) / 4294967297;
    const v = Math.round(-Math.log(u) * mean);
    return v < 1 ? 1 : v;
  }
}

/** murmur3's finaliser: a bijection on 32-bit integers. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Buffered pcap writer: one big buffer, frames built in place, flushed with writeSync.

const PCAP_MAGIC_US = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const ETH_HDR = 14;
const IP_HDR = 20;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
/** Ethernet minimum frame without FCS: shorter frames are padded with zeros on the wire. */
const ETH_MIN_FRAME = 60;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** TCP option layouts the generator writes (lengths are multiples of 4). */
export const enum TcpOpts {
  None = 0,
  /** SYN as Linux sends it: MSS, SACK permitted, timestamps, NOP, window scale (20 bytes). */
  Syn = 1,
  /** NOP NOP timestamps (12 bytes), as on every segment of a connection that negotiated them. */
  Timestamps = 2,
}
const TCP_OPTS_LEN = [0, 20, 12];

export class PcapWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private pos = 0;
  records = 0;
  bytes = 0;
  private ipId = 0;
  private readonly srcMac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
  private readonly dstMac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];

  constructor(file: string, readonly snaplen: number, bufferBytes = 4 << 20) {
    this.fd = fs.openSync(file, 'w');
    this.buf = Buffer.alloc(bufferBytes);
    const h = this.buf;
    h.writeUInt32LE(PCAP_MAGIC_US, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); // thiszone
    h.writeUInt32LE(0, 12); // sigfigs
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.pos = 24;
  }

  /** Record header + Ethernet header; returns the offset of the Ethernet payload. */
  private begin(tsUs: number, wirelen: number, etherType: number, reverseMacs: boolean): number {
    const caplen = wirelen < this.snaplen ? wirelen : this.snaplen;
    if (this.pos + 16 + caplen > this.buf.length) this.flush();
    const b = this.buf;
    let p = this.pos;
    const sec = Math.floor(tsUs / 1e6);
    b.writeUInt32LE(sec, p);
    b.writeUInt32LE(tsUs - sec * 1e6, p + 4);
    b.writeUInt32LE(caplen, p + 8);
    b.writeUInt32LE(wirelen, p + 12);
    p += 16;
    // Zero the frame first: padding and snaplen-cut payload are zeros, nothing stale survives.
    b.fill(0, p, p + caplen);
    const dm = reverseMacs ? this.srcMac : this.dstMac;
    const sm = reverseMacs ? this.dstMac : this.srcMac;
    for (let i = 0; i < 6; i++) {
      b[p + i] = dm[i];
      b[p + 6 + i] = sm[i];
    }
    b[p + 12] = etherType >>> 8;
    b[p + 13] = etherType & 0xff;
    this.pos = p + caplen;
    this.records++;
    this.bytes += 16 + caplen;
    return p + ETH_HDR;
  }

  /** Writes as much of the frame as the snaplen keeps; `p` is where the field would go. */
  private inFrame(p: number, len: number): boolean {
    return p + len <= this.pos;
  }

  private ipHeader(p: number, totalLen: number, proto: number, src: number, dst: number, ttl: number): void {
    const b = this.buf;
    b[p] = 0x45;
    b[p + 1] = 0;
    b.writeUInt16BE(totalLen, p + 2);
    this.ipId = (this.ipId + 1) & 0xffff;
    b.writeUInt16BE(this.ipId, p + 4);
    b.writeUInt16BE(0x4000, p + 6); // DF
    b[p + 8] = ttl;
    b[p + 9] = proto;
    b.writeUInt32BE(src, p + 12);
    b.writeUInt32BE(dst, p + 16);
    let sum = 0;
    for (let i = 0; i < IP_HDR; i += 2) sum += (b[p + i] << 8) | b[p + i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b.writeUInt16BE(~sum & 0xffff, p + 10);
  }

  /** One Ethernet/IPv4/TCP frame; `payloadLen` bytes of (zero) data on the wire. */
  tcp(
    tsUs: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number,
    flags: number, window: number, opts: TcpOpts, payloadLen: number, fromServer = false,
  ): void {
    const optLen = TCP_OPTS_LEN[opts];
    const tcpLen = 20 + optLen;
    const ipLen = IP_HDR + tcpLen + payloadLen;
    const frameLen = ETH_HDR + ipLen;
    const wirelen = frameLen < ETH_MIN_FRAME ? ETH_MIN_FRAME : frameLen;
    const ip = this.begin(tsUs, wirelen, ETHERTYPE_IPV4, fromServer);
    if (!this.inFrame(ip, IP_HDR)) return;
    this.ipHeader(ip, ipLen, PROTO_TCP, src, dst, fromServer ? 64 : 57);
    const t = ip + IP_HDR;
    if (!this.inFrame(t, 20)) return;
    const b = this.buf;
    b.writeUInt16BE(sport, t);
    b.writeUInt16BE(dport, t + 2);
    b.writeUInt32BE(seq >>> 0, t + 4);
    b.writeUInt32BE(ack >>> 0, t + 8);
    b[t + 12] = (tcpLen >>> 2) << 4;
    b[t + 13] = flags;
    b.writeUInt16BE(window, t + 14);
    // checksum (t + 16) and urgent pointer stay 0
    const o = t + 20;
    if (opts === TcpOpts.None || !this.inFrame(o, optLen)) return;
    const tsVal = Math.floor(tsUs / 1000) >>> 0;
    if (opts === TcpOpts.Syn) {
      b[o] = 2; b[o + 1] = 4; b.writeUInt16BE(1460, o + 2); // MSS
      b[o + 4] = 4; b[o + 5] = 2; // SACK permitted
      b[o + 6] = 8; b[o + 7] = 10; b.writeUInt32BE(tsVal, o + 8); // timestamps (echo 0)
      b[o + 16] = 1; // NOP
      b[o + 17] = 3; b[o + 18] = 3; b[o + 19] = 7; // window scale 7
    } else {
      b[o] = 1; b[o + 1] = 1;
      b[o + 2] = 8; b[o + 3] = 10; b.writeUInt32BE(tsVal, o + 4); b.writeUInt32BE((tsVal - 20) >>> 0, o + 8);
    }
  }

  /** One Ethernet/IPv4/UDP datagram with `payloadLen` zero bytes. */
  udp(tsUs: number, src: number, dst: number, sport: number, dport: number, payloadLen: number, fromServer: boolean): void {
    const ipLen = IP_HDR + 8 + payloadLen;
    const frameLen = ETH_HDR + ipLen;
    const ip = this.begin(tsUs, frameLen < ETH_MIN_FRAME ? ETH_MIN_FRAME : frameLen, ETHERTYPE_IPV4, fromServer);
    if (!this.inFrame(ip, IP_HDR + 8)) return;
    this.ipHeader(ip, ipLen, PROTO_UDP, src, dst, 64);
    const b = this.buf;
    const u = ip + IP_HDR;
    b.writeUInt16BE(sport, u);
    b.writeUInt16BE(dport, u + 2);
    b.writeUInt16BE(8 + payloadLen, u + 4);
  }

  /** One ARP who-has request (broadcast), 60 bytes on the wire. */
  arp(tsUs: number, sender: number, target: number): void {
    const p = this.begin(tsUs, ETH_MIN_FRAME, ETHERTYPE_ARP, false);
    const b = this.buf;
    b.writeUInt16BE(1, p); // hardware: Ethernet
    b.writeUInt16BE(ETHERTYPE_IPV4, p + 2);
    b[p + 4] = 6;
    b[p + 5] = 4;
    b.writeUInt16BE(1, p + 6); // request
    for (let i = 0; i < 6; i++) b[p + 8 + i] = this.srcMac[i];
    b.writeUInt32BE(sender, p + 14);
    b.writeUInt32BE(target, p + 24);
  }

  flush(): void {
    if (this.pos > 0) fs.writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------------
// The three captures.

/** Start of packet time: 2024-03-01T12:00:00Z. */
const T0_US = 1_709_294_400 * 1e6;

function emptyTotals(): ExpectedTotals {
  return { packets: 0, tcpSegments: 0, synOnly: 0, synAck: 0, rst: 0, attempts: 0, completed: 0 };
}

/** Ephemeral port in Linux's default range. */
function ephemeral(rng: Rng): number {
  return rng.range(32768, 60999);
}

function genFlood(w: PcapWriter, rng: Rng, syns: number, e: ExpectedTotals): number {
  const SOURCES = 300;
  const SYNACK_SHARE = 0.25;
  const SYNACK_DELAY_US = 300;
  const DURATION_US = 80e6;
  const sources = new Uint32Array(SOURCES);
  const seen = new Set<number>();
  for (let i = 0; i < SOURCES; ) {
    // Public-looking unicast addresses: first octet 1..223, not 10/127.
    const a = rng.range(1, 223);
    if (a === 10 || a === 127) continue;
    const addr = ipv4(a, rng.int(256), rng.int(256), rng.range(1, 254));
    if (seen.has(addr)) continue;
    seen.add(addr);
    sources[i++] = addr;
  }
  const targets: [number, number][] = [
    [ipv4(198, 51, 100, 10), 80],
    [ipv4(198, 51, 100, 10), 443],
    [ipv4(198, 51, 100, 20), 443],
  ];
  // Pending SYN-ACKs in a FIFO (the delay is constant, so the FIFO is in time order).
  const qT = new Float64Array(syns);
  const qSrc = new Uint32Array(syns);
  const qSport = new Uint16Array(syns);
  const qIsn = new Uint32Array(syns);
  const qTarget = new Uint8Array(syns);
  let qHead = 0;
  let qTail = 0;
  const meanGap = DURATION_US / syns;
  let t = T0_US;
  const drain = (until: number) => {
    while (qHead < qTail && qT[qHead] <= until) {
      const [dst, dport] = targets[qTarget[qHead]];
      w.tcp(qT[qHead], dst, qSrc[qHead], dport, qSport[qHead], rng.u32(), qIsn[qHead] + 1, TCP_SYN | TCP_ACK, 65160, TcpOpts.Syn, 0, true);
      e.synAck++;
      qHead++;
    }
  };
  for (let i = 0; i < syns; i++) {
    t += rng.expInt(meanGap);
    drain(t);
    const src = sources[rng.int(SOURCES)];
    const ti = rng.int(targets.length);
    const [dst, dport] = targets[ti];
    const sport = ephemeral(rng);
    const isn = rng.u32();
    w.tcp(t, src, dst, sport, dport, isn, 0, TCP_SYN, 64240, TcpOpts.Syn, 0);
    e.synOnly++;
    e.attempts++;
    if (rng.chance(SYNACK_SHARE)) {
      qT[qTail] = t + SYNACK_DELAY_US;
      qSrc[qTail] = src;
      qSport[qTail] = sport;
      qIsn[qTail] = isn;
      qTarget[qTail] = ti;
      qTail++;
    }
  }
  drain(Infinity);
  e.packets = e.tcpSegments = e.synOnly + e.synAck;
  return SOURCES;
}

function genSpoofed(w: PcapWriter, rng: Rng, syns: number, e: ExpectedTotals, seed: number): number {
  const DURATION_US = 30e6;
  const dst = ipv4(198, 51, 100, 30);
  const meanGap = DURATION_US / syns;
  const salt = fmix32(seed ^ 0x5bd1e995);
  let t = T0_US;
  for (let i = 0; i < syns; i++) {
    t += rng.expInt(meanGap);
    // fmix32 is a bijection, so distinct indexes give distinct sources.
    const src = fmix32((i ^ salt) >>> 0);
    w.tcp(t, src, dst, rng.range(1024, 65535), 80, rng.u32(), 0, TCP_SYN, 512, TcpOpts.None, 0);
  }
  e.packets = e.tcpSegments = e.synOnly = e.attempts = syns;
  return syns;
}

/** One TCP session of the mixed capture, stepped one packet at a time. */
interface Session {
  client: number;
  server: number;
  cport: number;
  sport: number;
  cseq: number;
  sseq: number;
  state: number;
  refused: boolean;
  requestsLeft: number;
  responseLeft: number;
  unacked: number;
}

const S_SYN = 0;
const S_SYNACK = 1;
const S_ACK = 2;
const S_REQUEST = 3;
const S_RESPONSE = 4;
const S_CLIENT_FIN = 5;
const S_SERVER_FIN = 6;
const S_LAST_ACK = 7;
const S_RST = 8;
const S_DONE = 9;

const MSS = 1448;

function genMixed(w: PcapWriter, rng: Rng, packets: number, e: ExpectedTotals): number {
  const CONCURRENT = 256;
  const CLIENTS = 5000;
  const REFUSED_SHARE = 0.03;
  const UDP_SHARE = 0.02;
  const ARP_SHARE = 0.001;
  const MEAN_GAP_US = 40;
  const clients = new Uint32Array(CLIENTS);
  // 100.64.0.0/10 (CGN space), host parts 1..250 so that no address is a .0 or a .255.
  for (let i = 0; i < CLIENTS; i++) clients[i] = ipv4(100, 64 + Math.floor(i / 64000), Math.floor(i / 250) % 256, (i % 250) + 1);
  const servers: [number, number][] = [
    [ipv4(192, 0, 2, 10), 443], [ipv4(192, 0, 2, 10), 80], [ipv4(192, 0, 2, 11), 443],
    [ipv4(192, 0, 2, 12), 22], [ipv4(192, 0, 2, 13), 8443], [ipv4(192, 0, 2, 14), 443],
  ];
  const closedPort = 8080;
  const dns = ipv4(192, 0, 2, 53);
  const clientSeen = new Uint8Array(CLIENTS);
  let sourceCount = 0;

  const newSession = (): Session => {
    const ci = rng.int(CLIENTS);
    if (!clientSeen[ci]) {
      clientSeen[ci] = 1;
      sourceCount++;
    }
    const [server, port] = servers[rng.int(servers.length)];
    const refused = rng.chance(REFUSED_SHARE);
    return {
      client: clients[ci], server, cport: ephemeral(rng), sport: refused ? closedPort : port,
      cseq: rng.u32(), sseq: rng.u32(), state: S_SYN, refused,
      requestsLeft: rng.range(1, 3), responseLeft: 0, unacked: 0,
    };
  };

  const active: Session[] = [];
  for (let i = 0; i < CONCURRENT; i++) active.push(newSession());
  let t = T0_US;
  while (w.records < packets) {
    t += rng.expInt(MEAN_GAP_US);
    if (rng.chance(UDP_SHARE)) {
      const c = clients[rng.int(CLIENTS)];
      const q = rng.chance(0.5);
      w.udp(t, q ? c : dns, q ? dns : c, q ? ephemeral(rng) : 53, q ? 53 : ephemeral(rng), q ? rng.range(30, 60) : rng.range(60, 300), !q);
      continue;
    }
    if (rng.chance(ARP_SHARE)) {
      w.arp(t, ipv4(192, 0, 2, 1), ipv4(192, 0, 2, rng.range(2, 254)));
      continue;
    }
    const si = rng.int(CONCURRENT);
    const s = active[si];
    stepSession(w, rng, s, t, e);
    if (s.state === S_DONE) active[si] = newSession();
  }
  e.packets = w.records;
  return sourceCount;
}

/** Writes the session's next packet and advances its state. */
function stepSession(w: PcapWriter, rng: Rng, s: Session, t: number, e: ExpectedTotals): void {
  const TS = TcpOpts.Timestamps;
  switch (s.state) {
    case S_SYN:
      w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, 0, TCP_SYN, 64240, TcpOpts.Syn, 0);
      e.synOnly++;
      e.attempts++;
      s.cseq = (s.cseq + 1) >>> 0;
      s.state = s.refused ? S_RST : S_SYNACK;
      break;
    case S_RST:
      w.tcp(t, s.server, s.client, s.sport, s.cport, 0, s.cseq, TCP_RST | TCP_ACK, 0, TcpOpts.None, 0, true);
      e.rst++;
      s.state = S_DONE;
      break;
    case S_SYNACK:
      w.tcp(t, s.server, s.client, s.sport, s.cport, s.sseq, s.cseq, TCP_SYN | TCP_ACK, 65160, TcpOpts.Syn, 0, true);
      e.synAck++;
      s.sseq = (s.sseq + 1) >>> 0;
      s.state = S_ACK;
      break;
    case S_ACK:
      w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, s.sseq, TCP_ACK, 502, TS, 0);
      e.completed++;
      s.state = S_REQUEST;
      break;
    case S_REQUEST: {
      const len = rng.range(80, 1200);
      w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, s.sseq, TCP_PSH | TCP_ACK, 502, TS, len);
      s.cseq = (s.cseq + len) >>> 0;
      s.requestsLeft--;
      // Response sizes: mostly small, a tail up to 64 KB.
      s.responseLeft = rng.chance(0.7) ? rng.range(200, 8000) : rng.range(8000, 64_000);
      s.unacked = 0;
      s.state = S_RESPONSE;
      break;
    }
    case S_RESPONSE:
      if (s.unacked >= 2 || (s.responseLeft === 0 && s.unacked > 0)) {
        // Delayed ACK from the client every second full segment, and after the last one.
        w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, s.sseq, TCP_ACK, 502, TS, 0);
        s.unacked = 0;
      } else {
        const len = s.responseLeft < MSS ? s.responseLeft : MSS;
        s.responseLeft -= len;
        w.tcp(t, s.server, s.client, s.sport, s.cport, s.sseq, s.cseq, s.responseLeft === 0 ? TCP_PSH | TCP_ACK : TCP_ACK, 509, TS, len, true);
        s.sseq = (s.sseq + len) >>> 0;
        s.unacked++;
      }
      if (s.responseLeft === 0 && s.unacked === 0) s.state = s.requestsLeft > 0 ? S_REQUEST : S_CLIENT_FIN;
      break;
    case S_CLIENT_FIN:
      w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, s.sseq, TCP_FIN | TCP_ACK, 502, TS, 0);
      s.cseq = (s.cseq + 1) >>> 0;
      s.state = S_SERVER_FIN;
      break;
    case S_SERVER_FIN:
      w.tcp(t, s.server, s.client, s.sport, s.cport, s.sseq, s.cseq, TCP_FIN | TCP_ACK, 509, TS, 0, true);
      s.sseq = (s.sseq + 1) >>> 0;
      s.state = S_LAST_ACK;
      break;
    case S_LAST_ACK:
      w.tcp(t, s.client, s.server, s.cport, s.sport, s.cseq, s.sseq, TCP_ACK, 502, TS, 0);
      s.state = S_DONE;
      break;
  }
  e.tcpSegments++;
}

const DESCRIPTIONS: Record<CaptureKind, string> = {
  flood: '1M SYNs from 300 sources to 3 targets, 25% answered by SYN-ACK',
  mixed: '256 concurrent sessions with data and FIN close, 3% refused, UDP/ARP noise; snaplen 96',
  spoofed: '3M SYNs, one per distinct random source, one target',
};

export function captureFile(kind: CaptureKind, dir: string): string {
  return path.join(dir, `${kind}.pcap`);
}

function manifestFile(kind: CaptureKind, dir: string): string {
  return path.join(dir, `${kind}.json`);
}

export function generate(kind: CaptureKind, dir: string, opts: GenerateOptions = {}): Manifest {
  const count = opts.count ?? DEFAULT_COUNTS[kind];
  const seed = opts.seed ?? 20240301;
  fs.mkdirSync(dir, { recursive: true });
  const file = captureFile(kind, dir);
  const tmp = `${file}.tmp`;
  const snaplen = kind === 'mixed' ? 96 : 262144;
  const w = new PcapWriter(tmp, snaplen);
  const rng = new Rng(fmix32(seed) ^ CAPTURE_KINDS.indexOf(kind));
  const e = emptyTotals();
  let sources: number;
  if (kind === 'flood') sources = genFlood(w, rng, count, e);
  else if (kind === 'spoofed') sources = genSpoofed(w, rng, count, e, seed);
  else sources = genMixed(w, rng, count, e);
  w.close();
  fs.renameSync(tmp, file);
  const m: Manifest = {
    kind, generatorVersion: GENERATOR_VERSION, seed, count, snaplen, file,
    records: w.records, bytes: w.bytes + 24, sources, expected: e, description: DESCRIPTIONS[kind],
  };
  fs.writeFileSync(manifestFile(kind, dir), `${JSON.stringify(m, null, 2)}\n`);
  return m;
}

/** The manifest of an up-to-date capture, generating it first when needed. */
export function ensureCapture(kind: CaptureKind, dir: string, opts: GenerateOptions = {}, force = false): Manifest {
  const count = opts.count ?? DEFAULT_COUNTS[kind];
  const seed = opts.seed ?? 20240301;
  if (!force) {
    try {
      const m = JSON.parse(fs.readFileSync(manifestFile(kind, dir), 'utf8')) as Manifest;
      if (m.generatorVersion === GENERATOR_VERSION && m.count === count && m.seed === seed && fs.statSync(m.file).size === m.bytes) return m;
    } catch {
      // missing or unreadable: generate
    }
  }
  return generate(kind, dir, opts);
}

/** Shared by generate.ts and run.ts: `--name value` flags, `--flag` booleans. */
export function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(a.slice(2), next);
      i++;
    } else {
      flags.set(a.slice(2), 'true');
    }
  }
  return flags;
}

export function kindsFrom(list: string | undefined): CaptureKind[] {
  if (list === undefined) return [...CAPTURE_KINDS];
  const kinds = list.split(',').map((k) => k.trim());
  for (const k of kinds) if (!(CAPTURE_KINDS as readonly string[]).includes(k)) throw new Error(`unknown capture ${k} (${CAPTURE_KINDS.join(', ')})`);
  return kinds as CaptureKind[];
}

if (require.main === module) {
  const flags = parseFlags(process.argv.slice(2));
  const dir = flags.get('dir') ?? DEFAULT_DIR;
  const count = flags.has('count') ? Number(flags.get('count')) : undefined;
  for (const kind of kindsFrom(flags.get('only'))) {
    const t0 = process.hrtime.bigint();
    const m = ensureCapture(kind, dir, { count }, flags.has('force'));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${kind}: ${m.file} ${m.records} records, ${(m.bytes / 1048576).toFixed(1)} MiB (${s.toFixed(2)} s)`);
  }
}
