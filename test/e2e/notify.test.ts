/**
 * End-to-end tests of live's notifications in the namespace lab (test/e2e/lab.ts): a real
 * Alertmanager (Debian prometheus-alertmanager) on the server namespace's loopback receives the
 * attack alerts of `synwatch live --webhook .../api/v2/alerts`, and the --on-block command runs
 * with FastNetMon's argv on real blocks; a hanging command and one that fails without reading
 * stdin do not keep blocks from happening. Also the terminal log format, under a real
 * pseudo-terminal (util-linux `script`).
 *
 * Alertmanager runs inside the lab's server namespace (its own loopback: no port is shared with
 * the host or another test), is killed by PID with the lab, and keeps its state in the lab's
 * temporary directory, which destroy() removes. Floods are bounded in count and time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, LabProcess, labUnavailableReason, pollUntil, sleep, which, SYNWATCH_MAIN } from './lab';
import { decisions, liveUnavailableReason, startLive, waitForNoRoute, waitForRoute } from './synwatch';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const AM_PORT = 9093;
const AM_URL = `http://127.0.0.1:${AM_PORT}/api/v2/alerts`;
const ROUTE_WAIT_MS = 5_000;
const skip = labUnavailableReason() ?? liveUnavailableReason() ?? false;

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** One lab for the file; `after` destroys it (namespaces, processes by PID, temp dir) whatever happened. */
let lab: Lab | undefined;
const getLab = () => lab!;

async function amAlerts(l: Lab): Promise<AmAlert[]> {
  const r = await l.exec('server', 'curl', ['-sf', '--max-time', '3', AM_URL], { allowFail: true });
  if (r.code !== 0) throw new Error(`GET ${AM_URL} failed (curl ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as AmAlert[];
}

/** A script that records its argv (one per line) and its stdin, one file pair per run. */
function recorderScript(dir: string): string {
  const file = path.join(dir, 'record.sh');
  fs.writeFileSync(file, `#!/bin/sh\nf="${dir}/run.$$"\nprintf '%s\\n' "$@" > "$f.argv"\ncat > "$f.stdin"\nmv "$f.argv" "$f.done"\n`, { mode: 0o755 });
  return file;
}

interface Run { argv: string[]; stdin: Record<string, unknown> }

function runs(dir: string): Run[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.done')).sort().map((f) => {
    const base = path.join(dir, f.slice(0, -'.done'.length));
    return { argv: fs.readFileSync(`${base}.done`, 'utf8').trimEnd().split('\n'), stdin: JSON.parse(fs.readFileSync(`${base}.stdin`, 'utf8')) as Record<string, unknown> };
  });
}

async function stopClean(p: LabProcess): Promise<void> {
  const r = await p.stop(10_000);
  assert.equal(r.code, 0, `synwatch live exited ${r.code}/${r.signal}; stderr tail: ${p.stderr.slice(-1500)}`);
}

/**
 * A JSON receiver in the server namespace (its own loopback): records every body it accepts, one
 * JSON line each, and answers the first POST with 503 (synwatch must retry it).
 */
async function startReceiver(l: Lab): Promise<{ url: string; process: LabProcess; bodies: () => Record<string, unknown>[]; refused: () => number }> {
  const file = path.join(l.dir, 'webhook.jsonl');
  const port = 9200;
  const js = [
    "const http = require('http'); const fs = require('fs'); let n = 0;",
    'http.createServer((q, r) => { let b = ""; q.on("data", (c) => b += c); q.on("end", () => {',
    `  if (n++ === 0) { fs.writeFileSync(${JSON.stringify(`${file}.refused`)}, "1"); r.statusCode = 503; return r.end("busy"); }`,
    `  fs.appendFileSync(${JSON.stringify(file)}, b + String.fromCharCode(10)); r.end("ok"); }); })`,
    `  .listen(${port}, '127.0.0.1', () => process.stderr.write('listening' + String.fromCharCode(10)));`,
    "process.on('SIGTERM', () => process.exit(0));",
  ].join('\n');
  const p = l.spawn('server', process.execPath, ['-e', js], { label: 'webhook receiver' });
  await p.waitFor(() => p.lines.includes('listening'), 10_000, 'the receiver to listen');
  return {
    url: `http://127.0.0.1:${port}/synwatch`,
    process: p,
    bodies: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>) : []),
    refused: () => (fs.existsSync(`${file}.refused`) ? 1 : 0),
  };
}

