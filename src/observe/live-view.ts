/**
 * What the metrics endpoint and the status socket may read of a running `synwatch live`: the
 * counters the pipeline, the capture and the policy already keep, read when asked (a scrape, a
 * `synwatch status`), never pushed per packet. The runner (src/live/runner.ts) fills it in.
 */
import { CaptureStats } from '../capture/live';
import { BlockPolicy } from '../enforce/policy';
import { Pipeline } from '../pipeline';
import { LiveEventCounters } from './live-counters';

export interface LiveView {
  readonly pipeline: Pipeline;
  readonly events: LiveEventCounters;
  /** libpcap's counters, widened (capture/live.ts). */
  captureStats(): CaptureStats;
  /** The current session's policy (SIGHUP swaps the session). */
  policy(): BlockPolicy;
  /** The live clock, µs since the epoch (the kernel's packet clock). */
  nowUs(): number;
  readonly iface: string;
  readonly dryRun: boolean;
  readonly startedUs: number;
  /** --on-block and --webhook, their running counters (describe(): `type` plus numbers). */
  notifiers(): ReadonlyArray<{ describe(): Record<string, unknown> }>;
}
