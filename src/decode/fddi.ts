/**
 * FDDI (LINKTYPE_FDDI 10): frame control, two MAC addresses, then 802.2 LLC (llc.ts).
 *
 * Contract: as every layer (see ethernet.ts). Only LLC frames (frame control format bits 01)
 * lead on; SMT and MAC frames are nonIp. Bit-swapped addresses don't matter: they are not read.
 */
import { anomaly } from './anomalies';
import { decodeLlc } from './llc';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

const enum Fddi {
  FrameControl = 0,
  Dst = 1,
  Src = 7,
  HeaderLen = 13,
}

/** Frame control CLFFZZZZ: FF = 01 is an LLC frame. */
const FC_FORMAT_MASK = 0x30;
const FC_FORMAT_LLC = 0x10;

export function decodeFddi(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Fddi.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Fddi.HeaderLen);
  if ((buf[off + Fddi.FrameControl] & FC_FORMAT_MASK) !== FC_FORMAT_LLC) {
    counters.nonIp++;
    return DecodeResult.Other;
  }
  return decodeLlc(view, buf, off + Fddi.HeaderLen, end, wireEnd, counters);
}
