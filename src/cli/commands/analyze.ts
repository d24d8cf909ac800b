/**
 * `synwatch analyze <capture>`: read a capture (file, gzip, or - for stdin), report who sent
 * SYNs and never finished, floods, targets, and what the enforcer would have done.
 * Exit 0 analyzed (reader warnings included: they are in the report and logged), 1 error,
 * 2 usage.
 */
import { Command, Option } from 'commander';
import { analyzeCapture, AnalyzeFlags } from '../../analyze';
import { renderText } from '../../report/text';
import { renderHtml } from '../../report/html';
import { checkWritable, writeFileAtomic } from '../output-file';
import { addDetectionOptions } from '../detection-options';
import { addPolicyOptions } from '../policy-options';
import { progressReporter } from '../progress';
import { createLogger } from '../log';
import { usageAsync } from '../errors';

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('analyze a capture file (pcap, pcapng, gzip; - for stdin)')
    .argument('<capture>', 'capture file, or - for stdin')
    .addOption(new Option('--json', 'print the report as one JSON document'))
    .addOption(new Option('--html <file>', 'also write the report as one self-contained HTML page (charts, tables; opens from disk)'));
  addDetectionOptions(cmd);
  addPolicyOptions(cmd);
  cmd.action(async (file: string, flags: AnalyzeFlags & { json?: boolean; html?: string }) => {
    // Before the analysis, which may take minutes: a mistyped directory fails at once.
    if (flags.html !== undefined) checkWritable('--html', flags.html);
    const progress = progressReporter(file);
    let analysis;
    try {
      // analyzeCapture builds its EnforcementSession from the flags: bad ones are usage errors.
      analysis = await usageAsync(() => analyzeCapture(file, flags, progress.onProgress));
    } finally {
      progress.done();
    }
    if (analysis.summary.warnings.length > 0) {
      const log = createLogger(program.opts().logLevel, program.opts().logFormat); // pino loads only when there is something to say
      for (const w of analysis.summary.warnings) log.warn({ file: w.file, offset: w.offset, code: w.code }, w.message);
    }
    const r = analysis.report;
    if (flags.html !== undefined) writeFileAtomic('--html', flags.html, renderHtml(r));
    process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : renderText(r));
  });
}
