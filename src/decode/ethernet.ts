/**
 * Ethernet II / IEEE 802.3 (LINKTYPE_ETHERNET 1) and the EtherType dispatch every link layer shares.
 *
 * Contract: every layer function takes `(view, buf, off, end, wireEnd, counters)`: the layer starts
 * at `buf[off]`, bytes up to `end` were captured, the frame ran to `wireEnd` on the wire
 * (`wireEnd >= end`). It reads nothing at or past `end`, allocates nothing, and returns a
 * DecodeResult after counting what it found.
 *
 * `decodeEtherType` peels the shims that sit between a MAC header and the network layer, in any
 * order and nesting, up to MAX_SHIMS: 802.1Q / 802.1ad / pre-standard QinQ tags, VN-tag,
 * 802.1ah PBB, Cisco FabricPath; then hands off to IPv4, IPv6, MPLS or PPPoE. Anything else is
 * counted as nonIp (unknown EtherTypes are facts, not errors).
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { decodeLlc } from './llc';
import { decodeMpls } from './mpls';
import { DecodeCounters, DecodeResult, PacketView } from './packet';
import { decodePppoe } from './ppp';

/** Ethernet II header: offsets from the frame start. */
const enum Eth {
  Dst = 0,
  Src = 6,
  Type = 12,
  HeaderLen = 14,
}

/** A type/length field up to this is an 802.3 length: an LLC header follows, not an EtherType. */
const ETHER_MAX_LENGTH = 1500;

export const enum EtherType {
  Ipv4 = 0x0800,
  Ipv6 = 0x86dd,
  Vlan = 0x8100, // 802.1Q C-tag
  QinQ = 0x88a8, // 802.1ad S-tag
  QinQ9100 = 0x9100, // pre-standard QinQ
  QinQ9200 = 0x9200,
  VnTag = 0x8926, // Cisco VN-tag (802.1Qbh)
  Pbb = 0x88e7, // 802.1ah provider backbone I-tag
  FabricPath = 0x8903, // Cisco FabricPath (DCE)
  PppoeSession = 0x8864,
  Mpls = 0x8847,
  MplsMulticast = 0x8848,
}

/**
 * Shim headers after their EtherType: bytes up to the next EtherType, and the whole shim length.
 * VLAN: TCI(2) type(2). VN-tag: tag(4) type(2). PBB: I-tag(4) C-DA(6) C-SA(6) type(2).
 * FabricPath: FTAG/TTL(2) DA(6) SA(6) type(2) (the outer MACs were the FabricPath addresses).
 */
const enum Shim {
  VlanLen = 4,
  VnTagLen = 6,
  PbbLen = 18,
  FabricPathLen = 16,
  NextTypeBack = 2, // the next EtherType is the shim's last two bytes
}

/** Stacked shims beyond this are hostile or broken; 3 is the most the corpus holds (QinQinQ). */
const MAX_SHIMS = 8;

export function decodeEthernet(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Eth.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Eth.HeaderLen);
  const type = u16(buf, off + Eth.Type);
  // 802.3 frames carry a length here: LLC (and maybe SNAP with an EtherType) follows.
  if (type <= ETHER_MAX_LENGTH) return decodeLlc(view, buf, off + Eth.HeaderLen, end, wireEnd, counters);
  return decodeEtherType(view, buf, type, off + Eth.HeaderLen, end, wireEnd, counters);
}

/** Dispatches on an EtherType whose payload starts at `off`, peeling VLAN and other shims first. */
export function decodeEtherType(
  view: PacketView, buf: Buffer, type: number, off: number, end: number, wireEnd: number,
  counters: DecodeCounters,
): DecodeResult {
  for (let shims = 0; shims <= MAX_SHIMS; shims++) {
    let len: number;
    switch (type) {
      case EtherType.Ipv4:
        return decodeIpv4(view, buf, off, end, wireEnd, 0, counters);
      case EtherType.Ipv6:
        return decodeIpv6(view, buf, off, end, wireEnd, 0, counters);
      case EtherType.Mpls:
      case EtherType.MplsMulticast:
        return decodeMpls(view, buf, off, end, wireEnd, counters);
      case EtherType.PppoeSession:
        return decodePppoe(view, buf, off, end, wireEnd, counters);
      // QinQ is just tags stacked: each one is counted in vlanDepth and skipped.
      case EtherType.Vlan:
      case EtherType.QinQ:
      case EtherType.QinQ9100:
      case EtherType.QinQ9200:
        view.vlanDepth++;
        len = Shim.VlanLen;
        break;
      case EtherType.VnTag:
        len = Shim.VnTagLen;
        break;
      case EtherType.Pbb:
        len = Shim.PbbLen;
        break;
      case EtherType.FabricPath:
        len = Shim.FabricPathLen;
        break;
      default:
        counters.nonIp++;
        return DecodeResult.Other;
    }
    if (end - off < len) return anomaly(view, counters, 'truncatedLink', end - off, len);
    type = u16(buf, off + len - Shim.NextTypeBack);
    off += len;
  }
  return anomaly(view, counters, 'tooManyLinkHeaders', MAX_SHIMS + 1, MAX_SHIMS);
}
