/**
 * BSD loopback: LINKTYPE_NULL (0) and LINKTYPE_LOOP (108), a 4-byte address family.
 *
 * Contract: as every layer (see ethernet.ts). NULL writes the family in the capturing machine's
 * byte order, LOOP in network order, and files travel between machines: both orders are accepted
 * (a family never exceeds 0xffff, so a value that does was read the wrong way round). AF_INET6
 * differs per OS: 24 (NetBSD, OpenBSD), 28 (FreeBSD, DragonFly), 30 (macOS); all three are
 * accepted, as tshark does. Other families (ISO, IPX, AppleTalk) are nonIp.
 */
import { anomaly } from './anomalies';
import { u32, u32le } from './bytes';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

const enum Null {
  Family = 0,
  HeaderLen = 4,
}

const enum Af {
  Inet = 2,
  Inet6Bsd = 24,
  Inet6FreeBsd = 28,
  Inet6Darwin = 30,
}

export function decodeNull(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Null.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Null.HeaderLen);
  let family = u32le(buf, off + Null.Family);
  if (family > 0xffff) family = u32(buf, off + Null.Family);
  const ip = off + Null.HeaderLen;
  switch (family) {
    case Af.Inet:
      return decodeIpv4(view, buf, ip, end, wireEnd, 0, counters);
    case Af.Inet6Bsd:
    case Af.Inet6FreeBsd:
    case Af.Inet6Darwin:
      return decodeIpv6(view, buf, ip, end, wireEnd, 0, counters);
  }
  counters.nonIp++;
  return DecodeResult.Other;
}
