/**
 * pcapng timestamps: a 64-bit tick count, split into two uint32 halves (hi, lo), at a resolution
 * of 10^-k or 2^-b seconds per tick (if_tsresol), turned into CaptureRecord.tsUs (integer
 * microseconds) and tsNsRem (0..999 extra nanoseconds), exactly.
 *
 * Contract: `new TickClock(tsresolByte, offsetSeconds)` once per interface, then
 * `clock.stamp(rec, hi, lo)` per packet, which writes rec.tsUs and rec.tsNsRem and allocates
 * nothing for the resolutions real captures use (10^-0..10^-12, 2^-0..2^-32). Anything finer
 * falls back to BigInt, which is exact but allocates.
 *
 * Why not BigInt everywhere: one BigInt conversion per packet costs more than the whole rest of
 * the record loop. Why not `hi * 2^32 + lo` and a float division: nanosecond tick counts of today
 * (~1.7e18) are above 2^53, so that sum is already rounded before the division.
 */

const TWO_POW_32 = 4294967296;
const US_PER_S = 1e6;
const NS_PER_US = 1000;

/** if_tsresol: high bit set means a power of two, else a power of ten; the low 7 bits are the exponent. */
const TSRESOL_BINARY_FLAG = 0x80;
const TSRESOL_EXPONENT_MASK = 0x7f;
/** pcapng's default when an interface has no if_tsresol: microseconds. */
export const DEFAULT_TSRESOL = 6;

/** 10^-k for k <= 6: every tick is a whole number of microseconds. */
const KIND_WHOLE_US = 0;
/** 10^-k for 7 <= k <= 12: divide by d = 10^(k-6) < 2^21 so r * 2^32 + lo stays below 2^53. */
const KIND_DECIMAL_DIVIDE = 1;
/** 2^-b for b <= 32: the fraction of a second fits in lo. */
const KIND_BINARY = 2;
/** Anything finer: exact via BigInt (allocates; no real capture uses it). */
const KIND_BIGINT = 3;

const MAX_DECIMAL_DIVIDE_EXPONENT = 12;
const MAX_BINARY_EXPONENT = 32;

/** Below 2^23 a fraction of a second times 1e9 stays below 2^53, so one float division is exact. */
const EXACT_FRACTION_LIMIT = 2 ** 23;
const TWO_POW_16 = 65536;

export class TickClock {
  /** "us", "ns", "10^-k" or "2^-b", as CaptureInterface.tsResolution. */
  readonly resolution: string;
  private readonly kind: number;
  /** WHOLE_US: microseconds per tick. DECIMAL_DIVIDE: ticks per microsecond. BINARY: ticks per second. */
  private readonly factor: number;
  /** DECIMAL_DIVIDE: ns = floor(restTicks * nsMultiplier / nsDivisor); one of the two is 1. */
  private readonly nsMultiplier: number;
  private readonly nsDivisor: number;
  /** BINARY: 2^(b-16), what the high 16 bits of a fraction are divided by (see stampBinaryFraction). */
  private readonly fractionHighDivisor: number;
  /** BIGINT: ticks per second. */
  private readonly ticksPerSecond: bigint;
  /** if_tsoffset in microseconds (the seconds it names are added to every timestamp). */
  private readonly offsetUs: number;

  constructor(tsresol: number = DEFAULT_TSRESOL, offsetSeconds = 0) {
    const exponent = tsresol & TSRESOL_EXPONENT_MASK;
    const binary = (tsresol & TSRESOL_BINARY_FLAG) !== 0;
    this.offsetUs = offsetSeconds * US_PER_S;
    this.factor = 1;
    this.nsMultiplier = 1;
    this.nsDivisor = 1;
    this.fractionHighDivisor = 1;
    this.ticksPerSecond = 1n;
    if (binary) {
      this.resolution = `2^-${exponent}`;
      if (exponent <= MAX_BINARY_EXPONENT) {
        this.kind = KIND_BINARY;
        this.factor = 2 ** exponent;
        this.fractionHighDivisor = 2 ** Math.max(0, exponent - 16);
      } else {
        this.kind = KIND_BIGINT;
        this.ticksPerSecond = 1n << BigInt(exponent);
      }
      return;
    }
    this.resolution = exponent === 6 ? 'us' : exponent === 9 ? 'ns' : `10^-${exponent}`;
    if (exponent <= 6) {
      this.kind = KIND_WHOLE_US;
      this.factor = 10 ** (6 - exponent);
    } else if (exponent <= MAX_DECIMAL_DIVIDE_EXPONENT) {
      this.kind = KIND_DECIMAL_DIVIDE;
      this.factor = 10 ** (exponent - 6);
      if (exponent <= 9) this.nsMultiplier = 10 ** (9 - exponent);
      else this.nsDivisor = 10 ** (exponent - 9);
    } else {
      this.kind = KIND_BIGINT;
      this.ticksPerSecond = 10n ** BigInt(exponent);
    }
  }

