/**
 * `synwatch replay` as an operator's CI uses it: deterministic output, --update then --expect,
 * a readable diff that names the source when a decision changes, and the exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES } from '../support/paths';
import { runCli } from '../support/cli';

const FLOOD = path.join(FIXTURES, 'real-hping3-flood.pcap');
const SLOW = path.join(FIXTURES, 'slow-source.pcap');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synwatch-replay-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('two replays of one capture give byte-identical --json', () => {
  const a = runCli(['replay', '--json', SLOW]);
  const b = runCli(['replay', '--json', SLOW]);
  assert.equal(a.status, 0, a.stderr);
  assert.ok(a.stdout.includes('"action":"block"'));
  assert.equal(a.stdout, b.stdout);
});

test('--update then --expect passes; editing a decision fails and the diff names the source', () => {
  const exp = path.join(tmp, 'flood.json');
  const u = runCli(['replay', FLOOD, '--expect', exp, '--update']);
  assert.equal(u.status, 0, u.stderr);
  const ok = runCli(['replay', FLOOD, '--expect', exp]);
  assert.equal(ok.status, 0, ok.stderr);

  const original = fs.readFileSync(exp, 'utf8');
  fs.writeFileSync(exp, original.replace('"ip":"203.0.113.66"', '"ip":"203.0.113.99"'));
  const bad = runCli(['replay', FLOOD, '--expect', exp]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /- block 203\.0\.113\.99 \(flood\) at \+[\d.]+s: missing/);
  assert.match(bad.stderr, /\+ block 203\.0\.113\.66 \(flood\) at \+[\d.]+s: not expected/);

  // A decision moved by more than the tolerance is a difference; within it, a match.
  const t = /"t":([\d.]+),"action":"block"/.exec(original)![1];
  fs.writeFileSync(exp, original.replace(`"t":${t}`, `"t":${(Number(t) + 0.5).toFixed(6)}`));
  assert.equal(runCli(['replay', FLOOD, '--expect', exp]).status, 0, 'within the 1 s tolerance');
  assert.equal(runCli(['replay', FLOOD, '--expect', exp, '--tolerance', '0.1']).status, 1, 'outside a 0.1 s tolerance');
});

test('the replay applies the live policy: TTL expiry unblocks, renewals while the source keeps attacking', () => {
  const r = runCli(['replay', '--json', SLOW, '--block-ttl', '20']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  const actions = e.decisions.filter((d: any) => d.ip === '203.0.113.45').map((d: any) => d.action);
  assert.equal(actions[0], 'block');
  assert.ok(actions.includes('renew'), `renewed: ${actions}`);
  assert.equal(actions[actions.length - 1], 'unblock');
  assert.equal(e.decisions.find((d: any) => d.action === 'unblock').reason, 'ttl-expired');
});

test('the allowlist from --allow applies in replay as in live', () => {
  const r = runCli(['replay', '--json', FLOOD, '--allow', '203.0.113.0/24']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.deepEqual(e.decisions.map((d: any) => [d.action, d.ip, d.reason]), [['skip', '203.0.113.66', 'allowlisted']]);
});

test('usage errors exit 2 with one line naming the option', () => {
  const r = runCli(['replay', FLOOD, '--update']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--update needs --expect/);
  const t = runCli(['replay', FLOOD, '--tolerance', 'soon']);
  assert.equal(t.status, 2);
  assert.match(t.stderr, /--tolerance/);
  // A table too large to reserve is refused by name, not by a typed-array error from deep inside.
  const m = runCli(['analyze', FLOOD, '--max-attempts', '2000000000']);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /--max-attempts is at most 16777216/);
  assert.equal(m.stderr.trim().split('\n').length, 1);
});

test('a missing expectation file is an error (exit 1), not a silent pass', () => {
  const r = runCli(['replay', FLOOD, '--expect', path.join(tmp, 'nope.json')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no such expectation file/);
});
