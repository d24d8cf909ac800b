/**
 * `synwatch poll --interval S --threshold N --state-dir DIR [--dry-run] [--allow CIDR]...
 *                [--block-ttl S] [--config F] [--once] [--unblock-on-exit] [--backend B]`
 *
 * The /proc/net/tcp approach: every interval, count half-open (SYN_RECV) sockets per remote
 * address and flag sources with >= threshold through the same BlockPolicy, ledger and route
 * backend as live mode (src/poll/poller.ts says what polling cannot see).
 *
 * Contract: one pino JSON line per decision on stderr; start-up reconciles the ledger (skipped
 * in dry-run, which installs nothing and writes no ledger). SIGINT/SIGTERM stop cleanly, leaving
 * blocks in place for the next start (ledger) unless --unblock-on-exit. --once polls once and
 * exits (cron, tests). Bad options are UsageErrors (exit 2, one line naming the option); other
 * start-up failures (state dir, backend) throw and exit 1 via src/cli/errors.ts.
 * Decision lines are the command's product, so they are logged at info even when the global
 * --log-level is warn (the default); only a more verbose level or "silent" changes that.
 */
import type { Command } from 'commander';
import { addEnforceOptions, ConfigError, resolveConfig, type CliEnforceOptions } from '../../enforce/config';
import { AllowlistError, buildDefaultAllowlist } from '../../enforce/allowlist';
import type { RouteBackend } from '../../enforce/contract';
import { Ledger } from '../../enforce/ledger';
import { decisionLogSink } from '../../enforce/log';
import { backendChoice, openRouteBackend } from '../../enforce/netlink';
import { BlockPolicy } from '../../enforce/policy';
import { RecordingBackend } from '../../enforce/recording';
import { RouteError } from '../../enforce/routes';
import { anchoredClockUs, SynRecvPoller } from '../../poll/poller';
import { UsageError } from '../errors';
import { DEFAULT_DETECTOR_OPTIONS } from '../../detect/detector';
import { createLogger } from '../log';

/** The same default as live and analyze: --threshold means the same everywhere (half-open
 *  attempts from one source), and so does its default (see src/detect/detector.ts for why). */
export const DEFAULT_POLL_THRESHOLD = DEFAULT_DETECTOR_OPTIONS.threshold;
export const DEFAULT_POLL_INTERVAL_S = 1;

interface PollOptions extends CliEnforceOptions {
  once?: boolean;
  unblockOnExit?: boolean;
  backend: string;
  logLevel?: string;
  logFormat?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('poll')
    .description('poll /proc/net/tcp{,6} for half-open handshakes and block sources over the threshold')
    .option('--interval <seconds>', `seconds between polls (default ${DEFAULT_POLL_INTERVAL_S})`)
    .option('--threshold <n>', `half-open attempts from one source that flag it (default ${DEFAULT_POLL_THRESHOLD})`);
  addEnforceOptions(cmd)
    .option('--once', 'poll once and exit')
    .option('--unblock-on-exit', 'remove all blocks when stopped (default: keep them, ledger-backed)')
    .option('--backend <backend>', 'auto | netlink | iproute', 'auto')
    .action((_opts: PollOptions, command: Command) => runPoll(command.optsWithGlobals<PollOptions>()));
}

/** Option mistakes become UsageErrors (exit 2); the message already names the option. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof AllowlistError || (e instanceof RouteError && e.op === 'load')) {
      throw new UsageError(`poll: ${e.message}`);
    }
    throw e;
  }
}

function runPoll(opts: PollOptions): void {
  const cfg = usage(() => resolveConfig(opts));
  const prefer = usage(() => backendChoice(opts.backend));
  const allowlist = usage(() => buildDefaultAllowlist(cfg.allow));
  const threshold = cfg.threshold ?? DEFAULT_POLL_THRESHOLD;
  const intervalMs = Math.max(1, Math.round((cfg.interval ?? DEFAULT_POLL_INTERVAL_S) * 1000));
  const verbose = opts.logLevel === 'debug' || opts.logLevel === 'trace' || opts.logLevel === 'silent';
  const logger = createLogger(verbose ? opts.logLevel! : 'info', opts.logFormat);
  const now = anchoredClockUs();
  const backend: RouteBackend = cfg.dryRun
    ? new RecordingBackend()
    : openRouteBackend({ prefer, warn: (m) => logger.warn(m) });
  const ledger = cfg.dryRun ? null : Ledger.open(cfg.stateDir, { warn: (m) => logger.warn(m) });
  const policy = new BlockPolicy({
    ttlSeconds: cfg.blockTtl, maxActiveBlocks: cfg.maxActiveBlocks, maxNewBlocksPerSecond: cfg.maxNewBlocksPerSecond,
    routeType: cfg.routeType, dryRun: cfg.dryRun, allowlist,
  }, backend, ledger, decisionLogSink(logger));
  if (ledger) {
    const report = ledger.reconcile(now(), backend);
    for (const w of report.warnings) logger.warn(w);
    policy.restore(report, now());
  }
  const poller = new SynRecvPoller({ threshold }, policy);
  let timer: NodeJS.Timeout | undefined;
  const stop = (why: string) => {
    if (timer) clearInterval(timer);
    policy.shutdown(now(), opts.unblockOnExit === true);
    ledger?.close();
    logger.info({ why, activeBlocks: policy.active().length }, 'poll stopped');
  };
  // Handlers first: a signal that arrives once "poll started" is out must stop cleanly.
  if (!opts.once) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        stop(sig);
        process.exit(0);
      });
    }
  }
  logger.info({
    backend: cfg.dryRun ? 'dry-run' : backend.name, threshold, intervalMs, blockTtl: cfg.blockTtl,
    maxActiveBlocks: cfg.maxActiveBlocks, maxNewBlocksPerSecond: cfg.maxNewBlocksPerSecond, routeType: cfg.routeType,
    stateDir: cfg.dryRun ? null : ledger?.dir, allowlistEntries: allowlist.entries().length,
  }, 'poll started');

  const pollSafely = () => {
    try {
      poller.pollOnce(now());
    } catch (e) {
      // A transient read failure of /proc must not end enforcement; the next poll retries.
      logger.error({ err: (e as Error).message }, 'poll failed');
    }
  };
  pollSafely();
  if (opts.once) {
    stop('once');
    return;
  }
  timer = setInterval(pollSafely, intervalMs);
}
