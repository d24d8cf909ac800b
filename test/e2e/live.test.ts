/**
 * End-to-end tests of `synwatch live` in the namespace lab (test/e2e/lab.ts): real floods from
 * hping3 and scapy against a real HTTP server, real routes in the server's namespace.
 *
 * Each suite builds its own lab and tears it down in `after` (and the lab's exit handler covers
 * a crash); floods are a few hundred SYNs at most, each bounded by `timeout`.
 * Skipped, with the reason, when not root, when the lab tools are missing, or while the live
 * command is not built.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { findScapyPython, Lab, LabProcess, labUnavailableReason, sleep } from './lab';
import {
  alerts, decisions, decisionSummary, liveUnavailableReason, maxBlocksFlag, maxBlocksPerSecondFlag,
  startLive, SYNWATCH_PROTO, synwatchRoutes, waitForNoRoute, waitForRoute,
} from './synwatch';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;
const THRESHOLD = 20;
/** Bound on flag -> route in the kernel, generous for a loaded CI machine. */
const ROUTE_WAIT_MS = 5_000;

/** One lab per suite; the suite's `after` destroys it whatever happened. */
function labSuite(): { get: () => Lab; stateDir: () => string } {
  let lab: Lab | undefined;
  before(async () => {
    lab = await Lab.create({ attackers4: 6, attackers6: 2 });
  });
  after(async () => {
    await lab?.destroy();
  });
  return { get: () => lab!, stateDir: () => path.join(lab!.dir, 'state') };
}

async function stopClean(p: LabProcess): Promise<void> {
  const r = await p.stop(5000);
  assert.equal(r.signal, null, `synwatch live was killed by ${r.signal}`);
  assert.equal(r.code, 0, `synwatch live exited ${r.code} on SIGTERM; stderr tail: ${p.stderr.slice(-1500)}`);
}

describe('live: blocking attackers', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess;

  before(async () => {
    live = await startLive(s.get(), { stateDir: s.stateDir(), threshold: THRESHOLD });
  });

  it('blocks an IPv4 hping3 attacker with an unreachable route, within a bounded time', async () => {
    const lab = s.get();
    const attacker = lab.addr.attacker4[0];
    // The legitimate client talks before, during and after the attack.
    assert.ok((await lab.curl('client')).ok, 'client served before the attack');
    const flood = lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 150, intervalUs: 1000 });
    const t0 = Date.now();
    const route = await waitForRoute(lab, attacker, ROUTE_WAIT_MS);
    const waited = Date.now() - t0;
    await flood;
    assert.equal(route.type, 'unreachable');
    assert.equal(route.protocol, SYNWATCH_PROTO);
    assert.ok(waited < ROUTE_WAIT_MS, `route after ${waited} ms`);
    const block = await live.waitForJson((o) => o.msg === 'decision' && o.action === 'block' && o.ip === attacker, 2000, 'the block decision');
    assert.ok(typeof block.reason === 'string', 'the decision names a reason');
  });

  it('blocks an IPv6 scapy attacker with an unreachable route, within a bounded time',
    { skip: findScapyPython() ? false : 'no python3 with scapy' }, async () => {
      const lab = s.get();
      const attacker = lab.addr.attacker6[0];
      const cap = await lab.capture('server', `ip6 and host ${attacker}`);
      let route;
      try {
        const flood = lab.scapyFlood6({ from: attacker, to: lab.addr.server6, count: 100, intervalUs: 2000 });
        route = await waitForRoute(lab, attacker, ROUTE_WAIT_MS + 2000).catch((e: Error) => e);
        await flood;
      } finally {
        await cap.stop();
      }
      if (route instanceof Error) throw route;
      assert.equal(route.family, 6);
      assert.equal(route.type, 'unreachable');
      assert.equal(route.protocol, SYNWATCH_PROTO);
    });

  it('serves the legitimate client after the attacker is blocked, and never blocks it', async () => {
    const lab = s.get();
    for (let i = 0; i < 5; i++) {
      const r = await lab.curl('client');
      assert.ok(r.ok, `curl ${i}: ${r.status} ${r.stderr}`);
    }
    const v6 = await lab.curl('client', `http://[${lab.addr.server6}]:${lab.httpPort}/`);
    assert.ok(v6.ok, `IPv6 curl: ${v6.status} ${v6.stderr}`);
    const routes = (await lab.routes('server')).map((r) => r.dst);
    assert.ok(!routes.includes(lab.addr.client4) && !routes.includes(lab.addr.client6), `client routed away: ${routes.join(', ')}`);
    assert.deepEqual(decisions(live).filter((d) => d.ip === lab.addr.client4 || d.ip === lab.addr.client6), []);
  });

  it('sends no SYN-ACK to a blocked source', async () => {
    const lab = s.get();
    const attacker = lab.addr.attacker4[0];
    await waitForRoute(lab, attacker, 1000);
    const cap = await lab.capture('server', `host ${attacker} and tcp`);
    try {
      await lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 100, intervalUs: 1000 });
      await sleep(1500); // covers the SYN-ACK retransmission at 1 s of any earlier half-open entry
    } finally {
      await cap.stop();
    }
    const syns = await cap.count(`src host ${attacker} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`);
    const synAcks = await cap.count(`dst host ${attacker} and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)`);
    assert.ok(syns >= 90, `the capture saw the attacker's SYNs (${syns})`);
    assert.equal(synAcks, 0, 'SYN-ACKs left for a blocked source');
  });

  it('stops cleanly on SIGTERM (exit 0), leaving its blocks for the next start', async () => {
    await stopClean(live);
    const routes = await synwatchRoutes(s.get());
    assert.ok(routes.some((r) => r.dst === s.get().addr.attacker4[0]), 'block kept without --unblock-on-exit');
  });
});

