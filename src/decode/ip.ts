/**
 * IP of either version, told apart by the first nibble: raw-IP link types, MPLS payloads, NFLOG.
 *
 * Contract: as every layer (see ethernet.ts). A nibble other than 4 or 6 is not IP: nonIp.
 */
import { anomaly } from './anomalies';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

export function decodeIpByVersion(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < 1) return anomaly(view, counters, 'truncatedLink', end - off, 1);
  const version = buf[off] >> 4;
  if (version === 4) return decodeIpv4(view, buf, off, end, wireEnd, 0, counters);
  if (version === 6) return decodeIpv6(view, buf, off, end, wireEnd, 0, counters);
  counters.nonIp++;
  return DecodeResult.Other;
}
