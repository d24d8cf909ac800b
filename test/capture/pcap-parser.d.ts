/** The slice of the untyped `pcap-parser` devDependency the differential test uses. */
declare module 'pcap-parser' {
  import { EventEmitter } from 'node:events';

  export interface PacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }

  export interface Packet {
    header: PacketHeader;
    data: Buffer;
  }

  /** Emits 'packet' (Packet), 'error' (Error) and 'end'. */
  export function parse(file: string): EventEmitter;
}
