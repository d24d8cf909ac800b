/**
 * End-to-end tests of `synwatch live`'s configuration in the namespace lab (test/e2e/lab.ts):
 * `--config FILE` (and command-line flags over it), SIGHUP reloading the file (and surviving a
 * broken one), `--unblock-on-exit`, and the start-up errors for a bad config file and an
 * unusable --state-dir.
 *
 * One lab per suite, destroyed in `after` (the lab's exit handler covers a crash); floods are
 * 100 SYNs, each bounded by count and `timeout`. Skipped, with the reason, when not root, when
 * the lab tools are missing, or while the live command is not built.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, LabProcess, labUnavailableReason, sleep } from './lab';
import {
  decisions, decisionSummary, liveUnavailableReason, LogLine, startLive, SYNWATCH_PROTO, synwatchRoutes, waitForNoRoute, waitForRoute,
} from './synwatch';

const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;
const THRESHOLD = 20;
/** Bound on flag -> route in the kernel, generous for a loaded CI machine. */
const ROUTE_WAIT_MS = 5_000;
/** Bound on a decision line after its flood, and on "reloaded" after SIGHUP. */
const LOG_WAIT_MS = 5_000;
const ALLOW_ATTACKERS = '203.0.113.0/24';

/** One lab per suite; the suite's `after` destroys it whatever happened. */
function labSuite(): { get: () => Lab; stateDir: (name?: string) => string; config: (name: string, body: unknown) => string } {
  let lab: Lab | undefined;
  before(async () => {
    lab = await Lab.create({ attackers4: 4, attackers6: 0 });
  });
  after(async () => {
    await lab?.destroy();
  });
  return {
    get: () => lab!,
    stateDir: (name = 'state') => path.join(lab!.dir, name),
    /** Writes `body` (JSON, or text as is) to a file in the lab dir and returns its path. */
    config: (name, body) => {
      const file = path.join(lab!.dir, name);
      fs.writeFileSync(file, typeof body === 'string' ? body : `${JSON.stringify(body)}\n`);
      return file;
    },
  };
}

async function stopClean(p: LabProcess): Promise<void> {
  const r = await p.stop(5000);
  assert.equal(r.signal, null, `synwatch live was killed by ${r.signal}`);
  assert.equal(r.code, 0, `synwatch live exited ${r.code} on SIGTERM; stderr tail: ${p.stderr.slice(-1500)}`);
}

/**
 * Runs `body` against a started live; then stops it cleanly and removes its routes (`unblock
 * --all`), so the next test starts bare. On failure it just stops live and rethrows (the
 * suite's lab goes anyway), so the first error is the one reported.
 */
async function withLive(lab: Lab, p: LabProcess, stateDir: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await p.stop();
    throw e;
  }
  await stopClean(p);
  const r = await lab.synwatchOnce(['unblock', '--all', '--state-dir', stateDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await synwatchRoutes(lab), []);
}

/** The first JSON log line after the ones already seen that satisfies pred. */
function nextJson(p: LabProcess, pred: (o: LogLine) => boolean, what: string): Promise<LogLine> {
  const from = p.json.length;
  return p.waitFor(() => p.json.slice(from).find(pred), LOG_WAIT_MS, what);
}

function waitForDecision(p: LabProcess, action: string, ip: string): Promise<LogLine> {
  return p.waitForJson((o) => o.msg === 'decision' && o.action === action && o.ip === ip, LOG_WAIT_MS,
    `a ${action} decision for ${ip}`);
}

function capturing(p: LabProcess): LogLine {
  const line = p.json.find((o) => o.msg === 'capturing');
  assert.ok(line, 'a "capturing" line');
  return line;
}

/** A 100-SYN flood from `from` to the server, 0.1 s long. */
async function flood(lab: Lab, from: string): Promise<void> {
  await lab.hping3Flood({ from, to: lab.addr.server4, count: 100, intervalUs: 1000 });
}

/** `from` flooded, was skipped as allowlisted by an entry of `origin`, and has no route. */
async function assertSkippedAllowlisted(lab: Lab, live: LabProcess, from: string, origin: string, cidr = ALLOW_ATTACKERS): Promise<void> {
  await flood(lab, from);
  const skipped = await waitForDecision(live, 'skip', from).catch((e: Error) => {
    throw new Error(`${e.message}\n${decisionSummary(live)}`);
  });
  assert.equal(skipped.reason, 'allowlisted', decisionSummary(live));
  assert.match(String(skipped.detail), new RegExp(`${cidr.replace(/\./g, '\\.')} \\(${origin}\\)`));
  await sleep(500);
  assert.equal(decisions(live, 'block', from).length, 0, decisionSummary(live));
  assert.ok(!(await lab.routes('server')).some((r) => r.dst === from), `${from} routed away`);
  // The flood itself reached the server: its SYNs sit half-open there.
  const half = (await lab.synRecv('server')).get(from) ?? 0;
  assert.ok(half >= THRESHOLD, `${from}'s SYNs half-open on the server: ${half}`);
}

/** synwatch's non-log stderr lines (pino JSON lines excluded). */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

