/**
 * IP protocol dispatch, one table for IPv4 and IPv6: what synwatch looks into above IP.
 *
 * Contract: as every layer (see ethernet.ts), with `wireEnd` the end of the IP datagram (so the
 * transport's lengths come from IP) and `depth` the IP headers already around this payload.
 * TCP and ICMP/ICMPv6 errors are decoded. IP-in-IP (4 and 41: IPv4/IPv6 in IPv4/IPv6, 6in4,
 * 4in6) is one header more and is followed once (depth 0 only). Every other protocol, and every
 * other tunnel (GRE, ERSPAN, VXLAN, Geneve, GTP, AYIYA, Teredo...), is counted as nonTcp:
 * out of scope, on purpose.
 */
import { decodeIcmp, decodeIcmpv6 } from './icmp';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';
import { decodeTcp } from './tcp';

export const enum IpProto {
  Icmp = 1,
  Ipv4 = 4,
  Tcp = 6,
  Ipv6 = 41,
  Icmpv6 = 58,
}

/** IP-in-IP is followed this many levels deep. */
const MAX_TUNNEL_DEPTH = 1;

export function decodeIpPayload(
  view: PacketView, buf: Buffer, protocol: number, off: number, end: number, wireEnd: number,
  depth: number, counters: DecodeCounters,
): DecodeResult {
  switch (protocol) {
    case IpProto.Tcp:
      return decodeTcp(view, buf, off, end, wireEnd, counters);
    case IpProto.Icmp:
      return decodeIcmp(view, buf, off, end, counters);
    case IpProto.Icmpv6:
      return decodeIcmpv6(view, buf, off, end, counters);
    case IpProto.Ipv4:
      if (depth < MAX_TUNNEL_DEPTH) return decodeIpv4(view, buf, off, end, wireEnd, depth + 1, counters);
      break;
    case IpProto.Ipv6:
      if (depth < MAX_TUNNEL_DEPTH) return decodeIpv6(view, buf, off, end, wireEnd, depth + 1, counters);
      break;
  }
  counters.nonTcp++;
  return DecodeResult.Other;
}
