/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL 113), the `any`-device header, 16 bytes.
 *
 * Contract: as every layer (see ethernet.ts). The protocol field is an EtherType (VLAN tags not
 * stripped by the NIC follow as they are), except for the few values and ARPHRD types below.
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { decodeEtherType } from './ethernet';
import { decodeLlc } from './llc';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** SLL header: offsets from its start. */
const enum Sll {
  PacketType = 0,
  ArphrdType = 2,
  AddressLen = 4,
  Address = 6, // 8 bytes
  Protocol = 14,
  HeaderLen = 16,
}

/** Protocol values that are not EtherTypes (linux/if_ether.h). */
const enum SllProtocol {
  Ieee8023 = 0x0001, // Novell 802.3 without LLC
  Ieee8022 = 0x0004, // 802.2 LLC frame
}

/** ARPHRD_NETLINK: nlmon captures; the protocol field is a netlink family. */
const ARPHRD_NETLINK = 824;

export function decodeSll(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Sll.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Sll.HeaderLen);
  return decodeSllPayload(
    view, buf, u16(buf, off + Sll.Protocol), u16(buf, off + Sll.ArphrdType), off + Sll.HeaderLen, end, wireEnd, counters,
  );
}

/** Shared with SLL2: the same protocol and ARPHRD fields, in another order. */
export function decodeSllPayload(
  view: PacketView, buf: Buffer, protocol: number, arphrd: number, off: number, end: number, wireEnd: number,
  counters: DecodeCounters,
): DecodeResult {
  if (arphrd === ARPHRD_NETLINK || protocol === SllProtocol.Ieee8023) {
    counters.nonIp++;
    return DecodeResult.Other;
  }
  if (protocol === SllProtocol.Ieee8022) return decodeLlc(view, buf, off, end, wireEnd, counters);
  return decodeEtherType(view, buf, protocol, off, end, wireEnd, counters);
}
