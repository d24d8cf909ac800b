/**
 * What the live benchmarks read about a running process from /proc (latency.ts, load.ts):
 * CPU time (utime + stime, every thread of the process) and resident memory. Plain reads, no
 * sampling thread: a benchmark reads before and after the span it measures.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc/PID/stat's times (`getconf CLK_TCK`, 100 on Linux/x86). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm)": state is field 3, utime 14, stime 15 -> indexes 11, 12 here
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** VmRSS of a process (/proc/PID/status), kB; null once it is gone. */
export function vmRssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Median of an ascending array (NaN when empty). */
export function median(sorted: number[]): number {
  if (sorted.length === 0) return NaN;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
