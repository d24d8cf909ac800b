/** Run the real CLI as a user would, and capture what they would see. */
import { spawnSync } from 'node:child_process';
import { CLI } from './paths';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `synwatch analyze --json FILE` parsed; fails the test with stderr when it doesn't exit 0. */
export function analyzeJson(file: string, extra: string[] = []): any {
  const r = runCli(['analyze', '--json', ...extra, file]);
  if (r.status !== 0) throw new Error(`analyze ${file} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** True when the text looks like a JavaScript stack trace (what users must never see). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[(:]\d+/m.test(text) || /\n\s+at (?:async )?[\w.<>]+ \(/.test(text);
}

/** Async variant, for running many captures a few at a time. */
export function runCliAsync(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { execFile } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ status, stdout, stderr });
      });
  });
}
