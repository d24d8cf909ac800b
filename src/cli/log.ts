/**
 * Logs are pino JSON lines on stderr (fd 2), never on stdout: stdout carries the report only.
 * pino is loaded on first use (~16 ms of start-up that `analyze` without warnings never needs).
 */
import type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: string): Logger {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  return pino.pino({ level, base: { name: 'synwatch' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }));
}
