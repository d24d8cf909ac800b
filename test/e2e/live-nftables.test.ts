/**
 * `synwatch live --backend nftables` end to end, in the namespace lab (test/e2e/lab.ts): the
 * drop happens before TCP, so a blocked source's second burst never reaches the server's TCP
 * (/proc/net/snmp Tcp InSegs in the server namespace does not move), while the route backend
 * lets every SYN through to TCP; live's own capture still counts the dropped SYNs (taps run
 * before netfilter). Also: `nft flush ruleset` in the server namespace while live runs is
 * repaired, --unblock-on-exit empties the set, and route,nftables installs both.
 * Floods are bounded (hping3 -c, wrapped in timeout); the lab is destroyed in after().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, LabProcess, labUnavailableReason, sleep } from './lab';
import { decisionSummary, liveUnavailableReason, nftElements, startLive, waitForRoute } from './synwatch';
import { REPO_ROOT } from './lab';

const ADDON = path.join(REPO_ROOT, 'native/build/Release/synwatch_nftables.node');
const skip = labUnavailableReason() ?? liveUnavailableReason()
  ?? (fs.existsSync(ADDON) ? false : 'synwatch_nftables addon not built (libnftables-dev missing)');
const SECOND_BURST = 2000;

/** Tcp InSegs of a namespace (/proc/net/snmp is per network namespace). */
export async function tcpInSegs(lab: Lab, ns: 'server' = 'server'): Promise<number> {
  const text = (await lab.exec(ns, 'cat', ['/proc/net/snmp'])).stdout;
  const [head, values] = text.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.trim().split(/\s+/));
  return Number(values[head.indexOf('InSegs')]);
}

function lastStatus(p: LabProcess): Record<string, unknown> | undefined {
  return p.json.filter((o) => o.msg === 'status').at(-1);
}

interface BurstResult { tcpInSegs: number; captured: number }

/** Blocks `attacker` (a first flood), then sends SECOND_BURST SYNs and counts what TCP and live's capture saw of them. */
async function blockThenBurst(lab: Lab, live: LabProcess, attacker: string, waitBlock: () => Promise<unknown>): Promise<BurstResult> {
  const first = lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
  await waitBlock();
  await first;
  await sleep(1500); // the first flood's stragglers, and a status line after them
  const before = { tcp: await tcpInSegs(lab), syn: Number(lastStatus(live)?.synOnly) };
  await lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: SECOND_BURST, intervalUs: 500 });
  const tcp = (await tcpInSegs(lab)) - before.tcp;
  const status = await live.waitForJson((o) => o.msg === 'status' && Number(o.synOnly) >= before.syn + SECOND_BURST, 5000,
    'a status line counting the second burst').catch(() => lastStatus(live));
  return { tcpInSegs: tcp, captured: Number(status?.synOnly) - before.syn };
}

