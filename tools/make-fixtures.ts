/**
 * make-fixtures: writes the synthetic scenario captures in fixtures/ and their oracle.
 *
 * Contract: deterministic. Every scenario has its own seeded PRNG (seeded from its file name, so
 * adding a scenario changes no other file) and starts at the same fixed base time; rerunning
 * writes byte-identical files. Only documentation addresses are used (RFC 5737 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24; RFC 3849 2001:db8::/32; RFC 7042 MACs 00:00:5e:00:53:xx).
 *
 * Outputs, all in fixtures/:
 * - one capture per scenario (each < 200 KB);
 * - scenarios.json: file -> {attempts, completed, synOnly, synAck, frames, flagged, reasons, alerts}.
 *   attempts/completed/synOnly/synAck are computed by test/support/handshake-oracle.ts from the
 *   segments this script wrote (never from synwatch's code); flagged/reasons/alerts are what each
 *   scenario was built to show;
 * - the table between the "synthetic" markers in README.md.
 *
 * Model: hosts exchange segments through a Conn (sequence numbers, TCP timestamps, IP IDs and
 * option sets of the stack it imitates); the capture point is the server side unless a scenario
 * says otherwise, so frames from remote hosts arrive padded and with a TTL lowered by the hops.
 *
 * Run: `npm run fixtures` (build, then node dist/tools/make-fixtures.js); `--check` only reports
 * files that differ from what it would write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CapturedFrame, ETHERTYPE, Ipv6Ext, LINKTYPE, SLL_PACKET, TCP_FLAGS, TcpOption, TcpSpec, VlanTag,
  ethernet, ipv4, ipv4Fragments, ipv6, ipv6Fragments, pcapFile, pcapngFile, sll2, tcp,
  IPPROTO,
} from '../test/support/frames';
import { HandshakeTotals, SegmentFacts, handshakeTotals } from '../test/support/handshake-oracle';

const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;

/** 2024-03-01T12:00:00Z: every scenario starts here. */
const BASE_TIME_NS = 1_709_294_400n * 1_000_000_000n;
const MAX_FIXTURE_BYTES = 200 * 1024;
/** Server turnaround between receiving a segment and answering it. */
const TURNAROUND_MS = 0.045;
/** Client <-> server round-trip time seen from the server. */
const RTT_MS = 18;
const LINUX_TTL = 64;
/** Hops between remote clients and the capture point: remote packets arrive with TTL 64 - 7. */
const REMOTE_HOPS = 7;
const MSS_V4 = 1460;
const MSS_V6 = 1440;
const LINUX_WSCALE = 7;
/** Linux initial windows (10 * MSS rounded by the kernel) and the scaled window in use after. */
const LINUX_SYN_WINDOW = 64240;
const LINUX_SYNACK_WINDOW = 65160;
const LINUX_EST_WINDOW = 502;
/** hping3 and nmap -sS defaults. */
const HPING_WINDOW = 512;
const NMAP_WINDOW = 1024;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
const TFO_COOKIE_LEN = 8;
/** Linux SYN retransmission timeouts (RFC 6298 initial RTO 1 s, doubled each time). */
const SYN_BACKOFF_MS = [1000, 2000, 4000];
/** tcpdump -s 68: the classic snaplen that cuts TCP options and payloads. */
const SHORT_SNAPLEN = 68;

const ROUTER_MAC = '00:00:5e:00:53:01';
const SERVER_MAC = '00:00:5e:00:53:10';
const SERVER = '198.51.100.10';
const SERVER2 = '198.51.100.11';
const CLIENT = '192.0.2.20';
const CLIENT2 = '192.0.2.21';
const ATTACKER = '203.0.113.66';
const SCANNER = '203.0.113.77';
const SLOW_SOURCE = '203.0.113.45';
const SERVER6 = '2001:db8:100::10';
const CLIENT6 = '2001:db8:200::20';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: tiny, fast, good enough for synthetic traffic; seeded per scenario. */
class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + (this.u32() % (hi - lo + 1)); }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.u32() % (i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  bytes(n: number): Buffer { return Buffer.from(Array.from({ length: n }, () => this.u32() & 0xff)); }
}

/** FNV-1a of the file name: the scenario's seed. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Hosts, links, the trace

interface Host {
  ip: string;
  /** MAC seen on the capture link (remote hosts all come through the router). */
  mac: string;
  /** TTL / hop limit as seen at the capture point. */
  ttl: number;
  /** True for the capturing host: its frames are not padded and SLL2 marks them OUTGOING. */
  local: boolean;
}

