/**
 * Every one of tcpdump's ~830 regression captures and Zeek's 81 traces (28 link types, pcapng,
 * big-endian, nanosecond, fuzzer-found damage) goes through the real CLI: it finishes in bounded
 * time, exits 0 (analyzed) or 1 (one-line error), and never prints a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS, HAVE_CORPUS, NO_CORPUS_REASON } from '../support/paths';
import { hasStackTrace, runCliAsync } from '../support/cli';

const PARALLEL = Math.max(2, require('node:os').cpus().length);

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

test('no crash, hang or stack trace on any tcpdump or Zeek capture', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, async () => {
  const files = ['tcpdump-tests', 'zeek-traces'].flatMap((d) => walk(path.join(CORPUS, d))).sort();
  assert.ok(files.length > 900, `found ${files.length} captures`);
  const problems: string[] = [];
  let analyzed = 0, refused = 0;
  let next = 0;
  const one = async (f: string) => {
    const r = await runCliAsync(['analyze', '--json', f], 30_000);
    const rel = path.relative(CORPUS, f);
    if (r.status === 0) {
      analyzed++;
      try {
        JSON.parse(r.stdout);
      } catch {
        problems.push(`${rel}: exit 0 but stdout is not one JSON document`);
      }
    } else if (r.status === 1) {
      refused++;
      const lines = r.stderr.trim().split('\n');
      if (lines.length !== 1 || !lines[0].startsWith('synwatch: ')) problems.push(`${rel}: exit 1 without a one-line error: ${r.stderr.slice(0, 200)}`);
    } else {
      problems.push(`${rel}: exit ${r.status} (signal or timeout)`);
    }
    if (hasStackTrace(r.stderr) || hasStackTrace(r.stdout)) problems.push(`${rel}: stack trace`);
  };
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < files.length) await one(files[next++]);
  }));
  problems.sort();
  assert.deepEqual(problems, []);
  // Nearly all are real captures: the ones refused must be files that are not captures at all.
  assert.ok(analyzed > 880, `${analyzed} analyzed, ${refused} refused with a one-line error`);
});
