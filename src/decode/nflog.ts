/**
 * Linux NFLOG (LINKTYPE_NFLOG 239): packets logged by netfilter, as a 4-byte header and TLVs.
 *
 * Contract: as every layer (see ethernet.ts). The IP packet is the NFULA_PAYLOAD TLV (type 9);
 * its version comes from the header's address family. TLV lengths and types are in the capturing
 * machine's byte order, so (as in null.ts) both are accepted: the type, always < 256 at the top
 * level, tells which byte is the low one.
 */
import { anomaly } from './anomalies';
import { u16, u16le } from './bytes';
import { decodeIpByVersion } from './ip';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** NFLOG header: family(1) version(1) resource id(2, network order). */
const enum Nflog {
  Family = 0,
  Version = 1,
  ResourceId = 2,
  HeaderLen = 4,
}

/** TLV: length(2) type(2), both host order; the length counts the 4 header bytes, padded to 4. */
const enum Tlv {
  Length = 0,
  Type = 2,
  HeaderLen = 4,
}

const NFULA_PAYLOAD = 9;
const TYPE_MASK = 0x3fff; // the top bits flag nesting and byte order of the value
const AF_INET = 2;
const AF_INET6 = 10;
/** A real record holds about a dozen TLVs. */
const MAX_TLVS = 64;

export function decodeNflog(
  view: PacketView, buf: Buffer, off: number, end: number, wireEnd: number, counters: DecodeCounters,
): DecodeResult {
  if (end - off < Nflog.HeaderLen) return anomaly(view, counters, 'truncatedLink', end - off, Nflog.HeaderLen);
  const family = buf[off + Nflog.Family];
  let p = off + Nflog.HeaderLen;
  const bigEndian = end - p >= Tlv.HeaderLen && buf[p + Tlv.Type] === 0 && buf[p + Tlv.Type + 1] !== 0;
  for (let n = 0; n < MAX_TLVS && end - p >= Tlv.HeaderLen; n++) {
    const len = bigEndian ? u16(buf, p + Tlv.Length) : u16le(buf, p + Tlv.Length);
    const type = (bigEndian ? u16(buf, p + Tlv.Type) : u16le(buf, p + Tlv.Type)) & TYPE_MASK;
    if (len < Tlv.HeaderLen) return anomaly(view, counters, 'badNflogTlvLen', len, Tlv.HeaderLen);
    if (type === NFULA_PAYLOAD) {
      const payloadEnd = p + len;
      const ipWireEnd = payloadEnd < wireEnd ? payloadEnd : wireEnd;
      const ipEnd = payloadEnd < end ? payloadEnd : end;
      const ip = p + Tlv.HeaderLen;
      if (family === AF_INET) return decodeIpv4(view, buf, ip, ipEnd, ipWireEnd, 0, counters);
      if (family === AF_INET6) return decodeIpv6(view, buf, ip, ipEnd, ipWireEnd, 0, counters);
      return decodeIpByVersion(view, buf, ip, ipEnd, ipWireEnd, counters);
    }
    p += (len + 3) & ~3;
  }
  counters.nonIp++;
  return DecodeResult.Other;
}
