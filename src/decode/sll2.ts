/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276), 20 bytes, protocol first.
 *
 * Contract: as every layer (see ethernet.ts); the payload is read as in SLL v1 (sll.ts).
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { DecodeCounters, DecodeResult, PacketView } from './packet';
import { decodeSllPayload } from './sll';

/** SLL2 header: offsets from its start. */
const enum Sll2 {
  Protocol = 0,
  Reserved = 2,
  InterfaceIndex = 4,
  ArphrdType = 8,
  PacketType = 10,
  AddressLen = 11,
  Address = 12, // 8 bytes
  HeaderLen = 20,
}

export function decodeSll2(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Sll2.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Sll2.HeaderLen);
  return decodeSllPayload(
    view, buf, u16(buf, off + Sll2.Protocol), u16(buf, off + Sll2.ArphrdType), off + Sll2.HeaderLen, end, wireEnd, counters,
  );
}
