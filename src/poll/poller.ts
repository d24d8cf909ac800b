/**
 * The classic SYN-flood check done properly: poll /proc/net/tcp{,6}, count half-open (SYN_RECV)
 * sockets per remote address, and hand sources at or over the threshold to the BlockPolicy.
 *
 * Contract: pollOnce(nowUs) reads the tables once and, for each source with halfOpen >= threshold,
 * calls policy.onFlag the first time it crosses (reason "flood") and policy.onActivity (at most once
 * per second per source, as ActivityEvent promises) while it stays over; a source that drops below
 * the threshold is forgotten, so a later attack flags it again. Then it calls policy.tick(nowUs).
 * Sources are visited in a fixed order (count desc, address), so decisions are reproducible.
 *
 * What polling can't see: once a source is blocked by a reject route, the kernel can't route the
 * SYN-ACK and drops the request, so no SYN_RECV entry appears and no activity renews the block;
 * the block lapses after ttl and is re-established if the attack goes on. With syncookies on and
 * the SYN queue full, the kernel answers with cookies and keeps no request socket either, so a
 * flood can be undercounted; a packet-level view (synwatch live) has neither blind spot.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ActivityEvent, FlagEvent } from '../detect/events';
import { countHalfOpen, parseProcNetTcp, type HalfOpenCount } from './proc-net-tcp';

export const PROC_NET_TCP_FILES = ['/proc/net/tcp', '/proc/net/tcp6'] as const;
const ACTIVITY_INTERVAL_US = 1_000_000;

export interface PollTarget {
  onFlag(ev: FlagEvent): void;
  onActivity(ev: ActivityEvent): void;
  tick(nowUs: number): void;
}

export interface SynRecvPollerOptions {
  /** Half-open sockets from one source that make it a flood (>= 1). */
  threshold: number;
  /** Returns the texts of /proc/net/tcp and /proc/net/tcp6 (injectable for tests). */
  readTables?: () => string[];
  endianness?: 'LE' | 'BE';
}

/** Reads the tables; a missing file (IPv6 disabled) counts as empty. */
export function readProcNetTcpTables(files: readonly string[] = PROC_NET_TCP_FILES): string[] {
  return files.map((f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  });
}

export class SynRecvPoller {
  private readonly over = new Map<string, { lastActivityUs: number }>();
  private readonly readTables: () => string[];
  private readonly endianness: 'LE' | 'BE';

  constructor(private readonly options: SynRecvPollerOptions, private readonly target: PollTarget) {
    if (!(Number.isInteger(options.threshold) && options.threshold >= 1)) {
      throw new RangeError(`SynRecvPoller: threshold must be an integer >= 1, got ${String(options.threshold)}`);
    }
    this.readTables = options.readTables ?? (() => readProcNetTcpTables());
    this.endianness = options.endianness ?? os.endianness();
  }

  /** One poll; returns the sources at or over the threshold. */
  pollOnce(nowUs: number): HalfOpenCount[] {
    const sockets = this.readTables().flatMap((t) => parseProcNetTcp(t, this.endianness));
    const hot = countHalfOpen(sockets).filter((c) => c.halfOpen >= this.options.threshold);
    const still = new Set<string>();
    for (const c of hot) {
      still.add(c.ip);
      const seen = this.over.get(c.ip);
      if (!seen) {
        this.over.set(c.ip, { lastActivityUs: nowUs });
        this.target.onFlag({
          ip: c.ip, family: c.family, tsUs: nowUs, reason: 'flood',
          halfOpen: c.halfOpen, attempts: c.halfOpen, completed: 0, incomplete: c.halfOpen, distinctPorts: c.distinctPorts,
        });
      } else if (nowUs - seen.lastActivityUs >= ACTIVITY_INTERVAL_US) {
        seen.lastActivityUs = nowUs;
        this.target.onActivity({ ip: c.ip, family: c.family, tsUs: nowUs });
      }
    }
    for (const ip of [...this.over.keys()]) if (!still.has(ip)) this.over.delete(ip);
    this.target.tick(nowUs);
    return hot;
  }
}

/**
 * Caller time for live use: UTC at start, advanced by the monotonic clock, in integer µs, so a
 * wall-clock step (NTP, operator) can't expire or stretch blocks.
 */
export function anchoredClockUs(): () => number {
  const wallUs = Date.now() * 1000;
  const mono = process.hrtime.bigint();
  return () => wallUs + Number((process.hrtime.bigint() - mono) / 1000n);
}
