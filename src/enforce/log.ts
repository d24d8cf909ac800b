/**
 * Decisions as log lines: one pino JSON line per decision, on the logger the CLI made
 * (src/cli/log.ts: stderr, fd 2, synchronous), so stdout stays free for a command's own output.
 *
 * Contract: decisionLogSink(logger) returns a DecisionSink writing
 *   {"level":..,"time":..,"msg":"decision","action","ip","reason","ts","tsUs"[,"expires","expiresUs"][,"detail"]}
 * with level warn for alerts and info otherwise. `ts`/`expires` are the decision's own (caller)
 * time as UTC ISO; pino's `time` is when the line was written.
 */
import type { Logger } from 'pino';
import type { Decision, DecisionSink } from './contract';
import { isoUs } from '../report/time';

export function decisionLogFields(d: Decision): Record<string, unknown> {
  const fields: Record<string, unknown> = { action: d.action, ip: d.ip, reason: d.reason, ts: isoUs(d.tsUs), tsUs: d.tsUs };
  if (d.expiresUs !== undefined) {
    fields.expires = isoUs(d.expiresUs);
    fields.expiresUs = d.expiresUs;
  }
  if (d.detail !== undefined) fields.detail = d.detail;
  return fields;
}

export function decisionLogSink(logger: Logger): DecisionSink {
  return (d) => {
    if (d.action === 'alert') logger.warn(decisionLogFields(d), 'decision');
    else logger.info(decisionLogFields(d), 'decision');
  };
}
