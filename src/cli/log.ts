/**
 * Logs go to stderr (fd 2), never to stdout: stdout carries the report only.
 * - stderr not a terminal (pipes, files, journald, the tests): pino JSON lines, one per event.
 * - stderr a terminal: the same records as readable lines with a status line redrawn in place
 *   (src/observe/terminal-log.ts has the format).
 * `--log-format json|text` forces either (default auto: the rule above).
 * pino is loaded on first use (~16 ms of start-up that `analyze` without warnings never needs).
 */
import type { Logger } from 'pino';
import { TerminalLogStream } from '../observe/terminal-log';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const LOG_FORMATS = ['auto', 'json', 'text'];

export function createLogger(level: string, format = 'auto'): Logger {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  const text = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
  return pino.pino({ level, base: { name: 'synwatch' }, timestamp: pino.stdTimeFunctions.isoTime },
    text ? new TerminalLogStream() : pino.destination({ dest: 2, sync: true }));
}
