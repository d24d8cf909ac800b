/**
 * The decoder's output: one reusable view per capture source, reset for every frame.
 *
 * Contract: `decodeFrame(view, buf, offset, caplen, wirelen, linkType, counters)` (src/decode/frame.ts)
 * fills the fields below from the frame's bytes without allocating, and returns a DecodeResult.
 * Fields are only meaningful for the result that set them; everything is reset per frame, so no
 * value from a previous packet can leak into the next (see the reused-view tests).
 *
 * Addresses are four 32-bit words in network order, IPv6 as is and IPv4 as the IPv4-mapped IPv6
 * address ::ffff:a.b.c.d ([0, 0, 0xffff, a<<24|b<<16|c<<8|d]) so that one key layout serves both
 * families. `ipVersion` says which family the packet really was.
 */

export const enum DecodeResult {
  /** Not IP, not TCP, or nothing synwatch tracks (counted in counters, nothing else to do). */
  Other = 0,
  /** A TCP segment: every TCP field below is valid. */
  TcpSegment = 1,
  /** A TCP header quoted inside an ICMP/ICMPv6 error: counted apart, never a segment. */
  TcpInIcmp = 2,
  /** The frame is damaged in a way named by an anomaly counter; nothing to track. */
  Anomaly = 3,
}

/** TCP flag bits as in the header's 9-bit flags field (RFC 9293, RFC 3168). */
export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
export const TCP_AE = 0x100;

export class PacketView {
  /** 4 or 6 for a decoded IP packet, 0 otherwise. */
  ipVersion = 0;
  /** Source and destination address words (see the file contract). */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** IP protocol / final IPv6 next header. */
  ipProto = 0;
  /** TCP fields (uint32 values are non-negative numbers). */
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  /** 9-bit flags field (TCP_* bits). */
  flags = 0;
  /** TCP header length in bytes (data offset * 4). */
  tcpHeaderLen = 0;
  /** TCP payload length on the wire, from the IP lengths (not from what was captured). */
  payloadLen = 0;
  /** True when the snaplen cut the frame before the end of the IP datagram. */
  truncated = false;
  /**
   * True for the first fragment of a fragmented datagram (offset 0, more fragments follow): its
   * payloadLen counts this fragment only, and the TCP header may go on in the next fragment (then
   * tcpHeaderLen is the full header's length and payloadLen 0). Later fragments are never segments.
   */
  fragmented = false;
  /** Count of VLAN tags seen (802.1Q/802.1ad). */
  vlanDepth = 0;
  /**
   * TcpInIcmp only: type and code of the ICMP/ICMPv6 error. The addresses and TCP fields above are
   * then those of the QUOTED packet (the original flow), and only as far as the quote reaches:
   * ports and seq need 8 quoted TCP bytes, ack and flags 14; what is missing stays 0.
   */
  icmpType = 0;
  icmpCode = 0;
  /**
   * The anomaly found in this frame (src/decode/anomalies.ts), else ''. Always set with the result
   * Anomaly; with another result only for ipLengthBeyondFrame, which does not stop decoding.
   */
  anomaly = '';
  /** The numbers behind it, e.g. TCP data offset 3 (value) < 5 (limit). */
  anomalyValue = 0;
  anomalyLimit = 0;
}

/** The fields about the frame rather than the segment (truncation, fragment, VLAN, ICMP, anomaly) back to their initial values. */
export function resetAnnotations(view: PacketView): void {
  view.truncated = false;
  view.fragmented = false;
  view.vlanDepth = 0;
  view.icmpType = 0;
  view.icmpCode = 0;
  view.anomaly = '';
  view.anomalyValue = 0;
  view.anomalyLimit = 0;
}

/**
 * Counters the decoder increments. Plain numeric fields with a fixed shape (fast in V8).
 * Anomalies are named after what is wrong, Zeek style; each is a fact about the input, never
 * an exception.
 */
export class DecodeCounters {
  frames = 0;
  ipv4 = 0;
  ipv6 = 0;
  tcpSegments = 0;
  tcpInIcmp = 0;
  /** Frames that are not IP (ARP, STP, ...) or whose link type is unknown. */
  nonIp = 0;
  /** IP packets that carry something other than TCP (or a non-first fragment). */
  nonTcp = 0;
  /** Non-first IPv4/IPv6 fragments: no TCP header in them. */
  fragments = 0;
  /** Frames of a link type the decoder doesn't know: key LINKTYPE value, value frames. */
  readonly unknownLinkTypes = new Map<number, number>();
  /** IPv4 total length 0 (TSO/GSO capture on the sender): length taken from the wire. Not an anomaly. */
  ipv4TsoZeroLength = 0;
  /** IPv6 payload length 0 (jumbogram or TSO): length taken from the wire. Not an anomaly. */
  ipv6ZeroPayloadLength = 0;
  /** IP datagrams cut by the snaplen (view.truncated set); still decoded as far as they go. */
  truncated = 0;
  /** Named anomalies (see src/decode/anomalies.ts for the list and their meaning). */
  readonly anomalies: Record<string, number> = Object.create(null);
}
