/**
 * The tracker's segment batch (tracker.ts) is an engine detail: a capture analyzed one segment at
 * a time (live's setting) and in batches must give the same report, event for event. Checked on
 * every fixture and on the corpus's attack captures (spoofed floods, scans, resets, IPv6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeCapture } from '../../src/analyze';
import { CAPTURE_FILE, CORPUS, FIXTURES, HAVE_CORPUS, NO_CORPUS_REASON } from '../support/paths';

async function reportWith(file: string, segmentBatch: number, flags = {}) {
  const a = await analyzeCapture(file, flags, undefined, { segmentBatch });
  return JSON.parse(JSON.stringify(a.report));
}

const fixtures = fs.readdirSync(FIXTURES).filter((f) => CAPTURE_FILE.test(f)).sort();

test('fixtures: batch 1, 7 and 64 give the same report', async () => {
  assert.ok(fixtures.length >= 19);
  for (const f of fixtures) {
    const file = path.join(FIXTURES, f);
    const one = await reportWith(file, 1);
    assert.deepEqual(await reportWith(file, 7), one, `${f}: batch 7`);
    assert.deepEqual(await reportWith(file, 64), one, `${f}: batch 64`);
  }
});

test('fixtures under a tiny attempt budget (evictions across IPv4 and IPv6): batch 1 and 64 agree', async () => {
  for (const f of fixtures) {
    const file = path.join(FIXTURES, f);
    const flags = { maxAttempts: 3, maxSources: 2 };
    assert.deepEqual(await reportWith(file, 64, flags), await reportWith(file, 1, flags), f);
  }
});

test('corpus attack captures: batch 1 and 64 give the same report', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, async () => {
  const dir = path.join(CORPUS, 'A-synflood');
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.json')).sort();
  assert.ok(files.length >= 10, `${files.length} captures in ${dir}`);
  for (const f of files) {
    const file = path.join(dir, f);
    assert.deepEqual(await reportWith(file, 64), await reportWith(file, 1), f);
  }
});
