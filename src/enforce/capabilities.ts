/**
 * This process's effective capabilities, read from /proc/self/status, for the one-line "needs
 * CAP_…" errors at start-up (live, the nftables backend) instead of an EPERM deep inside.
 */
import * as fs from 'node:fs';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** The CapEff mask (0n when the line is missing), or null when /proc/self/status cannot be read. */
export function effectiveCapabilities(): bigint | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(text);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Whether `mask` holds capability `bit`. */
export function hasCapability(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}