describe('live notifications', { skip, concurrency: false }, () => {
  before(async () => {
    lab = await Lab.create({ attackers4: 6, attackers6: 0 });
  });
  after(async () => {
    await lab?.destroy();
  });

  describe('a real Alertmanager and the --on-block command', { skip: fs.existsSync(ALERTMANAGER) ? false : `${ALERTMANAGER} not installed` }, () => {
    let am: LabProcess;
    let live: LabProcess;
    let hookDir: string;

    before(async () => {
      const l = getLab();
      const amDir = path.join(l.dir, 'alertmanager');
      fs.mkdirSync(amDir);
      fs.writeFileSync(path.join(amDir, 'alertmanager.yml'), "route:\n  receiver: discard\nreceivers:\n  - name: discard\n");
      am = l.spawn('server', ALERTMANAGER, [`--config.file=${path.join(amDir, 'alertmanager.yml')}`, `--storage.path=${path.join(amDir, 'data')}`,
        '--cluster.listen-address=', `--web.listen-address=127.0.0.1:${AM_PORT}`], { label: 'alertmanager' });
      await pollUntil(async () => (await l.exec('server', 'curl', ['-sf', '--max-time', '2', `http://127.0.0.1:${AM_PORT}/-/ready`], { allowFail: true })).code === 0,
        20_000, 'Alertmanager to be ready', 200);
      hookDir = path.join(l.dir, 'hook');
      fs.mkdirSync(hookDir);
      live = await startLive(l, {
        stateDir: path.join(l.dir, 'state-am'), threshold: 20,
        extra: ['--webhook', AM_URL, '--webhook-resend', '1', '--on-block', recorderScript(hookDir), '--block-ttl', '3', '--unblock-on-exit'],
      });
    });
    after(async () => {
      if (live?.running) await live.stop(10_000);
      if (am?.running) await am.stop(5000);
    });

    it('posts a spoofed flood to Alertmanager as one alert with its labels, re-sent while it lasts, resolved when it ends', async () => {
      const l = getLab();
      // Small on purpose: the alarm falls by half the normal load per second after the flood (flood.ts),
      // so 100 SYNs in 0.5 s end in ~10 s, where 4,000 would keep it up for minutes.
      const flood = l.spoofedFlood({ to: l.addr.server4, count: 100, intervalUs: 5000 });
      const firing = await pollUntil(async () => (await amAlerts(l)).find((a) => a.labels.kind === 'spoofed-flood'), 20_000, 'the spoofed-flood alert in Alertmanager', 250)
        .catch(async (e: Error) => {
          const seen = live.json.filter((o) => o.msg === 'alert' || o.level === 40).map((o) => JSON.stringify(o)).join('\n');
          throw new Error(`${e.message}; Alertmanager lists ${JSON.stringify(await amAlerts(l))}; synwatch said:\n${seen}`);
        });
      assert.equal(firing.labels.alertname, 'SynwatchSpoofedFlood');
      assert.equal(firing.labels.severity, 'critical');
      assert.equal(firing.labels.interface, 'eth0');
      assert.equal(firing.labels.target, `${l.addr.server4}:${l.httpPort}`);
      assert.ok(firing.labels.instance, 'instance label');
      assert.equal(firing.status.state, 'active');
      assert.match(firing.annotations.description, /SYN cookies/);
      await sleep(2500);
      const later = (await amAlerts(l)).find((a) => a.labels.kind === 'spoofed-flood');
      assert.ok(later, 'still listed while the flood lasts');
      assert.ok(Date.parse(later.endsAt) > Date.parse(firing.endsAt), `re-sent with a later endsAt: ${firing.endsAt} then ${later.endsAt}`);
      // One alert per attack: whatever Alertmanager lists came from synwatch's own alert lines.
      const listed = await amAlerts(l);
      assert.ok(listed.every((a) => a.labels.alertname.startsWith('Synwatch') && !('ip' in a.labels)), JSON.stringify(listed.map((a) => a.labels)));
      assert.equal(listed.filter((a) => a.labels.kind === 'spoofed-flood').length, 1);
      await flood; // hping3 exits 1 when nothing answers: random sources get no SYN-ACK back
      await live.waitForJson((o) => o.msg === 'alert' && o.kind === 'spoofed-flood' && o.phase === 'end', 30_000, 'the end of the spoofed-flood alert');
      await pollUntil(async () => !(await amAlerts(l)).some((a) => a.labels.kind === 'spoofed-flood'), 10_000, 'the alert to resolve in Alertmanager', 250);
      assert.equal(runs(hookDir).length, 0, 'no --on-block run for a spoofed flood (no source is blocked)');
      assert.deepEqual(decisions(live).filter((d) => d.action !== 'alert').map((d) => d.ip), [], 'no decision about a random source');
    });

    it('runs the command once per block and once per unblock, with FastNetMon\'s argv and the decision on stdin', async () => {
      const l = getLab();
      const attacker = l.addr.attacker4[0];
      await l.hping3Flood({ from: attacker, to: l.addr.server4, count: 150, intervalUs: 1000 });
      await waitForRoute(l, attacker, ROUTE_WAIT_MS);
      await waitForNoRoute(l, attacker, 10_000); // --block-ttl 3
      const mine = await pollUntil(async () => {
        const r = runs(hookDir).filter((x) => x.argv[0] === attacker);
        return r.length >= 2 ? r : null;
      }, 10_000, 'the ban and unban runs');
      await sleep(500); // a third run would show up by now
      const all = runs(hookDir).filter((x) => x.argv[0] === attacker);
      assert.equal(all.length, 2, `runs: ${JSON.stringify(all.map((x) => x.argv))}`);
      const [ban, unban] = mine[0].argv[3] === 'ban' ? mine : [mine[1], mine[0]];
      assert.equal(ban.argv.length, 4);
      assert.deepEqual([ban.argv[0], ban.argv[1], ban.argv[3]], [attacker, 'incoming', 'ban']);
      assert.deepEqual([unban.argv[0], unban.argv[1], unban.argv[3]], [attacker, 'incoming', 'unban']);
      assert.match(ban.argv[2], /^[1-9]\d*$/, `pps ${ban.argv[2]}`);
      assert.equal(unban.argv[2], ban.argv[2], 'the unban carries the ban\'s pps');
      assert.equal(ban.stdin.version, 1);
      assert.equal(ban.stdin.action, 'ban');
      assert.equal(ban.stdin.ip, attacker);
      assert.equal(ban.stdin.interface, 'eth0');
      const decision = ban.stdin.decision as Record<string, unknown>;
      assert.equal(decision.action, 'block');
      // crowd when the flood alarm rises before the source holds --threshold half-open attempts.
      assert.ok(decision.reason === 'flood' || decision.reason === 'crowd', `reason ${String(decision.reason)}`);
      const source = ban.stdin.source as Record<string, unknown>;
      assert.equal(source.reason, decision.reason);
      assert.ok(typeof source.halfOpen === 'number' && source.halfOpen >= 4, `source ${JSON.stringify(source)}`);
      assert.equal((unban.stdin.decision as Record<string, unknown>).reason, 'ttl-expired');
      const block = decisions(live, 'block', attacker)[0];
      assert.equal(decision.at, block.synTime, 'stdin\'s decision is the logged one');
    });

    it('stops cleanly, with its notifications delivered', async () => {
      await stopClean(live);
      const done = live.json.find((o) => o.msg === 'notifications done') as { notifications: Record<string, number | string>[] } | undefined;
      assert.ok(done, 'the notifications line');
      const hook = done.notifications.find((n) => n.type === 'on-block')!;
      const am = done.notifications.find((n) => n.type === 'webhook')!;
      assert.equal(am.format, 'alertmanager');
      assert.deepEqual([hook.failed, hook.dropped, am.failed, am.dropped], [0, 0, 0, 0], JSON.stringify(done.notifications));
      assert.ok(Number(am.sent) >= 4, `alert posts: ${am.sent}`);
    });
  });

  describe('a command that hangs or fails', () => {
    for (const [name, body, failure] of [
      ['hangs', 'exec sleep 600', /timed out after 1000 ms/],
      ['exits 1 without reading stdin', 'exit 1', /exit code 1/],
    ] as const) {
      it(`does not stop blocks when the --on-block command ${name}`, async () => {
        const l = getLab();
        const script = path.join(l.dir, `hook-${name.split(' ')[0]}.sh`);
        fs.writeFileSync(script, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        // The second run also posts JSON to a receiver that answers the first POST with a 503.
        const receiver = name === 'hangs' ? null : await startReceiver(l);
        const live = await startLive(l, {
          stateDir: path.join(l.dir, `state-${name.split(' ')[0]}`), threshold: 20,
          extra: ['--on-block', script, '--on-block-timeout', '1', '--on-block-concurrency', '1', '--unblock-on-exit',
            '--metrics-listen', '127.0.0.1:0', ...(receiver ? ['--webhook', receiver.url] : [])],
        });
        try {
          const attackers = name === 'hangs' ? l.addr.attacker4.slice(1, 4) : l.addr.attacker4.slice(4, 6);
          for (const a of attackers) {
            await l.hping3Flood({ from: a, to: l.addr.server4, count: 100, intervalUs: 1000 });
            await waitForRoute(l, a, ROUTE_WAIT_MS);
          }
          const warn = await live.waitForJson((o) => o.msg === 'on-block command failed', 5000, 'the failure warning');
          assert.match(String(warn.failure), failure);
          assert.equal(warn.command, script);
          const status = await live.waitForJson((o) => o.msg === 'status', 15_000, 'a status line'); // the pipeline goes on
          assert.ok(Number(status.captured) >= 100 * attackers.length, `captured ${status.captured}`);
          // The failures are on /metrics too, read from the notifier's counters at scrape time.
          const listen = String(live.json.find((o) => o.msg === 'capturing')?.metricsListen);
          const metrics = (await l.exec('server', 'curl', ['-sf', '--max-time', '5', `http://${listen}/metrics`])).stdout;
          const outcome = name === 'hangs' ? 'timed_out' : 'failed';
          const m = new RegExp(`^synwatch_notifications_total\\{notifier="on-block",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics);
          assert.ok(m && Number(m[1]) >= 1, `on-block ${outcome} on /metrics:\n${metrics.split('\n').filter((x) => x.includes('notifications')).join('\n')}`);
        } finally {
          await stopClean(live);
        }
        const done = live.json.find((o) => o.msg === 'notifications done') as { notifications: Record<string, number>[] };
        const hook = done.notifications[0];
        // Bans plus the unbans of --unblock-on-exit; each one failed, none vanished.
        assert.equal(hook.succeeded, 0);
        assert.ok(hook.failed + hook.dropped >= 2, JSON.stringify(hook));
        if (name === 'hangs') assert.ok(hook.timedOut >= 2, JSON.stringify(hook));
        if (receiver) {
          const bodies = receiver.bodies();
          const blocks = bodies.filter((b) => b.type === 'decision' && b.action === 'block');
          assert.deepEqual(blocks.map((b) => b.ip).sort(), l.addr.attacker4.slice(4, 6).sort(), JSON.stringify(bodies));
          for (const b of blocks) {
            assert.equal(b.version, 1);
            assert.equal(b.interface, 'eth0');
            assert.equal(b.dryRun, false);
            assert.ok((b.source as Record<string, unknown>).attempts, 'the flag behind the block');
          }
          assert.deepEqual(bodies.filter((b) => b.type === 'decision' && b.action === 'unblock').map((b) => b.reason), ['shutdown', 'shutdown']);
          assert.ok(bodies.some((b) => b.type === 'alert' && b.phase === 'start' && b.kind === 'syn-flood'), 'the flood alert');
          assert.ok(!bodies.some((b) => b.action === 'renew' || b.action === 'deferred'), 'state changes only');
          const webhook = done.notifications.find((n) => (n as unknown as { type: string }).type === 'webhook')!;
          assert.deepEqual([webhook.retried, webhook.failed, webhook.dropped, webhook.sent], [1, 0, 0, bodies.length], JSON.stringify(webhook));
          assert.equal(receiver.refused(), 1);
          await receiver.process.stop(3000);
        }
      });
    }
  });

  describe('on a terminal', { skip: which('script') ? false : 'no script(1) (util-linux)' }, () => {
    it('prints readable log lines and a status line redrawn in place, no JSON', async () => {
      const l = getLab();
      const cmd = `exec timeout --preserve-status -s INT 4 ${process.execPath} ${SYNWATCH_MAIN} --log-level info live -i eth0 --dry-run --status-interval 0.5 --state-dir ${path.join(l.dir, 'state-tty')}`;
      const run = l.exec('server', 'script', ['-qfec', cmd, '/dev/null'], { timeoutMs: 20_000, allowFail: true });
      await sleep(1500); // capturing, and a status line or two
      await l.hping3Flood({ from: l.addr.attacker4[0], to: l.addr.server4, count: 60, intervalUs: 1000 });
      const r = await run;
      const out = r.stdout;
      assert.equal(r.code, 0, `exit ${r.code}: ${out.slice(-800)} ${r.stderr}`);
      assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} (\x1b\[\d+m)?INFO {1,2}(\x1b\[0m)? ?capturing iface=eth0 /m);
      assert.match(out, /\r\x1b\[Kstatus pps=\d+ captured=\d+ drops=0 /, 'the status line, drawn with CR and erase-line');
      assert.ok((out.match(/\r\x1b\[Kstatus /g) ?? []).length >= 3, 'redrawn at the status interval');
      assert.match(out, /\r\x1b\[K\d\d:\d\d:\d\d\.\d{3} .*stopped why=SIGINT/, 'the status line is erased before a log line');
      assert.match(out, /\r\x1b\[K\d\d:\d\d:\d\d\.\d{3} .*decision action=block ip=203\.0\.113\.\d+ reason=\w+ synTime=/, 'a decision, above the status line');
      const widths = [...out.matchAll(/\x1b\[K(status [^\r\n]*)/g)].map((m) => m[1].length);
      assert.ok(widths.length > 0 && widths.every((w) => w < 80), `status lines cut to the terminal's 80 columns: ${widths.join(', ')}`);
      assert.doesNotMatch(out, /^\{"level"/m, 'no JSON lines on a terminal');
      assert.doesNotMatch(out, /"msg":"status"/);
    });
  });
});
