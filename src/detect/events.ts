/**
 * What the detector emits about a source: a flag (it sends SYNs and doesn't finish handshakes),
 * then activity while it keeps attacking. The detector and the /proc/net/tcp poller produce them;
 * the enforcer's policy (src/enforce/policy.ts) consumes them and decides. Every time here is the
 * caller's clock in integer microseconds: packet time in analyze and replay, a monotonic clock
 * anchored to UTC in live mode.
 */

/**
 * flood: unfinished attempts to few ports; scan: to many ports (both from the single-source
 * rules); crowd: one of many sources that stayed under those rules during a flood (detector.ts).
 */
export type FlagReason = 'flood' | 'scan' | 'crowd';

/** The detector flagged a source: it sends SYNs and doesn't finish handshakes. */
export interface FlagEvent {
  /** Canonical text form: dotted quad for IPv4 (never ::ffff:...), RFC 5952 for IPv6. */
  ip: string;
  family: 4 | 6;
  /** Time of the SYN that crossed the threshold. */
  tsUs: number;
  reason: FlagReason;
  /** Counts at flag time (for the decision log). */
  halfOpen: number;
  attempts: number;
  completed: number;
  incomplete: number;
  distinctPorts: number;
  /**
   * SYNs per second from the source's first SYN to this one (at least one second counted): the
   * `pps` of the --on-block command. The detector knows it; the /proc/net/tcp poller does not.
   */
  synPerSecond?: number;
}

/** A flagged source keeps attacking (emitted at most once per second of the caller's clock). */
export interface ActivityEvent {
  /**
   * Canonical text (wordsToIp's: what the detector and the poller send), looked up as is: an
   * activity is per packet burst, and parsing there cost the flood bench ~27 ms.
   */
  ip: string;
  family: 4 | 6;
  tsUs: number;
}
