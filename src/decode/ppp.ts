/**
 * PPP (RFC 1661/1662; LINKTYPE_PPP 9, LINKTYPE_PPP_HDLC 50) and PPPoE sessions (RFC 2516,
 * EtherType 0x8864), which carry the same PPP protocol field.
 *
 * Contract: as every layer (see ethernet.ts). Only PPP protocols 0x0021 (IPv4), 0x0057 (IPv6) and
 * 0x0281/0x0283 (MPLS) lead on; LCP, IPCP, compressed datagrams and the rest are nonIp.
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { decodeMpls } from './mpls';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** HDLC-like framing (RFC 1662) that may precede the protocol field. */
const enum Hdlc {
  Address = 0, // 0xff, all stations
  Control = 1, // 0x03, unnumbered information
  HeaderLen = 2,
}

/** PPPoE session header: ver/type(1) code(1) session id(2) length(2), then the PPP protocol. */
const enum Pppoe {
  PppProtocol = 6,
  HeaderLen = 8,
}

const enum PppProtocol {
  Ipv4 = 0x0021,
  Ipv6 = 0x0057,
  Mpls = 0x0281,
  MplsMulticast = 0x0283,
}

export function decodePpp(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < 2) return anomaly(view, counters, 'truncatedLink', end - off, 2);
  if (buf[off + Hdlc.Address] === 0xff && buf[off + Hdlc.Control] === 0x03) off += Hdlc.HeaderLen;
  if (end - off < 1) return anomaly(view, counters, 'truncatedLink', end - off, 1);
  // Protocol-field compression (RFC 1661 6.5): an odd first byte is a one-byte protocol.
  if ((buf[off] & 1) === 1) return decodePppProtocol(view, buf, buf[off], off + 1, end, wireEnd, counters);
  if (end - off < 2) return anomaly(view, counters, 'truncatedLink', end - off, 2);
  return decodePppProtocol(view, buf, u16(buf, off), off + 2, end, wireEnd, counters);
}

export function decodePppoe(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Pppoe.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Pppoe.HeaderLen);
  return decodePppProtocol(view, buf, u16(buf, off + Pppoe.PppProtocol), off + Pppoe.HeaderLen, end, wireEnd, counters);
}

function decodePppProtocol(
  view: PacketView, buf: Buffer, protocol: number, off: number, end: number, wireEnd: number,
  counters: DecodeCounters,
): DecodeResult {
  if (protocol === PppProtocol.Ipv4) return decodeIpv4(view, buf, off, end, wireEnd, 0, counters);
  if (protocol === PppProtocol.Ipv6) return decodeIpv6(view, buf, off, end, wireEnd, 0, counters);
  if (protocol === PppProtocol.Mpls || protocol === PppProtocol.MplsMulticast) return decodeMpls(view, buf, off, end, wireEnd, counters);
  counters.nonIp++;
  return DecodeResult.Other;
}
