/**
 * Big-endian field reads for the decoder's hot path.
 *
 * Contract: the caller has already checked that `buf[i .. i + width)` was captured; these helpers
 * do no bounds checks of their own (an out-of-range index reads undefined, i.e. 0, never throws).
 * Index arithmetic beats Buffer#readUInt16BE/readUInt32BE about 5x: a u16+u32 pair, 3.1 vs 16.9 ns
 * (node 20, `node dist/test/decode/throughput.bench.js --reads`).
 */

export function u16(buf: Buffer, i: number): number {
  return (buf[i] << 8) | buf[i + 1];
}

/** A 32-bit field as a non-negative number (`>>> 0`). */
export function u32(buf: Buffer, i: number): number {
  return ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0;
}

/** Little-endian, for the host-order fields some link layers carry (BSD NULL, NFLOG). */
export function u16le(buf: Buffer, i: number): number {
  return buf[i] | (buf[i + 1] << 8);
}

export function u32le(buf: Buffer, i: number): number {
  return (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)) >>> 0;
}
