/**
 * Golden tests over fixtures/: every capture there is analyzed and replayed by the real CLI.
 * - The counts and verdicts must equal the independent oracle (fixtures/scenarios.json from the
 *   generator's own bookkeeping; fixtures/real-tools.json and botnets.json from tshark's truth.sh
 *   and what each capture was made to show).
 * - `analyze --json` must equal NAME.expected.json byte for byte, and `replay` must match
 *   NAME.replay.json: any change of output or policy shows up as a diff to review.
 * Regenerate the golden files on purpose with `npm run fixtures:update` (SYNWATCH_UPDATE_GOLDEN=1).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPTURE_FILE, FIXTURES, REPO_ROOT } from '../support/paths';
import { runCli } from '../support/cli';

const UPDATE = process.env.SYNWATCH_UPDATE_GOLDEN === '1';
const oracle: Record<string, any> = {
  ...JSON.parse(fs.readFileSync(path.join(FIXTURES, 'scenarios.json'), 'utf8')),
  ...JSON.parse(fs.readFileSync(path.join(FIXTURES, 'real-tools.json'), 'utf8')),
  ...JSON.parse(fs.readFileSync(path.join(FIXTURES, 'botnets.json'), 'utf8')),
};
const captures = fs.readdirSync(FIXTURES).filter((f) => CAPTURE_FILE.test(f)).sort();

/** Run the CLI from the repository root with a relative path, so outputs name the file the same everywhere. */
function cli(args: string[]) {
  const cwd = process.cwd();
  process.chdir(REPO_ROOT);
  try {
    return runCli(args);
  } finally {
    process.chdir(cwd);
  }
}

test('every fixture has an oracle entry and every oracle entry a fixture', () => {
  assert.deepEqual(captures, Object.keys(oracle).sort());
});

for (const name of captures) {
  describe(name, () => {
    const rel = path.join('fixtures', name);
    const base = name.replace(CAPTURE_FILE, '');
    const expectedFile = path.join(FIXTURES, `${base}.expected.json`);
    const replayFile = path.join(FIXTURES, `${base}.replay.json`);
    const r = cli(['analyze', '--json', rel]);

    test('analyze exits 0 with a JSON report', () => {
      assert.equal(r.status, 0, r.stderr);
    });

    test('counts and verdicts equal the oracle', () => {
      const report = JSON.parse(r.stdout);
      const want = oracle[name];
      const t = report.totals;
      assert.deepEqual(
        { attempts: t.attempts, completed: t.completed, synOnly: t.synOnly, synAck: t.synAck, frames: t.packets },
        { attempts: want.attempts, completed: want.completed, synOnly: want.synOnly, synAck: want.synAck, frames: want.frames },
      );
      const flagged = report.sources.filter((s: any) => s.flagged);
      assert.deepEqual(flagged.map((s: any) => s.ip).sort(), want.flagged);
      assert.deepEqual(Object.fromEntries(flagged.map((s: any) => [s.ip, s.reason])), want.reasons);
      assert.deepEqual(report.alerts.map((a: any) => a.kind).sort(), [...want.alerts].sort());
    });

    test('analyze --json equals the golden report', () => {
      if (UPDATE) fs.writeFileSync(expectedFile, r.stdout);
      assert.ok(fs.existsSync(expectedFile), `${expectedFile} missing: run npm run fixtures:update`);
      assert.equal(r.stdout, fs.readFileSync(expectedFile, 'utf8'));
    });

    test('replay matches its expectation (the CI test of the decision timeline)', () => {
      if (UPDATE) {
        const u = cli(['replay', rel, '--expect', replayFile, '--update']);
        assert.equal(u.status, 0, u.stderr);
      }
      const p = cli(['replay', rel, '--expect', replayFile]);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stderr, /matches/);
    });
  });
}
