/**
 * Addresses synwatch must never block, as CIDR entries that remember where they came from.
 *
 * Contract: `Allowlist.match(ip)` returns the first entry (in insertion order) covering the
 * address, or null; IPv4 and IPv4-mapped IPv6 (::ffff:a.b.c.d) are the same address, so an IPv4
 * entry covers the mapped form and vice versa. `buildDefaultAllowlist` always includes loopback,
 * link-local, unspecified, multicast and broadcast ranges and the host's own addresses, gateways
 * and nameservers — blocking any of those cuts the host off from itself or its network — plus the
 * operator's entries. Host facts are injectable (`HostFacts`) so tests never read the real host.
 * Each entry's `origin` ("loopback", "own-address eth0", "gateway eth0", "nameserver", "--allow",
 * "config") is what a skip decision reports.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ipToWords, wordsToIp } from '../decode/address';

export interface AllowEntry {
  /** Canonical CIDR text (IPv4 entries as dotted quad, e.g. "10.0.0.0/8"). */
  readonly cidr: string;
  readonly origin: string;
  /** Network as four words in the IPv4-mapped 128-bit space, already masked. */
  readonly words: Uint32Array;
  /** Prefix length in that 128-bit space (IPv4 /8 is 104). */
  readonly bits: number;
}

export class AllowlistError extends Error {
  readonly code = 'EALLOW';
  constructor(message: string, readonly value: string, readonly origin: string) {
    super(message);
    this.name = 'AllowlistError';
  }
}

function maskWord(word: number, bitsLeft: number): number {
  if (bitsLeft >= 32) return word >>> 0;
  if (bitsLeft <= 0) return 0;
  return (word & (0xffffffff << (32 - bitsLeft))) >>> 0;
}

/** Parse "a.b.c.d[/n]" or "x::y[/n]" (no prefix = host). Throws AllowlistError naming the value. */
export function parseCidr(text: string, origin: string): AllowEntry {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const words = ipToWords(addrText);
  const bad = (why: string) => new AllowlistError(`allowlist entry "${text}" (${origin}): ${why}`, text, origin);
  if (!words) throw bad('not an IPv4 or IPv6 address');
  const isV4Text = !addrText.includes(':');
  const maxBits = isV4Text ? 32 : 128;
  let len = maxBits;
  if (slash >= 0) {
    const lenText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > maxBits) throw bad(`prefix length must be 0..${maxBits}`);
    len = Number(lenText);
  }
  const bits = isV4Text ? 96 + len : len;
  const masked = new Uint32Array(4);
  for (let i = 0; i < 4; i++) masked[i] = maskWord(words[i], bits - 32 * i);
  const mapped = masked[0] === 0 && masked[1] === 0 && masked[2] === 0xffff && bits >= 96;
  const cidr = mapped ? `${wordsToIp(masked)}/${bits - 96}` : `${wordsToIp(masked)}/${bits}`;
  return { cidr, origin, words: masked, bits };
}

/** Words per entry in Allowlist's flat table: the masked network's four words, then its prefix bits. */
const ENTRY_WORDS = 5;

export class Allowlist {
  private readonly list: AllowEntry[] = [];
  private readonly seen = new Set<string>();
  private readonly scratch = new Uint32Array(4);
  /**
   * The entries again, ENTRY_WORDS each, in one typed array: match() reads a few cache lines
   * instead of three objects per entry. It runs once per flag, on the path from the flag to the
   * route, after an idle link: there, with the cache cold, the objects cost ~10 µs (18 entries,
   * this host) and the flat table ~1 µs.
   */
  private flat = new Uint32Array(16 * ENTRY_WORDS);