const server = (ip = SERVER): Host => ({ ip, mac: SERVER_MAC, ttl: LINUX_TTL, local: true });
const remote = (ip: string, ttl = LINUX_TTL - REMOTE_HOPS): Host => ({ ip, mac: ROUTER_MAC, ttl, local: false });
const isV6 = (h: Host) => h.ip.includes(':');

type Link =
  | { kind: 'ether'; tags?: VlanTag[] }
  | { kind: 'sll2'; ifindex: number }
  | { kind: 'raw' };

interface EmitOptions {
  link?: Link;
  iface?: number;
  ipId?: number;
  ipOptions?: Uint8Array;
  /** IPv6 extension headers before TCP (unfragmentable part when fragmenting). */
  ext?: Ipv6Ext[];
  /** Split the TCP segment into IP fragments of these sizes (the rest goes in the last one). */
  fragment?: { sizes: number[]; id: number };
}

interface TraceFrame extends CapturedFrame {
  /** The segment whose flags this frame shows, if any. */
  seg?: SegmentFacts;
  /** Offset of the TCP header in the frame (for flag visibility under a snaplen). */
  tcpOffset?: number;
}

type Format =
  | { kind: 'pcap'; linkType: number; nanosecond?: boolean; snaplen?: number }
  | { kind: 'pcapng'; interfaces: { linkType: number; tsresol: number; name: string }[] };

class Trace {
  readonly frames: TraceFrame[] = [];
  readonly rng: Rng;
  constructor(readonly file: string, readonly format: Format) {
    this.rng = new Rng(seedOf(file));
  }

  /** Send one TCP segment from `from` to `to` at `ms` after the base time. */
  emit(ms: number, from: Host, to: Host, seg: TcpSpec, o: EmitOptions = {}): void {
    const tsNs = BASE_TIME_NS + BigInt(Math.round(ms * 1e6));
    const bytes = tcp(seg, from.ip, to.ip);
    const facts: SegmentFacts = {
      src: from.ip, dst: to.ip, sport: seg.sport, dport: seg.dport, seq: seg.seq >>> 0,
      ack: (seg.ack ?? 0) >>> 0, flags: seg.flags, payloadLen: seg.payload?.length ?? 0,
    };
    const id = o.ipId ?? this.rng.int(0, 0xffff);
    let packets: Buffer[];
    if (isV6(from)) {
      const spec = { src: from.ip, dst: to.ip, nextHeader: IPPROTO.TCP, hopLimit: from.ttl, ext: o.ext };
      packets = o.fragment ? ipv6Fragments(spec, bytes, o.fragment.id, o.fragment.sizes) : [ipv6(spec, bytes)];
    } else {
      const spec = { src: from.ip, dst: to.ip, protocol: IPPROTO.TCP, id, ttl: from.ttl, dontFragment: !o.fragment, options: o.ipOptions };
      packets = o.fragment ? ipv4Fragments(spec, bytes, o.fragment.sizes) : [ipv4(spec, bytes)];
    }
    // The TCP header starts right after the network headers of the first packet.
    const netHeaderLen = packets[0].length - (o.fragment ? o.fragment.sizes[0] : bytes.length);
    packets.forEach((p, i) => {
      const { frame, headerLen } = this.frame(o.link ?? { kind: 'ether' }, from, to, p);
      const first = i === 0;
      this.frames.push({ tsNs: tsNs + BigInt(i) * 1000n, data: frame, iface: o.iface,
        seg: first ? facts : undefined, tcpOffset: first ? headerLen + netHeaderLen : undefined });
    });
  }

  private frame(link: Link, from: Host, to: Host, packet: Buffer): { frame: Buffer; headerLen: number } {
    const etherType = isV6(from) ? ETHERTYPE.IPV6 : ETHERTYPE.IPV4;
    switch (link.kind) {
      case 'raw':
        return { frame: packet, headerLen: 0 };
      case 'sll2': {
        const frame = sll2({ protocol: etherType, ifindex: link.ifindex, addr: from.mac,
          packetType: from.local ? SLL_PACKET.OUTGOING : SLL_PACKET.HOST }, packet);
        return { frame, headerLen: frame.length - packet.length };
      }
      case 'ether': {
        // Frames from the capturing host are captured before the NIC pads them.
        const frame = ethernet({ src: from.mac, dst: to.mac, etherType, tags: link.tags, pad: !from.local }, packet);
        return { frame, headerLen: 14 + 4 * (link.tags?.length ?? 0) };
      }
    }
  }

