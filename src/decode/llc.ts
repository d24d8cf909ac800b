/**
 * IEEE 802.2 LLC, with SNAP (RFC 1042): what follows an 802.3 length field or an FDDI header.
 *
 * Contract: as every layer (see ethernet.ts). Only SNAP with an EtherType OUI (00-00-00, or
 * 00-00-f8 per 802.1H) leads on to IP; every other SAP (STP, NetBIOS, IPX, ...) is nonIp.
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { decodeEtherType } from './ethernet';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** LLC/SNAP header: offsets from its start. */
const enum Llc {
  Dsap = 0,
  Ssap = 1,
  Control = 2,
  HeaderLen = 3, // U-format control: one byte
  SnapOui = 3,
  SnapType = 6,
  SnapHeaderLen = 8,
}

const SAP_SNAP = 0xaa;
const CONTROL_UI = 0x03;
const OUI_ENCAPSULATED_ETHERNET = 0x000000;
const OUI_BRIDGE_TUNNEL = 0x0000f8; // 802.1H

export function decodeLlc(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Llc.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Llc.HeaderLen);
  if (buf[off + Llc.Dsap] !== SAP_SNAP || buf[off + Llc.Ssap] !== SAP_SNAP || buf[off + Llc.Control] !== CONTROL_UI) {
    counters.nonIp++;
    return DecodeResult.Other;
  }
  if (end - off < Llc.SnapHeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Llc.SnapHeaderLen);
  const oui = (buf[off + Llc.SnapOui] << 16) | u16(buf, off + Llc.SnapOui + 1);
  if (oui !== OUI_ENCAPSULATED_ETHERNET && oui !== OUI_BRIDGE_TUNNEL) {
    counters.nonIp++;
    return DecodeResult.Other;
  }
  return decodeEtherType(view, buf, u16(buf, off + Llc.SnapType), off + Llc.SnapHeaderLen, end, wireEnd, counters);
}