  constructor(entries: Iterable<AllowEntry> = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds an entry unless the same CIDR is already there (the first origin is kept). */
  add(entry: AllowEntry): void {
    if (this.seen.has(entry.cidr)) return;
    this.seen.add(entry.cidr);
    const at = this.list.length * ENTRY_WORDS;
    if (at + ENTRY_WORDS > this.flat.length) {
      const grown = new Uint32Array(this.flat.length * 2);
      grown.set(this.flat);
      this.flat = grown;
    }
    this.flat.set(entry.words, at);
    this.flat[at + 4] = entry.bits;
    this.list.push(entry);
  }

  /** The first entry covering `ip`, or null (also null for text that is not an address). */
  match(ip: string): AllowEntry | null {
    const w = ipToWords(ip.trim(), this.scratch);
    if (!w) return null;
    const t = this.flat;
    const n = this.list.length;
    for (let e = 0; e < n; e++) {
      const at = e * ENTRY_WORDS;
      const bits = t[at + 4];
      let covered = true;
      for (let i = 0; i < 4 && bits > 32 * i; i++) {
        if (maskWord(w[i], bits - 32 * i) !== t[at + i]) {
          covered = false;
          break;
        }
      }
      if (covered) return this.list[e];
    }
    return null;
  }

  entries(): readonly AllowEntry[] {
    return this.list;
  }
}

/** Ranges that are never a remote attacker, whatever the host. */
export const ALWAYS_ALLOWED: ReadonlyArray<readonly [cidr: string, origin: string]> = [
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['fe80::/10', 'link-local'],
  ['0.0.0.0/8', 'unspecified'],
  ['::/128', 'unspecified'],
  ['224.0.0.0/4', 'multicast'],
  ['ff00::/8', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
];

/** What the default allowlist reads from the host; every field injectable for tests. */
export interface HostFacts {
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** Text of /proc/net/route ("" when unreadable). */
  procNetRoute: string;
  /** Text of /proc/net/ipv6_route. */
  procNetIpv6Route: string;
  /** Text of /etc/resolv.conf. */
  resolvConf: string;
  /** Byte order of /proc/net/route's hex words (the host's). */
  endianness: 'LE' | 'BE';
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function readHostFacts(): HostFacts {
  return {
    interfaces: os.networkInterfaces(),
    procNetRoute: readOrEmpty('/proc/net/route'),
    procNetIpv6Route: readOrEmpty('/proc/net/ipv6_route'),
    resolvConf: readOrEmpty('/etc/resolv.conf'),
    endianness: os.endianness(),
  };
}

/** Gateways from /proc/net/route: every route with RTF_GATEWAY, hex words in host byte order. */
export function parseProcNetRouteGateways(text: string, endianness: 'LE' | 'BE'): Array<{ ip: string; iface: string }> {
  const out: Array<{ ip: string; iface: string }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^[0-9A-Fa-f]{8}$/.test(f[2])) continue;
    const flags = parseInt(f[3], 16);
    if (!(flags & 0x2)) continue; // RTF_GATEWAY
    const bytes = Buffer.from(f[2], 'hex');
    if (endianness === 'LE') bytes.reverse();
    const ip = `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
    if (ip !== '0.0.0.0') out.push({ ip, iface: f[0] });
  }
  return out;
}

/** Gateways from /proc/net/ipv6_route: next hop (field 5, network order hex) with RTF_GATEWAY. */
export function parseProcNetIpv6RouteGateways(text: string): Array<{ ip: string; iface: string }> {
  const out: Array<{ ip: string; iface: string }> = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-fA-F]{32}$/.test(f[4])) continue;
    if (!(parseInt(f[8], 16) & 0x2)) continue;
    const w = new Uint32Array(4);
    for (let i = 0; i < 4; i++) w[i] = parseInt(f[4].slice(8 * i, 8 * i + 8), 16) >>> 0;
    if (w.every((x) => x === 0)) continue;
    out.push({ ip: wordsToIp(w), iface: f[9] });
  }
  return out;
}

/** `nameserver X` lines of resolv.conf (zone ids such as %eth0 dropped). */
export function parseResolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1].split('%')[0]);
  }
  return out;
}

function v4Broadcast(cidr: string): string | null {
  const [addr, lenText] = cidr.split('/');
  const w = ipToWords(addr);
  const len = Number(lenText);
  if (!w || addr.includes(':') || !(len >= 1 && len <= 30)) return null;
  const hostMask = (0xffffffff >>> len) >>> 0;
  w[3] = (w[3] | hostMask) >>> 0;
  return wordsToIp(w);
}

export interface AllowSpec {
  cidr: string;
  origin: string;
}

/**
 * The allowlist synwatch runs with: the always-allowed ranges, the host's own addresses (and
 * their subnets' broadcast addresses), gateways and nameservers, then `extra` (--allow, config).
 * Host facts that cannot be parsed are skipped, never fatal; bad `extra` entries throw.
 */
export function buildDefaultAllowlist(extra: readonly AllowSpec[] = [], facts: HostFacts = readHostFacts()): Allowlist {
  const list = new Allowlist();
  const addQuietly = (cidr: string, origin: string) => {
    try {
      list.add(parseCidr(cidr, origin));
    } catch {
      // A host fact we can't parse (odd interface address) is no reason to refuse to start.
    }
  };
  for (const [cidr, origin] of ALWAYS_ALLOWED) list.add(parseCidr(cidr, origin));
  for (const name of Object.keys(facts.interfaces).sort()) {
    for (const info of facts.interfaces[name] ?? []) {
      addQuietly(info.address.split('%')[0], `own-address ${name}`);
      const broadcast = info.family === 'IPv4' && info.cidr ? v4Broadcast(info.cidr) : null;
      if (broadcast) addQuietly(broadcast, `broadcast ${name}`);
    }
  }
  for (const g of parseProcNetRouteGateways(facts.procNetRoute, facts.endianness)) addQuietly(g.ip, `gateway ${g.iface}`);
  for (const g of parseProcNetIpv6RouteGateways(facts.procNetIpv6Route)) addQuietly(g.ip, `gateway ${g.iface}`);
  for (const ns of parseResolvConfNameservers(facts.resolvConf)) addQuietly(ns, 'nameserver');
  for (const e of extra) list.add(parseCidr(e.cidr, e.origin));
  return list;
}