  /** Capture order (stable by time), the file bytes and the oracle's totals. */
  finish(): { bytes: Buffer; totals: HandshakeTotals; frames: number } {
    const frames = [...this.frames].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    const snaplen = this.format.kind === 'pcap' ? this.format.snaplen ?? Infinity : Infinity;
    // A segment counts only if its flags byte (TCP offset 13) was captured.
    const TCP_FLAGS_END = 14;
    const segs = frames.filter((f) => f.seg && Math.min(snaplen, f.data.length) >= f.tcpOffset! + TCP_FLAGS_END).map((f) => f.seg!);
    const bytes = this.format.kind === 'pcap'
      ? pcapFile({ linkType: this.format.linkType, nanosecond: this.format.nanosecond, snaplen: this.format.snaplen }, frames)
      : pcapngFile({ interfaces: this.format.interfaces, application: 'synwatch tools/make-fixtures' }, frames);
    return { bytes, totals: handshakeTotals(segs), frames: frames.length };
  }
}

// ---------------------------------------------------------------------------------------------
// Connections

/** Which stack's SYN and SYN-ACK options and windows to imitate. */
type Stack = 'linux' | 'hping3' | 'nmap';

interface Side { host: Host; port: number; isn: number; next: number; ipId: number; tsOffset: number; lastTsVal: number }

interface ConnOptions {
  stack?: Stack;
  link?: Link;
  iface?: number;
  /** Extension headers on every client packet (IPv6). */
  clientExt?: Ipv6Ext[];
  /** Client port; random ephemeral by default. */
  cport?: number;
}

class Conn {
  readonly c: Side;
  readonly s: Side;
  private readonly stack: Stack;
  private synOptions: TcpOption[] = [];
  private synPayload: Buffer = Buffer.alloc(0);

  constructor(private readonly t: Trace, client: Host, server: Host, sport: number, private readonly o: ConnOptions = {}) {
    const r = t.rng;
    const side = (host: Host, port: number): Side => {
      const isn = r.u32();
      return { host, port, isn, next: isn, ipId: r.int(0, 0xffff), tsOffset: r.u32(), lastTsVal: 0 };
    };
    this.c = side(client, o.cport ?? r.int(EPHEMERAL_LOW, EPHEMERAL_HIGH));
    this.s = side(server, sport);
    this.stack = o.stack ?? 'linux';
  }

  get client(): string { return this.c.host.ip; }

  private mss(): number { return isV6(this.c.host) ? MSS_V6 : MSS_V4; }
  private timestamps(): boolean { return this.stack === 'linux'; }

