/**
 * IPv4 (RFC 791).
 *
 * Contract: as every layer (see ethernet.ts), plus `depth`, the number of IP headers already
 * around this one (IP-in-IP, see ipproto.ts). Validates the header once, fills ipVersion, the
 * addresses (IPv4-mapped words) and ipProto, then hands the payload to ipproto.ts with the
 * datagram's end as the new wire end: lengths above come from the IP header, never from caplen.
 */
import { anomaly, noteAnomaly } from './anomalies';
import { u16, u32 } from './bytes';
import { decodeIpPayload } from './ipproto';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** IPv4 header: offsets from its start. */
const enum Ip4 {
  VersionIhl = 0,
  TotalLength = 2,
  FlagsFragment = 6,
  Protocol = 9,
  Src = 12,
  Dst = 16,
  MinHeaderLen = 20,
}

const MIN_IHL = Ip4.MinHeaderLen / 4;
const FRAGMENT_OFFSET_MASK = 0x1fff;
const MORE_FRAGMENTS = 0x2000;
/** Word 2 of an IPv4-mapped address (::ffff:a.b.c.d). */
const MAPPED_V4 = 0xffff;

export function decodeIpv4(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, depth: number,
  counters: DecodeCounters,
): DecodeResult {
  const captured = end - off;
  if (captured < Ip4.MinHeaderLen) return anomaly(view, counters, 'truncatedIpv4', captured, Ip4.MinHeaderLen);
  const versionIhl = buf[off + Ip4.VersionIhl];
  if (versionIhl >> 4 !== 4) return anomaly(view, counters, 'badIpVersion', versionIhl >> 4, 4);
  const ihl = versionIhl & 0x0f;
  if (ihl < MIN_IHL) return anomaly(view, counters, 'badIpv4HeaderLen', ihl, MIN_IHL);
  const headerLen = ihl * 4; // options, if any, are skipped
  if (captured < headerLen) return anomaly(view, counters, 'truncatedIpv4', captured, headerLen);
  let totalLen = u16(buf, off + Ip4.TotalLength);
  if (totalLen === 0) {
    // TSO/GSO: captured on the sending host before the NIC split the segment and filled the
    // length in. The wire length is the only length there is.
    counters.ipv4TsoZeroLength++;
    totalLen = wireEnd - off;
  } else if (totalLen < headerLen) {
    return anomaly(view, counters, 'badIpv4TotalLen', totalLen, headerLen);
  }

  setIpv4Addresses(view, buf, off + Ip4.Src, off + Ip4.Dst);
  const protocol = buf[off + Ip4.Protocol];
  view.ipProto = protocol;
  counters.ipv4++;

  let ipEnd = off + totalLen;
  if (ipEnd > wireEnd) {
    // Shorter on the wire than IP says (a broken stack or an edited trace): the wire wins.
    noteAnomaly(view, counters, 'ipLengthBeyondFrame', totalLen, wireEnd - off);
    ipEnd = wireEnd;
  }
  // Ethernet pads frames to 60 bytes and some links append an FCS: the datagram ends at its
  // total length, whatever follows it was captured too.
  if (ipEnd < end) end = ipEnd;
  else if (ipEnd > end) {
    view.truncated = true;
    counters.truncated++;
  }
  const flagsFragment = u16(buf, off + Ip4.FlagsFragment);
  if ((flagsFragment & FRAGMENT_OFFSET_MASK) !== 0) {
    // Only the first fragment (offset 0) holds the transport header.
    counters.fragments++;
    counters.nonTcp++;
    return DecodeResult.Other;
  }
  if ((flagsFragment & MORE_FRAGMENTS) !== 0) view.fragmented = true;
  return decodeIpPayload(view, buf, protocol, off + headerLen, end, ipEnd, depth, counters);
}

/** ipVersion 4 and both addresses as IPv4-mapped words (shared with quoted headers in icmp.ts). */
export function setIpv4Addresses(view: PacketView, buf: Buffer, srcAt: number, dstAt: number): void {
  setMappedV4(view, u32(buf, srcAt) | 0, u32(buf, dstAt) | 0);
}

/**
 * ipVersion 4 and the two 32-bit addresses as IPv4-mapped words (fast-path.ts reads them itself).
 * Callers pass the addresses as int32 (the same bits in the Uint32Array): a uint32 above 2^31
 * would be boxed if V8 did not inline the call (src/track/clock.ts).
 */
export function setMappedV4(view: PacketView, src: number, dst: number): void {
  view.ipVersion = 4;
  // All four words: an outer IPv6 header (4in6) may have set them.
  const s = view.src;
  const d = view.dst;
  s[0] = 0;
  s[1] = 0;
  s[2] = MAPPED_V4;
  s[3] = src;
  d[0] = 0;
  d[1] = 0;
  d[2] = MAPPED_V4;
  d[3] = dst;
}
