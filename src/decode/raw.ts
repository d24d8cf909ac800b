/**
 * Raw IP link types: no link header at all.
 *
 * Contract: as every layer (see ethernet.ts). LINKTYPE_RAW (101) and the DLT_RAW values that
 * older files carry (12, 14; libpcap maps both to raw IP) hold IPv4 or IPv6, told by the version
 * nibble (ip.ts); LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229) announce their version, so another
 * nibble there is the anomaly badIpVersion.
 */
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

export { decodeIpByVersion as decodeRawIp } from './ip';

export function decodeRawIpv4(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  return decodeIpv4(view, buf, off, end, wireEnd, 0, counters);
}

export function decodeRawIpv6(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  return decodeIpv6(view, buf, off, end, wireEnd, 0, counters);
}
