/**
 * One capture file through the whole pipeline under a policy: what `synwatch analyze` prints,
 * and what the benchmark and the tests run in-process.
 */
import { readCaptureFile } from './capture/reader';
import { CaptureSummary } from './capture/record';
import { Pipeline } from './pipeline';
import { buildReport, Report } from './report/model';
import { Timeline } from './report/timeline';
import { DetectionFlags, pipelineOptions, settingsRecord } from './pipeline-options';
import { EnforcementSession } from './enforce/session';
import { CliEnforceOptions } from './enforce/config';

export type AnalyzeFlags = DetectionFlags & Omit<CliEnforceOptions, 'threshold'>;

export interface Analysis {
  summary: CaptureSummary;
  pipeline: Pipeline;
  session: EnforcementSession;
  report: Report;
}

export async function analyzeCapture(
  file: string,
  flags: AnalyzeFlags = {},
  onProgress?: (read: number, total: number | null) => void,
  /** Engine tuning that must not change the output (the tests vary it to prove that). */
  tuning: { segmentBatch?: number } = {},
): Promise<Analysis> {
  const session = EnforcementSession.forCapture({ ...flags, threshold: flags.threshold });
  const opts = pipelineOptions(flags, session.config.threshold);
  if (tuning.segmentBatch !== undefined) opts.tracker = { ...opts.tracker, segmentBatch: tuning.segmentBatch };
  const pipeline = new Pipeline(opts, session);
  const timeline = new Timeline(pipeline.tracker, pipeline);
  const summary = await readCaptureFile(file, pipeline.onRecord, { onProgress });
  pipeline.finish();
  timeline.finish();
  session.finish(pipeline.nowUs);
  session.drain();
  const report = buildReport(summary, pipeline, session.alerts, session.decisions, settingsRecord(opts), timeline);
  return { summary, pipeline, session, report };
}
