/**
 * The edges of `synwatch live`'s status socket and metrics listener, with the real CLI in the
 * namespace lab (test/e2e/lab.ts): a socket left by `kill -9` is reported as such and replaced
 * at the next start; a second live on the same state directory is refused; --metrics-listen
 * refuses bad values (exit 2) and a taken port (exit 1), each in one line naming the option, and
 * a refused start leaves no socket behind. Live runs with --dry-run: no route is touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, labUnavailableReason } from '../e2e/lab';
import { liveUnavailableReason } from '../e2e/synwatch';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;

/** stderr's lines, pino's JSON log lines left out. */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

describe('status socket and metrics listener: stale, in use, refused', { skip, concurrency: false }, () => {
  let lab: Lab;
  const dir = (name: string) => path.join(lab.dir, name);
  const live = (stateDir: string, extra: string[] = []) =>
    lab.synwatch(['live', '-i', lab.serverIface, '--dry-run', '--state-dir', stateDir, ...extra]);

  before(async () => {
    lab = await Lab.create({ attackers4: 1, attackers6: 0, httpServer: false });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('status with no live process: one line, exit 1', async () => {
    const r = await lab.synwatchOnce(['status', '--state-dir', dir('never')]);
    assert.equal(r.code, 1);
    assert.deepEqual(plainLines(r.stderr), [`synwatch: no synwatch live is running with state directory ${dir('never')} (no status.sock there)`]);
    assert.equal(r.stdout, '');
  });

  it('a socket left by kill -9 is named stale by status, and replaced by the next live', async () => {
    const state = dir('crashed');
    const first = await live(state);
    first.signal('SIGKILL');
    await first.exited;
    const sock = path.join(state, 'status.sock');
    assert.ok(fs.lstatSync(sock).isSocket(), 'kill -9 leaves the socket');
    const stale = await lab.synwatchOnce(['status', '--state-dir', state]);
    assert.equal(stale.code, 1);
    assert.match(plainLines(stale.stderr)[0], /^synwatch: no synwatch live is running with state directory .*status\.sock is left from a run that did not stop cleanly\)$/);
    const second = await live(state);
    const s = await lab.synwatchOnce(['status', '--json', '--state-dir', state]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal((JSON.parse(s.stdout) as { pid: number }).pid, second.pid, 'the new process answers');
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);

    const third = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--state-dir', state], 20_000);
    assert.equal(third.code, 1, third.stderr);
    assert.deepEqual(plainLines(third.stderr), [`synwatch: another synwatch live is running with this state directory (${sock} answers): one live per --state-dir`]);
    assert.ok(fs.lstatSync(sock).isSocket(), 'the refused start leaves the running one\'s socket alone');
    const still = await lab.synwatchOnce(['status', '--json', '--state-dir', state]);
    assert.equal((JSON.parse(still.stdout) as { pid: number }).pid, second.pid);
    assert.equal((await second.stop(5000)).code, 0);
    assert.ok(!fs.existsSync(sock), 'removed on exit');
  });

  it('--metrics-listen refuses values that are not ADDR:PORT: exit 2, one line naming the option', async () => {
    for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', '[::1:9464', 'host name:1', '127.0.0.1:-1']) {
      const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--state-dir', dir('bad'), '--metrics-listen', bad]);
      assert.equal(r.code, 2, `${bad}: exit ${r.code}, ${r.stderr}`);
      const lines = plainLines(r.stderr);
      assert.equal(lines.length, 1, `${bad}: ${r.stderr}`);
      assert.match(lines[0], /--metrics-listen/, bad);
      assert.ok(lines[0].includes(bad), `${bad}: the line quotes the value`);
    }
    assert.ok(!fs.existsSync(dir('bad')), 'nothing written for a refused start');
  });

  it('--metrics-listen on a taken port: exit 1, one line naming the option, no socket left', async () => {
    // A listener on the server namespace's loopback takes the port (inside the lab, never the host's).
    const holder = lab.spawn('server', process.execPath, ['-e', "require('net').createServer().listen(9465, '127.0.0.1', () => console.log('up')); setTimeout(() => {}, 60000)"], { label: 'port holder' });
    await new Promise<void>((resolve) => holder.child.stdout!.once('data', () => resolve()));
    const state = dir('port');
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--state-dir', state, '--metrics-listen', '127.0.0.1:9465'], 20_000);
    await holder.stop(1000);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(plainLines(r.stderr), ['synwatch: --metrics-listen 127.0.0.1:9465: cannot listen (EADDRINUSE)']);
    assert.ok(!fs.existsSync(path.join(state, 'status.sock')), 'the status socket is removed');
  });

  it('a --state-dir too long for a unix socket is refused in one line', async () => {
    const long = path.join(lab.dir, 'x'.repeat(100));
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--dry-run', '--state-dir', long], 20_000);
    assert.equal(r.code, 1, r.stderr);
    const lines = plainLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /status socket .*: path longer than 107 bytes .*use a shorter --state-dir$/);
  });
});
