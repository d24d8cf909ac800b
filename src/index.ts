/**
 * synwatch as a library: the pipeline stages, for embedding and for tools that want the
 * numbers without the CLI. The CLI (src/cli/main.ts) is built from these same pieces.
 */
export { readCaptureFile } from './capture/reader';
export { CaptureRecord, CaptureSummary, CaptureError } from './capture/record';
export { decodeFrame } from './decode/frame';
export { PacketView, DecodeCounters, DecodeResult } from './decode/packet';
export { HandshakeTracker, DEFAULT_TRACKER_OPTIONS } from './track/tracker';
export { Detector, DEFAULT_DETECTOR_OPTIONS } from './detect/detector';
export { Pipeline, DEFAULT_PIPELINE_OPTIONS } from './pipeline';
export { analyzeCapture } from './analyze';
export { buildReport, REPORT_VERSION } from './report/model';
export { BlockPolicy } from './enforce/policy';