describe('live --config FILE', { skip, concurrency: false }, () => {
  const s = labSuite();

  it('applies the file\'s routeType (blackhole) and threshold (15)', async () => {
    const lab = s.get();
    const attacker = lab.addr.attacker4[0];
    const file = s.config('blackhole.json', { routeType: 'blackhole', threshold: 15 });
    // No --threshold on the command line (startLive always passes one): the file's must apply.
    const live = await lab.synwatch(['live', '-i', lab.serverIface, '--state-dir', s.stateDir(), '--config', file],
      { timeoutMs: 20_000, label: 'synwatch live' });
    await withLive(lab, live, s.stateDir(), async () => {
      const cap = capturing(live);
      assert.equal(cap.threshold, 15);
      assert.equal(cap.routeType, 'blackhole');
      await flood(lab, attacker);
      const route = await waitForRoute(lab, attacker, ROUTE_WAIT_MS, 'blackhole');
      assert.equal(route.protocol, SYNWATCH_PROTO);
      const block = await waitForDecision(live, 'block', attacker);
      // Flagged at the file's threshold, not the default (10) or the e2e default (20).
      assert.ok(Number(block.halfOpen) >= 15 && Number(block.halfOpen) < THRESHOLD, `flagged at ${String(block.halfOpen)} half-open`);
    });
  });

  it('skips an attacker inside the file\'s "allow" as allowlisted, no route', async () => {
    const lab = s.get();
    const file = s.config('allow.json', { allow: [ALLOW_ATTACKERS] });
    const live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--config', file] });
    await withLive(lab, live, s.stateDir(), async () => {
      await assertSkippedAllowlisted(lab, live, lab.addr.attacker4[1], 'config');
    });
  });

  it('a command-line flag overrides the file (--route-type prohibit over blackhole, --threshold over 15)', async () => {
    const lab = s.get();
    const attacker = lab.addr.attacker4[2];
    const file = s.config('blackhole.json', { routeType: 'blackhole', threshold: 15 });
    const live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--config', file, '--route-type', 'prohibit'] });
    await withLive(lab, live, s.stateDir(), async () => {
      const cap = capturing(live);
      assert.equal(cap.routeType, 'prohibit');
      assert.equal(cap.threshold, THRESHOLD);
      await flood(lab, attacker);
      const route = await waitForRoute(lab, attacker, ROUTE_WAIT_MS, 'prohibit');
      assert.equal(route.protocol, SYNWATCH_PROTO);
      assert.ok(!(await synwatchRoutes(lab)).some((r) => r.type === 'blackhole'), 'a blackhole route from the file');
    });
  });
});

