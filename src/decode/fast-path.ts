/**
 * The common frame in one function: Ethernet II, an IPv4 header with nothing unusual about it,
 * and a TCP header, all captured.
 *
 * Contract: `decodeEthernetIpv4Tcp(view, buf, off, end)` takes a frame of LINKTYPE_ETHERNET as
 * decodeFrame bounded it (frame.ts), with at least FAST_PATH_MIN_BYTES captured. It returns true
 * only when the frame is exactly that case, and then it has written every PacketView field with
 * the values the layer decoders (ethernet.ts, ipv4.ts, ipproto.ts, tcp.ts) would have written; the caller counts it (frames, ipv4, tcpSegments: the
 * only counters those layers touch for such a frame). Anything else (a VLAN tag, a fragment, a
 * datagram cut by the snaplen or longer than the frame, a header length that is wrong) returns
 * false, possibly after writing some fields, and the caller resets the view and runs the layers,
 * which name what is unusual. So this file decides nothing the layers don't: it only skips their
 * calls, the view reset and the checks that cannot fail here. test/decode/fast-path.test.ts
 * compares the two on every frame of the fixtures and the corpus.
 *
 * Why: one flood packet went through six calls and ~19 resets before its fields were read
 * (bench/findings.md has the instruction counts).
 */
import { setMappedV4 } from './ipv4';
import { PacketView, resetAnnotations } from './packet';

/** Ethernet II header, EtherType IPv4, IPv4 and TCP minimum header lengths. */
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IPV4_MIN_HEADER = 20;
const TCP_MIN_HEADER = 20;
const TCP_PROTOCOL = 6;
/** IPv4 flags/fragment word: more-fragments bit and fragment offset (DF may be set). */
const FRAGMENT_BITS = 0x3fff;

/** Bytes every frame this path takes has captured at least. */
export const FAST_PATH_MIN_BYTES = ETH_HEADER + IPV4_MIN_HEADER + TCP_MIN_HEADER;

/**
 * A DataView over the last buffer seen, made once per buffer (a read chunk; live capture reuses
 * one). One getUint32 is 2.5x fewer instructions here than four byte reads (callgrind, bench flood).
 */
let viewBuf: Buffer | null = null;
let bytes: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

export function decodeEthernetIpv4Tcp(view: PacketView, buf: Buffer, off: number, end: number): boolean {
  if (buf !== viewBuf) {
    viewBuf = buf;
    bytes = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const d = bytes;
  if (d.getUint16(off + 12) !== ETHERTYPE_IPV4) return false;
  const ip = off + ETH_HEADER;
  const versionIhl = d.getUint8(ip);
  if (versionIhl >> 4 !== 4) return false;
  const ipHeaderLen = (versionIhl & 0x0f) * 4;
  const totalLen = d.getUint16(ip + 2);
  // The header, 20 TCP bytes, all within the datagram, and the datagram within what was captured
  // (so within the frame too; trailing Ethernet padding or FCS ends at the datagram, as in ipv4.ts).
  if (ipHeaderLen < IPV4_MIN_HEADER || totalLen < ipHeaderLen + TCP_MIN_HEADER) return false;
  const ipEnd = ip + totalLen;
  if (ipEnd > end) return false;
  if ((d.getUint16(ip + 6) & FRAGMENT_BITS) !== 0 || d.getUint8(ip + 9) !== TCP_PROTOCOL) return false;
  const tcp = ip + ipHeaderLen;
  const offsetFlags = d.getUint16(tcp + 12);
  const tcpHeaderLen = (offsetFlags >> 12) * 4;
  const payloadLen = ipEnd - tcp - tcpHeaderLen;
  if (tcpHeaderLen < TCP_MIN_HEADER || payloadLen < 0) return false;

  setMappedV4(view, d.getInt32(ip + 12), d.getInt32(ip + 16));
  view.ipProto = TCP_PROTOCOL;
  const ports = d.getUint32(tcp);
  view.sport = ports >>> 16;
  view.dport = ports & 0xffff;
  view.seq = d.getUint32(tcp + 4);
  view.ack = d.getUint32(tcp + 8);
  view.flags = offsetFlags & 0x1ff;
  view.tcpHeaderLen = tcpHeaderLen;
  view.payloadLen = payloadLen;
  resetAnnotations(view);
  return true;
}
