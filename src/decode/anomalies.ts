/**
 * The decoder's anomalies: facts about a damaged frame, never exceptions.
 *
 * Contract: a layer that finds one calls `anomaly(view, counters, NAME, value, limit)` and returns
 * what it returns (DecodeResult.Anomaly). That bumps `counters.anomalies[NAME]` and leaves the name
 * and the two numbers behind it in the view; no string is built per packet. Text with the numbers
 * ("TCP data offset 3 < 5") is made only at the edges, by `anomalyMessage`.
 * The one anomaly that does not stop decoding, ipLengthBeyondFrame, is recorded by `noteAnomaly`
 * the same way and the frame goes on to its result (as tshark does, so counts stay comparable).
 *
 * Not anomalies: a capture cut by the snaplen after the TCP header (view.truncated), total length
 * 0 (TSO), padding, unknown EtherTypes / link types / protocols (counted as nonIp / nonTcp).
 */
import { DecodeCounters, DecodeResult, PacketView } from './packet';

/** Name -> what it means; `{value}` and `{limit}` stand for the numbers the decoder left in the view. */
export const ANOMALIES = {
  truncatedLink: 'link-layer header cut by the snaplen: {value} bytes captured < {limit} needed',
  tooManyLinkHeaders: 'more than {limit} VLAN/MPLS/shim headers stacked ({value} seen): stopped looking',
  badNflogTlvLen: 'NFLOG TLV length {value} < {limit} (its own header)',
  badIpVersion: 'IP version {value} where the link layer announced IPv{limit}',
  truncatedIpv4: 'IPv4 header cut by the snaplen: {value} bytes captured < {limit} needed',
  badIpv4HeaderLen: 'IPv4 header length (IHL) {value} < {limit} words',
  badIpv4TotalLen: 'IPv4 total length {value} < its own header length {limit}',
  ipLengthBeyondFrame:
    'IP length {value} > the {limit} bytes the frame had on the wire: decoded on, lengths cut to the frame',
  truncatedIpv6: 'IPv6 header cut by the snaplen: {value} bytes captured < {limit} needed',
  truncatedIpv6Ext: 'IPv6 extension header cut by the snaplen: {value} bytes captured < {limit} needed',
  badIpv6ExtLen: 'IPv6 extension headers of {value} bytes > payload length {limit}',
  ipv6ExtChainTooLong: 'IPv6 extension-header chain longer than {limit} headers ({value} reached): stopped looking',
  truncatedTcp: 'TCP header cut by the snaplen: {value} bytes captured < {limit} needed',
  badTcpDataOffset: 'TCP data offset {value} < {limit} (header shorter than 20 bytes)',
  tcpHeaderBeyondIp: 'TCP header of {value} bytes > IP payload of {limit} bytes (not a first fragment, or < 20)',
  truncatedIcmp: 'ICMP error cut before the quoted IP header: {value} bytes captured < {limit} needed',
} as const;

export type AnomalyName = keyof typeof ANOMALIES;

/** Records one anomaly (hot path: no allocation) and returns DecodeResult.Anomaly for the caller to return. */
export function anomaly(
  view: PacketView,
  counters: DecodeCounters,
  name: AnomalyName,
  value: number,
  limit: number,
): DecodeResult {
  noteAnomaly(view, counters, name, value, limit);
  return DecodeResult.Anomaly;
}

/** Records an anomaly that does not stop decoding (see the file contract). */
export function noteAnomaly(
  view: PacketView,
  counters: DecodeCounters,
  name: AnomalyName,
  value: number,
  limit: number,
): void {
  const a = counters.anomalies;
  a[name] = (a[name] ?? 0) + 1;
  view.anomaly = name;
  view.anomalyValue = value;
  view.anomalyLimit = limit;
}

/** One line for a human, with the numbers: for logs and reports, never per packet. */
export function anomalyMessage(name: string, value: number, limit: number): string {
  const text: string | undefined = (ANOMALIES as Record<string, string>)[name];
  if (text === undefined) return `${name} (${value}, ${limit})`;
  return `${name}: ${text.replace('{value}', String(value)).replace('{limit}', String(limit))}`;
}
