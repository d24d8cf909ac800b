/**
 * `synwatch blocks [--state-dir DIR] [--json] [--backend B]`: list synwatch's blocks.
 *
 * Contract: prints a table (IP, TYPE, SINCE, EXPIRES, STATE) or, with --json, a JSON array of
 * inventory rows (src/enforce/inventory.ts) with ISO times added, on stdout. Only routes carrying
 * synwatch's marker (rtm_protocol 181) are listed, or with --backend nftables the elements of
 * synwatch's sets (type "drop"; the table is never created here). Failures throw (src/cli/errors.ts prints one
 * line; exit 1).
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG } from '../../enforce/config';
import { inventory, type BlockRow } from '../../enforce/inventory';
import { isoUs } from '../../report/time';
import { warnOnStderr } from '../../enforce/netlink';
import { openBackendOption } from '../../enforce/backends';
import { usageOnRouteError } from '../errors';

interface BlocksOptions {
  stateDir: string;
  json?: boolean;
  backend?: string;
}

function toJson(r: BlockRow): Record<string, unknown> {
  return {
    ...r,
    since: r.sinceUs === undefined ? null : isoUs(r.sinceUs),
    expires: r.expiresUs === undefined ? null : isoUs(r.expiresUs),
  };
}

export function formatBlocksTable(rows: readonly BlockRow[]): string {
  const head = ['IP', 'TYPE', 'SINCE', 'EXPIRES', 'STATE'];
  const cells = rows.map((r) => [r.ip, r.type, r.sinceUs === undefined ? '-' : isoUs(r.sinceUs),
    r.expiresUs === undefined ? '-' : isoUs(r.expiresUs), r.state]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('blocks')
    .description("list synwatch's blocks (routes with synwatch's marker, joined with the ledger)")
    .option('--state-dir <dir>', 'where the block ledger lives', DEFAULT_CONFIG.stateDir)
    .option('--json', 'print JSON instead of a table')
    .option('--backend <backend>', 'route | nftables | route,nftables (route may be spelt auto, netlink or iproute; default: routes, and the nftables sets when synwatch\'s table is there)')
    .action((opts: BlocksOptions) => {
      const backend = usageOnRouteError(() => openBackendOption(opts.backend, { warn: warnOnStderr }));
      const inv = inventory(backend, opts.stateDir, Date.now() * 1000);
      for (const w of inv.warnings) warnOnStderr(w);
      process.stdout.write(opts.json ? `${JSON.stringify(inv.rows.map(toJson), null, 2)}\n` : formatBlocksTable(inv.rows));
    });
}
