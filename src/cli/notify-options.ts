/**
 * `live`'s notification flags (--on-block, --webhook and their settings), checked once at start:
 * a mistake is a usage error naming the option, before the capture opens. The notifiers
 * themselves are in src/observe/ (live-notifier.ts has their common contract).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { intInRange, positiveSeconds, UsageError } from './errors';
import { LiveNotifier, NotifyContext, NotifyLog } from '../observe/live-notifier';
import { BlockCommand, DEFAULT_ON_BLOCK_CONCURRENCY, DEFAULT_ON_BLOCK_TIMEOUT_S } from '../observe/notify-command';
import { DEFAULT_WEBHOOK_TIMEOUT_S, parseWebhookUrl, WebhookJson } from '../observe/webhook';
import { AlertmanagerNotifier, DEFAULT_ALERTMANAGER_RESEND_S, looksLikeAlertmanager } from '../observe/alertmanager';

export interface NotifyFlags {
  onBlock?: string;
  onBlockTimeout?: number;
  onBlockConcurrency?: number;
  webhook?: string;
  webhookFormat?: string;
  webhookTimeout?: number;
  webhookResend?: number;
}

export const WEBHOOK_FORMATS = ['auto', 'json', 'alertmanager'];
const MAX_CONCURRENCY = 256;

export function addNotifyOptions(cmd: Command): Command {
  return cmd
    .option('--on-block <cmd>', 'run CMD <ip> incoming <pps> ban|unban on every block and unblock, a JSON document on stdin (not in --dry-run)')
    .addOption(new Option('--on-block-timeout <s>', `kill an --on-block run after S seconds (default ${DEFAULT_ON_BLOCK_TIMEOUT_S})`).argParser(positiveSeconds('--on-block-timeout')))
    .addOption(new Option('--on-block-concurrency <n>', `--on-block runs at once, the others queued (default ${DEFAULT_ON_BLOCK_CONCURRENCY})`).argParser(intInRange('--on-block-concurrency', 1, MAX_CONCURRENCY)))
    .option('--webhook <url>', 'POST JSON to URL per block, unblock, policy alert and flood alert (Alertmanager\'s API for a URL ending in /api/v2/alerts)')
    .addOption(new Option('--webhook-format <format>', 'json, or alertmanager (API v2 alerts); auto: by the URL\'s path').choices(WEBHOOK_FORMATS).default('auto'))
    .addOption(new Option('--webhook-timeout <s>', `seconds to wait for the receiver per POST (default ${DEFAULT_WEBHOOK_TIMEOUT_S})`).argParser(positiveSeconds('--webhook-timeout')))
    .addOption(new Option('--webhook-resend <s>', `alertmanager format: re-send firing alerts every S seconds (default ${DEFAULT_ALERTMANAGER_RESEND_S})`).argParser(positiveSeconds('--webhook-resend')));
}

/**
 * The notifiers the flags ask for, as a factory the runner calls with its context. Throws
 * UsageError for flags that do not fit together, an unusable command or URL.
 */
export function notifiersFor(flags: NotifyFlags, dryRun: boolean, log: NotifyLog): (ctx: NotifyContext) => LiveNotifier[] {
  if (flags.onBlock === undefined && (flags.onBlockTimeout !== undefined || flags.onBlockConcurrency !== undefined)) {
    throw new UsageError('--on-block-timeout and --on-block-concurrency need --on-block CMD');
  }
  if (flags.webhook === undefined && (flags.webhookTimeout !== undefined || flags.webhookResend !== undefined || (flags.webhookFormat ?? 'auto') !== 'auto')) {
    throw new UsageError('--webhook-format, --webhook-timeout and --webhook-resend need --webhook URL');
  }
  const command = flags.onBlock === undefined ? undefined : executable(flags.onBlock);
  let url: URL | undefined;
  if (flags.webhook !== undefined) {
    try {
      url = parseWebhookUrl(flags.webhook);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const format = url === undefined ? undefined
    : flags.webhookFormat === 'json' || flags.webhookFormat === 'alertmanager' ? flags.webhookFormat
      : looksLikeAlertmanager(url) ? 'alertmanager' : 'json';
  // Below a second, re-sending every firing alert would be a flood of its own.
  if (flags.webhookResend !== undefined && flags.webhookResend < 1) throw new UsageError(`--webhook-resend is at least 1 second, got ${flags.webhookResend}`);
  if (format === 'json' && flags.webhookResend !== undefined) throw new UsageError('--webhook-resend applies to the alertmanager format only');
  if (command !== undefined && dryRun) log.warn({ onBlock: command }, '--on-block is not run in --dry-run (it touches nothing)');
  return (ctx) => {
    const out: LiveNotifier[] = [];
    if (command !== undefined && !dryRun) {
      out.push(new BlockCommand({
        command,
        timeoutMs: Math.round((flags.onBlockTimeout ?? DEFAULT_ON_BLOCK_TIMEOUT_S) * 1000),
        concurrency: flags.onBlockConcurrency ?? DEFAULT_ON_BLOCK_CONCURRENCY,
      }, ctx, log));
    }
    if (url !== undefined) {
      const poster = { url: url.href, timeoutMs: Math.round((flags.webhookTimeout ?? DEFAULT_WEBHOOK_TIMEOUT_S) * 1000) };
      out.push(format === 'alertmanager'
        ? new AlertmanagerNotifier({ ...poster, resendMs: Math.round((flags.webhookResend ?? DEFAULT_ALERTMANAGER_RESEND_S) * 1000) }, ctx, log)
        : new WebhookJson(poster, ctx, log));
    }
    return out;
  };
}

/** The --on-block command as it will be run: an executable file, by path or found in PATH. */
function executable(cmd: string): string {
  const isExecutable = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) {
    if (!isExecutable(cmd)) throw new UsageError(`--on-block: '${cmd}' is not an executable file (it is run without a shell: give a path or a command name, no arguments)`);
    return cmd;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && isExecutable(path.join(dir, cmd))) return cmd;
  }
  throw new UsageError(`--on-block: '${cmd}' is not an executable found in PATH (it is run without a shell: give a path or a command name, no arguments)`);
}
