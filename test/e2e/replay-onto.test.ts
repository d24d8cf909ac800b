/**
 * A capture from a past attack drives a real `synwatch live` (issue: replay --onto): the frames
 * of fixtures/real-hping3-flood.pcap go onto the router's side of the server link, and live in
 * the server namespace must capture them and block the attacker with a real route, as the
 * replay's own timeline says it would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Lab, LabProcess, labUnavailableReason, REPO_ROOT, SYNWATCH_MAIN } from './lab';
import { decisions, liveUnavailableReason, startLive, SYNWATCH_PROTO, waitForRoute } from './synwatch';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;
const CAPTURE = path.join(REPO_ROOT, 'fixtures', 'real-hping3-flood.pcap');
const ATTACKER = '203.0.113.66';

describe('replay --onto drives live', { skip, concurrency: false }, () => {
  let lab: Lab | undefined;
  let live: LabProcess | undefined;
  before(async () => {
    lab = await Lab.create({ attackers4: 1, attackers6: 0, httpServer: false });
  });
  after(async () => {
    await live?.stop(5000);
    await lab?.destroy();
  });

  it('live blocks the source that the replayed capture says it would block', async () => {
    const replay = await lab!.exec('router', process.execPath, [SYNWATCH_MAIN, 'replay', '--json', CAPTURE]);
    const expected = JSON.parse(replay.stdout).decisions.filter((d: any) => d.action === 'block');
    assert.deepEqual(expected.map((d: any) => [d.ip, d.reason]), [[ATTACKER, 'flood']]);

    live = await startLive(lab!, { stateDir: path.join(lab!.dir, 'state'), threshold: 10 });
    const sent = await lab!.exec('router', process.execPath, [SYNWATCH_MAIN, 'replay', CAPTURE, '--onto', 'r-srv', '--speed', '4'], { timeoutMs: 30_000 });
    assert.match(sent.stdout, /^sent 320 frames onto r-srv/);

    const route = await waitForRoute(lab!, ATTACKER, 5000);
    assert.equal(route.type, 'unreachable');
    assert.equal(route.protocol, SYNWATCH_PROTO);
    const block = decisions(live, 'block', ATTACKER);
    assert.equal(block.length, 1);
    assert.equal(block[0].reason, 'flood');
  });
});
