/**
 * What the enforcer reports back, and the route backend it drives.
 *
 * The detector reports facts about sources (src/detect/events.ts: flagged, still active); the
 * policy (src/enforce/policy.ts) decides (allowlist, TTL, caps, dry-run) and drives a
 * RouteBackend. Every time here is the caller's clock in integer microseconds: packet time in
 * analyze and replay, a monotonic clock anchored to UTC in live mode. The policy never reads the
 * wall clock itself, so the same inputs give the same decisions.
 *
 * The policy drives a BlockBackend: "a set of blocked source addresses". Its implementations
 * are the route backends (netlink.ts, iproute.ts, recording.ts: RouteBackend, host reject
 * routes that never expire by themselves), the nftables backend (nftables.ts: set elements
 * that the kernel expires after their timeout) and the two at once (backends.ts).
 */

export type DecisionAction =
  | 'block'        // route installed (or would be, in dry-run)
  | 'renew'        // block's expiry pushed out because the source is still attacking
  | 'unblock'      // route removed (TTL expiry, shutdown, or by the operator)
  | 'skip'         // not blocked: allowlisted, cap reached, already blocked, ...
  | 'deferred'     // not blocked yet: the new-blocks rate cap queued it (a block follows when its turn comes)
  | 'alert';       // a policy alert (block cap hit, rate cap hit, backend failure)

export interface Decision {
  action: DecisionAction;
  /** Source address (empty for alerts that are not about one source). */
  ip: string;
  tsUs: number;
  /** Why: flag reason for block/renew/deferred, "ttl-expired"/"shutdown"/"operator" for unblock,
   *  "allowlisted"/"block-cap"/"rate-cap"/"backend-error" for skip and alert. */
  reason: string;
  /** Block expiry (block, renew). */
  expiresUs?: number;
  /** Free text detail (e.g. the allowlist entry that matched, the errno). */
  detail?: string;
}

export type DecisionSink = (d: Decision) => void;

export type RouteType = 'unreachable' | 'prohibit' | 'blackhole';

/** A host route as the kernel lists it. */
export interface HostRoute {
  ip: string;
  family: 4 | 6;
  type: RouteType;
}

/** What a backend lists: a route's type, or "drop" for an nftables set element. */
export type BlockType = RouteType | 'drop';

/** One blocked address as a backend lists it (only what synwatch installed). */
export interface BlockedEntry {
  ip: string;
  family: 4 | 6;
  type: BlockType;
}

/** A block as BlockBackend.heal() re-installs it. */
export interface BlockToKeep {
  ip: string;
  family: 4 | 6;
  type: RouteType;
  keepUs: number;
}

/**
 * A set of blocked source addresses, optionally with a kernel-side expiry. Synchronous, as
 * RouteBackend below. Every failure is a RouteError (routes.ts).
 */
export interface BlockBackend {
  readonly name: string;
  /** What a block does, for decision details, when not the route type (nftables: "drop"). */
  readonly blockAction?: string;
  /** list() sends a message the kernel checks for CAP_NET_ADMIN: nfnetlink checks the sender
   *  even for a dump, an rtnetlink route dump needs no capability (src/live/privilege.ts). */
  readonly listNeedsNetAdmin?: boolean;
  /**
   * Block `ip`; an existing block counts as success. `keepUs`: how long the kernel may keep the
   * entry if nobody removes it (nftables' element timeout, so blocks end even if synwatch dies);
   * the policy removes it at its own expiry, never later than that. Routes ignore it.
   */
  add(ip: string, family: 4 | 6, type: RouteType, keepUs?: number): void;
  /** Push the kernel-side expiry out to `keepUs` from now (absent: entries do not expire). */
  renew?(ip: string, family: 4 | 6, type: RouteType, keepUs: number): void;
  /** Remove a block synwatch installed; a missing one counts as success. */
  del(ip: string, family: 4 | 6, type: BlockType): void;
  /** Only what synwatch installed, sorted by address. */
  list(): BlockedEntry[];
  /** Create what the backend needs in the kernel (nftables: the table), idempotently; at start. */
  prepare?(): void;
  /**
   * Called about once a second while live runs: when the kernel side was removed behind
   * synwatch's back (`nft flush ruleset`), re-create it and re-install `blocks()`. Returns how
   * many blocks were re-installed, or null when nothing was missing.
   */
  heal?(blocks: () => BlockToKeep[]): number | null;
}

/**
 * Installs and removes host routes. Synchronous on purpose: an rtnetlink round trip takes
 * microseconds, and a synchronous backend keeps replay deterministic.
 * Implementations: netlink addon (native/), `ip route` fallback, and a recording backend
 * (replay, analyze) that touches nothing.
 */
export interface RouteBackend {
  readonly name: string;
  /** Add a host route; an existing identical route (EEXIST) counts as success. */
  add(ip: string, family: 4 | 6, type: RouteType): void;
  /** Delete a host route synwatch added; a missing route (ESRCH/ENOENT) counts as success. */
  del(ip: string, family: 4 | 6, type: RouteType): void;
  /** Routes carrying synwatch's marker (rtm_protocol), i.e. only the ones synwatch added. */
  list(): HostRoute[];
}