  /**
   * Send a segment. `seq` defaults to the side's next sequence number, `ack` to the peer's; a
   * segment sent at the side's next number advances it (a retransmission does not).
   */
  send(ms: number, from: 'c' | 's', flags: number, x: {
    payload?: Buffer; options?: TcpOption[]; seq?: number; ack?: number; window?: number; ipId?: number;
    fragment?: EmitOptions['fragment'];
  } = {}): this {
    const me = from === 'c' ? this.c : this.s;
    const peer = from === 'c' ? this.s : this.c;
    const payload = x.payload ?? Buffer.alloc(0);
    const seq = x.seq ?? me.next;
    let options = x.options;
    if (options === undefined && this.timestamps() && !(flags & RST)) options = [{ kind: 'nop' }, { kind: 'nop' }, this.ts(ms, me, peer)];
    const ipId = x.ipId ?? me.ipId++;
    this.t.emit(ms, me.host, peer.host, {
      sport: me.port, dport: peer.port, seq, ack: flags & ACK ? x.ack ?? peer.next : 0, flags,
      window: x.window ?? LINUX_EST_WINDOW, options, payload,
    }, { link: this.o.link, iface: this.o.iface, ipId, ext: from === 'c' ? this.o.clientExt : undefined, fragment: x.fragment });
    if (seq === me.next) me.next = (me.next + payload.length + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0)) >>> 0;
    return this;
  }

  private ts(ms: number, me: Side, peer: Side, ecr = peer.lastTsVal): TcpOption {
    me.lastTsVal = (me.tsOffset + Math.floor(ms)) >>> 0;
    return { kind: 'ts', val: me.lastTsVal, ecr };
  }

  /** The client's SYN; calling it again retransmits the same SYN (same ISN, options, payload). */
  syn(ms: number, x: { tfo?: 'request' | Buffer; payload?: Buffer; fragment?: EmitOptions['fragment'] } = {}): this {
    const first = this.c.next === this.c.isn;
    if (first) {
      this.synPayload = x.payload ?? Buffer.alloc(0);
      this.synOptions = this.synOptionSet(ms, x.tfo);
    } else if (this.timestamps()) {
      this.synOptions = this.synOptionSet(ms, undefined, this.synOptions);
    }
    const window = this.stack === 'hping3' ? HPING_WINDOW : this.stack === 'nmap' ? NMAP_WINDOW : LINUX_SYN_WINDOW;
    this.send(ms, 'c', SYN, { seq: this.c.isn, options: this.synOptions, window, payload: this.synPayload, fragment: x.fragment });
    // A retransmission must not push `next` again; the first SYN already did (1 + payload).
    return this;
  }

  private synOptionSet(ms: number, tfo?: 'request' | Buffer, previous?: TcpOption[]): TcpOption[] {
    if (this.stack !== 'linux') return this.stack === 'nmap' ? [{ kind: 'mss', value: this.mss() }] : [];
    const opts: TcpOption[] = [
      { kind: 'mss', value: this.mss() }, { kind: 'sack-perm' }, this.ts(ms, this.c, this.s, 0), { kind: 'nop' },
      { kind: 'ws', shift: LINUX_WSCALE },
    ];
    const tfoOpt = previous?.find((p) => p.kind === 'tfo');
    if (tfoOpt) opts.push(tfoOpt, { kind: 'nop' }, { kind: 'nop' });
    else if (tfo) opts.push({ kind: 'tfo', cookie: tfo === 'request' ? undefined : tfo }, { kind: 'nop' }, { kind: 'nop' });
    return opts;
  }

  /**
   * The server's SYN-ACK. It acknowledges the SYN's payload only when `acceptData` (a valid TFO
   * cookie); Linux otherwise acks ISN+1 and the client sends the data again after the handshake.
   */
  synAck(ms: number, x: { acceptData?: boolean; cookie?: Buffer } = {}): this {
    const ack = (this.c.isn + 1 + (x.acceptData ? this.synPayload.length : 0)) >>> 0;
    // Unaccepted SYN data is sent again after the handshake. (No SYN sent at all: backscatter.)
    if (this.c.next !== this.c.isn) this.c.next = ack;
    let options: TcpOption[];
    if (this.stack !== 'linux') {
      // Linux answers an option-less or MSS-only SYN with MSS alone.
      options = [{ kind: 'mss', value: MSS_V4 }];
    } else {
      options = [{ kind: 'mss', value: this.mss() }, { kind: 'sack-perm' }, this.ts(ms, this.s, this.c), { kind: 'nop' },
        { kind: 'ws', shift: LINUX_WSCALE }];
      if (x.cookie) options.push({ kind: 'tfo', cookie: x.cookie }, { kind: 'nop' }, { kind: 'nop' });
    }
    const window = this.stack === 'linux' ? LINUX_SYNACK_WINDOW : LINUX_SYN_WINDOW;
    // Linux sends SYN-ACKs and RSTs with IP ID 0 (DF set, no per-socket counter yet).
    return this.send(ms, 's', SYN | ACK, { seq: this.s.isn, ack, options, window, ipId: 0 });
  }

  /** SYN, SYN-ACK, final ACK; returns the time of the final ACK. */
  handshake(ms: number, rtt = RTT_MS): number {
    this.syn(ms).synAck(ms + TURNAROUND_MS).send(ms + rtt, 'c', ACK);
    return ms + rtt;
  }

  /** Request, its ACK, a response, its ACK. Returns the time of the last segment. */
  exchange(ms: number, request: Buffer, response: Buffer, rtt = RTT_MS): number {
    this.send(ms, 'c', PSH | ACK, { payload: request });
    this.send(ms + TURNAROUND_MS, 's', ACK);
    this.send(ms + 2 * TURNAROUND_MS, 's', PSH | ACK, { payload: response });
    this.send(ms + 2 * TURNAROUND_MS + rtt, 'c', ACK);
    return ms + 2 * TURNAROUND_MS + rtt;
  }

  /** FIN from `by`, FIN-ACK back, last ACK. */
  close(ms: number, by: 'c' | 's' = 'c', rtt = RTT_MS): number {
    const other = by === 'c' ? 's' : 'c';
    const lag = by === 'c' ? TURNAROUND_MS : rtt;
    this.send(ms, by, FIN | ACK).send(ms + lag, other, FIN | ACK).send(ms + lag + (by === 'c' ? rtt : TURNAROUND_MS), by, ACK);
    return ms + lag + rtt;
  }

  /** A whole HTTP-like connection: handshake, one request/response, client close. */
  httpSession(ms: number, path = '/', rtt = RTT_MS): number {
    const t1 = this.handshake(ms, rtt);
    const t2 = this.exchange(t1 + 0.2, httpGet(this.s.host.ip, path), httpResponse(this.t.rng), rtt);
    return this.close(t2 + 0.5, 'c', rtt);
  }
}

