/**
 * Packet time as the tracker sees it, shared with the tables and the detector it drives.
 *
 * Contract: `nowUs` is the largest packet time seen so far (µs since the epoch; never the wall
 * clock). The HandshakeTracker is the clock and the only writer. The per-packet calls below it
 * (table lookups and inserts, detector events) take no time argument: they read `nowUs`.
 *
 * Why: a packet time is a double, and V8 boxes a double passed to a call it does not inline,
 * one 16-byte HeapNumber per call. Which calls get inlined changes from run to run, so the hot
 * path passes none (on the bench flood: up to 5 allocations per SYN, 40-80 scavenges a run).
 */
export interface PacketClock {
  readonly nowUs: number;
}
