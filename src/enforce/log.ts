/**
 * Decisions as log lines: one pino JSON line per decision on stderr (fd 2), so stdout stays
 * free for a command's own output (tables, JSON).
 *
 * Contract: decisionLogSink(logger) returns a DecisionSink writing
 *   {"level":..,"time":..,"msg":"decision","action","ip","reason","ts","tsUs"[,"expires","expiresUs"][,"detail"]}
 * with level warn for alerts and info otherwise. `ts`/`expires` are the decision's own (caller)
 * time as UTC ISO; pino's `time` is when the line was written.
 */
import pino from 'pino';
import type { Decision, DecisionSink } from './contract';
import { isoFromUs } from './ledger';

/** Synchronous destination: a decision is on stderr before the call returns (no lost tail on exit). */
export function createStderrLogger(name = 'synwatch'): pino.Logger {
  return pino({ name, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}

export function decisionLogFields(d: Decision): Record<string, unknown> {
  const fields: Record<string, unknown> = { action: d.action, ip: d.ip, reason: d.reason, ts: isoFromUs(d.tsUs), tsUs: d.tsUs };
  if (d.expiresUs !== undefined) {
    fields.expires = isoFromUs(d.expiresUs);
    fields.expiresUs = d.expiresUs;
  }
  if (d.detail !== undefined) fields.detail = d.detail;
  return fields;
}

export function decisionLogSink(logger: pino.Logger): DecisionSink {
  return (d) => {
    if (d.action === 'alert') logger.warn(decisionLogFields(d), 'decision');
    else logger.info(decisionLogFields(d), 'decision');
  };
}
