/**
 * The hand-off between a capture source (file reader, live capture) and the decoder.
 *
 * Contract: a source owns ONE CaptureRecord and mutates it for every frame; the frame's bytes are
 * `buf[offset, offset + caplen)`. Both the object and the bytes are only valid during the sink
 * call: a consumer that keeps anything past it copies it. Nothing here allocates per packet.
 */

/** Packet time is integer microseconds since the Unix epoch: exact in a double until 2255. */
export type PacketTimeUs = number;

export class CaptureRecord {
  /** Buffer holding the frame; reused by the source. */
  buf: Buffer = Buffer.alloc(0);
  /** Offset of the first byte of the frame (link-layer header) in `buf`. */
  offset = 0;
  /** Bytes captured (may be less than wirelen when the snaplen cut the frame). */
  caplen = 0;
  /** Length of the frame on the wire. */
  wirelen = 0;
  /** Packet time, integer microseconds since the epoch. */
  tsUs: PacketTimeUs = 0;
  /** Nanoseconds beyond tsUs (0..999) when the source has nanosecond resolution, else 0. */
  tsNsRem = 0;
  /** LINKTYPE_* value (https://www.tcpdump.org/linktypes.html) of the frame's interface. */
  linkType = 0;
  /** pcapng interface id (0 for classic pcap and live capture). */
  interfaceId = 0;
  /** Byte offset of this record's header in the (decompressed) input stream; -1 when live. */
  fileOffset = 0;
}

export type RecordSink = (rec: CaptureRecord) => void;

/** A damaged-input finding. Reading stops or skips, and everything before `offset` stays analyzed. */
export interface CaptureWarning {
  /** File name as given by the user ("-" for stdin). */
  file: string;
  /** Byte offset in the decompressed stream where the problem starts. */
  offset: number;
  /** Stable machine code, e.g. "truncated-record", "bogus-caplen", "bad-block-length". */
  code: string;
  /** One line for a human, naming the numbers involved. */
  message: string;
}

export interface CaptureInterface {
  id: number;
  linkType: number;
  /** Timestamp resolution as a power of ten or two, e.g. "us", "ns", "10^-4", "2^-20". */
  tsResolution: string;
  name?: string;
}

/** What the source learned about the capture as a whole; filled while reading. */
export interface CaptureSummary {
  file: string;
  /** "pcap", "pcap-ns", "pcapng" or "live". */
  format: string;
  /** True when the input was gzip-compressed (detected by magic, not by extension). */
  compressed: boolean;
  /** "little" or "big" (byte order of the file's headers); "host" when live. */
  byteOrder: string;
  interfaces: CaptureInterface[];
  /** Records handed to the sink. */
  records: number;
  /** Bytes of (decompressed) input consumed. */
  bytes: number;
  firstTsUs: PacketTimeUs | null;
  lastTsUs: PacketTimeUs | null;
  warnings: CaptureWarning[];
}

/** Thrown only at the edges (cannot open, not a capture at all); never for a damaged record. */
export class CaptureError extends Error {
  constructor(
    readonly code: string,
    readonly file: string,
    readonly offset: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

/**
 * The errno text of a Node system error, "ENOENT: no such file or directory", without the
 * ", open '/x/y'" Node appends: CaptureError messages name the path themselves, in front.
 */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return typeof e?.message === 'string' ? e.message.replace(/, \w+( '.*')?$/, '') : String(err);
}