describe('live: random spoofed sources', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess;
  const MAX_BLOCKS = 5;

  before(async () => {
    live = await startLive(s.get(), {
      stateDir: s.stateDir(), threshold: THRESHOLD,
      extra: [maxBlocksFlag(), String(MAX_BLOCKS), maxBlocksPerSecondFlag(), '2'],
    });
  });

  after(async () => {
    await live?.stop();
  });

  it('blocks no random source one by one, keeps the caps and raises the spoofed-flood alert', async () => {
    const lab = s.get();
    await lab.spoofedFlood({ to: lab.addr.server4, count: 400, intervalUs: 1000 });
    // Sanity: the spoofed SYNs reached the server (half-open entries from many sources).
    const half = await lab.synRecv('server');
    assert.ok(half.size >= 100, `spoofed sources half-open on the server: ${half.size}`);
    const alert = await live.waitForJson((o) => o.msg === 'alert' && o.kind === 'spoofed-flood' && o.phase === 'start', 10_000, 'the spoofed-flood alert');
    assert.ok(Number(alert.newSourceAttempts) >= 50, `alert counts one-SYN sources: ${JSON.stringify(alert)}`);
    assert.equal(alerts(live, 'syn-flood').length, 0, 'a random-source flood is not reported as a plain syn-flood');
    const routes = await synwatchRoutes(lab);
    assert.ok(routes.length <= MAX_BLOCKS, `block cap exceeded: ${routes.length} routes`);
    assert.equal(routes.length, 0, `random one-SYN sources were blocked: ${routes.map((r) => r.dst).join(', ')}`);
    assert.equal(decisions(live, 'block').length, 0, decisionSummary(live));
  });

  it('the client is served during and after the spoofed flood, and never blocked', async () => {
    const lab = s.get();
    const r = await lab.curl('client');
    assert.ok(r.ok, `${r.status} ${r.stderr}`);
    assert.ok(!(await lab.routes('server')).some((x) => x.dst === lab.addr.client4));
  });

  it('holds the block caps against many real attackers', async () => {
    const lab = s.get();
    // Six real attackers at once, each well over the threshold; the cap is five, two per second.
    await Promise.all(lab.addr.attacker4.map((from) => lab.hping3Flood({ from, to: lab.addr.server4, count: 60, intervalUs: 2000 })));
    await sleep(1500);
    const routes = await synwatchRoutes(lab);
    assert.ok(routes.length >= 1, `no attacker blocked at all: ${decisionSummary(live)}`);
    assert.ok(routes.length <= MAX_BLOCKS, `block cap exceeded: ${routes.length}`);
    const capSkips = decisions(live).filter((d) => (d.action === 'skip' || d.action === 'alert') && /cap/.test(String(d.reason)));
    assert.ok(capSkips.length >= 1, `a cap refusal is reported: ${decisionSummary(live)}`);
  });
});

