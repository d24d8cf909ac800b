/**
 * `synwatch unblock IP | --all [--state-dir DIR] [--backend B]`: remove synwatch's blocks.
 *
 * Contract: removes only routes carrying synwatch's marker (the delete names rtm_protocol 181, so
 * the kernel itself refuses anyone else's route), or with --backend nftables elements of
 * synwatch's own sets, and appends an "unblock" (reason operator) record
 * to the ledger when it has the address. An address synwatch did not block is reported and left
 * alone (an error: exit 1). Bad arguments are UsageErrors (exit 2). A running daemon keeps the address in memory until its TTL and then finds the
 * route already gone, which is fine; it does not re-add it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { canonicalIp } from '../../decode/address';
import { DEFAULT_CONFIG } from '../../enforce/config';
import { inventory, type BlockRow } from '../../enforce/inventory';
import { Ledger, LEDGER_FILE } from '../../enforce/ledger';
import { warnOnStderr } from '../../enforce/netlink';
import { openBackendOption } from '../../enforce/backends';
import { usageOnRouteError, UsageError } from '../errors';
import { SYNWATCH_RTM_PROTOCOL } from '../../enforce/routes';

interface UnblockOptions {
  all?: boolean;
  stateDir: string;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('unblock')
    .description('remove a block synwatch installed (never touches other routes)')
    .argument('[ip]', 'address to unblock')
    .option('--all', 'remove every block synwatch installed')
    .option('--state-dir <dir>', 'where the block ledger lives', DEFAULT_CONFIG.stateDir)
    .option('--backend <backend>', 'route | nftables | route,nftables (route may be spelt auto, netlink or iproute; default: routes, and the nftables sets when synwatch\'s table is there)')
    .action((ipArg: string | undefined, opts: UnblockOptions) => {
      if (!!ipArg === !!opts.all) throw new UsageError('unblock: give one IP or --all');
      const ip = ipArg === undefined ? null : canonicalIp(ipArg);
      if (ipArg !== undefined && !ip) throw new UsageError(`unblock: "${ipArg}" is not an IPv4/IPv6 address`);
      const backend = usageOnRouteError(() => openBackendOption(opts.backend, { warn: warnOnStderr }));
      const nowUs = Date.now() * 1000;
      const inv = inventory(backend, opts.stateDir, nowUs);
      for (const w of inv.warnings) warnOnStderr(w);
      const targets: BlockRow[] = ip ? inv.rows.filter((r) => r.ip === ip) : inv.rows;
      if (ip && targets.length === 0) {
        const where = backend.name === 'nftables' ? "not in synwatch's nftables sets" : `no route with protocol ${SYNWATCH_RTM_PROTOCOL}`;
        throw new Error(`unblock: ${ip} is not blocked by synwatch (${where}, not in the ledger); nothing changed`);
      }
      // Only a ledger that exists is written to: unblock must not create state dirs.
      const ledgerExists = fs.existsSync(path.join(opts.stateDir, LEDGER_FILE));
      const ledger = ledgerExists && targets.some((t) => t.state !== 'orphan') ? Ledger.open(opts.stateDir, { warn: warnOnStderr }) : null;
      try {
        for (const t of targets) {
          backend.del(t.ip, t.family, t.type);
          if (ledger && t.state !== 'orphan') ledger.recordUnblock(t, 'operator', nowUs);
          process.stdout.write(`unblocked ${t.ip} (${t.type}${t.state === 'active' ? '' : `, was ${t.state}`})\n`);
        }
      } finally {
        ledger?.close();
      }
    });
}