describe('live --backend nftables vs route: what reaches TCP after a block', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    // rp_filter 0, as in the measurement: with strict reverse-path filtering the reject
    // route itself fails the source check and the SYN dies in routing (still after conntrack).
    lab = await Lab.create({ attackers4: 4, attackers6: 0, serverRpFilter: 0 });
  });
  after(async () => {
    await lab?.destroy();
  });
  const stateDir = (name: string) => path.join(lab.dir, name);

  it(`route: the blocked source's ${SECOND_BURST} SYNs all still reach TCP`, async (t) => {
    const live = await startLive(lab, { stateDir: stateDir('route'), extra: ['--backend', 'route', '--status-interval', '1'] });
    try {
      const attacker = lab.addr.attacker4[0];
      const r = await blockThenBurst(lab, live, attacker, () => waitForRoute(lab, attacker, 5000));
      t.diagnostic(`route: TcpInSegs +${r.tcpInSegs}, live captured ${r.captured} SYNs`);
      assert.ok(r.tcpInSegs >= SECOND_BURST * 0.95, `TcpInSegs +${r.tcpInSegs} with the route backend`);
      assert.ok(r.captured >= SECOND_BURST, `live captured ${r.captured} of the burst`);
      assert.deepEqual(await nftElements(lab), [], 'the route backend created nftables elements');
    } finally {
      await live.stop(5000);
    }
  });

  it(`nftables: none of the blocked source's ${SECOND_BURST} SYNs reach TCP, and live's capture still counts them all`, async (t) => {
    const live = await startLive(lab, { stateDir: stateDir('nft'), extra: ['--backend', 'nftables', '--status-interval', '1', '--unblock-on-exit'] });
    try {
      const attacker = lab.addr.attacker4[1];
      const r = await blockThenBurst(lab, live, attacker, () => live.waitForJson((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker, 5000, 'the block'));
      t.diagnostic(`nftables: TcpInSegs +${r.tcpInSegs}, live captured ${r.captured} SYNs`);
      assert.equal(r.tcpInSegs, 0, `TcpInSegs +${r.tcpInSegs} with the nftables backend`);
      assert.ok(r.captured >= SECOND_BURST, `live captured only ${r.captured} of the ${SECOND_BURST} dropped SYNs`);
      const block = live.json.find((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker)!;
      assert.match(String(block.detail), /^drop via nftables;/);
      assert.deepEqual(await nftElements(lab), [attacker]);
      assert.ok(!(await lab.routes('server')).some((x) => x.dst === attacker), 'nftables alone adds no route');
      const chain = (await lab.exec('server', 'nft', ['list', 'chain', 'inet', 'synwatch', 'prerouting'])).stdout;
      const dropped = Number(/ip saddr @blocked4 counter packets (\d+)/.exec(chain)?.[1]);
      assert.ok(dropped >= SECOND_BURST, `the drop rule counted ${dropped}`);

      // Someone flushes the ruleset in the server namespace: live puts the table and the block back.
      await lab.exec('server', 'nft', ['flush', 'ruleset']);
      const healed = await live.waitForJson((o) => o.msg === 'nftables table re-created', 5000, 'the re-creation');
      assert.equal(healed.restored, 1);
      assert.deepEqual(await nftElements(lab), [attacker]);
    } finally {
      const code = await live.stop(5000);
      assert.equal(code.code, 0, `live exited ${code.code}: ${live.stderr.slice(-800)} ${decisionSummary(live)}`);
    }
    assert.deepEqual(await nftElements(lab), [], '--unblock-on-exit left elements');
  });

  it('route,nftables: one block is both a route (for BGP) and a drop', async () => {
    const live = await startLive(lab, { stateDir: stateDir('both'), extra: ['--backend', 'route,nftables'] });
    try {
      const attacker = lab.addr.attacker4[2];
      const flood = lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
      const route = await waitForRoute(lab, attacker, 5000);
      await flood;
      assert.equal(route.protocol, '181');
      assert.deepEqual(await nftElements(lab), [attacker]);
      const block = live.json.find((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker)!;
      assert.match(String(block.detail), /^unreachable via netlink\+nftables;/);
    } finally {
      await live.stop(5000);
    }
  });

  it('a restart after `nft flush ruleset` re-creates the table and restores the block from the ledger', async () => {
    const attacker = lab.addr.attacker4[2];
    assert.deepEqual(await nftElements(lab), [attacker], 'the block outlived the stop (no --unblock-on-exit)');
    await lab.exec('server', 'nft', ['flush', 'ruleset']);
    const live = await startLive(lab, { stateDir: stateDir('both'), extra: ['--backend', 'route,nftables'] });
    try {
      const restored = await live.waitForJson((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker, 5000, 'the restored block');
      assert.match(String(restored.detail), /restored from ledger/);
      assert.deepEqual(await nftElements(lab), [attacker]);
      assert.ok((await lab.routes('server')).some((r) => r.dst === attacker && r.protocol === '181'));
    } finally {
      await live.stop(5000);
    }
  });

  it('an unknown backend and a conflicting table are one-line errors before anything starts', async () => {
    const bad = await lab.synwatchOnce(['live', '-i', 'eth0', '--state-dir', stateDir('bad'), '--backend', 'xdp']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /--backend must be route, nftables or route,nftables .*got "xdp"/);
    await lab.exec('server', 'nft', ['flush', 'ruleset']);
    await lab.exec('server', 'nft', ['add', 'table', 'inet', 'synwatch']);
    const conflict = await lab.synwatchOnce(['live', '-i', 'eth0', '--state-dir', stateDir('conflict'), '--backend', 'nftables']);
    assert.equal(conflict.code, 1);
    assert.equal(conflict.stderr.trim().split('\n').length, 1, conflict.stderr);
    assert.match(conflict.stderr, /^synwatch: nftables table inet synwatch exists and was not made by synwatch \(it has no comment\)/);
    assert.ok(!fs.existsSync(stateDir('conflict')), 'a refused start wrote state');
  });
});
