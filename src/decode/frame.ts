/**
 * The decoder's entry point: one captured frame in, one DecodeResult and a filled PacketView out.
 *
 * Contract: `decodeFrame` resets every field of `view`, reads only `buf[offset, offset + caplen)`
 * (and never past buf.length), allocates nothing, builds no string, logs nothing and never throws,
 * whatever the bytes. What it finds is counted in `counters`; damage is a named anomaly
 * (anomalies.ts). Which decoder handles which link type is the table below, and only there; each
 * layer is one file (ethernet.ts, sll.ts, ipv4.ts, tcp.ts, ...), chained by plain calls
 * (`decodeLayers`). The common frame, Ethernet + IPv4 + TCP with nothing unusual, goes through
 * fast-path.ts first: the same view and counts, without the calls.
 */
import { anomaly } from './anomalies';
import { decodeChdlc } from './chdlc';
import { decodeEthernet } from './ethernet';
import { decodeEthernetIpv4Tcp, FAST_PATH_MIN_BYTES } from './fast-path';
import { decodeFddi } from './fddi';
import { decodeNflog } from './nflog';
import { decodeNull } from './null';
import { DecodeCounters, DecodeResult, PacketView, resetAnnotations } from './packet';
import { decodePpp } from './ppp';
import { decodeRawIp, decodeRawIpv4, decodeRawIpv6 } from './raw';
import { decodeSll } from './sll';
import { decodeSll2 } from './sll2';

/** A link layer: its header at `off`, bytes captured to `end`, the frame ran to `wireEnd`. */
export type LinkDecoder = (
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
) => DecodeResult;

/** LINKTYPE_* (https://www.tcpdump.org/linktypes.html) -> decoder. Anything else: unknownLinkTypes. */
export const LINK_TYPES: ReadonlyArray<readonly [number, LinkDecoder]> = [
  [0, decodeNull], // BSD loopback, host byte order
  [1, decodeEthernet],
  [9, decodePpp],
  [10, decodeFddi],
  [12, decodeRawIp], // DLT_RAW on most BSDs; libpcap reads it as raw IP
  [14, decodeRawIp], // DLT_RAW on OpenBSD
  [50, decodePpp], // PPP in HDLC-like framing
  [101, decodeRawIp],
  [104, decodeChdlc],
  [108, decodeNull], // OpenBSD loopback, network byte order
  [113, decodeSll],
  [228, decodeRawIpv4],
  [229, decodeRawIpv6],
  [239, decodeNflog],
  [276, decodeSll2],
];

/** The table as a dense (hole-free) array indexed by link type, built once. */
const BY_LINK_TYPE: (LinkDecoder | undefined)[] = new Array<LinkDecoder | undefined>(
  Math.max(...LINK_TYPES.map(([linkType]) => linkType)) + 1,
).fill(undefined);
for (const [linkType, decoder] of LINK_TYPES) BY_LINK_TYPE[linkType] = decoder;

/** The LINKTYPE proper; a classic pcap header may carry FCS-length bits above it. */
const LINK_TYPE_MASK = 0xffff;
export const LINKTYPE_ETHERNET = 1;

export function decodeFrame(
  view: PacketView, buf: Buffer, offset: number, caplen: number, wirelen: number, linkType: number,
  counters: DecodeCounters,
): DecodeResult {
  // Most frames: Ethernet, IPv4, TCP, nothing unusual (fast-path.ts; it writes the whole view).
  const end = offset + caplen <= buf.length ? offset + caplen : buf.length;
  if ((linkType & LINK_TYPE_MASK) === LINKTYPE_ETHERNET && offset >= 0 && end - offset >= FAST_PATH_MIN_BYTES &&
    decodeEthernetIpv4Tcp(view, buf, offset, end)) {
    counters.frames++;
    counters.ipv4++;
    counters.tcpSegments++;
    return DecodeResult.TcpSegment;
  }
  return decodeLayers(view, buf, offset, caplen, wirelen, linkType, counters);
}

/** decodeFrame without the fast path: every layer, one call each (the fast path's oracle in the tests). */
export function decodeLayers(
  view: PacketView, buf: Buffer, offset: number, caplen: number, wirelen: number, linkType: number,
  counters: DecodeCounters,
): DecodeResult {
  resetView(view);
  counters.frames++;
  // The only bounds the layers check against: never past the buffer, whatever caplen says, and
  // a wire end never before the captured end (a file may claim wirelen < caplen).
  let end = offset + caplen;
  if (!(end <= buf.length)) end = buf.length;
  if (!(offset >= 0) || !(end > offset)) return anomaly(view, counters, 'truncatedLink', 0, 1);
  const wireEnd = offset + wirelen > end ? offset + wirelen : end;

  const lt = linkType & LINK_TYPE_MASK;
  const decoder = BY_LINK_TYPE[lt];
  if (decoder === undefined) {
    const unknown = counters.unknownLinkTypes;
    unknown.set(lt, (unknown.get(lt) ?? 0) + 1);
    counters.nonIp++;
    return DecodeResult.Other;
  }
  return decoder(view, buf, offset, end, wireEnd, counters);
}

/** Every field back to its initial value, so nothing of the previous frame survives. */
export function resetView(view: PacketView): void {
  view.ipVersion = 0;
  const src = view.src;
  const dst = view.dst;
  src[0] = 0;
  src[1] = 0;
  src[2] = 0;
  src[3] = 0;
  dst[0] = 0;
  dst[1] = 0;
  dst[2] = 0;
  dst[3] = 0;
  view.ipProto = 0;
  view.sport = 0;
  view.dport = 0;
  view.seq = 0;
  view.ack = 0;
  view.flags = 0;
  view.tcpHeaderLen = 0;
  view.payloadLen = 0;
  resetAnnotations(view);
}
