/**
 * Logs are pino JSON lines on stderr (fd 2), never on stdout: stdout carries the report only.
 */
import pino, { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: string): Logger {
  return pino({ level, base: { name: 'synwatch' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }));
}
