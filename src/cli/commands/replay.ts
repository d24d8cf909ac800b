/**
 * `synwatch replay <capture> [--config F] [--expect F] [--update] [--json] [--tolerance S]`
 * `synwatch replay <capture> --onto IFACE [--speed X]`
 *
 * Captures as CI tests of the detection policy. The capture runs through the same pipeline and
 * the same BlockPolicy as `live` (allowlist, TTL, renewals, caps), with packet time as the clock
 * and a recording backend instead of netlink; the output is the decision timeline.
 * Exit codes: 0 ran (and matched --expect), 1 mismatch against --expect or an error, 2 usage.
 * Output is deterministic: the same capture and config give byte-identical output anywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { analyzeCapture, AnalyzeFlags } from '../../analyze';
import { addDetectionOptions } from '../detection-options';
import { addPolicyOptions } from '../policy-options';
import { nonNegativeSeconds, positiveNumber, usageAsync, UsageError } from '../errors';
import {
  buildTimeline, compareTimelines, DEFAULT_TOLERANCE_SECONDS, ExpectationError, parseExpectation, serializeExpectation,
} from '../../replay/expectation';
import { replayOnto } from '../../replay/onto';

type ReplayFlags = AnalyzeFlags & {
  expect?: string;
  update?: boolean;
  json?: boolean;
  tolerance?: number;
  onto?: string;
  speed?: number;
};

export function register(program: Command): void {
  const cmd = program
    .command('replay')
    .description('run a capture through the live policy and print, check (--expect) or record (--update) its decision timeline')
    .argument('<capture>', 'capture file, or - for stdin')
    .option('--expect <file>', 'expectation file to compare with (or to write, with --update)')
    .option('--update', 'write the timeline to the --expect file instead of comparing')
    .option('--json', 'print the timeline as JSON (the expectation file format)')
    .addOption(new Option('--tolerance <seconds>', `how far a decision may move in time and still match (default: the file's, else ${DEFAULT_TOLERANCE_SECONDS})`).argParser(nonNegativeSeconds('--tolerance')))
    .option('--onto <iface>', 'send the frames onto an interface at the recorded pace (drives a real synwatch live)')
    .addOption(new Option('--speed <x>', 'with --onto: send this many times faster than recorded (default 1)').argParser(positiveNumber('--speed')));
  addDetectionOptions(cmd);
  addPolicyOptions(cmd);
  cmd.action(async (file: string, flags: ReplayFlags) => {
    if (flags.onto) {
      if (flags.expect || flags.update) throw new UsageError('--onto sends frames; it cannot be combined with --expect or --update');
      const r = await replayOnto(file, flags.onto, flags.speed ?? 1);
      process.stdout.write(`sent ${r.frames} frames onto ${flags.onto} in ${r.seconds.toFixed(3)} s` +
        (r.skipped ? ` (${r.skipped} skipped: cut by the snaplen or another link type)` : '') + '\n');
      return;
    }
    if (flags.speed !== undefined) throw new UsageError('--speed goes with --onto');
    if (flags.update && !flags.expect) throw new UsageError('--update needs --expect FILE to know where to write');

    // analyzeCapture builds its EnforcementSession from the flags: bad ones are usage errors.
    const { summary, session } = await usageAsync(() => analyzeCapture(file, flags));
    const expected = flags.expect && !flags.update && fs.existsSync(flags.expect) ? readExpectation(flags.expect) : null;
    if (flags.expect && !flags.update && !expected) throw new Error(`${flags.expect}: no such expectation file (create it with --update)`);
    const tolerance = flags.tolerance ?? expected?.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    const timeline = buildTimeline(path.basename(file), summary.firstTsUs ?? 0, session.decisions, session.alerts, tolerance);
    const text = serializeExpectation(timeline);

    if (flags.update) {
      fs.writeFileSync(flags.expect!, text);
      process.stderr.write(`replay: wrote ${timeline.decisions.length} decisions and ${timeline.alerts.length} alerts to ${flags.expect}\n`);
      return;
    }
    if (flags.json) process.stdout.write(text);
    else process.stdout.write(renderTimeline(timeline.decisions, timeline.alerts));
    if (expected) {
      const diff = compareTimelines(expected, timeline, tolerance);
      if (diff.length > 0) {
        process.stderr.write(`replay: ${file} differs from ${flags.expect} (tolerance ${tolerance} s):\n${diff.map((l) => `  ${l}`).join('\n')}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`replay: ${file} matches ${flags.expect}\n`);
    }
  });
}

function readExpectation(file: string) {
  try {
    return parseExpectation(fs.readFileSync(file, 'utf8'), file);
  } catch (e) {
    if (e instanceof ExpectationError) throw e;
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function renderTimeline(ds: { t: number; action: string; ip: string; reason: string }[], as: { start: number; end: number; kind: string }[]): string {
  // Actions padded to 'deferred', the longest.
  const lines = ds.map((d) => `+${d.t.toFixed(6)}s  ${d.action.padEnd(8)} ${d.ip || '-'}  ${d.reason}`);
  for (const a of as) lines.push(`+${a.start.toFixed(6)}s  ${'alert'.padEnd(8)} ${a.kind} until +${a.end.toFixed(6)}s`);
  return lines.length ? `${lines.join('\n')}\n` : 'no decisions\n';
}
