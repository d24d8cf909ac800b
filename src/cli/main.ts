#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * synwatch: packet-level SYN-flood analyzer and route-reject enforcer.
 * Subcommands live in src/cli/commands/, one file each, each exporting `register(program)`.
 *
 * The interpreter line drops NODE_EXTRA_CA_CERTS: node 20 reads and parses that certificate
 * bundle at every start, before any script runs, and synwatch never opens a TLS connection.
 * Measured where it is set (Debian's 144-certificate bundle): `node -e 0` 60 ms with it, 25 ms
 * without; that is 35 ms of every `synwatch` command (bench/README.md). GNU env's -S (coreutils
 * >= 8.30) splits the line; only this process and its children lose the variable.
 */
import { Command, CommanderError, Option } from 'commander';
import { reportError, EXIT_USAGE } from './errors';
import { LOG_FORMATS, LOG_LEVELS } from './log';

/**
 * Command modules by name, loaded on demand: a command pulls in only what it uses (analyze
 * never loads libpcap, pino's transports or the netlink addon). Measured: start-up of
 * `analyze` 144 ms -> ~95 ms of CPU with lazy loading.
 */
const COMMANDS: Record<string, () => { register(program: Command): void }> = {
  analyze: () => require('./commands/analyze'),
  replay: () => require('./commands/replay'),
  live: () => require('./commands/live'),
  poll: () => require('./commands/poll'),
  blocks: () => require('./commands/blocks'),
  unblock: () => require('./commands/unblock'),
  status: () => require('./commands/status'),
};

/** The subcommand named on the command line (skipping global options), if any. */
function commandName(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--log-level' || a === '--log-format') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('synwatch')
    .description('Packet-level SYN-flood analyzer and route-reject enforcer for Linux')
    .version(require('../../../package.json').version)
    .addOption(new Option('--log-level <level>', 'log level for the logs on stderr').choices(LOG_LEVELS).default('warn'))
    .addOption(new Option('--log-format <format>', 'logs on stderr: json lines, or text for a person (auto: text on a terminal)').choices(LOG_FORMATS).default('auto'))
    .exitOverride()
    // Usage errors are one line, like every other error: "synwatch: <what is wrong>".
    .configureOutput({ outputError: (text, write) => write(`synwatch: ${text.replace(/^error: /, '')}`) });
  const named = commandName(argv);
  // Only the command being run is loaded; for help or an unknown command, all of them.
  for (const name of named && named in COMMANDS ? [named] : Object.keys(COMMANDS)) COMMANDS[name]().register(program);
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
