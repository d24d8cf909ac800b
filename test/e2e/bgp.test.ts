/**
 * Blocks upstream and across the fleet through BGP, end to end (test/e2e/bgp-lab.ts): synwatch on
 * server 1 blocks a flooding source with its kernel route; the shipped BIRD config announces it;
 * the edge router (FRR, the shipped frr.conf) installs a blackhole and drops the source's packets
 * (the shipped rtbh.nft); server 2's BIRD installs it as a local block. Then every way a block
 * ends (unblock, TTL expiry) and every restart (BIRD killed, synwatch killed) must leave no
 * announcement behind.
 *
 * Floods are a few hundred hping3 SYNs each, bounded by count and `timeout`. The lab is torn
 * down in `after` whatever happened (and by its exit handler if this process dies).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BgpLab, bgpLabUnavailableReason, BIRD_CONF, RouteMonitor, ServerRole } from './bgp-lab';
import { findScapyPython, sleep, which } from './lab';

const skip = bgpLabUnavailableReason() ?? false;
/** The bound: block on server 1 -> route in the edge router's FIB and in server 2. */
const PROPAGATION_MS = 1000;
/**
 * Long enough for every step between a block and the end of its test (a scapy start-up under a
 * loaded CI machine took seconds), short enough for the TTL test to wait for it.
 */
const BLOCK_TTL_S = 15;
const THRESHOLD = 20;

describe('contrib/bird/bird.conf', { skip: which('bird') ? false : 'bird not installed (Debian bird2)' }, () => {
  it('parses with bird -p as shipped', () => {
    execFileSync('bird', ['-p', '-c', BIRD_CONF], { stdio: 'pipe' });
  });
});

