/**
 * IPv6 (RFC 8200) and its extension-header chain.
 *
 * Contract: as ipv4.ts. The chain is walked by `skipIpv6Extensions` (also used on the packets
 * ICMPv6 errors quote) in a bounded loop; view.ipProto ends as the upper-layer protocol.
 */
import { anomaly, noteAnomaly } from './anomalies';
import { u16, u32 } from './bytes';
import { decodeIpPayload } from './ipproto';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** IPv6 fixed header: offsets from its start. */
const enum Ip6 {
  VersionClassFlow = 0,
  PayloadLength = 4,
  NextHeader = 6,
  Src = 8,
  Dst = 24,
  HeaderLen = 40,
}

/** Extension headers: next header(1) length(1) ...; the fragment header is 8 bytes flat. */
const enum Ext {
  NextHeader = 0,
  Length = 1,
  FragmentOffset = 2, // 13-bit offset, then flags: (u16 & 0xfff8) is the offset in bytes
  FragmentLen = 8,
  MinLen = 2,
}

const enum Proto {
  HopByHop = 0,
  Routing = 43,
  Fragment = 44,
  Ah = 51,
  DestinationOptions = 60,
  Mobility = 135,
}

/** What skipIpv6Extensions returns instead of an offset. */
export const enum Ipv6Chain {
  NonFirstFragment = -1,
  /** An extension header runs past the captured bytes. */
  Truncated = -2,
  /** An extension header runs past the payload length. */
  BeyondPayload = -3,
  TooLong = -4,
}

/** Real chains hold two or three headers; RFC 8200 allows each but Destination Options once. */
const MAX_EXTENSIONS = 16;

export function decodeIpv6(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, depth: number,
  counters: DecodeCounters,
): DecodeResult {
  const captured = end - off;
  if (captured < Ip6.HeaderLen) return anomaly(view, counters, 'truncatedIpv6', captured, Ip6.HeaderLen);
  const version = buf[off + Ip6.VersionClassFlow] >> 4;
  if (version !== 6) return anomaly(view, counters, 'badIpVersion', version, 6);
  let payloadLen = u16(buf, off + Ip6.PayloadLength);
  if (payloadLen === 0) {
    // A jumbogram (RFC 2675, real length in a hop-by-hop option) or a TSO capture: either way
    // the wire length is the datagram's length.
    counters.ipv6ZeroPayloadLength++;
    payloadLen = wireEnd - off - Ip6.HeaderLen;
    if (payloadLen < 0) payloadLen = 0;
  }

  setIpv6Addresses(view, buf, off + Ip6.Src, off + Ip6.Dst);
  counters.ipv6++;

  let ipEnd = off + Ip6.HeaderLen + payloadLen;
  if (ipEnd > wireEnd) {
    // Shorter on the wire than IP says (a broken stack or an edited trace): the wire wins.
    noteAnomaly(view, counters, 'ipLengthBeyondFrame', Ip6.HeaderLen + payloadLen, wireEnd - off);
    ipEnd = wireEnd;
  }
  if (ipEnd < end) end = ipEnd; // link padding / trailer
  else if (ipEnd > end) {
    view.truncated = true;
    counters.truncated++;
  }
  const at = skipIpv6Extensions(view, buf, off + Ip6.HeaderLen, buf[off + Ip6.NextHeader], ipEnd, end);
  switch (at) {
    case Ipv6Chain.NonFirstFragment:
      counters.fragments++;
      counters.nonTcp++;
      return DecodeResult.Other;
    case Ipv6Chain.Truncated:
      return anomaly(view, counters, 'truncatedIpv6Ext', view.anomalyValue - off, view.anomalyLimit - off);
    case Ipv6Chain.BeyondPayload:
      return anomaly(view, counters, 'badIpv6ExtLen', view.anomalyLimit - off - Ip6.HeaderLen, payloadLen);
    case Ipv6Chain.TooLong:
      return anomaly(view, counters, 'ipv6ExtChainTooLong', MAX_EXTENSIONS + 1, MAX_EXTENSIONS);
  }
  return decodeIpPayload(view, buf, view.ipProto, at, end, ipEnd, depth, counters);
}

/** ipVersion 6 and both addresses (shared with quoted headers in icmp.ts). */
export function setIpv6Addresses(view: PacketView, buf: Buffer, srcAt: number, dstAt: number): void {
  view.ipVersion = 6;
  const src = view.src;
  const dst = view.dst;
  for (let i = 0; i < 4; i++) {
    src[i] = u32(buf, srcAt + 4 * i);
    dst[i] = u32(buf, dstAt + 4 * i);
  }
}

/**
 * Walks extension headers from `at` (next header `nh`) until an upper-layer protocol: returns its
 * offset and leaves the protocol in view.ipProto, or returns an Ipv6Chain code. Reads nothing at
 * or past `end`; `limit` is where the payload ends. On Truncated / BeyondPayload, view.anomalyValue
 * and view.anomalyLimit hold absolute offsets for the caller: where the bytes stop, where the
 * header needed them to go on to.
 */
export function skipIpv6Extensions(
  view: PacketView, buf: Buffer, at: number, nh: number, limit: number, end: number,
): number {
  for (let n = 0; n <= MAX_EXTENSIONS; n++) {
    view.ipProto = nh;
    let len: number;
    switch (nh) {
      case Proto.HopByHop:
      case Proto.Routing:
      case Proto.DestinationOptions:
      case Proto.Mobility:
        len = at + Ext.MinLen <= end ? (buf[at + Ext.Length] + 1) * 8 : Ext.MinLen;
        break;
      case Proto.Ah: // RFC 4302: length in 4-byte words, minus 2
        len = at + Ext.MinLen <= end ? (buf[at + Ext.Length] + 2) * 4 : Ext.MinLen;
        break;
      case Proto.Fragment:
        len = Ext.FragmentLen;
        break;
      default:
        return at; // upper layer (or 59, no next header): the caller decides
    }
    const extEnd = at + len;
    if (extEnd > limit || extEnd > end) {
      view.anomalyValue = extEnd > limit ? limit : end;
      view.anomalyLimit = extEnd;
      return extEnd > limit ? Ipv6Chain.BeyondPayload : Ipv6Chain.Truncated;
    }
    // Only the first fragment (offset 0) holds the upper-layer header; an atomic fragment
    // (offset 0, M clear, RFC 6946) is a whole packet.
    if (nh === Proto.Fragment) {
      const offsetFlags = u16(buf, at + Ext.FragmentOffset);
      if ((offsetFlags & 0xfff8) !== 0) return Ipv6Chain.NonFirstFragment;
      if ((offsetFlags & 1) !== 0) view.fragmented = true; // M: more fragments follow
    }
    nh = buf[at + Ext.NextHeader];
    at = extEnd;
  }
  return Ipv6Chain.TooLong;
}
