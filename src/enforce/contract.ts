/**
 * What the enforcer reports back, and the route backend it drives.
 *
 * The detector reports facts about sources (src/detect/events.ts: flagged, still active); the
 * policy (src/enforce/policy.ts) decides (allowlist, TTL, caps, dry-run) and drives a
 * RouteBackend. Every time here is the caller's clock in integer microseconds: packet time in
 * analyze and replay, a monotonic clock anchored to UTC in live mode. The policy never reads the
 * wall clock itself, so the same inputs give the same decisions.
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
