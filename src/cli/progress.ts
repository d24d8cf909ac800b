/**
 * A progress line on stderr for long reads, only when stderr is a terminal (silent in pipes,
 * logs and CI). Redrawn at most every 200 ms of wall time: the wall clock is fine here, at the
 * edge, where it measures the operator's wait and nothing else.
 */
const REDRAW_MS = 200;

export function progressReporter(file: string): { onProgress: (read: number, total: number | null) => void; done: () => void } {
  if (!process.stderr.isTTY) return { onProgress: () => {}, done: () => {} };
  let last = 0;
  let drawn = false;
  return {
    onProgress(read, total) {
      const now = Date.now();
      if (now - last < REDRAW_MS) return;
      last = now;
      drawn = true;
      const mib = (read / 1048576).toFixed(0);
      const pct = total ? ` ${((100 * read) / total).toFixed(0)}%` : '';
      process.stderr.write(`\rreading ${file}: ${mib} MiB${pct}   `);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
