/**
 * Ledger: replay, torn last line, compaction, reconcile against a RecordingBackend, and the
 * typed error for an unusable state dir. Files live in a fresh temp dir per test.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger, LedgerError, readLedger, replayLedgerText, type ActiveBlock } from '../../src/enforce/ledger';
import { isoUs } from '../../src/report/time';
import { Allowlist } from '../../src/enforce/allowlist';
import type { Decision } from '../../src/enforce/contract';
import { BlockPolicy } from '../../src/enforce/policy';
import { RecordingBackend } from '../../src/enforce/recording';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ledger-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function block(ip: string, sinceUs: number, expiresUs: number): ActiveBlock {
  return { ip, family: ip.includes(':') ? 6 : 4, type: 'unreachable', reason: 'flood', sinceUs, expiresUs };
}

test('records are JSON lines with µs and UTC ISO times; replay gives the active set', () => {
  const l = Ledger.open(dir);
  l.recordBlock(block('203.0.113.5', T0, T0 + 600 * S), T0);
  l.recordBlock(block('2001:db8::5', T0, T0 + 600 * S), T0);
  l.recordRenew({ ip: '203.0.113.5', family: 4, type: 'unreachable', expiresUs: T0 + 900 * S }, T0 + 300 * S);
  l.recordUnblock(block('2001:db8::5', 0, 0), 'operator', T0 + 400 * S);
  l.recordRenew({ ip: '2001:db8::5', family: 6, type: 'unreachable', expiresUs: T0 + 999 * S }, T0 + 401 * S); // after unblock: moot
  l.close();
  const lines = fs.readFileSync(path.join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
  assert.equal(lines.length, 5);
  assert.deepEqual(lines[0], {
    v: 1, op: 'block', ip: '203.0.113.5', family: 4, type: 'unreachable', reason: 'flood', atUs: T0, at: '2023-11-14T22:13:20.000000Z',
    sinceUs: T0, since: '2023-11-14T22:13:20.000000Z', expiresUs: T0 + 600 * S, expires: '2023-11-14T22:23:20.000000Z',
  });
  assert.deepEqual(readLedger(dir).blocks, [block('203.0.113.5', T0, T0 + 900 * S)]);
});

test('a torn last line is ignored with a warning and cut before the next append', () => {
  const l = Ledger.open(dir);
  l.recordBlock(block('203.0.113.5', T0, T0 + 600 * S), T0);
  l.close();
  const file = path.join(dir, 'ledger.jsonl');
  fs.appendFileSync(file, '{"v":1,"op":"block","ip":"203.0.113.6","fam'); // crash mid-write
  const r = readLedger(dir);
  assert.deepEqual(r.blocks.map((b) => b.ip), ['203.0.113.5']);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /torn last line 2 ignored/);
  const warnings: string[] = [];
  const l2 = Ledger.open(dir, { warn: (m) => warnings.push(m) });
  l2.recordBlock(block('203.0.113.7', T0, T0 + 600 * S), T0);
  l2.close();
  assert.equal(warnings.length, 1);
  const again = readLedger(dir);
  assert.deepEqual(again.warnings, []);
  assert.deepEqual(again.blocks.map((b) => b.ip), ['203.0.113.5', '203.0.113.7']);
});

test('garbage in the middle is skipped with a warning naming the line', () => {
  const good = JSON.stringify({ v: 1, op: 'block', ip: '203.0.113.5', family: 4, type: 'unreachable', reason: 'flood', atUs: T0, sinceUs: T0, expiresUs: T0 + S });
  const r = replayLedgerText(`not json\n${good}\n{"v":2}\n`, 'L');
  assert.deepEqual(r.blocks.map((b) => b.ip), ['203.0.113.5']);
  assert.deepEqual(r.warnings.map((w) => w.slice(0, 12)), ['L: line 1 is', 'L: line 3 is']);
});

test('reconcile: re-installs unexpired, removes expired and orphans, keeps foreign routes, compacts', () => {
  const l = Ledger.open(dir);
  l.recordBlock(block('203.0.113.5', T0, T0 + 600 * S), T0); // unexpired, route lost (reboot)
  l.recordBlock(block('203.0.113.6', T0, T0 + 10 * S), T0); // expired while down
  l.recordBlock(block('2001:db8::7', T0, T0 + 600 * S), T0);
  l.recordUnblock(block('2001:db8::7', 0, 0), 'ttl-expired', T0 + 5 * S);
  l.recordBlock(block('2001:db8::8', T0, T0 + 600 * S), T0); // unexpired, route present
  const backend = new RecordingBackend({
    initial: [
      { ip: '203.0.113.6', family: 4, type: 'unreachable' },
      { ip: '2001:db8::8', family: 6, type: 'unreachable' },
      { ip: '198.51.100.66', family: 4, type: 'blackhole' }, // orphan: ours, unknown to the ledger
    ],
  });
  const report = l.reconcile(T0 + 100 * S, backend);
  assert.deepEqual(report.restored.map((b) => b.ip), ['203.0.113.5', '2001:db8::8']);
  assert.deepEqual(report.expired.map((b) => b.ip), ['203.0.113.6']);
  assert.deepEqual(report.orphans, [{ ip: '198.51.100.66', family: 4, type: 'blackhole' }]);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(backend.list().map((r) => r.ip), ['203.0.113.5', '2001:db8::8']);
  // Compacted: one block record per active block, and appends still go to the new file.
  const text = fs.readFileSync(l.path, 'utf8');
  assert.equal(text.trim().split('\n').length, 2);
  assert.ok(!fs.existsSync(`${l.path}.tmp`));
  l.recordUnblock(block('203.0.113.5', 0, 0), 'operator', T0 + 101 * S);
  l.close();
  assert.deepEqual(readLedger(dir).blocks.map((b) => b.ip), ['2001:db8::8']);
});

test('reconcile collects backend errors; an expired block whose delete failed stays for retry', () => {
  const l = Ledger.open(dir);
  l.recordBlock(block('203.0.113.5', T0, T0 + 600 * S), T0);
  l.recordBlock(block('203.0.113.6', T0, T0 + 10 * S), T0);
  const backend = new RecordingBackend({ fail: (c) => (c.op === 'add' ? 'ENOBUFS' : c.op === 'del' ? 'EPERM' : undefined) });
  const report = l.reconcile(T0 + 100 * S, backend);
  l.close();
  assert.deepEqual(report.errors.map((e) => [e.ip, e.op, e.code]), [['203.0.113.5', 'add', 'ENOBUFS'], ['203.0.113.6', 'del', 'EPERM']]);
  assert.deepEqual(report.restored.map((b) => b.ip), ['203.0.113.6']);
  assert.deepEqual(readLedger(dir).blocks.map((b) => b.ip), ['203.0.113.6']);
});

test('policy.restore puts the reconcile outcome on the timeline and adopts restored blocks', () => {
  const l = Ledger.open(dir);
  l.recordBlock(block('203.0.113.5', T0, T0 + 600 * S), T0);
  l.recordBlock(block('203.0.113.6', T0, T0 + 10 * S), T0);
  const backend = new RecordingBackend({ initial: [{ ip: '198.51.100.66', family: 4, type: 'unreachable' }] });
  const decisions: Decision[] = [];
  const policy = new BlockPolicy({ ttlSeconds: 600, maxActiveBlocks: 10, maxNewBlocksPerSecond: 5, routeType: 'unreachable', dryRun: false,
    allowlist: new Allowlist() }, backend, l, (d) => decisions.push(d));
  policy.restore(l.reconcile(T0 + 100 * S, backend), T0 + 100 * S);
  assert.deepEqual(decisions.map((d) => `${d.action} ${d.ip} ${d.reason}`), [
    'block 203.0.113.5 flood', 'unblock 203.0.113.6 ttl-expired', 'unblock 198.51.100.66 orphan',
  ]);
  policy.tick(T0 + 600 * S);
  assert.equal(decisions.at(-1)!.action, 'unblock');
  l.close();
  assert.deepEqual(readLedger(dir).blocks, []);
});

test('a state dir that cannot be created or written is a LedgerError naming it', () => {
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, '');
  assert.throws(() => Ledger.open(path.join(file, 'state')), (e: unknown) => {
    assert.ok(e instanceof LedgerError);
    assert.equal(e.code, 'ELEDGER');
    assert.match(e.message, /^cannot create state dir .*plain-file\/state: ENOTDIR$/);
    return true;
  });
  // Node's own recursive mkdir would spin forever here.
  assert.throws(() => Ledger.open('/proc/synwatch-test-nope/state'), /^LedgerError: cannot create state dir \/proc\/synwatch-test-nope\/state: ENOENT$/);
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  fs.chmodSync(ro, 0o500);
  if (process.getuid?.() !== 0) {
    assert.throws(() => Ledger.open(ro), /cannot open ledger in state dir .*ro\/ledger\.jsonl: EACCES/);
  }
  assert.deepEqual(readLedger(path.join(dir, 'absent')).blocks, []);
});

test('isoUs converts caller time, not the clock, with microseconds', () => {
  assert.equal(isoUs(0), '1970-01-01T00:00:00.000000Z');
  assert.equal(isoUs(T0 + 1500), '2023-11-14T22:13:20.001500Z');
});
