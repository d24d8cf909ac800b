/**
 * Command-line plumbing of the live benchmarks (latency.ts, load.ts): flags read in order, each
 * value taken by the flag itself (so a value may start with "--": `--synwatch-args "--buffer-mib
 * 64"`), `--help` printing the file's top comment, and main()'s exit code or error (a usage
 * error: one line and exit 2; anything else: the stack and exit 1).
 */
import * as fs from 'node:fs';

/** A bad command line: reported as one line naming the flag, exit 2. */
export class UsageError extends Error {}

/**
 * Calls on(flag, value) for each argument; value() takes the next one (an error if there is
 * none). on returns false for a flag it does not know. --help/-h prints the first doc comment
 * of `file` (the compiled script: tsc keeps it, after its "use strict" and import helpers) and
 * exits 0.
 */
export function eachFlag(argv: string[], file: string, on: (flag: string, value: () => string) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--help' || k === '-h') {
      process.stdout.write(`${/\/\*\*[\s\S]*?\*\//.exec(fs.readFileSync(file, 'utf8'))?.[0] ?? ''}\n`);
      process.exit(0);
    }
    const value = () => {
      const x = argv[++i];
      if (x === undefined) throw new UsageError(`${k} needs a value`);
      return x;
    };
    if (!on(k, value)) throw new UsageError(`unknown argument ${k}`);
  }
}

/** Runs main and sets the exit code: its result; 2 and one line for a usage error; else 1 and the stack. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then((code) => {
    process.exitCode = code;
  }, (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${name} failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
