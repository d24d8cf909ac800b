/**
 * The detection settings in the units the command line takes them (seconds, counts; src/cli/
 * detection-options.ts declares the flags), mapped onto PipelineOptions; and back, as the report
 * shows them. Outside the CLI because analyzeCapture, the library's entry, takes them too.
 */
import { DEFAULT_PIPELINE_OPTIONS, PipelineOptions } from './pipeline';

export interface DetectionFlags {
  threshold?: number;
  handshakeTimeout?: number;
  window?: number;
  windowIncomplete?: number;
  maxCompletionRatio?: number;
  scanPorts?: number;
  crowdAttempts?: number;
  maxSources?: number;
  maxAttempts?: number;
}

/** `configThreshold`: the config file's threshold, used when --threshold is not given. */
export function pipelineOptions(f: DetectionFlags, configThreshold?: number): PipelineOptions {
  const d = DEFAULT_PIPELINE_OPTIONS;
  return {
    tracker: {
      ...d.tracker,
      handshakeTimeoutUs: f.handshakeTimeout !== undefined ? Math.round(f.handshakeTimeout * 1e6) : d.tracker.handshakeTimeoutUs,
      maxSources: f.maxSources ?? d.tracker.maxSources,
      maxAttempts: f.maxAttempts ?? d.tracker.maxAttempts,
    },
    detector: {
      ...d.detector,
      threshold: f.threshold ?? configThreshold ?? d.detector.threshold,
      windowUs: f.window !== undefined ? Math.round(f.window * 1e6) : d.detector.windowUs,
      windowIncomplete: f.windowIncomplete ?? d.detector.windowIncomplete,
      maxCompletionRatio: f.maxCompletionRatio ?? d.detector.maxCompletionRatio,
      scanPorts: f.scanPorts ?? d.detector.scanPorts,
      crowdAttempts: f.crowdAttempts ?? d.detector.crowdAttempts,
    },
  };
}

/** The settings as the report shows them. */
export function settingsRecord(o: PipelineOptions): Record<string, number> {
  return {
    threshold: o.detector.threshold,
    handshakeTimeoutSeconds: o.tracker.handshakeTimeoutUs / 1e6,
    windowSeconds: o.detector.windowUs / 1e6,
    windowIncomplete: o.detector.windowIncomplete,
    maxCompletionRatio: o.detector.maxCompletionRatio,
    scanPorts: o.detector.scanPorts,
    crowdAttempts: o.detector.crowdAttempts,
    maxSources: o.tracker.maxSources,
    maxAttempts: o.tracker.maxAttempts,
  };
}
