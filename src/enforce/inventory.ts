/**
 * What synwatch has blocked right now, seen from both sides: the kernel's routes carrying
 * synwatch's marker (or the elements of synwatch's nftables sets: whatever the backend lists)
 * and the ledger in the state dir. Used by `synwatch blocks` and `unblock`,
 * which run beside (or without) the daemon.
 *
 * Contract: one row per address, sorted by address. state:
 *   "active"  - route present and in the ledger, expiry in the future;
 *   "expired" - route present, ledger expiry passed (the daemon removes it on its next tick/start);
 *   "orphan"  - route with synwatch's marker, unknown to the ledger (removed at the next start);
 *   "missing" - in the ledger, no route (removed by hand; re-installed at the next start).
 * Routes without synwatch's marker never appear: backends list only their own.
 */
import type { BlockBackend, BlockType } from './contract';
import { readLedger } from './ledger';
import { compareIp } from './routes';

export type BlockState = 'active' | 'expired' | 'orphan' | 'missing';

export interface BlockRow {
  ip: string;
  family: 4 | 6;
  type: BlockType;
  state: BlockState;
  reason?: string;
  sinceUs?: number;
  expiresUs?: number;
}

export interface Inventory {
  rows: BlockRow[];
  /** Ledger warnings (torn line, ...) for the caller to print. */
  warnings: string[];
}

export function inventory(backend: BlockBackend, stateDir: string, nowUs: number): Inventory {
  const routes = backend.list();
  const ledger = readLedger(stateDir);
  const inLedger = new Map(ledger.blocks.map((b) => [b.ip, b]));
  const rows: BlockRow[] = [];
  for (const r of routes) {
    const b = inLedger.get(r.ip);
    inLedger.delete(r.ip);
    if (!b) rows.push({ ip: r.ip, family: r.family, type: r.type, state: 'orphan' });
    else rows.push({ ip: r.ip, family: r.family, type: r.type, state: b.expiresUs <= nowUs ? 'expired' : 'active',
      reason: b.reason, sinceUs: b.sinceUs, expiresUs: b.expiresUs });
  }
  for (const b of inLedger.values()) {
    rows.push({ ip: b.ip, family: b.family, type: b.type, state: 'missing', reason: b.reason, sinceUs: b.sinceUs, expiresUs: b.expiresUs });
  }
  rows.sort((a, b) => compareIp(a.ip, b.ip));
  return { rows, warnings: ledger.warnings };
}
