#!/usr/bin/env node
/**
 * synwatch: packet-level SYN-flood analyzer and route-reject enforcer.
 * Subcommands live in src/cli/commands/, one file each, each exporting `register(program)`.
 */
import { Command, CommanderError, Option } from 'commander';
import { reportError, EXIT_USAGE } from './errors';
import { LOG_LEVELS } from './log';
import * as analyze from './commands/analyze';
import * as live from './commands/live';
import * as replay from './commands/replay';
import * as poll from './commands/poll';
import * as blocks from './commands/blocks';
import * as unblock from './commands/unblock';

const COMMANDS: { register(program: Command): void }[] = [analyze, replay, live, poll, blocks, unblock];

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('synwatch')
    .description('Packet-level SYN-flood analyzer and route-reject enforcer for Linux')
    .version(require('../../../package.json').version)
    .addOption(new Option('--log-level <level>', 'log level for the JSON logs on stderr').choices(LOG_LEVELS).default('warn'))
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const c of COMMANDS) c.register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one-line message; help and version exit 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(e);
  }
}

main(process.argv).then((code) => {
  // A command may have set a non-zero exit code itself (replay's mismatch): keep it.
  if (!process.exitCode) process.exitCode = code;
});
