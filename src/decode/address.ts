/**
 * Address words <-> text. Addresses travel as four uint32 words (see src/decode/packet.ts);
 * text is made only at the edges (reports, decisions), never per packet.
 */

/** True when the words hold an IPv4-mapped address (::ffff:a.b.c.d). */
export function isMappedV4(w: ArrayLike<number>, at = 0): boolean {
  return w[at] === 0 && w[at + 1] === 0 && w[at + 2] === 0xffff;
}

/** Canonical text: dotted quad for IPv4-mapped words, RFC 5952 for IPv6. */
export function wordsToIp(w: ArrayLike<number>, at = 0): string {
  if (isMappedV4(w, at)) {
    const v = w[at + 3] >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const v = w[at + i] >>> 0;
    g.push(v >>> 16, v & 0xffff);
  }
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Parse IPv4 or IPv6 text into words (IPv4 and IPv4-mapped IPv6 both give mapped words). */
export function ipToWords(text: string, out: Uint32Array = new Uint32Array(4)): Uint32Array | null {
  const v4 = parseV4(text);
  if (v4 !== null) {
    out[0] = 0; out[1] = 0; out[2] = 0xffff; out[3] = v4;
    return out;
  }
  if (!text.includes(':')) return null;
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) return null;
  let tailV4: number | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(tailV4 >>> 16).toString(16)}:${(tailV4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (p: string) => (p === '' ? [] : p.split(':'));
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : fill < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  const nums: number[] = [];
  for (const gs of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(gs)) return null;
    nums.push(parseInt(gs, 16));
  }
  for (let i = 0; i < 4; i++) out[i] = ((nums[2 * i] << 16) | nums[2 * i + 1]) >>> 0;
  return out;
}

/**
 * Canonicalise any IPv4/IPv6 text (IPv4-mapped IPv6 becomes dotted quad); null if invalid.
 * Canonical dotted quads (what wordsToIp makes, so every address the detector reports) come back
 * as the same string without parsing: this runs on the path from a flag to its route (policy,
 * backend), where it ran cold after an idle link, and split + regex + a new string cost 15-40 µs
 * there against ~1 µs for the character scan.
 */
export function canonicalIp(text: string): string | null {
  if (scanV4(text, true) >= 0) return text;
  const w = ipToWords(text.trim());
  return w ? wordsToIp(w) : null;
}

export function familyOf(w: ArrayLike<number>, at = 0): 4 | 6 {
  return isMappedV4(w, at) ? 4 : 6;
}

/** Dotted quad: four parts of 1-3 decimal digits, each at most 255 (leading zeros allowed, as decimal). */
function parseV4(s: string): number | null {
  const v = scanV4(s, false);
  return v >= 0 ? v : null;
}

/**
 * The dotted quad in `s` as an unsigned 32-bit number, or -1. `canonical`: also -1 for a part
 * with a leading zero ("010"), so that only wordsToIp's own form passes. A scan of character
 * codes: no split, no regex, no allocation.
 */
function scanV4(s: string, canonical: boolean): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let v = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3 || (canonical && digits === 2 && part === 0)) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
}
