/**
 * Cisco HDLC (LINKTYPE_C_HDLC 104): address, control, then an EtherType.
 *
 * Contract: as every layer (see ethernet.ts).
 */
import { anomaly } from './anomalies';
import { u16 } from './bytes';
import { decodeEtherType } from './ethernet';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

const enum Chdlc {
  Address = 0, // 0x0f unicast, 0x8f broadcast
  Control = 1,
  Protocol = 2,
  HeaderLen = 4,
}

export function decodeChdlc(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Chdlc.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Chdlc.HeaderLen);
  return decodeEtherType(view, buf, u16(buf, off + Chdlc.Protocol), off + Chdlc.HeaderLen, end, wireEnd, counters);
}
