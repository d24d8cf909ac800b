/**
 * `synwatch status [--json] [--state-dir DIR]`: ask the running `synwatch live` how it is doing,
 * over its status socket (DIR/status.sock, src/observe/status-socket.ts).
 *
 * Contract: prints the snapshot (src/observe/status-snapshot.ts) as text, or with --json as the
 * JSON document itself, on stdout; exit 0. When no live process runs with that state directory
 * (no socket, or a stale one), one line on stderr saying so, exit 1. Any other failure (no
 * permission, no answer, not JSON): one line naming the socket, exit 1.
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG } from '../../enforce/config';
import { queryStatus } from '../../observe/status-socket';
import { STATUS_FORMAT, StatusSnapshot, statusText } from '../../observe/status-snapshot';

interface StatusOptions {
  stateDir: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('ask the running synwatch live for the current attack, top sources, blocks and capture counters')
    .option('--state-dir <dir>', 'the state directory of the live process to ask', DEFAULT_CONFIG.stateDir)
    .option('--json', 'print the JSON document instead of text')
    .action(async (opts: StatusOptions) => {
      const answer = await queryStatus(opts.stateDir) as Partial<StatusSnapshot> & { error?: string };
      if (answer.error !== undefined) throw new Error(`synwatch live could not build its status: ${answer.error}`);
      if (answer.format !== STATUS_FORMAT) throw new Error(`the live process answered format ${String(answer.format)}, this synwatch reads ${STATUS_FORMAT}: restart live after an upgrade`);
      process.stdout.write(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : statusText(answer as StatusSnapshot));
    });
}
