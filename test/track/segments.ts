/** Plain-data TCP segments for tracker and detector tests (no bytes, no decoder). */
import { PacketView, TCP_ACK, TCP_RST, TCP_SYN } from '../../src/decode/packet';
import { ipToWords } from '../../src/decode/address';

export const SYN = TCP_SYN;
export const SYNACK = TCP_SYN | TCP_ACK;
export const ACK = TCP_ACK;
export const RST = TCP_RST;
export const RSTACK = TCP_RST | TCP_ACK;

export interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack?: number;
  len?: number;
}

const view = new PacketView();

/** Fill the shared view from a segment description (the view is reused, like the decoder's). */
export function viewOf(s: Seg): PacketView {
  ipToWords(s.src, view.src);
  ipToWords(s.dst, view.dst);
  view.ipVersion = s.src.includes(':') ? 6 : 4;
  view.ipProto = 6;
  view.sport = s.sport;
  view.dport = s.dport;
  view.flags = s.flags;
  view.seq = s.seq >>> 0;
  view.ack = (s.ack ?? 0) >>> 0;
  view.payloadLen = s.len ?? 0;
  view.tcpHeaderLen = 20;
  return view;
}

/** The three segments of a complete handshake, client ISN `isn`, server ISN `sisn`. */
export function handshake(client: string, server: string, cport: number, sport: number, isn: number, sisn: number): Seg[] {
  return [
    { src: client, dst: server, sport: cport, dport: sport, flags: SYN, seq: isn },
    { src: server, dst: client, sport, dport: cport, flags: SYNACK, seq: sisn, ack: isn + 1 },
    { src: client, dst: server, sport: cport, dport: sport, flags: ACK, seq: isn + 1, ack: sisn + 1 },
  ];
}