describe('live: SIGHUP reloads --config', { skip, concurrency: false }, () => {
  const s = labSuite();
  let live: LabProcess;
  let file: string;

  before(async () => {
    file = s.config('live.json', { blockTtl: 120 });
    live = await startLive(s.get(), { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--config', file] });
  });

  after(async () => {
    await live?.stop();
  });

  it('applies the rewritten file (allow two attackers, blockTtl 300) and keeps the existing block', async () => {
    const lab = s.get();
    const [first, second, third] = lab.addr.attacker4;
    await flood(lab, first);
    await waitForRoute(lab, first, ROUTE_WAIT_MS);
    s.config('live.json', { allow: [`${second}/32`, `${third}/32`], blockTtl: 300 });
    const reloaded = nextJson(live, (o) => o.msg === 'reloaded', '"reloaded"');
    live.signal('SIGHUP');
    const line = await reloaded;
    assert.equal(line.blockTtl, 300);
    assert.equal(line.allow, 2);
    assert.equal(line.activeBlocks, 1);
    assert.ok(live.running, 'live keeps running after SIGHUP');
    await assertSkippedAllowlisted(lab, live, second, 'config', `${second}/32`);
    const kept = (await synwatchRoutes(lab)).find((r) => r.dst === first);
    assert.ok(kept && kept.type === 'unreachable', `the block from before the reload is kept: ${JSON.stringify(kept)}`);
    assert.equal(decisions(live, 'unblock', first).length, 0, decisionSummary(live));
  });

  it('a broken file on SIGHUP: "reload failed" naming file and key, live keeps the running config', async () => {
    const lab = s.get();
    const third = lab.addr.attacker4[2];
    s.config('live.json', { routeType: 'reject' });
    const reloads = live.json.filter((o) => o.msg === 'reloaded').length;
    const failed = nextJson(live, (o) => /^reload failed/.test(String(o.msg)), '"reload failed"');
    live.signal('SIGHUP');
    const line = await failed;
    assert.equal(line.level, 50, 'logged as an error');
    assert.ok(String(line.err).includes(file) && /"routeType"/.test(String(line.err)), `names the file and key: ${String(line.err)}`);
    await sleep(200);
    assert.ok(live.running, 'live keeps running');
    assert.equal(live.json.filter((o) => o.msg === 'reloaded').length, reloads, 'no "reloaded" for a broken file');
    // Still the previous configuration: the third attacker stays allowlisted, the old block stays.
    await assertSkippedAllowlisted(lab, live, third, 'config', `${third}/32`);
    assert.ok((await synwatchRoutes(lab)).some((r) => r.dst === lab.addr.attacker4[0]), 'the old block stays');
  });

  it('a reload that needs a restart (dryRun, stateDir, threshold) is refused, naming the keys', async () => {
    const lab = s.get();
    const third = lab.addr.attacker4[2];
    s.config('live.json', { allow: [`${third}/32`], blockTtl: 300, dryRun: true });
    const failed = nextJson(live, (o) => /^reload failed/.test(String(o.msg)), '"reload failed"');
    live.signal('SIGHUP');
    const line = await failed;
    assert.equal(line.level, 50);
    assert.match(String(line.msg), /dryRun.*needs a restart/);
    assert.ok(live.running, 'live keeps running');
  });

  it('a reload whose allowlist now covers a blocked source lifts that block', async () => {
    const lab = s.get();
    const first = lab.addr.attacker4[0];
    assert.ok((await synwatchRoutes(lab)).some((r) => r.dst === first), 'blocked before the reload');
    s.config('live.json', { allow: [ALLOW_ATTACKERS], blockTtl: 300 });
    const reloaded = nextJson(live, (o) => o.msg === 'reloaded', '"reloaded"');
    live.signal('SIGHUP');
    const line = await reloaded;
    assert.equal(line.activeBlocks, 0);
    const lifted = decisions(live, 'unblock', first);
    assert.equal(lifted.length, 1, decisionSummary(live));
    assert.equal(lifted[0].reason, 'allowlisted');
    await waitForNoRoute(lab, first, ROUTE_WAIT_MS);
    await stopClean(live);
  });
});

describe('live: --unblock-on-exit, and start-up errors', { skip, concurrency: false }, () => {
  const s = labSuite();

  it('--unblock-on-exit: SIGTERM exits 0 and leaves no synwatch route', async () => {
    const lab = s.get();
    const attackers = lab.addr.attacker4.slice(0, 2);
    const live = await startLive(lab, { stateDir: s.stateDir(), threshold: THRESHOLD, extra: ['--unblock-on-exit'] });
    try {
      await Promise.all(attackers.map((from) => flood(lab, from)));
      for (const a of attackers) await waitForRoute(lab, a, ROUTE_WAIT_MS);
    } catch (e) {
      await live.stop();
      throw e;
    }
    await stopClean(live);
    assert.deepEqual((await lab.routes('server')).filter((r) => r.protocol === SYNWATCH_PROTO), []);
    for (const a of attackers) {
      assert.ok(decisions(live, 'unblock', a).some((d) => d.reason === 'shutdown'), `unblock "shutdown" for ${a}: ${decisionSummary(live)}`);
    }
    assert.ok(live.json.some((o) => o.msg === 'stopped'), 'a final "stopped" line');
    // The ledger agrees: nothing active for the next start to restore.
    const blocks = await lab.synwatchOnce(['blocks', '--state-dir', s.stateDir(), '--json']);
    assert.equal(blocks.code, 0, blocks.stderr);
    assert.deepEqual((JSON.parse(blocks.stdout) as Array<{ state: string }>).filter((b) => b.state === 'active'), []);
  });

  it('a bad config file at start exits 2 with one line naming the file and the key', async () => {
    const lab = s.get();
    const cases: Array<[string, string, RegExp]> = [
      ['bad-value.json', '{"blockTtl": "ten"}', /"blockTtl"/],
      ['bad-key.json', '{"routeTyp": "blackhole"}', /"routeTyp"/],
      ['bad-json.json', '{"allow": [', /invalid JSON/],
    ];
    for (const [name, body, key] of cases) {
      const file = s.config(name, body);
      const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--state-dir', s.stateDir('state-bad'), '--config', file]);
      assert.equal(r.code, 2, `${name}: exit ${r.code}; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line, got:\n${r.stderr}`);
      assert.ok(lines[0].includes(file), `${name}: names the file: ${lines[0]}`);
      assert.match(lines[0], key, `${name}: names what is wrong`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
    }
    assert.ok(!fs.existsSync(s.stateDir('state-bad')), 'nothing written for a refused start');
  });

  it('an unusable --state-dir (under a regular file) exits 1 with one line naming the dir', async () => {
    const lab = s.get();
    const plain = path.join(lab.dir, 'plain-file');
    fs.writeFileSync(plain, 'not a directory\n');
    const dir = path.join(plain, 'state');
    const before = await lab.routes('server');
    const r = await lab.synwatchOnce(['live', '-i', lab.serverIface, '--state-dir', dir, '--threshold', String(THRESHOLD)]);
    assert.equal(r.code, 1, `exit ${r.code}; stderr: ${r.stderr}`);
    const lines = plainLines(r.stderr);
    assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
    assert.ok(lines[0].includes(dir), `names the dir: ${lines[0]}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!r.stderr.includes('"capturing"'), 'never started capturing');
    assert.deepEqual((await lab.routes('server')).map((x) => x.dst), before.map((x) => x.dst));
  });
});
