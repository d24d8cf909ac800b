/**
 * The --on-block runner alone, with real scripts in a temporary directory (no namespace needed):
 * argv and stdin, the timeout that kills the script's whole process group, a script that exits
 * without reading stdin, the concurrency cap, per-address order, the bounded queue, and a stop
 * that waits for queued runs.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlockCommand } from '../../src/observe/notify-command';
import { NotifyContext } from '../../src/observe/live-notifier';
import { Decision } from '../../src/enforce/contract';
import { FlagEvent } from '../../src/detect/events';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-notify-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ctx: NotifyContext = { host: 'test-host', iface: 'eth0', dryRun: false, nowUs: () => 1_700_000_000_000_000, activeBlocks: () => 1 };

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

function collectingLog(): { warn: (f: Record<string, unknown>, m: string) => void; lines: Array<[Record<string, unknown>, string]> } {
  const lines: Array<[Record<string, unknown>, string]> = [];
  return { warn: (f, m) => lines.push([f, m]), lines };
}

const flag: FlagEvent = { ip: '203.0.113.66', family: 4, tsUs: 1_700_000_000_000_000, reason: 'flood', halfOpen: 25, attempts: 40, completed: 0, incomplete: 40, distinctPorts: 1, synPerSecond: 812.4 };
const block: Decision = { action: 'block', ip: '203.0.113.66', tsUs: 1_700_000_000_500_000, reason: 'flood', expiresUs: 1_700_000_600_500_000 };
const unblock: Decision = { action: 'unblock', ip: '203.0.113.66', tsUs: 1_700_000_600_500_000, reason: 'ttl-expired' };

async function until(probe: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the --on-block command', () => {
  it('runs CMD <ip> incoming <pps> ban, then unban, with the decision as JSON on stdin', async () => {
    const out = path.join(dir, 'record');
    fs.mkdirSync(out);
    const cmd = script('record.sh', `printf '%s\\n' "$@" > "${out}/$4.argv"; cat > "${out}/$4.stdin"`);
    const log = collectingLog();
    const hook = new BlockCommand({ command: cmd, timeoutMs: 5000, concurrency: 2 }, ctx, log);
    hook.onDecision(block, flag);
    hook.onDecision({ ...block, action: 'renew' }, flag); // not a ban: no run
    hook.onDecision(unblock, flag);
    await hook.close(5000);
    assert.deepEqual(fs.readFileSync(path.join(out, 'ban.argv'), 'utf8').split('\n'), ['203.0.113.66', 'incoming', '812', 'ban', '']);
    assert.deepEqual(fs.readFileSync(path.join(out, 'unban.argv'), 'utf8').split('\n'), ['203.0.113.66', 'incoming', '812', 'unban', '']);
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'ban.stdin'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(doc, {
      version: 1, action: 'ban', ip: '203.0.113.66', direction: 'incoming', pps: 812, host: 'test-host', interface: 'eth0',
      decision: { action: 'block', ip: '203.0.113.66', at: '2023-11-14T22:13:20.500000Z', reason: 'flood', expires: '2023-11-14T22:23:20.500000Z' },
      source: { reason: 'flood', flaggedAt: '2023-11-14T22:13:20.000000Z', synPerSecond: 812, halfOpen: 25, attempts: 40, completed: 0, incomplete: 40, distinctPorts: 1 },
      activeBlocks: 1,
    });
    assert.deepEqual({ ...hook.stats }, { queued: 0, started: 2, succeeded: 2, failed: 0, timedOut: 0, dropped: 0, running: 0 });
    assert.deepEqual(log.lines, []);
  });

  it('kills a run that outlives the timeout, with what it started, and says so', async () => {
    const pidFile = path.join(dir, 'sleeper.pid');
    const cmd = script('hang.sh', `sleep 600 & echo $! > "${pidFile}"; wait`);
    const log = collectingLog();
    const hook = new BlockCommand({ command: cmd, timeoutMs: 300, concurrency: 1 }, ctx, log);
    const t0 = Date.now();
    hook.onDecision(block, flag);
    await until(() => hook.stats.running === 0 && hook.stats.started === 1, 5000, 'the run to end');
    assert.ok(Date.now() - t0 < 3000, `killed after ${Date.now() - t0} ms`);
    assert.deepEqual([hook.stats.failed, hook.stats.timedOut], [1, 1]);
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));
    await until(() => !alive(sleeper), 2000, 'the script\'s child to be gone too');
    assert.equal(log.lines.length, 1);
    assert.equal(log.lines[0][1], 'on-block command failed');
    assert.match(String(log.lines[0][0].failure), /timed out after 300 ms, killed/);
  });

  it('counts a script that exits 1 without reading stdin as a failure, quoting its stderr, and goes on', async () => {
    const cmd = script('fail.sh', 'echo "no route to the scrubber" >&2; exit 1');
    const log = collectingLog();
    const hook = new BlockCommand({ command: cmd, timeoutMs: 5000, concurrency: 1 }, ctx, log);
    // A large stdin document makes the EPIPE certain: it does not fit the pipe the script never reads.
    hook.onDecision({ ...block, detail: 'x'.repeat(200_000) }, flag);
    hook.onDecision({ ...block, ip: '203.0.113.67' }, undefined);
    await hook.close(5000);
    assert.deepEqual([hook.stats.started, hook.stats.failed, hook.stats.succeeded], [2, 2, 0]);
    assert.match(String(log.lines[0][0].failure), /exit code 1/);
    assert.equal(log.lines[0][0].stderr, 'no route to the scrubber');
    assert.equal(log.lines.length, 1, 'the second failure is held back by the rate limit');
  });

  it('runs at most --on-block-concurrency at once, never two for one address, and drops beyond the queue', async () => {
    const out = path.join(dir, 'spans');
    fs.mkdirSync(out);
    const cmd = script('slow.sh', `echo "start $(date +%s%N)" >> "${out}/$1"; sleep 0.2; echo "end $(date +%s%N)" >> "${out}/$1"`);
    const log = collectingLog();
    const hook = new BlockCommand({ command: cmd, timeoutMs: 5000, concurrency: 2, queueMax: 5 }, ctx, log);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, hook.stats.running); }, 5);
    // 3 addresses, ban + unban each: 6 runs; 2 start at once, 4 queue... then one more fills it, one is dropped.
    for (const ip of ['203.0.113.70', '203.0.113.71', '203.0.113.72']) {
      hook.onDecision({ ...block, ip }, undefined);
      hook.onDecision({ ...unblock, ip }, undefined);
    }
    hook.onDecision({ ...block, ip: '203.0.113.73' }, undefined);
    hook.onDecision({ ...block, ip: '203.0.113.74' }, undefined);
    await hook.close(10_000);
    clearInterval(sampler);
    assert.equal(peak, 2);
    assert.deepEqual([hook.stats.started, hook.stats.succeeded, hook.stats.dropped], [7, 7, 1]);
    assert.ok(log.lines.some(([, m]) => /queue full/.test(m)), 'the drop is warned about');
    for (const ip of ['203.0.113.70', '203.0.113.71', '203.0.113.72']) {
      const lines = fs.readFileSync(path.join(out, ip), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
      assert.deepEqual(lines, ['start', 'end', 'start', 'end'], `${ip}: its ban and unban overlapped`);
    }
  });

  it('gives up on what is left when stopping takes longer than the grace period', async () => {
    const cmd = script('hang2.sh', 'exec sleep 600');
    const hook = new BlockCommand({ command: cmd, timeoutMs: 60_000, concurrency: 1 }, ctx, collectingLog());
    hook.onDecision(block, flag);
    hook.onDecision(unblock, flag);
    const t0 = Date.now();
    await hook.close(300);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(hook.stats.dropped, 1, 'the queued unban');
    await until(() => hook.stats.running === 0, 2000, 'the killed run to end');
    assert.equal(hook.stats.failed, 1);
  });
});