describe('live: the gateway and --allow addresses are never blocked', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess;

  before(async () => {
    const lab = s.get();
    live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--allow', `${lab.addr.attacker4[1]}/32`] });
  });

  after(async () => {
    await live?.stop();
  });

  it('a flood spoofing the server\'s gateway is skipped as allowlisted, no route', async () => {
    const lab = s.get();
    const gw = lab.addr.gateway4;
    await lab.hping3Flood({ from: gw, to: lab.addr.server4, count: 100, intervalUs: 1000 });
    // Control in the same run: a plain attacker is blocked, so the flood itself was effective.
    await lab.hping3Flood({ from: lab.addr.attacker4[0], to: lab.addr.server4, count: 100, intervalUs: 1000 });
    await waitForRoute(lab, lab.addr.attacker4[0], ROUTE_WAIT_MS);
    const half = (await lab.synRecv('server')).get(gw) ?? 0;
    assert.ok(half >= 50, `the gateway-spoofed SYNs reached the server (${half} half-open)`);
    assert.ok(!(await lab.routes('server')).some((r) => r.dst === gw && r.type !== 'unicast'), 'gateway routed away');
    assert.equal(decisions(live, 'block', gw).length, 0, decisionSummary(live));
    const skipDecision = decisions(live, 'skip', gw)[0];
    assert.ok(skipDecision, `a skip decision for the gateway: ${decisionSummary(live)}`);
    assert.match(String(skipDecision.reason), /allow/);
    const curl = await lab.curl('client');
    assert.ok(curl.ok, 'the server still reaches the world through its gateway');
  });

  it('a flood from an --allow-ed address is skipped, no route', async () => {
    const lab = s.get();
    const allowed = lab.addr.attacker4[1];
    await lab.hping3Flood({ from: allowed, to: lab.addr.server4, count: 100, intervalUs: 1000 });
    await sleep(1000);
    assert.ok(!(await lab.routes('server')).some((r) => r.dst === allowed), 'allowed address routed away');
    assert.equal(decisions(live, 'block', allowed).length, 0);
    const skipDecision = decisions(live, 'skip', allowed)[0];
    assert.ok(skipDecision, `a skip decision for ${allowed}: ${decisionSummary(live)}`);
    assert.match(String(skipDecision.reason), /allow/);
  });
});

describe('live: TTL expiry', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess;

  after(async () => {
    await live?.stop();
  });

  it('removes the route once --block-ttl 3 passes without activity', async () => {
    const lab = s.get();
    live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--block-ttl', '3'] });
    const attacker = lab.addr.attacker4[0];
    await lab.hping3Flood({ from: attacker, to: lab.addr.server4, count: 60, intervalUs: 1000 });
    await waitForRoute(lab, attacker, ROUTE_WAIT_MS);
    const blockedAt = Date.now();
    await waitForNoRoute(lab, attacker, 9_000);
    const gone = Date.now() - blockedAt;
    assert.ok(gone >= 1500, `route removed too early (${gone} ms)`);
    const unblock = await live.waitForJson((o) => o.msg === 'decision' && o.action === 'unblock' && o.ip === attacker, 2000, 'the unblock decision');
    assert.match(String(unblock.reason), /ttl/);
    assert.equal((await synwatchRoutes(lab)).length, 0);
    // SIGINT stops as cleanly as SIGTERM.
    live.signal('SIGINT');
    const r = await live.exited;
    assert.deepEqual(r, { code: 0, signal: null }, `exit on SIGINT; stderr tail: ${live.stderr.slice(-800)}`);
    assert.ok(live.json.some((o) => o.msg === 'stopped'), 'a final "stopped" line');
  });
});

