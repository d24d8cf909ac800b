/**
 * The default BPF filter of live capture: what the tracker needs and little else under heavy
 * data traffic, compiled by libpcap in the kernel.
 *
 * Passes, untagged, under one VLAN tag (802.1Q or 802.1ad) and under two (QinQ):
 * - IPv4 TCP with SYN or RST set (any flags with them), and TCP segments with no payload (the
 *   handshake's final ACK carries no data in practice);
 * - the same for IPv6 TCP right after the fixed 40-byte header;
 * - every IPv6 packet whose first next header is hop-by-hop (0), routing (43), fragment (44) or
 *   destination options (60), whatever follows: BPF cannot walk extension headers (libpcap's
 *   `protochain` jumps backwards: the kernel refuses it, "Kernel filter failed", and libpcap
 *   filters every packet in user space), the decoder can. UDP behind such a header passes too;
 *   it is rare and the decoder counts it as non-TCP.
 * Data segments (payload, no SYN/RST), UDP, ICMP, ARP and the rest stay in the kernel.
 *
 * libpcap's `vlan` is not scoped by parentheses: each occurrence shifts the offsets of every test
 * after it in the text, `or` branches included. So `F or (vlan and F) or (vlan and vlan and F)`
 * tests the QinQ branch 4 bytes too deep and never matches; the tags nest instead:
 *   F or (vlan and (F or (vlan and F)))
 * Three tags or more are not passed.
 * On a live Linux socket the outer `vlan` also matches a tag the kernel keeps in the packet's
 * metadata, without shifting: the receive path moves the outer tag there before any packet
 * socket sees the frame (so a single-tagged frame also matches the untagged branch, and QinQ's
 * inner tag stays in the frame); frames sent with the tag in the bytes keep it there. libpcap
 * puts the tag back into the bytes it hands over.
 *
 * `--filter EXTRA` is ANDed inside each branch, after its shift: `(F and (EXTRA))` three times,
 * so `dst port 80` tests the port of the packet under the tags. EXTRA therefore must not use
 * `vlan`, `mpls`, `pppoes` or `geneve` itself (they would shift the branches after it): such a
 * filter is refused. libpcap's `port` reads only TCP/UDP right after IPv6's fixed header, so
 * with a port in EXTRA, IPv6 packets with extension headers stay in the kernel. libpcap knows `vlan` on Ethernet (and 802.11) only, and refuses it
 * elsewhere ("no VLAN support for Linux cooked v1" on `-i any`): there, `{ vlan: false }` gives
 * `F` or `(F and (EXTRA))` alone.
 */
import { CaptureError } from './record';

/** IPv4: SYN or RST set, or no TCP payload (total length - IP header - TCP header == 0). */
const IPV4_TCP =
  '(ip and tcp and (tcp[tcpflags] & (tcp-syn|tcp-rst) != 0' +
  ' or ip[2:2] - ((ip[0] & 0x0f) << 2) - ((tcp[12] & 0xf0) >> 2) == 0))';

// libpcap's tcp[] reaches IPv4 only: for IPv6, TCP right after the fixed 40-byte header (next
// header 6), flags at byte 40+13, data offset at 40+12, payload length at 4.
const IPV6_TCP = '(ip6 and ip6[6] == 6 and (ip6[53] & 0x06 != 0 or ip6[4:2] - ((ip6[52] & 0xf0) >> 2) == 0))';

/** IPv6 extension headers before the upper layer (RFC 8200 §4): hop-by-hop, routing, fragment,
 *  destination options. */
const IPV6_EXT = '(ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60))';

/** The packet test, without link-layer tags. */
const PACKET = `(${IPV4_TCP} or ${IPV6_TCP} or ${IPV6_EXT})`;

/** Keywords that move libpcap's offsets for the rest of the expression. */
const SHIFTING_KEYWORD = /(?:^|[\s()!])(vlan|mpls|pppoes|geneve)(?=$|[\s()])/;

export interface LiveFilterOptions {
  /** Add the VLAN branches (default true). libpcap accepts `vlan` only on Ethernet and 802.11. */
  vlan?: boolean;
}

/** The nested VLAN form around one packet test: untagged, one tag, two tags. */
function withVlanBranches(test: string): string {
  return `${test} or (vlan and (${test} or (vlan and ${test})))`;
}

/** The default filter on Ethernet, no --filter. */
export const DEFAULT_LIVE_FILTER = withVlanBranches(PACKET);

/**
 * The filter to compile: the default, or the default ANDed with `extra` in every VLAN branch.
 * Throws CaptureError 'bad-filter' when `extra` uses a keyword that shifts offsets.
 */
export function liveFilter(extra?: string, opts: LiveFilterOptions = {}): string {
  const vlan = opts.vlan ?? true;
  if (extra === undefined || extra.trim() === '') return vlan ? DEFAULT_LIVE_FILTER : PACKET;
  const kw = SHIFTING_KEYWORD.exec(extra);
  if (kw) {
    throw new CaptureError('bad-filter', '', null,
      `invalid --filter '${extra}': '${kw[1]}' would shift the default filter's offsets; ` +
      'VLAN-tagged frames (802.1Q, QinQ) are matched already and --filter applies under the tags');
  }
  const test = `(${PACKET} and (${extra}))`;
  return vlan ? withVlanBranches(test) : test;
}
