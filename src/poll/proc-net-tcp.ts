/**
 * /proc/net/tcp and /proc/net/tcp6 parsing, and half-open (SYN_RECV) counts per remote address.
 *
 * Format (one socket per line after a header): "sl: local:port remote:port st ...", addresses in
 * hex. The kernel prints each 32-bit address word with %08X from memory, i.e. the network-order
 * bytes read as a host-order integer: on little-endian hosts 127.0.0.1 is "0100007F". IPv6
 * addresses are four such words. Ports are plain hex numbers. Request sockets (half-open
 * handshakes) are listed with st 03 (TCP_SYN_RECV) since Linux 4.4.
 *
 * Contract: parseProcNetTcp never throws on odd lines (skips them); addresses come out canonical
 * (IPv4-mapped IPv6 from tcp6 as dotted quad), so the same source counts once across both files.
 */
import * as os from 'node:os';
import { wordsToIp } from '../decode/address';

export const TCP_SYN_RECV = 0x03;

export interface ProcTcpSocket {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  state: number;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** "0100007F:1F90" -> ["127.0.0.1", 8080]; null when malformed. */
export function parseProcAddress(text: string, endianness: 'LE' | 'BE' = os.endianness()): [string, number] | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const hex = text.slice(0, colon);
  const portHex = text.slice(colon + 1);
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex) || !/^[0-9A-Fa-f]{1,4}$/.test(portHex)) return null;
  const words = new Uint32Array(4);
  const toNetwork = (w: number) => (endianness === 'LE' ? bswap32(w) : w >>> 0);
  if (hex.length === 8) {
    words[2] = 0xffff; // IPv4 travels as mapped words (see src/decode/address.ts)
    words[3] = toNetwork(parseInt(hex, 16));
  } else {
    for (let i = 0; i < 4; i++) words[i] = toNetwork(parseInt(hex.slice(8 * i, 8 * i + 8), 16));
  }
  return [wordsToIp(words), parseInt(portHex, 16)];
}

export function parseProcNetTcp(text: string, endianness: 'LE' | 'BE' = os.endianness()): ProcTcpSocket[] {
  const out: ProcTcpSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+:$/.test(f[0])) continue; // header or blank
    const local = parseProcAddress(f[1], endianness);
    const remote = parseProcAddress(f[2], endianness);
    if (!local || !remote || !/^[0-9A-Fa-f]{2}$/.test(f[3])) continue;
    out.push({ localIp: local[0], localPort: local[1], remoteIp: remote[0], remotePort: remote[1], state: parseInt(f[3], 16) });
  }
  return out;
}

export interface HalfOpenCount {
  ip: string;
  family: 4 | 6;
  /** Half-open (SYN_RECV) sockets from this address. */
  halfOpen: number;
  /** Distinct local ports they target (a scan touches many). */
  distinctPorts: number;
}

/** SYN_RECV sockets per remote address, sorted by count (desc) then address text. */
export function countHalfOpen(sockets: Iterable<ProcTcpSocket>): HalfOpenCount[] {
  const byIp = new Map<string, { n: number; ports: Set<number> }>();
  for (const s of sockets) {
    if (s.state !== TCP_SYN_RECV) continue;
    let e = byIp.get(s.remoteIp);
    if (!e) byIp.set(s.remoteIp, (e = { n: 0, ports: new Set() }));
    e.n++;
    e.ports.add(s.localPort);
  }
  return [...byIp.entries()]
    .map(([ip, e]) => ({ ip, family: (ip.includes(':') ? 6 : 4) as 4 | 6, halfOpen: e.n, distinctPorts: e.ports.size }))
    .sort((a, b) => b.halfOpen - a.halfOpen || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}