describe('blocks reach the edge router and the fleet through BGP', { skip, concurrency: false }, () => {
  let lab: BgpLab;
  const mon = {} as Record<'server1' | 'edge' | 'server2', RouteMonitor>;
  const [a1, a2, a3, a4, a5] = [0, 1, 2, 3, 4].map((k) => `203.0.113.${66 + k}`);

  /** Floods server 1 from `src` until synwatch blocks it; returns the block's time in server 1's kernel. */
  async function blockOnServer1(src: string, sinceMs = 0): Promise<number> {
    await lab.synFlood(src, lab.addr.server1.v4, 150, 1000);
    return (await mon.server1.wait(src, false, 5000, sinceMs)).atMs;
  }

  /** Asserts that `src`'s route appeared (or went) in the edge router's FIB and server 2 within the bound of t0. */
  async function propagated(src: string, deleted: boolean, t0: number, boundMs = PROPAGATION_MS): Promise<{ edgeMs: number; server2Ms: number }> {
    const [edge, server2] = await Promise.all([mon.edge.wait(src, deleted, boundMs + 3000, t0 - 50), mon.server2.wait(src, deleted, boundMs + 3000, t0 - 50)]);
    const r = { edgeMs: edge.atMs - t0, server2Ms: server2.atMs - t0 };
    assert.ok(r.edgeMs < boundMs, `${src} ${deleted ? 'withdrawn from' : 'in'} the edge router's FIB ${r.edgeMs.toFixed(1)} ms after server 1 (bound ${boundMs})`);
    assert.ok(r.server2Ms < boundMs, `${src} ${deleted ? 'gone from' : 'in'} server 2 ${r.server2Ms.toFixed(1)} ms after server 1 (bound ${boundMs})`);
    return r;
  }

  async function assertNowhere(src: string): Promise<void> {
    for (const role of ['server1', 'edge', 'server2'] as const) {
      assert.deepEqual((await lab.routeFor(role, src)).map((r) => `${r.type} ${r.protocol}`), [], `no route for ${src} left in ${role}`);
    }
  }

  async function startSynwatch(server: ServerRole): Promise<void> {
    await lab.startSynwatch(server, ['--threshold', String(THRESHOLD), '--block-ttl', String(BLOCK_TTL_S), '--allow', '192.0.2.0/24']);
  }

  before(async () => {
    lab = await BgpLab.create();
    await lab.startFrr();
    for (const s of ['server1', 'server2'] as const) await lab.startBird(s);
    for (const s of ['server1', 'server2'] as const) await startSynwatch(s);
    for (const role of ['server1', 'edge', 'server2'] as const) mon[role] = await lab.monitor(role);
    await lab.waitForSessions(30_000);
  });

  after(async () => {
    await lab?.destroy();
  });

  it('an attack on server 1: its block is in the edge router\'s FIB (blackhole) and in server 2 (unreachable) within 1 s', async () => {
    assert.ok(await lab.served('server1') && await lab.served('server2'), 'the client is served before the attack');
    const t0 = await blockOnServer1(a1);
    await propagated(a1, false, t0);
    assert.deepEqual((await lab.routeFor('server1', a1)).map((r) => `${r.type} ${r.protocol}`), ['unreachable 181']);
    assert.deepEqual((await lab.routeFor('edge', a1)).map((r) => `${r.type} ${r.protocol}`), ['blackhole bgp']);
    // Server 2's copy is BIRD's own route, not synwatch's: synwatch there neither lists nor removes it.
    assert.deepEqual((await lab.routeFor('server2', a1)).map((r) => `${r.type} ${r.protocol}`), ['unreachable bird']);
    const blocks2 = await lab.synwatchOnce('server2', ['blocks', '--json']);
    assert.ok(!blocks2.stdout.includes(a1), `synwatch on server 2 does not list the fleet's block: ${blocks2.stdout}`);
    // Server 2 does not announce it back: the edge router has exactly one path, from server 1.
    const paths = JSON.parse((await lab.vtysh(['-c', `show bgp ipv4 unicast ${a1}/32 json`])).stdout) as { paths?: Array<{ peer?: { peerId?: string } }> };
    assert.deepEqual((paths.paths ?? []).map((p) => p.peer?.peerId), [lab.addr.server1.v4]);
  });

  it('the edge router then drops the attacker\'s packets before they reach either server, and the client is served', async () => {
    const dropped0 = await lab.edgeDropped();
    const reached0 = [await lab.reached('server1', a1), await lab.reached('server2', a1)];
    const clientOk: boolean[] = [];
    const client = (async () => {
      for (let i = 0; i < 4; i++) clientOk.push(await lab.served('server1'), await lab.served('server2'));
    })();
    await Promise.all([lab.synFlood(a1, lab.addr.server1.v4, 200, 1000), lab.synFlood(a1, lab.addr.server2.v4, 200, 1000), client]);
    const dropped = (await lab.edgeDropped()) - dropped0;
    const reached = [(await lab.reached('server1', a1)) - reached0[0], (await lab.reached('server2', a1)) - reached0[1]];
    assert.equal(dropped, 400, 'the edge router dropped all 400 SYNs from the blocked source');
    assert.deepEqual(reached, [0, 0], 'none reached server 1 or server 2');
    assert.deepEqual(clientOk, Array(8).fill(true), 'the client was served by both servers throughout');
  });

  it('synwatch unblock on server 1 withdraws the block from the edge router and server 2', async () => {
    const t0 = Date.now();
    const r = await lab.synwatchOnce('server1', ['unblock', a1]);
    assert.equal(r.code, 0, r.stderr);
    const gone = (await mon.server1.wait(a1, true, 3000, t0 - 50)).atMs;
    await propagated(a1, true, gone);
    await assertNowhere(a1);
    // And the source reaches the servers again (a few SYNs, far below the threshold).
    const before1 = await lab.reached('server1', a1);
    await lab.synFlood(a1, lab.addr.server1.v4, 5, 10_000);
    assert.equal((await lab.reached('server1', a1)) - before1, 5);
  });

  it('an IPv6 attack on server 1: the /128 reaches the edge router\'s FIB and server 2 within 1 s, and is withdrawn with it',
    { skip: findScapyPython() ? false : 'no python3 with scapy' }, async () => {
      const src = lab.addr.attacker6[0];
      const dropped0 = await lab.edgeDropped();
      const reached0 = [await lab.reached('server1', src), await lab.reached('server2', src)];
      // One scapy process (its start-up can take seconds): 100 SYNs at server 1, which blocks the
      // source after ~20; 1.5 s later, 50 SYNs at server 2, which the edge must drop by then.
      await lab.synFlood6(src, lab.addr.server1.v6, 100, 2000, [{ pauseMs: 1500, to: lab.addr.server2.v6, count: 50, intervalUs: 2000 }]);
      const t0 = (await mon.server1.wait(src, false, 5000)).atMs;
      await propagated(src, false, t0);
      assert.deepEqual((await lab.routeFor('edge', src)).map((r) => `${r.type} ${r.protocol}`), ['blackhole bgp']);
      assert.deepEqual((await lab.routeFor('server2', src)).map((r) => `${r.type} ${r.protocol}`), ['unreachable bird']);
      const reached = [(await lab.reached('server1', src)) - reached0[0], (await lab.reached('server2', src)) - reached0[1]];
      const dropped = (await lab.edgeDropped()) - dropped0;
      assert.ok(reached[0] >= THRESHOLD && reached[0] < 100, `server 1 saw ${reached[0]} SYNs: enough to block, not the whole flood`);
      assert.equal(reached[1], 0, 'none of the SYNs at server 2 reached it');
      assert.equal(dropped, 100 - reached[0] + 50, 'the edge router dropped every other SYN of the flood');
      const t1 = Date.now();
      assert.equal((await lab.synwatchOnce('server1', ['unblock', src])).code, 0);
      const gone = (await mon.server1.wait(src, true, 3000, t1 - 50)).atMs;
      await propagated(src, true, gone);
      await assertNowhere(src);
    });

  it('TTL expiry withdraws everywhere', async () => {
    const t0 = await blockOnServer1(a2);
    await propagated(a2, false, t0);
    // The edge drops the flood now, so synwatch sees no more activity: the block ends a TTL later.
    const gone = (await mon.server1.wait(a2, true, (BLOCK_TTL_S + 10) * 1000, t0)).atMs;
    assert.ok(gone - t0 >= BLOCK_TTL_S * 1000 - 500, `expired after ${gone - t0} ms (TTL ${BLOCK_TTL_S} s)`);
    await propagated(a2, true, gone);
    await assertNowhere(a2);
  });

  it('BIRD killed and restarted: no stale announcement, and the blocks still active come back', async () => {
    const tA = await blockOnServer1(a3);
    const tB = await blockOnServer1(a4);
    await propagated(a3, false, tA);
    await propagated(a4, false, tB);
    // kill -9: no goodbye; the kernel closes the TCP session, the edge drops its routes at once.
    const killed = Date.now();
    lab.bird.get('server1')!.signal('SIGKILL');
    await lab.bird.get('server1')!.exited;
    await propagated(a3, true, killed);
    await propagated(a4, true, killed, PROPAGATION_MS);
    // While BIRD is down, one block ends.
    assert.equal((await lab.synwatchOnce('server1', ['unblock', a3])).code, 0);
    const restarted = Date.now();
    await lab.startBird('server1');
    await lab.waitForSessions(20_000, [lab.addr.server1.v4]);
    await mon.edge.wait(a4, false, 5000, restarted);
    await mon.server2.wait(a4, false, 5000, restarted);
    await sleep(500);
    assert.equal(mon.edge.find(a3, false, restarted), undefined, `${a3}, unblocked while BIRD was down, was not announced again`);
    await assertNowhere(a3);

    // Server 2's BIRD killed: its kernel copy of a4 stays behind; the block ends meanwhile; the
    // restarted BIRD removes its stale route.
    lab.bird.get('server2')!.signal('SIGKILL');
    await lab.bird.get('server2')!.exited;
    assert.deepEqual((await lab.routeFor('server2', a4)).map((r) => r.protocol), ['bird'], 'a killed BIRD leaves its route');
    assert.equal((await lab.synwatchOnce('server1', ['unblock', a4])).code, 0);
    await mon.edge.wait(a4, true, 3000, restarted);
    const again = Date.now();
    await lab.startBird('server2');
    await mon.server2.wait(a4, true, 5000, again);
    await lab.waitForSessions(20_000);
    await assertNowhere(a4);
  });

  it('synwatch killed and restarted after its block expired: the block is withdrawn everywhere', async () => {
    const t0 = await blockOnServer1(a5);
    await propagated(a5, false, t0);
    const live = lab.synwatch.get('server1')!;
    live.signal('SIGKILL');
    await live.exited;
    // The route outlives synwatch (the ledger has it) and stays announced while the block lasts.
    await sleep(500);
    assert.deepEqual((await lab.routeFor('edge', a5)).map((r) => r.type), ['blackhole']);
    await sleep(Math.max(0, t0 + BLOCK_TTL_S * 1000 + 500 - Date.now()));
    const started = Date.now();
    await startSynwatch('server1');
    const gone = (await mon.server1.wait(a5, true, 5000, started)).atMs;
    await propagated(a5, true, gone);
    await assertNowhere(a5);
  });
});