function httpGet(host: string, path: string): Buffer {
  const h = host.includes(':') ? `[${host}]` : host;
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${h}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`);
}

function httpResponse(rng: Rng, bodyLen = 612): Buffer {
  const body = 'x'.repeat(bodyLen - 1) + '\n';
  const etag = rng.u32().toString(16);
  return Buffer.from(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nETag: "${etag}"\r\n` +
    `Content-Length: ${bodyLen}\r\n\r\n${body}`);
}

/** Addresses of the three RFC 5737 /24s, minus network, broadcast and `exclude`. */
function docPool(exclude: string[]): string[] {
  const out: string[] = [];
  for (const net of ['192.0.2', '198.51.100', '203.0.113']) {
    for (let i = 1; i < 255; i++) if (!exclude.includes(`${net}.${i}`)) out.push(`${net}.${i}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/**
 * Expectations use synwatch's vocabulary (src/enforce/contract.ts FlagReason, src/detect/alerts.ts
 * AlertKind) so golden tests compare names as they are; the verdicts themselves are this file's.
 * flood: one source, unfinished attempts to few ports; scan: to many ports. Alerts are about the
 * traffic as a whole: syn-flood (a surge of unfinished handshakes from few sources, each flagged),
 * spoofed-flood (many one-SYN sources, none flagged alone), backscatter (SYN-ACKs with no SYN).
 */
type FlagReason = 'flood' | 'scan';
type AlertKind = 'syn-flood' | 'spoofed-flood' | 'backscatter';

interface Scenario {
  file: string;
  format: Format;
  /** One line: why this fixture exists. */
  why: string;
  /** Sources synwatch should flag (and why), and the alerts it should raise. */
  flags: Record<string, FlagReason>;
  alerts: AlertKind[];
  /** Extra words for the README's conclusion column. */
  note?: string;
  build(t: Trace): void;
}

const ETHER_PCAP: Format = { kind: 'pcap', linkType: LINKTYPE.ETHERNET };

const SCENARIOS: Scenario[] = [
  {
    file: 'handshake-complete.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'the baseline: SYN, SYN-ACK, ACK, one HTTP request/response, FIN close',
    build(t) { new Conn(t, remote(CLIENT), server(), 80).httpSession(0); },
  },
  {
    file: 'syn-retransmit.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'a SYN sent 3 times with the same ISN (RTO 1 s, 2 s) is one attempt, then it completes',
    build(t) {
      const c = new Conn(t, remote(CLIENT), server(), 80);
      c.syn(0).syn(SYN_BACKOFF_MS[0]).syn(SYN_BACKOFF_MS[0] + SYN_BACKOFF_MS[1]);
      const at = SYN_BACKOFF_MS[0] + SYN_BACKOFF_MS[1];
      c.synAck(at + TURNAROUND_MS).send(at + RTT_MS, 'c', ACK);
      const t2 = c.exchange(at + RTT_MS + 0.2, httpGet(SERVER, '/'), httpResponse(t.rng));
      c.close(t2 + 0.5);
    },
  },
  {
    file: 'client-rst.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'the client answers the SYN-ACK with RST: reset by client, not completed',
    build(t) {
      const c = new Conn(t, remote(CLIENT), server(), 443);
      c.syn(0).synAck(TURNAROUND_MS).send(RTT_MS, 'c', RST, { options: [], window: 0 });
    },
  },
  {
    file: 'server-rst.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'SYN to a closed port answered by RST-ACK (acks ISN+1): reset by server',
    build(t) {
      const c = new Conn(t, remote(CLIENT), server(), 8080);
      c.syn(0).send(TURNAROUND_MS, 's', RST | ACK, { seq: 0, options: [], window: 0, ipId: 0 });
    },
  },
  {
    file: 'flood-one-source.pcap', format: ETHER_PCAP, flags: { [ATTACKER]: 'flood' }, alerts: ['syn-flood'],
    why: 'hping3-style flood: one source, 400 SYNs to port 80 in 2 s, SYN-ACKs (retransmitted after 1 s), no final ACK',
    build(t) {
      const SYNS = 400, SPAN_MS = 2000, SYNACK_RTO_MS = 1000, END_MS = 2500;
      const attacker = remote(ATTACKER);
      const base = t.rng.int(1024, 60000);
      for (let i = 0; i < SYNS; i++) {
        const at = (i * SPAN_MS) / SYNS;
        // hping3 increments the source port per packet and sends no TCP options.
        const c = new Conn(t, attacker, server(), 80, { stack: 'hping3', cport: base + i });
        c.syn(at).synAck(at + TURNAROUND_MS);
        if (at + SYNACK_RTO_MS < END_MS) c.synAck(at + SYNACK_RTO_MS);
      }
    },
  },
  {
    file: 'flood-spoofed.pcap', format: ETHER_PCAP, flags: {}, alerts: ['spoofed-flood'],
    note: `${CLIENT} completes 5 handshakes in the middle and must not be flagged`,
    why: 'spoofed flood: 600 distinct one-SYN sources in 3 s, plus a legitimate client completing 5 handshakes',
    build(t) {
      const SOURCES = 600, SPAN_MS = 3000;
      const pool = t.rng.shuffle(docPool([SERVER, CLIENT])).slice(0, SOURCES);
      pool.forEach((ip, i) => {
        const at = (i * SPAN_MS) / SOURCES + t.rng.int(0, 999) / 1000;
        // Flood tools randomise TTL, port and ISN per packet; one SYN per forged source.
        const c = new Conn(t, remote(ip, t.rng.int(40, 250)), server(), 80, { stack: 'hping3' });
        c.syn(at).synAck(at + TURNAROUND_MS);
      });
      const client = remote(CLIENT);
      for (let k = 0; k < 5; k++) new Conn(t, client, server(), 80).httpSession(500 + 400 * k);
    },
  },
  {
    file: 'port-scan.pcap', format: ETHER_PCAP, flags: { [SCANNER]: 'scan' }, alerts: ['syn-flood'],
    why: 'nmap -sS style: one source, SYN to ports 1-300 in random order; RST-ACK from closed, SYN-ACK then scanner RST from 22/80/443',
    build(t) {
      const OPEN = [22, 80, 443], PORTS = 300, PROBE_GAP_MS = 4;
      const scanner = remote(SCANNER, t.rng.int(37, 59));
      const sport = t.rng.int(EPHEMERAL_LOW, EPHEMERAL_HIGH);  // nmap keeps one source port
      const ports = t.rng.shuffle(Array.from({ length: PORTS }, (_, i) => i + 1));
      ports.forEach((port, i) => {
        const at = i * PROBE_GAP_MS;
        const c = new Conn(t, scanner, server(), port, { stack: 'nmap', cport: sport });
        c.syn(at, {});
        if (OPEN.includes(port)) {
          // The scanner's kernel knows no such socket and resets the SYN-ACK.
          c.synAck(at + TURNAROUND_MS).send(at + RTT_MS, 'c', RST, { options: [], window: 0 });
        } else {
          c.send(at + TURNAROUND_MS, 's', RST | ACK, { seq: 0, options: [], window: 0, ipId: 0 });
        }
      });
    },
  },
  {
    file: 'vlan-qinq.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'one connection in 802.1Q VLAN 100, one in 802.1ad QinQ (outer 200, inner 300)',
    build(t) {
      new Conn(t, remote(CLIENT), server(), 80, { link: { kind: 'ether', tags: [{ vid: 100 }] } }).httpSession(0);
      const qinq: VlanTag[] = [{ tpid: ETHERTYPE.QINQ, vid: 200, pcp: 3 }, { vid: 300 }];
      new Conn(t, remote(CLIENT2), server(), 80, { link: { kind: 'ether', tags: qinq } }).httpSession(150);
    },
  },
  {
    file: 'ipv6-ext-headers.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'IPv6: client packets carry hop-by-hop + destination options before TCP; a second SYN is fragmented (first fragment has the 20-byte TCP header + MSS)',
    build(t) {
      // A 16-byte destination header (hdr ext len 1) catches a decoder that assumes 8 bytes.
      const PADN_12 = Buffer.from([1, 12, ...Array(12).fill(0)]);
      const ext: Ipv6Ext[] = [{ type: 'hop-by-hop' }, { type: 'destination', options: PADN_12 }];
      new Conn(t, remote(CLIENT6), server(SERVER6), 80, { clientExt: ext }).httpSession(0);
      const c = new Conn(t, remote(CLIENT6), server(SERVER6), 443);
      // 24 bytes in the first fragment: fixed header + MSS option, as in Zeek's fragmented-syn.
      c.syn(200, { fragment: { sizes: [24], id: t.rng.u32() } }).synAck(200 + TURNAROUND_MS).send(200 + RTT_MS, 'c', ACK);
      c.close(200 + RTT_MS + 5);
    },
  },
  {
    file: 'snaplen-cut.pcap', format: { kind: 'pcap', linkType: LINKTYPE.ETHERNET, snaplen: SHORT_SNAPLEN },
    flags: {}, alerts: [],
    note: `the SYN from ${CLIENT2} is cut before its flags: no segment, counted as truncated`,
    why: 'snaplen 68: SYN/SYN-ACK cut inside TCP options, data cut mid-payload, one SYN with IP options cut before its TCP flags',
    build(t) {
      new Conn(t, remote(CLIENT), server(), 80).httpSession(0);
      // Record Route (RFC 791), 5 slots: 20 bytes of IP options push the TCP flags past byte 68.
      const RECORD_ROUTE = Buffer.from([7, 23, 4, ...Array(20).fill(0)]);
      const c = new Conn(t, remote(CLIENT2), server(), 80);
      t.emit(300, c.c.host, c.s.host, { sport: c.c.port, dport: 80, seq: c.c.isn, flags: SYN, window: LINUX_SYN_WINDOW,
        options: [{ kind: 'mss', value: MSS_V4 }] }, { ipOptions: RECORD_ROUTE });
    },
  },
  {
    file: 'tcp-fast-open.pcap', format: ETHER_PCAP, flags: {}, alerts: [],
    why: 'TFO: a cookie request, then a SYN carrying data + cookie whose SYN-ACK acks ISN+1+len',
    build(t) {
      const cookie = t.rng.bytes(TFO_COOKIE_LEN);
      const first = new Conn(t, remote(CLIENT), server(), 80);
      first.syn(0, { tfo: 'request' }).synAck(TURNAROUND_MS, { cookie }).send(RTT_MS, 'c', ACK);
      first.close(first.exchange(RTT_MS + 0.2, httpGet(SERVER, '/'), httpResponse(t.rng)) + 0.5);
      const tfo = new Conn(t, remote(CLIENT), server(), 80);
      tfo.syn(500, { tfo: cookie, payload: httpGet(SERVER, '/again') }).synAck(500 + TURNAROUND_MS, { acceptData: true });
      tfo.send(500 + TURNAROUND_MS + 0.01, 's', PSH | ACK, { payload: httpResponse(t.rng) });
      // The client acks the SYN-ACK first, then the data that followed it.
      tfo.send(500 + RTT_MS, 'c', ACK, { ack: tfo.s.isn + 1 }).send(500 + RTT_MS + 0.05, 'c', ACK);
      tfo.close(500 + RTT_MS + 1);
    },
  },
  {
    file: 'linux-sll2.pcap', format: { kind: 'pcap', linkType: LINKTYPE.LINUX_SLL2 }, flags: {}, alerts: [],
    why: 'LINKTYPE_LINUX_SLL2 (tcpdump -i any): one IPv4 and one IPv6 connection',
    build(t) {
      const link: Link = { kind: 'sll2', ifindex: 2 };
      new Conn(t, remote(CLIENT), server(), 80, { link }).httpSession(0);
      new Conn(t, remote(CLIENT6), server(SERVER6), 80, { link }).httpSession(100);
    },
  },
  {
    file: 'pcapng-two-interfaces.pcapng', flags: {}, alerts: [],
    format: { kind: 'pcapng', interfaces: [
      { linkType: LINKTYPE.ETHERNET, tsresol: 6, name: 'eth0' },
      { linkType: LINKTYPE.RAW, tsresol: 9, name: 'tun0' },
    ] },
    why: 'pcapng with an Ethernet interface (us) and a raw-IPv4 interface (ns), one connection on each, interleaved',
    build(t) {
      new Conn(t, remote(CLIENT), server(), 80, { iface: 0 }).httpSession(0);
      new Conn(t, remote('203.0.113.5'), server(), 8080, { iface: 1, link: { kind: 'raw' } }).httpSession(10.123457);
    },
  },
  {
    file: 'handshake-nanosecond.pcap', format: { kind: 'pcap', linkType: LINKTYPE.ETHERNET, nanosecond: true },
    flags: {}, alerts: [],
    why: 'nanosecond pcap magic; the SYN-ACK follows the SYN by 400 ns (same microsecond)',
    build(t) {
      const c = new Conn(t, remote(CLIENT), server(), 80);
      c.syn(0.000123).synAck(0.000523).send(0.250777, 'c', ACK);
      c.close(c.exchange(0.3, httpGet(SERVER, '/'), httpResponse(t.rng), 0.25) + 0.01, 'c', 0.25);
    },
  },
  {
    file: 'synack-backscatter.pcap', format: ETHER_PCAP, flags: {}, alerts: ['backscatter'],
    why: 'backscatter at a darknet sensor: victims SYN-ACK 200 spoofed addresses/ports, some retransmitted, no SYN seen',
    build(t) {
      const TARGETS = 200, SPAN_MS = 4000, RTO_MS = 1000, END_MS = 5000;
      const victims = [remote(SERVER, 52), remote(SERVER2, 49)];
      const dark = t.rng.shuffle(docPool([SERVER, SERVER2]).filter((a) => !a.startsWith('198.51.100.'))).slice(0, TARGETS);
      dark.forEach((ip, i) => {
        const at = (i * SPAN_MS) / TARGETS;
        const v = victims[i % victims.length];
        const c = new Conn(t, { ip, mac: SERVER_MAC, ttl: LINUX_TTL, local: true }, v, i % 2 ? 443 : 80, { stack: 'hping3' });
        c.synAck(at);
        if (at + RTO_MS < END_MS && i % 3 === 0) c.synAck(at + RTO_MS);
      });
    },
  },
  {
    file: 'slow-source.pcap', format: ETHER_PCAP, flags: { [SLOW_SOURCE]: 'flood' }, alerts: [],
    note: '240 SYNs are 60 attempts (retransmissions share the ISN); no surge, yet nothing ever completes',
    why: 'low-and-slow: one source, a new attempt every 2 s for 2 minutes, each SYN retransmitted after 1, 2, 4 s, never answered',
    build(t) {
      const ATTEMPTS = 60, GAP_MS = 2000;
      const src = remote(SLOW_SOURCE);
      for (let i = 0; i < ATTEMPTS; i++) {
        const c = new Conn(t, src, server(), 22);
        let at = i * GAP_MS;
        c.syn(at);
        for (const rto of SYN_BACKOFF_MS) { at += rto; c.syn(at); }
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Output

interface Expected extends HandshakeTotals {
  frames: number;
  /** Sorted flagged sources, and why each. */
  flagged: string[];
  reasons: Record<string, FlagReason>;
  alerts: AlertKind[];
}

const README_BEGIN = '<!-- synthetic:begin (written by tools/make-fixtures.ts; edit there) -->';
const README_END = '<!-- synthetic:end -->';

function conclusion(e: Expected, note?: string): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const flagged = e.flagged.length ? `flag ${e.flagged.map((ip) => `${ip} (${e.reasons[ip]})`).join(', ')}` : 'no source flagged';
  const alerts = e.alerts.length ? `alert ${e.alerts.join(', ')}` : 'no alert';
  return `${plural(e.attempts, 'attempt')}, ${e.completed} completed; ${flagged}; ${alerts}${note ? `; ${note}` : ''}`;
}

export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

/**
 * Everything the generator owns in fixtures/, as file name -> contents. `readme` is the current
 * README.md text: only the part between the synthetic markers is replaced.
 */
export function generateFixtures(readme: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const expected: Record<string, Expected> = {};
  const rows: string[] = ['| file | why it exists | synwatch should conclude |', '|---|---|---|'];
  for (const s of SCENARIOS) {
    const t = new Trace(s.file, s.format);
    s.build(t);
    const { bytes, totals, frames } = t.finish();
    if (bytes.length > MAX_FIXTURE_BYTES) throw new Error(`${s.file} is ${bytes.length} bytes > ${MAX_FIXTURE_BYTES}`);
    files.set(s.file, bytes);
    const flagged = Object.keys(s.flags).sort();
    const e: Expected = { ...totals, frames, flagged, reasons: s.flags, alerts: s.alerts };
    expected[s.file] = e;
    rows.push(`| \`${s.file}\` | ${s.why} | ${conclusion(e, s.note)} |`);
  }
  files.set('scenarios.json', Buffer.from(`${JSON.stringify(expected, null, 1)}\n`));
  const a = readme.indexOf(README_BEGIN), b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`fixtures/README.md lacks the ${README_BEGIN} ... ${README_END} markers`);
  files.set('README.md', Buffer.from(`${readme.slice(0, a + README_BEGIN.length)}\n${rows.join('\n')}\n${readme.slice(b)}`));
  return files;
}

/** Files in `dir` that differ from what the generator would write (missing ones included). */
export function staleFixtures(dir: string): string[] {
  const readme = path.join(dir, 'README.md');
  const want = generateFixtures(fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '');
  return [...want].filter(([name, bytes]) => {
    const file = path.join(dir, name);
    return !fs.existsSync(file) || !fs.readFileSync(file).equals(bytes);
  }).map(([name]) => name);
}

/** `make-fixtures` writes fixtures/; `make-fixtures --check` only reports stale files (exit 1). */
function main(argv: string[]): number {
  const dir = path.join(repoRoot(), 'fixtures');
  if (argv.includes('--check')) {
    const stale = staleFixtures(dir);
    for (const name of stale) console.error(`stale: fixtures/${name} (run npm run fixtures)`);
    return stale.length ? 1 : 0;
  }
  fs.mkdirSync(dir, { recursive: true });
  const readme = path.join(dir, 'README.md');
  const text = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : `${README_BEGIN}\n${README_END}\n`;
  for (const [name, bytes] of generateFixtures(text)) {
    fs.writeFileSync(path.join(dir, name), bytes);
    console.log(`fixtures/${name}: ${bytes.length} bytes`);
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
