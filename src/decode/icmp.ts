/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443) errors that quote a TCP header.
 *
 * Contract: `(view, buf, off, end, counters)` as every layer (see ethernet.ts), without a wire end:
 * nothing here needs a length from IP. An error (ICMP 3, 4, 5, 11, 12; ICMPv6 1-4) whose quoted
 * packet is a first fragment of TCP gives TcpInIcmp, counted in tcpInIcmp and never a segment:
 * the view then holds the QUOTED packet's addresses and as many TCP fields as the quote reaches
 * (see PacketView.icmpType). Any other ICMP message, or a quote of something else, is nonTcp.
 * A quote is partial by design (RFC 792 promises 8 bytes past the IP header): never truncation.
 */
import { anomaly } from './anomalies';
import { u16, u32 } from './bytes';
import { setIpv4Addresses } from './ipv4';
import { setIpv6Addresses, skipIpv6Extensions } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';
import { fillTcpFields } from './tcp';

/** ICMP and ICMPv6 header: type(1) code(1) checksum(2) 4 bytes, then the quoted packet. */
const enum Icmp {
  Type = 0,
  Code = 1,
  Quote = 8,
}

/** The quoted IPv4 / IPv6 headers (same layout as ipv4.ts / ipv6.ts). */
const enum Quoted4 {
  VersionIhl = 0,
  FlagsFragment = 6,
  Protocol = 9,
  Src = 12,
  Dst = 16,
  MinHeaderLen = 20,
}
const enum Quoted6 {
  NextHeader = 6,
  Src = 8,
  Dst = 24,
  HeaderLen = 40,
}

/** Quoted TCP bytes needed: ports, then seq, then ack and the flags byte. */
const enum QuotedTcp {
  Ports = 4,
  Seq = 8,
  Flags = 14,
}

const TCP = 6;

/** ICMP error types: destination unreachable, source quench, redirect, time exceeded, parameter problem. */
function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** ICMPv6 error types (RFC 4443): unreachable, packet too big, time exceeded, parameter problem. */
function isIcmpv6Error(type: number): boolean {
  return type >= 1 && type <= 4;
}

export function decodeIcmp(
  view: PacketView, buf: Buffer, off: number, end: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < 1 || !isIcmpError(buf[off + Icmp.Type])) return notTcp(counters);
  const q = off + Icmp.Quote;
  const captured = end - q;
  if (captured < Quoted4.MinHeaderLen) return anomaly(view, counters, 'truncatedIcmp', end - off, Icmp.Quote + Quoted4.MinHeaderLen);
  const versionIhl = buf[q + Quoted4.VersionIhl];
  const headerLen = (versionIhl & 0x0f) * 4;
  if (versionIhl >> 4 !== 4 || headerLen < Quoted4.MinHeaderLen) return notTcp(counters);
  if (captured < headerLen) return anomaly(view, counters, 'truncatedIcmp', end - off, Icmp.Quote + headerLen);
  if (buf[q + Quoted4.Protocol] !== TCP || (u16(buf, q + Quoted4.FlagsFragment) & 0x1fff) !== 0) return notTcp(counters);
  if (end - (q + headerLen) < QuotedTcp.Ports) return notTcp(counters);
  setIpv4Addresses(view, buf, q + Quoted4.Src, q + Quoted4.Dst);
  view.ipProto = TCP;
  return quotedTcp(view, buf, off, q + headerLen, end, counters);
}

export function decodeIcmpv6(
  view: PacketView, buf: Buffer, off: number, end: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < 1 || !isIcmpv6Error(buf[off + Icmp.Type])) return notTcp(counters);
  const q = off + Icmp.Quote;
  if (end - q < Quoted6.HeaderLen) return anomaly(view, counters, 'truncatedIcmp', end - off, Icmp.Quote + Quoted6.HeaderLen);
  if (buf[q] >> 4 !== 6) return notTcp(counters);
  // The quoted payload length is the original's; the quote ends where the capture does.
  const at = skipIpv6Extensions(view, buf, q + Quoted6.HeaderLen, buf[q + Quoted6.NextHeader], end, end);
  if (at < 0 || view.ipProto !== TCP || end - at < QuotedTcp.Ports) {
    view.ipProto = 0;
    if (view.anomaly === '') {
      view.anomalyValue = 0; // skipIpv6Extensions may have left numbers: not an anomaly here
      view.anomalyLimit = 0;
    }
    return notTcp(counters);
  }
  setIpv6Addresses(view, buf, q + Quoted6.Src, q + Quoted6.Dst);
  return quotedTcp(view, buf, off, at, end, counters);
}

/** Fills what the quote holds of the TCP header at `t` (at least its ports: callers check). */
function quotedTcp(
  view: PacketView, buf: Buffer, off: number, t: number, end: number, counters: DecodeCounters,
): DecodeResult {
  const captured = end - t;
  view.icmpType = buf[off + Icmp.Type];
  view.icmpCode = buf[off + Icmp.Code];
  if (captured >= QuotedTcp.Flags) fillTcpFields(view, buf, t);
  else {
    view.sport = u16(buf, t);
    view.dport = u16(buf, t + 2);
    if (captured >= QuotedTcp.Seq) view.seq = u32(buf, t + 4);
  }
  counters.tcpInIcmp++;
  return DecodeResult.TcpInIcmp;
}

function notTcp(counters: DecodeCounters): DecodeResult {
  counters.nonTcp++;
  return DecodeResult.Other;
}