  /** Writes the time of tick count hi * 2^32 + lo into rec.tsUs / rec.tsNsRem. */
  stamp(rec: { tsUs: number; tsNsRem: number }, hi: number, lo: number): void {
    switch (this.kind) {
      case KIND_WHOLE_US:
        rec.tsUs = (hi * TWO_POW_32 + lo) * this.factor + this.offsetUs;
        rec.tsNsRem = 0;
        return;
      case KIND_DECIMAL_DIVIDE: {
        // Long division by d in base 2^32: hi = q1*d + r1, then r1*2^32 + lo < d*2^32 < 2^53 is
        // exact. Both quotients are below 2^32, where doubles lie 2^-20 apart: finer than the
        // 1/d >= 10^-6 between a quotient and the next integer, so Math.floor is exact.
        const d = this.factor;
        const q1 = Math.floor(hi / d);
        const low = (hi - q1 * d) * TWO_POW_32 + lo;
        const q2 = Math.floor(low / d);
        const rest = low - q2 * d;
        rec.tsUs = q1 * TWO_POW_32 + q2 + this.offsetUs;
        rec.tsNsRem = this.nsDivisor === 1 ? rest * this.nsMultiplier : Math.floor(rest / this.nsDivisor);
        return;
      }
      case KIND_BINARY: {
        const ticksPerS = this.factor;
        const secondsInLo = Math.floor(lo / ticksPerS);
        const fraction = lo - secondsInLo * ticksPerS;
        const seconds = hi * (TWO_POW_32 / ticksPerS) + secondsInLo;
        const ns = fraction < EXACT_FRACTION_LIMIT
          ? Math.floor((fraction * 1e9) / ticksPerS)
          : this.wideFractionToNs(fraction);
        const usInSecond = Math.floor(ns / NS_PER_US);
        rec.tsUs = seconds * US_PER_S + usInSecond + this.offsetUs;
        rec.tsNsRem = ns - usInSecond * NS_PER_US;
        return;
      }
      default:
        this.stampBig(rec, hi, lo);
    }
  }

  /**
   * floor(fraction * 1e9 / 2^b) for 23 <= b <= 32, where fraction * 1e9 needs up to 62 bits:
   * fraction = fh * 2^16 + fl; fh * 1e9 / 2^(b-16) splits into a quotient and a rest below
   * 2^(b-16), and (rest * 2^16 + fl * 1e9) < 2^47 is exact. Divisions by powers of two are exact.
   */
  private wideFractionToNs(fraction: number): number {
    const fractionHigh = Math.floor(fraction / TWO_POW_16);
    const fractionLow = fraction - fractionHigh * TWO_POW_16;
    const scaledHigh = fractionHigh * 1e9;
    const highQuotient = Math.floor(scaledHigh / this.fractionHighDivisor);
    const highRest = scaledHigh - highQuotient * this.fractionHighDivisor;
    return highQuotient + Math.floor((highRest * TWO_POW_16 + fractionLow * 1e9) / this.factor);
  }

  private stampBig(rec: { tsUs: number; tsNsRem: number }, hi: number, lo: number): void {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const seconds = ticks / this.ticksPerSecond;
    const ns = ((ticks % this.ticksPerSecond) * 1_000_000_000n) / this.ticksPerSecond;
    rec.tsUs = Number(seconds) * US_PER_S + Number(ns / 1000n) + this.offsetUs;
    rec.tsNsRem = Number(ns % 1000n);
  }
}
