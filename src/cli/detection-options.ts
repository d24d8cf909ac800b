/**
 * The detection options shared by `analyze`, `replay` and `live`: one definition, so that
 * `--threshold N` means the same everywhere (the number of half-open attempts from one source
 * that flags it; `poll` gives it the same meaning over /proc/net/tcp). The parsed values are
 * DetectionFlags; src/pipeline-options.ts maps them onto the pipeline.
 */
import { Command, Option } from 'commander';
import { DEFAULT_PIPELINE_OPTIONS } from '../pipeline';
import { positiveInt, positiveSeconds, ratio } from './errors';

export function addDetectionOptions(cmd: Command): Command {
  const d = DEFAULT_PIPELINE_OPTIONS.detector;
  const t = DEFAULT_PIPELINE_OPTIONS.tracker;
  return cmd
    .addOption(new Option('--threshold <n>', `half-open attempts from one source that flag it (default ${d.threshold})`).argParser(positiveInt('--threshold')))
    .addOption(new Option('--handshake-timeout <s>', `seconds before an unanswered attempt counts as incomplete (default ${t.handshakeTimeoutUs / 1e6})`).argParser(positiveSeconds('--handshake-timeout')))
    .addOption(new Option('--window <s>', `window for incomplete attempts, seconds (default ${d.windowUs / 1e6})`).argParser(positiveSeconds('--window')))
    .addOption(new Option('--window-incomplete <n>', `incomplete attempts within the window that flag a source (default ${d.windowIncomplete})`).argParser(positiveInt('--window-incomplete')))
    .addOption(new Option('--max-completion-ratio <r>', `a source completing more than this share of its attempts is never flagged (default ${d.maxCompletionRatio})`).argParser(ratio('--max-completion-ratio')))
    .addOption(new Option('--scan-ports <n>', `more distinct destination ports than this makes a flag a scan (default ${d.scanPorts})`).argParser(positiveInt('--scan-ports')))
    .addOption(new Option('--crowd-attempts <n>', `while a flood is under way, attempts that flag a source that never completed one nor retransmitted a SYN (default ${d.crowdAttempts})`).argParser(positiveInt('--crowd-attempts')))
    .addOption(new Option('--max-sources <n>', `per-source table size (LRU) (default ${t.maxSources})`).argParser(positiveInt('--max-sources')))
    .addOption(new Option('--max-attempts <n>', `attempt table size, IPv4 and IPv6 together (default ${t.maxAttempts}, at most ${MAX_ATTEMPTS})`)
      .argParser(positiveInt('--max-attempts', MAX_ATTEMPTS)));
}

/**
 * The attempt tables reserve their records up front (attempts.ts: committed only as used), about
 * 112 bytes of address space per attempt for both families: 2^24 keeps that under 2 GiB, far
 * beyond the 1M default (and beyond what typed arrays and overcommit allow without surprises).
 */
const MAX_ATTEMPTS = 1 << 24;
