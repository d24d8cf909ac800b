/**
 * `synwatch analyze <capture>`: read a capture (file, gzip, or - for stdin), report who sent
 * SYNs and never finished, floods, targets, and what the enforcer would have done.
 * Exit 0 analyzed (reader warnings included, they are in the report), 1 error, 2 usage.
 */
import { Command, Option } from 'commander';
import { readCaptureFile } from '../../capture/reader';
import { Pipeline } from '../../pipeline';
import { buildReport } from '../../report/model';
import { renderText } from '../../report/text';
import { addDetectionOptions, DetectionFlags, pipelineOptions, settingsRecord } from '../detection-options';
import { progressReporter } from '../progress';
import { createLogger } from '../log';
import { DecisionCollector } from '../decisions';
import { addPolicyOptions, PolicyFlags } from '../policy-options';

interface AnalyzeFlags extends DetectionFlags, PolicyFlags {
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('analyze a capture file (pcap, pcapng, gzip; - for stdin)')
    .argument('<capture>', 'capture file, or - for stdin')
    .addOption(new Option('--json', 'print the report as one JSON document'));
  addDetectionOptions(cmd);
  addPolicyOptions(cmd);
  cmd.action(async (file: string, flags: AnalyzeFlags) => {
    const log = createLogger(program.opts().logLevel);
    const opts = pipelineOptions(flags);
    const collector = await DecisionCollector.create(flags, log);
    const pipeline = new Pipeline(opts, collector);
    const progress = progressReporter(file);
    let summary;
    try {
      summary = await readCaptureFile(file, pipeline.onRecord, { onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    pipeline.finish();
    collector.finish(pipeline.nowUs);
    for (const w of summary.warnings) log.warn({ file: w.file, offset: w.offset, code: w.code }, w.message);
    const report = buildReport(summary, pipeline, collector.alerts, collector.decisions, settingsRecord(opts));
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  });
}
