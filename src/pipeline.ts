/**
 * capture -> decode -> track -> detect, the same code for `analyze`, `replay` and `live`.
 *
 * Contract: feed every CaptureRecord to `onRecord` (a bound function, safe to hand to a capture
 * source as its sink), then call `finish(endUs)` once. Detector events go to the DetectorSink
 * given at construction (the enforcer policy, the report, the live logger). Nothing here reads the
 * wall clock; the per-record path allocates nothing.
 */
import { CaptureRecord } from './capture/record';
import { decodeFrame } from './decode/frame';
import { DecodeCounters, DecodeResult } from './decode/packet';
import { HandshakeTracker, TrackerOptions, DEFAULT_TRACKER_OPTIONS } from './track/tracker';
import { Detector, DetectorOptions, DetectorSink, DEFAULT_DETECTOR_OPTIONS } from './detect/detector';

export interface PipelineOptions {
  tracker: TrackerOptions;
  detector: DetectorOptions;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  tracker: DEFAULT_TRACKER_OPTIONS,
  detector: DEFAULT_DETECTOR_OPTIONS,
};

export class Pipeline {
  readonly counters = new DecodeCounters();
  readonly tracker: HandshakeTracker;
  readonly detector: Detector;
  /** Largest packet time seen (the pipeline's clock). */
  nowUs = 0;
  firstUs = -1;

  constructor(opts: PipelineOptions, sink: DetectorSink) {
    this.tracker = new HandshakeTracker(opts.tracker);
    this.detector = new Detector(opts.detector, this.tracker, sink);
  }

  readonly onRecord = (rec: CaptureRecord): void => {
    const ts = rec.tsUs;
    if (this.firstUs < 0) this.firstUs = ts;
    if (ts > this.nowUs) this.nowUs = ts;
    // Decoded straight into the tracker's batch; only a TCP segment is committed to it.
    const t = this.tracker;
    const r = decodeFrame(t.segmentView(), rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, this.counters);
    if (r === DecodeResult.TcpSegment) t.commit(ts);
  };

  /** Reserve the tables' storage now rather than at the first packet that needs it (live: at
   *  start, so a flood's first SYN allocates nothing; see HandshakeTracker.reserve). */
  reserve(): void {
    this.tracker.reserve();
  }

  /** Process the segments waiting in the tracker's batch now (live: at the end of each capture
   *  batch, so no SYN waits for the next one). */
  flush(): void {
    this.tracker.flush();
  }

  /** Advance the clock without a packet (live mode's idle ticks). */
  tick(nowUs: number): void {
    if (nowUs > this.nowUs) this.nowUs = nowUs;
    this.tracker.advanceTo(this.nowUs);
  }

  /** End of input: close spans, refresh the flagged sources' counts. */
  finish(): void {
    this.tracker.advanceTo(this.nowUs);
    this.detector.finish(this.nowUs);
    this.detector.refreshAll();
  }
}
