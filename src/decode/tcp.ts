/**
 * TCP header (RFC 9293; the 9-bit flags field with AE, RFC 3168 / RFC 9768).
 *
 * Contract: as every layer (see ethernet.ts); `wireEnd` is the end of the IP datagram, so
 * payloadLen is IP payload minus TCP header, never derived from caplen. The fixed 20 bytes must be
 * captured (else truncatedTcp); options cut by the snaplen only mean view.truncated (set by IP).
 */
import { anomaly } from './anomalies';
import { u16, u32 } from './bytes';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** TCP header: offsets from its start. */
const enum Tcp {
  SrcPort = 0,
  DstPort = 2,
  Seq = 4,
  Ack = 8,
  DataOffset = 12, // high nibble; the low bit of this byte is the AE flag
  Flags = 13,
  Window = 14,
  MinHeaderLen = 20,
}

const MIN_DATA_OFFSET = Tcp.MinHeaderLen / 4;

export function decodeTcp(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  const ipPayload = wireEnd - off;
  const captured = end - off;
  if (captured < Tcp.MinHeaderLen) {
    if (ipPayload < Tcp.MinHeaderLen) return anomaly(view, counters, 'tcpHeaderBeyondIp', Tcp.MinHeaderLen, ipPayload);
    return anomaly(view, counters, 'truncatedTcp', captured, Tcp.MinHeaderLen);
  }
  const dataOffset = buf[off + Tcp.DataOffset] >> 4;
  if (dataOffset < MIN_DATA_OFFSET) return anomaly(view, counters, 'badTcpDataOffset', dataOffset, MIN_DATA_OFFSET);
  const headerLen = dataOffset * 4;
  let payloadLen = ipPayload - headerLen;
  if (payloadLen < 0) {
    // In a first fragment the options may go on in the next fragment (a fragmented SYN): the
    // fixed 20 bytes are here, that is enough. Anywhere else the header can't be longer than IP says.
    if (!view.fragmented) return anomaly(view, counters, 'tcpHeaderBeyondIp', headerLen, ipPayload);
    payloadLen = 0;
  }
  fillTcpFields(view, buf, off);
  view.tcpHeaderLen = headerLen;
  view.payloadLen = payloadLen;
  counters.tcpSegments++;
  return DecodeResult.TcpSegment;
}

/** Ports, seq, ack, flags from a TCP header with at least 14 bytes captured (ICMP quotes too). */
export function fillTcpFields(view: PacketView, buf: Buffer, off: number): void {
  view.sport = u16(buf, off + Tcp.SrcPort);
  view.dport = u16(buf, off + Tcp.DstPort);
  view.seq = u32(buf, off + Tcp.Seq);
  view.ack = u32(buf, off + Tcp.Ack);
  view.flags = ((buf[off + Tcp.DataOffset] & 1) << 8) | buf[off + Tcp.Flags];
}
