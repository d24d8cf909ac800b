/**
 * Errors at the CLI edge. A UsageError exits 2, any other known error exits 1; both print one
 * line on stderr and no stack trace (SYNWATCH_DEBUG=1 prints the stack for developers).
 */
import { InvalidArgumentError } from 'commander';
import { AllowlistError } from '../enforce/allowlist';
import { ConfigError } from '../enforce/config';
import { RouteError } from '../enforce/routes';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** Print one line for `err` and return the exit code it deserves. */
export function reportError(err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err));
  const usage = e instanceof UsageError;
  process.stderr.write(`synwatch: ${e.message.split('\n')[0]}\n`);
  if (process.env.SYNWATCH_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
  return usage ? EXIT_USAGE : EXIT_ERROR;
}

/**
 * Configuration mistakes are usage errors (exit 2): a ConfigError or AllowlistError from `parse`
 * becomes a UsageError with the same message, which already names the option or the file.
 */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw asUsageError(e);
  }
}

/** `usage` for work that validates its configuration inside a promise (analyzeCapture). */
export async function usageAsync<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw asUsageError(e);
  }
}

function asUsageError(e: unknown): unknown {
  return e instanceof ConfigError || e instanceof AllowlistError ? new UsageError(e.message) : e;
}

/** An option value a backend parser refused (RouteError EINVAL, naming the option) is a usage error. */
export function usageOnRouteError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw e instanceof RouteError && e.code === 'EINVAL' ? new UsageError(e.message) : e;
  }
}

/** commander argument parsers that name the option in their message. */
export function positiveInt(option: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${option} takes a whole number >= 1, got '${value}'`);
    }
    if (n > max) throw new InvalidArgumentError(`${option} is at most ${max}, got '${value}'`);
    return n;
  };
}

export function positiveSeconds(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${option} takes a number of seconds > 0, got '${value}'`);
    }
    return n;
  };
}

export function ratio(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${option} takes a number from 0 to 1, got '${value}'`);
    }
    return n;
  };
}

export function nonNegativeSeconds(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`${option} takes a number of seconds >= 0, got '${value}'`);
    }
    return n;
  };
}

export function positiveNumber(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${option} takes a number > 0, got '${value}'`);
    }
    return n;
  };
}

export function intInRange(option: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${option} takes a whole number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}
