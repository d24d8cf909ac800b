/**
 * One full garbage collection at the end of live's start-up, so the first flood meets a heap
 * with nothing young in it.
 *
 * Why: V8 collects the young generation ("external memory pressure", --trace-gc) at the next
 * ArrayBuffer allocation of any size whenever the young generation's array buffers hold twice a
 * semi-space of backing store (16 MiB in Node 20). Live's big typed arrays (the attempt tables'
 * 40 MiB for IPv4 and 72 MiB for IPv6, reserved at start: Pipeline.reserve) are young when they
 * are made, and stay young until a collection moves them. In the latency lab, with the tables
 * reserved at the first SYN instead, every live process paused 0.3-0.5 ms for such a collection
 * during its first flood's threshold window, and once more within the next second: the slowest
 * trials of bench/latency.ts (bench/findings.md). A full collection now promotes them, and clears
 * the warm-up's garbage (live/warm-up.ts) with them.
 *
 * Contract: collectBeforeCapture() runs a synchronous full (mark-compact) collection and returns
 * its wall time in ms. V8 exposes gc() only behind --expose-gc; the flag is set for the moment
 * it takes to fetch the function from a new context, and cleared again, so no other context,
 * module or user code sees a global gc.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null = null;

export function collectBeforeCapture(): number {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    try {
      collect = runInNewContext('gc') as () => void;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  const t0 = process.hrtime.bigint();
  collect();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
