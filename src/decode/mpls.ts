/**
 * MPLS label stack (RFC 3032), after EtherType 0x8847/0x8848.
 *
 * Contract: as every layer (see ethernet.ts). Labels are skipped up to the bottom-of-stack bit;
 * MPLS does not say what it carries, so the first nibble decides, as tshark and Zeek guess:
 * 4 IPv4, 6 IPv6, anything else (a pseudowire control word, Ethernet over MPLS) is nonIp.
 */
import { anomaly } from './anomalies';
import { decodeIpByVersion } from './ip';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** One label stack entry: label(20) TC(3) S(1) TTL(8). */
const enum Mpls {
  BottomOfStack = 2, // byte holding the S bit (its lowest bit)
  EntryLen = 4,
}

/** Deeper stacks than this are hostile or broken (real ones hold 2 or 3 labels). */
const MAX_LABELS = 8;

export function decodeMpls(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  for (let labels = 1; labels <= MAX_LABELS; labels++) {
    if (end - off < Mpls.EntryLen) return anomaly(view, counters, 'truncatedLink', end - off, Mpls.EntryLen);
    const bottom = buf[off + Mpls.BottomOfStack] & 1;
    off += Mpls.EntryLen;
    if (bottom !== 0) return decodeIpByVersion(view, buf, off, end, wireEnd, counters);
  }
  return anomaly(view, counters, 'tooManyLinkHeaders', MAX_LABELS + 1, MAX_LABELS);
}