describe('live: kill -9 and restart with the same --state-dir reconciles the ledger', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess | undefined;

  after(async () => {
    await live?.stop();
  });

  it('keeps the unexpired block, removes the expired one and the orphan, leaves others\' routes', async () => {
    const lab = s.get();
    const [shortLived, longLived, , , orphan] = lab.addr.attacker4;
    const manual = '203.0.113.99';
    // Run 1: ttl 6 s; block shortLived, then kill -9 (no clean-up at all).
    live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--block-ttl', '6'] });
    await lab.hping3Flood({ from: shortLived, to: lab.addr.server4, count: 40, intervalUs: 1000 });
    await waitForRoute(lab, shortLived, ROUTE_WAIT_MS);
    const shortBlockedAt = Date.now();
    live.signal('SIGKILL');
    await live.exited;
    // Run 2: ttl 120 s; block longLived, kill -9 again before shortLived's 6 s are up.
    live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--block-ttl', '120'] });
    await lab.hping3Flood({ from: longLived, to: lab.addr.server4, count: 40, intervalUs: 1000 });
    await waitForRoute(lab, longLived, ROUTE_WAIT_MS);
    live.signal('SIGKILL');
    await live.exited;
    // While nothing runs: an orphan (synwatch's marker, unknown to the ledger) and someone else's route.
    await lab.exec('server', 'ip', ['route', 'add', 'unreachable', `${orphan}/32`, 'proto', SYNWATCH_PROTO]);
    await lab.exec('server', 'ip', ['route', 'add', 'unreachable', manual]);
    const before3 = (await synwatchRoutes(lab)).map((r) => r.dst).sort();
    assert.deepEqual(before3, [shortLived, longLived, orphan].sort(), 'routes survive kill -9');
    await sleep(Math.max(0, shortBlockedAt + 6500 - Date.now())); // shortLived's ledger expiry passes
    // Run 3: reconcile.
    live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--block-ttl', '120'] });
    const after3 = await synwatchRoutes(lab);
    assert.deepEqual(after3.map((r) => r.dst), [longLived], `after restart: ${after3.map((r) => r.dst).join(', ')}`);
    assert.ok((await lab.routes('server')).some((r) => r.dst === manual && r.type === 'unreachable'), 'the manual route stays');
    const blocks = await lab.synwatchOnce(['blocks', '--state-dir', s.stateDir(), '--json']);
    assert.equal(blocks.code, 0, blocks.stderr);
    const rows = JSON.parse(blocks.stdout) as Array<{ ip: string; state: string }>;
    assert.deepEqual(rows.map((r) => [r.ip, r.state]), [[longLived, 'active']]);
    assert.ok(decisions(live, 'unblock', shortLived).length >= 1, `expired block reported: ${decisionSummary(live)}`);
    assert.ok(decisions(live, 'unblock', orphan).length >= 1, `orphan reported: ${decisionSummary(live)}`);
    await stopClean(live);
    live = undefined;
  });
});

describe('live: unblock --all', { skip, concurrency: false }, () => {
  const s = labSuite();

  it('removes every synwatch route and only those', async () => {
    const lab = s.get();
    const live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD });
    const manual = '203.0.113.99';
    try {
      await lab.exec('server', 'ip', ['route', 'add', 'unreachable', manual]);
      await Promise.all([
        lab.hping3Flood({ from: lab.addr.attacker4[0], to: lab.addr.server4, count: 50, intervalUs: 1000 }),
        lab.hping3Flood({ from: lab.addr.attacker4[2], to: lab.addr.server4, count: 50, intervalUs: 1000 }),
      ]);
      await waitForRoute(lab, lab.addr.attacker4[0], ROUTE_WAIT_MS);
      await waitForRoute(lab, lab.addr.attacker4[2], ROUTE_WAIT_MS);
    } finally {
      await stopClean(live);
    }
    const before = await lab.routes('server');
    const r = await lab.synwatchOnce(['unblock', '--all', '--state-dir', s.stateDir()]);
    assert.equal(r.code, 0, r.stderr);
    const afterRoutes = await lab.routes('server');
    assert.deepEqual(afterRoutes.filter((x) => x.protocol === SYNWATCH_PROTO), []);
    assert.ok(afterRoutes.some((x) => x.dst === manual && x.type === 'unreachable'), 'the manual route stays');
    // Everything that was not synwatch's is untouched.
    const key = (x: { dst: string; type: string; protocol: string; family: number }) => `${x.family} ${x.dst} ${x.type} ${x.protocol}`;
    assert.deepEqual(afterRoutes.map(key).sort(), before.filter((x) => x.protocol !== SYNWATCH_PROTO).map(key).sort());
  });
});
