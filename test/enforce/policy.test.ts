/**
 * BlockPolicy, pure: a RecordingBackend and an in-memory decision list; time only from the calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Decision } from '../../src/enforce/contract';
import type { FlagEvent } from '../../src/detect/events';
import { Allowlist, parseCidr } from '../../src/enforce/allowlist';
import { Ledger, readLedger } from '../../src/enforce/ledger';
import { BlockPolicy, CAP_EPISODE_QUIET_US, DEFER_QUIET_US, DELETE_RETRY_US, type BlockPolicyOptions } from '../../src/enforce/policy';
import { RecordingBackend, type RecordingBackendOptions } from '../../src/enforce/recording';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;

function flag(ip: string, tsUs: number, family: 4 | 6 = ip.includes(':') ? 6 : 4): FlagEvent {
  return { ip, family, tsUs, reason: 'flood', halfOpen: 30, attempts: 40, completed: 0, incomplete: 40, distinctPorts: 1 };
}

function setup(options: Partial<BlockPolicyOptions> = {}, backendOptions: RecordingBackendOptions = {}, ledger: Ledger | null = null) {
  const decisions: Decision[] = [];
  const backend = new RecordingBackend(backendOptions);
  const policy = new BlockPolicy({
    ttlSeconds: 600, maxActiveBlocks: 1000, maxNewBlocksPerSecond: 50, routeType: 'unreachable', dryRun: false,
    allowlist: new Allowlist([parseCidr('192.0.2.0/24', '--allow'), parseCidr('2001:db8:aaaa::/48', 'config')]),
    ...options,
  }, backend, ledger, (d) => decisions.push(d));
  return { policy, backend, decisions };
}

const summary = (ds: Decision[]) => ds.map((d) => `${d.action} ${d.ip} ${d.reason}`);

test('a flag blocks: route added, block decision with expiry now+ttl', () => {
  const { policy, backend, decisions } = setup();
  policy.onFlag(flag('203.0.113.5', T0));
  assert.deepEqual(backend.calls, [{ op: 'add', ip: '203.0.113.5', family: 4, type: 'unreachable' }]);
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].action, 'block');
  assert.equal(decisions[0].reason, 'flood');
  assert.equal(decisions[0].expiresUs, T0 + 600 * S);
  assert.match(decisions[0].detail ?? '', /unreachable via recording; halfOpen=30/);
  assert.deepEqual(policy.active(), [{ ip: '203.0.113.5', family: 4, type: 'unreachable', reason: 'flood', sinceUs: T0, expiresUs: T0 + 600 * S }]);
});

test('IPv4-mapped IPv6 flags are the IPv4 address; re-flag of a blocked source is activity, not a new block', () => {
  const { policy, backend, decisions } = setup();
  policy.onFlag(flag('::ffff:203.0.113.5', T0, 6));
  policy.onFlag(flag('203.0.113.5', T0 + 100 * S));
  assert.equal(backend.calls.length, 1);
  assert.equal(backend.calls[0].family, 4);
  assert.deepEqual(summary(decisions), ['block 203.0.113.5 flood', 'renew 203.0.113.5 flood']);
});

test('allowlisted sources are skipped with the matching entry and its origin, IPv4 and IPv6, mapped too', () => {
  const { policy, backend, decisions } = setup();
  policy.onFlag(flag('192.0.2.77', T0));
  policy.onFlag(flag('::ffff:192.0.2.78', T0, 6));
  policy.onFlag(flag('2001:db8:aaaa:1::1', T0));
  assert.equal(backend.calls.length, 0);
  assert.deepEqual(decisions.map((d) => [d.action, d.reason, d.detail]), [
    ['skip', 'allowlisted', '192.0.2.0/24 (--allow)'],
    ['skip', 'allowlisted', '192.0.2.0/24 (--allow)'],
    ['skip', 'allowlisted', '2001:db8:aaaa::/48 (config)'],
  ]);
});

test('renew: expiry follows activity, but a decision only when it moved by >= 10% of ttl', () => {
  const { policy, decisions } = setup({ ttlSeconds: 600 });
  policy.onFlag(flag('203.0.113.5', T0));
  for (let s = 1; s <= 130; s++) policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + s * S });
  const renews = decisions.filter((d) => d.action === 'renew');
  // Step is 60 s: renewals at +60 s and +120 s only.
  assert.deepEqual(renews.map((d) => d.expiresUs), [T0 + 660 * S, T0 + 720 * S]);
  assert.equal(policy.active()[0].expiresUs, T0 + 730 * S, 'in-memory expiry follows every activity');
  policy.onActivity({ ip: '198.51.100.99', family: 4, tsUs: T0 }); // not blocked: ignored
  assert.equal(decisions.length, 3);
});

test('renew step is at least 1 s for short ttls', () => {
  const { policy, decisions } = setup({ ttlSeconds: 2 });
  policy.onFlag(flag('203.0.113.5', T0));
  for (let ms = 100; ms <= 3000; ms += 100) policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + ms * 1000 });
  assert.deepEqual(decisions.filter((d) => d.action === 'renew').map((d) => d.expiresUs), [T0 + 3 * S, T0 + 4 * S, T0 + 5 * S]);
});

test('tick removes expired blocks in expiry order with unblock ttl-expired', () => {
  const { policy, backend, decisions } = setup({ ttlSeconds: 10 });
  policy.onFlag(flag('203.0.113.7', T0 + 2 * S));
  policy.onFlag(flag('203.0.113.6', T0));
  policy.onFlag(flag('2001:db8::1', T0));
  policy.tick(T0 + 9 * S);
  assert.equal(policy.active().length, 3);
  policy.tick(T0 + 10 * S);
  assert.deepEqual(summary(decisions.slice(3)), ['unblock 203.0.113.6 ttl-expired', 'unblock 2001:db8::1 ttl-expired']);
  policy.tick(T0 + 12 * S);
  assert.deepEqual(summary(decisions.slice(5)), ['unblock 203.0.113.7 ttl-expired']);
  assert.deepEqual(backend.list(), []);
});

test('block cap: one alert per episode, rate-limited skips with counts, a new episode after quiet', () => {
  const { policy, backend, decisions } = setup({ maxActiveBlocks: 3, maxNewBlocksPerSecond: 1000 });
  for (let i = 0; i < 50; i++) policy.onFlag(flag(`203.0.113.${i + 1}`, T0 + i * 100_000)); // 10/s for 5 s
  assert.equal(backend.calls.length, 3);
  const alerts = decisions.filter((d) => d.action === 'alert');
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].reason, 'block-cap');
  const skips = decisions.filter((d) => d.action === 'skip');
  assert.equal(skips.length, 5, summary(skips).join('\n')); // refusals 0.3 s..4.9 s: one skip per second
  assert.equal(skips[0].ip, '203.0.113.4');
  assert.match(skips[1].detail ?? '', /9 more sources refused since the last skip/);
  // Quiet for the episode length: the episode closes, the held-back refusals are reported once.
  policy.tick(T0 + 4.9 * S + CAP_EPISODE_QUIET_US);
  const closing = decisions.at(-1)!;
  assert.equal(closing.action, 'skip');
  assert.match(closing.detail ?? '', /episode over: 47 sources refused in all, 6 without a skip of their own/);
  // A later refusal opens a new episode: a second alert.
  policy.onFlag(flag('203.0.113.200', T0 + 100 * S));
  assert.equal(decisions.filter((d) => d.action === 'alert').length, 2);
});

test('rate cap paces blocks: a burst beyond it is deferred and blocked as tokens come, while active', () => {
  const { policy, backend, decisions } = setup({ maxNewBlocksPerSecond: 10 });
  // 100 flagged sources within 0.1 s, each active every second after; ticks every 100 ms.
  const ips = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);
  ips.forEach((ip, i) => policy.onFlag(flag(ip, T0 + i * 1000)));
  assert.equal(backend.calls.length, 10, 'the burst: one second of tokens');
  assert.deepEqual(decisions.filter((d) => d.action === 'alert').map((d) => d.reason), ['rate-cap']);
  assert.equal(decisions.filter((d) => d.action === 'deferred').length, 90);
  for (let t = 100_000; t <= 12 * S; t += 100_000) {
    if (t % S === 0) for (const ip of ips) policy.onActivity({ ip, family: 4, tsUs: T0 + t });
    policy.tick(T0 + t);
  }
  assert.equal(backend.calls.length, 100, 'every one blocked in the end');
  const flaggedAt = new Map(ips.map((ip, i) => [ip, T0 + i * 1000]));
  for (const d of decisions.filter((x) => x.action === 'block')) {
    // 90 waiting at 10/s: the last one 9 s after the burst, within one tick of its token.
    assert.ok(d.tsUs - flaggedAt.get(d.ip)! <= 9 * S + 100_000, `${d.ip} blocked ${(d.tsUs - flaggedAt.get(d.ip)!) / S} s after its flag`);
  }
  const deferredThenBlock = decisions.filter((d) => d.ip === '198.51.100.100').map((d) => d.action);
  assert.deepEqual(deferredThenBlock, ['deferred', 'block']);
  assert.match(decisions.filter((d) => d.action === 'block').at(-1)!.detail ?? '', /deferred 9\.\d+ s by the rate cap/);
  assert.equal(policy.deferredSources().length, 0);
});

test('rate cap queue: most active first, then the earliest flag, then the address', () => {
  const { policy, decisions } = setup({ maxNewBlocksPerSecond: 1 });
  policy.onFlag(flag('203.0.113.1', T0)); // takes the only token
  for (const ip of ['203.0.113.4', '203.0.113.3', '203.0.113.2', '2001:db8::9']) policy.onFlag(flag(ip, T0 + 1000));
  policy.onFlag(flag('203.0.113.5', T0 + 2000));
  // .5 active twice, .2 and 2001:db8::9 once: .5 first, then .2 before 2001:db8::9 (same flag time, IPv4 first), then .3 before .4.
  policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + 100_000 });
  policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + 200_000 });
  policy.onActivity({ ip: '203.0.113.2', family: 4, tsUs: T0 + 200_000 });
  policy.onActivity({ ip: '2001:db8::9', family: 6, tsUs: T0 + 200_000 });
  for (let t = 1; t <= 6; t++) policy.tick(T0 + t * S);
  assert.deepEqual(decisions.filter((d) => d.action === 'block').map((d) => d.ip),
    ['203.0.113.1', '203.0.113.5', '203.0.113.2', '2001:db8::9', '203.0.113.3', '203.0.113.4']);
});

test('rate cap queue: a deferred source that sends no SYN for DEFER_QUIET_US leaves it with skip rate-cap', () => {
  const { policy, decisions } = setup({ maxNewBlocksPerSecond: 1 });
  policy.onFlag(flag('203.0.113.1', T0)); // takes the only token
  policy.onFlag(flag('203.0.113.2', T0 + 1000)); // deferred, never active again
  const busy = Array.from({ length: 70 }, (_, i) => `198.51.100.${i + 1}`);
  busy.forEach((ip, i) => policy.onFlag(flag(ip, T0 + 2000 + i))); // deferred, active every second
  for (let t = S; t <= DEFER_QUIET_US + S; t += S) {
    for (const ip of busy) policy.onActivity({ ip, family: 4, tsUs: T0 + t });
    policy.tick(T0 + t);
  }
  // One token a second, the busy ones first: .2 is still waiting when its minute of silence is up.
  const mine = decisions.filter((d) => d.ip === '203.0.113.2');
  assert.deepEqual(summary(mine), ['deferred 203.0.113.2 flood', 'skip 203.0.113.2 rate-cap']);
  assert.equal(mine[1].tsUs, T0 + DEFER_QUIET_US + S, 'at the first tick past its quiet minute');
  assert.match(mine[1].detail ?? '', /no SYN for 60 s before its turn/);
  assert.equal(decisions.filter((d) => d.action === 'block').length, 1 + 61);
  // A deferred source still active gets its turn even after a long wait: the busy ones keep theirs.
  assert.ok(policy.deferredSources().every((d) => d.flag.ip.startsWith('198.51.100.')));
});

test('rate cap queue: deferred sources count towards --max-active-blocks; shutdown forgets them; a reload keeps them', () => {
  const { policy, backend, decisions } = setup({ maxNewBlocksPerSecond: 1, maxActiveBlocks: 3 });
  policy.onFlag(flag('203.0.113.1', T0));
  policy.onFlag(flag('203.0.113.2', T0 + 1000));
  policy.onFlag(flag('203.0.113.3', T0 + 2000));
  policy.onFlag(flag('203.0.113.4', T0 + 3000)); // 1 block + 2 deferred: the cap
  assert.deepEqual(summary(decisions), ['block 203.0.113.1 flood', 'alert  rate-cap', 'deferred 203.0.113.2 flood', 'deferred 203.0.113.3 flood',
    'alert  block-cap', 'skip 203.0.113.4 block-cap']);
  const next = setup({ maxNewBlocksPerSecond: 1, maxActiveBlocks: 3 });
  next.policy.adopt(policy.active(), policy.deferredSources());
  assert.deepEqual(next.policy.deferredSources().map((d) => d.flag.ip), ['203.0.113.2', '203.0.113.3']);
  next.policy.tick(T0 + 1.5 * S);
  assert.deepEqual(summary(next.decisions), ['block 203.0.113.2 flood']);
  next.policy.shutdown(T0 + 1.6 * S, false);
  assert.deepEqual(summary(next.decisions.slice(1)), ['skip 203.0.113.3 rate-cap']);
  assert.equal(next.policy.deferredSources().length, 0);
  assert.equal(backend.calls.length, 1);
});

test('backend errors: alert backend-error with the errno, no block, never a throw; delete failures retry later', () => {
  let failAdds = true, failDels = true;
  const { policy, backend, decisions } = setup({ ttlSeconds: 600 }, {
    fail: (c) => (c.op === 'add' && failAdds ? 'EPERM' : c.op === 'del' && failDels ? 'EBUSY' : undefined),
  });
  policy.onFlag(flag('203.0.113.5', T0));
  assert.deepEqual(summary(decisions), ['alert 203.0.113.5 backend-error']);
  assert.match(decisions[0].detail ?? '', /^EPERM \(errno 0\): recording add 203\.0\.113\.5: EPERM/);
  assert.equal(policy.active().length, 0);
  failAdds = false;
  policy.onFlag(flag('203.0.113.5', T0 + S));
  assert.equal(policy.active().length, 1);
  policy.tick(T0 + 601 * S);
  assert.equal(decisions.at(-1)!.reason, 'backend-error');
  assert.equal(policy.active()[0].expiresUs, T0 + 601 * S + DELETE_RETRY_US);
  failDels = false;
  policy.tick(T0 + 601 * S + DELETE_RETRY_US);
  assert.equal(decisions.at(-1)!.action, 'unblock');
  assert.deepEqual(backend.list(), []);
});

test('dry-run decides the same but touches neither backend nor ledger', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-policy-'));
  const ledger = Ledger.open(dir);
  try {
    const dry = setup({ dryRun: true, ttlSeconds: 5 }, {}, ledger);
    const real = setup({ dryRun: false, ttlSeconds: 5 });
    for (const p of [dry, real]) {
      p.policy.onFlag(flag('203.0.113.5', T0));
      p.policy.tick(T0 + 5 * S);
    }
    assert.equal(dry.backend.calls.length, 0);
    assert.deepEqual(readLedger(dir).blocks, []);
    assert.equal(fs.readFileSync(ledger.path, 'utf8'), '');
    assert.deepEqual(summary(dry.decisions), summary(real.decisions));
    assert.match(dry.decisions[0].detail ?? '', /via dry-run/);
  } finally {
    ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the ledger follows block, renew and unblock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-policy-'));
  const ledger = Ledger.open(dir);
  try {
    const { policy } = setup({ ttlSeconds: 100 }, {}, ledger);
    policy.onFlag(flag('203.0.113.5', T0));
    policy.onFlag(flag('2001:db8::5', T0));
    policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + 50 * S });
    assert.deepEqual(readLedger(dir).blocks.map((b) => [b.ip, b.expiresUs]), [['203.0.113.5', T0 + 150 * S], ['2001:db8::5', T0 + 100 * S]]);
    policy.tick(T0 + 100 * S);
    assert.deepEqual(readLedger(dir).blocks.map((b) => b.ip), ['203.0.113.5']);
    policy.shutdown(T0 + 101 * S, true);
    assert.deepEqual(readLedger(dir).blocks, []);
  } finally {
    ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('shutdown without unblockAll leaves routes; with it removes all (reason shutdown)', () => {
  const a = setup();
  a.policy.onFlag(flag('203.0.113.5', T0));
  a.policy.shutdown(T0 + S, false);
  assert.equal(a.backend.list().length, 1);
  const b = setup();
  b.policy.onFlag(flag('203.0.113.6', T0));
  b.policy.onFlag(flag('203.0.113.5', T0));
  b.policy.shutdown(T0 + S, true);
  assert.deepEqual(b.backend.list(), []);
  assert.deepEqual(summary(b.decisions.slice(2)), ['unblock 203.0.113.5 shutdown', 'unblock 203.0.113.6 shutdown']);
});

test('determinism: the same event sequence gives identical decisions and calls', () => {
  const events: Array<() => FlagEvent> = [];
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 400; i++) {
    const ip = rnd() < 0.5 ? `203.0.113.${Math.floor(rnd() * 254) + 1}` : `2001:db8::${Math.floor(rnd() * 65535).toString(16)}`;
    const ts = T0 + i * 20_000;
    events.push(() => flag(ip, ts));
  }
  const runOnce = () => {
    const r = setup({ maxActiveBlocks: 60, maxNewBlocksPerSecond: 20, ttlSeconds: 3 });
    events.forEach((e, i) => {
      r.policy.onFlag(e());
      if (i % 25 === 0) r.policy.tick(e().tsUs);
    });
    r.policy.shutdown(T0 + 100 * S, true);
    return JSON.stringify([r.decisions, r.backend.calls]);
  };
  assert.equal(runOnce(), runOnce());
});

test('a block lifted by a reloaded allowlist whose delete fails is retried DELETE_RETRY_US later', () => {
  // The policy skips ticks before its earliest expiry: the retry must move that earlier.
  let failDels = true;
  const backend = new RecordingBackend({ fail: (c) => (c.op === 'del' && failDels ? 'EBUSY' : undefined) });
  const decisions: Decision[] = [];
  const options: BlockPolicyOptions = {
    ttlSeconds: 600, maxActiveBlocks: 1000, maxNewBlocksPerSecond: 50, routeType: 'unreachable', dryRun: false,
    allowlist: new Allowlist([]),
  };
  const before = new BlockPolicy(options, backend, null, () => {});
  before.onFlag(flag('203.0.113.5', T0));
  // SIGHUP: a new policy whose allowlist now covers the source takes the blocks over.
  const after = new BlockPolicy({ ...options, allowlist: new Allowlist([parseCidr('203.0.113.0/24', 'config')]) }, backend, null, (d) => decisions.push(d));
  after.adopt(before.active());
  after.releaseAllowlisted(T0 + S);
  assert.deepEqual(summary(decisions), ['alert 203.0.113.5 backend-error']);
  assert.equal(after.active()[0].expiresUs, T0 + S + DELETE_RETRY_US);
  failDels = false;
  after.tick(T0 + S + DELETE_RETRY_US - 1);
  assert.equal(decisions.length, 1);
  after.tick(T0 + S + DELETE_RETRY_US);
  assert.deepEqual(summary(decisions), ['alert 203.0.113.5 backend-error', 'unblock 203.0.113.5 ttl-expired']);
  assert.deepEqual(backend.list(), []);
});

test('a backend whose entries expire (nftables) gets ttl + one renew step at block, and at each reported renewal', () => {
  const calls: string[] = [];
  const expiring = {
    name: 'expiring', blockAction: 'drop',
    add: (ip: string, _f: 4 | 6, _t: string, keepUs?: number) => { calls.push(`add ${ip} ${keepUs}`); },
    renew: (ip: string, _f: 4 | 6, _t: string, keepUs: number) => { calls.push(`renew ${ip} ${keepUs}`); },
    del: (ip: string) => { calls.push(`del ${ip}`); },
    list: () => [],
  };
  const decisions: Decision[] = [];
  const policy = new BlockPolicy({ ttlSeconds: 600, maxActiveBlocks: 10, maxNewBlocksPerSecond: 50, routeType: 'unreachable', dryRun: false,
    allowlist: new Allowlist([]) }, expiring, null, (d) => decisions.push(d));
  policy.onFlag(flag('203.0.113.5', T0));
  policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + 30 * S }); // moved 30 s < 60 s step: no renewal
  policy.onActivity({ ip: '203.0.113.5', family: 4, tsUs: T0 + 61 * S });
  // The kernel keeps each block one step (60 s) past the policy's expiry, which moves between renewals by less than that.
  assert.deepEqual(calls, [`add 203.0.113.5 ${660 * S}`, `renew 203.0.113.5 ${660 * S}`]);
  assert.match(decisions[0].detail ?? '', /^drop via expiring;/);
  policy.tick(T0 + 661 * S);
  assert.deepEqual(calls.at(-1), 'del 203.0.113.5');
});
