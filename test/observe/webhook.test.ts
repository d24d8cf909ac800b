/**
 * The webhook's delivery (JsonPoster) and the Alertmanager document, against real HTTP servers
 * inside a namespace of our own (its loopback: nothing listens where another test could see it):
 * order, retries with backoff on 5xx, none on a 4xx, the timeout, the queue bound, and the
 * Alertmanager alert's fixed labels, re-sends with a later endsAt and its resolution.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailable, TestNetns } from '../enforce/netns';

const skip = netnsUnavailable() ?? false;

/** Runs in the namespace: servers by path, the scenario, then one JSON line of results. */
const HARNESS = `
const http = require('http');
const { JsonPoster } = require(process.env.SW_DIST + '/src/observe/webhook.js');
const { AlertmanagerNotifier } = require(process.env.SW_DIST + '/src/observe/alertmanager.js');
const seen = {};
let flaky = 0;
const server = http.createServer((q, r) => {
  let b = '';
  q.on('data', (c) => b += c);
  q.on('end', () => {
    (seen[q.url] ??= []).push(JSON.parse(b));
    if (q.url === '/slow') return; // never answers
    if (q.url === '/refuse') { r.statusCode = 400; return r.end('bad document'); }
    if (q.url === '/flaky' && flaky++ < 2) { r.statusCode = 500; return r.end('later'); }
    r.end('ok');
  });
});
server.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port;
  const warnings = [];
  const log = { warn: (f, m) => warnings.push(m) };
  const out = { warnings };
  const poster = (path, extra = {}) => new JsonPoster({ url: base + path, timeoutMs: 200, retryDelaysMs: [20, 40, 80], ...extra }, log);
  const run = async (name, path, bodies, extra) => {
    const p = poster(path, extra);
    const t0 = Date.now();
    for (const b of bodies) p.post(b);
    // Waits until all went (close would cut the retries short: one last try at stop).
    while (p.stats.sent + p.stats.failed + p.stats.dropped < bodies.length) await new Promise((r) => setTimeout(r, 10));
    await p.close(5000);
    out[name] = { stats: { ...p.stats }, ms: Date.now() - t0 };
  };
  await run('ok', '/ok', [{ n: 1 }, { n: 2 }, { n: 3 }]);
  await run('flaky', '/flaky', [{ n: 1 }]);
  await run('refuse', '/refuse', [{ n: 1 }]);
  await run('slow', '/slow', [{ n: 1 }]);
  await run('overflow', '/full', [1, 2, 3, 4, 5].map((n) => ({ n })), { queueMax: 2 });
  const t0 = Date.now();
  const start = Date.UTC(2026, 11, 2, 1, 0, 0) * 1000;
  const ctx = { host: 'edge-1', iface: 'eth0', dryRun: false, nowUs: () => start + (Date.now() - t0) * 1000, activeBlocks: () => 0 };
  const am = new AlertmanagerNotifier({ url: base + '/api/v2/alerts', timeoutMs: 500, resendMs: 100 }, ctx, log);
  const alert = { kind: 'syn-flood', startUs: start, endUs: start, count: 150, completed: 0, peakRate: 150, newSourceAttempts: 1, share: 1,
    targets: [{ ip: '198.51.100.10', port: 8080, attempts: 150 }], sources: [{ ip: '203.0.113.66', count: 150 }], advice: 'block them' };
  am.onAlert(alert, 'start');
  await new Promise((r) => setTimeout(r, 450));
  // The final report calls it spoofed: the started alert resolves, and the final one is posted resolved too.
  out.endUs = ctx.nowUs() - 100_000;
  am.onAlert({ ...alert, kind: 'spoofed-flood', endUs: out.endUs, count: 4000, newSourceAttempts: 3990 }, 'end');
  am.onDecision({ action: 'alert', ip: '', tsUs: ctx.nowUs(), reason: 'rate-cap', detail: 'new blocks paced at 50/s' }, undefined);
  await new Promise((r) => setTimeout(r, 250)); // no re-send after the end
  await am.close(2000);
  out.am = { stats: { ...am.poster.stats } };
  out.seen = seen;
  process.stdout.write(JSON.stringify(out) + '\\n');
  server.close();
  server.closeAllConnections();
});
`;

interface Results {
  warnings: string[];
  seen: Record<string, unknown[]>;
  [name: string]: unknown;
}

describe('webhook delivery', { skip }, () => {
  let ns: TestNetns;
  let r: Results;
  const stats = (name: string) => (r[name] as { stats: Record<string, number> }).stats;

  before(() => {
    ns = TestNetns.create('wh');
    const res = ns.nodeIn(HARNESS);
    assert.equal(res.status, 0, res.stderr);
    r = JSON.parse(res.stdout) as Results;
  });
  after(() => ns?.delete());

  it('posts in order, once each, when the receiver answers 200', () => {
    assert.deepEqual(r.seen['/ok'], [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.deepEqual(stats('ok'), { queued: 0, sent: 3, retried: 0, failed: 0, dropped: 0 });
  });

  it('retries a 5xx with backoff until it is taken', () => {
    assert.equal(r.seen['/flaky'].length, 3);
    assert.deepEqual(stats('flaky'), { queued: 0, sent: 1, retried: 2, failed: 0, dropped: 0 });
    assert.ok((r.flaky as { ms: number }).ms >= 60, 'waited 20 + 40 ms between the tries');
  });

  it('does not retry a 4xx, and says so', () => {
    assert.equal(r.seen['/refuse'].length, 1);
    assert.deepEqual(stats('refuse'), { queued: 0, sent: 0, retried: 0, failed: 1, dropped: 0 });
    assert.ok(r.warnings.includes('webhook: notification not delivered'));
  });

  it('gives up on a receiver that never answers after the timeout and the retries', () => {
    assert.equal(r.seen['/slow'].length, 4);
    assert.deepEqual(stats('slow'), { queued: 0, sent: 0, retried: 3, failed: 1, dropped: 0 });
    const ms = (r.slow as { ms: number }).ms;
    assert.ok(ms >= 4 * 200 + 140 && ms < 3000, `${ms} ms`);
  });

  it('drops beyond its queue, counted and warned about', () => {
    // One in flight, two waiting, two dropped.
    assert.deepEqual(stats('overflow'), { queued: 0, sent: 3, retried: 0, failed: 0, dropped: 2 });
    assert.deepEqual(r.seen['/full'], [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.ok(r.warnings.some((w) => /queue full/.test(w)));
  });

  it('sends an Alertmanager alert with fixed labels, re-sends it with a later endsAt, and resolves it at its end', () => {
    type Am = { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string };
    const posts = r.seen['/api/v2/alerts'] as Am[][];
    const floods = posts.filter((p) => p[0].labels.alertname !== 'SynwatchPolicy');
    assert.ok(floods.length >= 4, `start, re-sends and end: ${floods.length} posts`);
    const first = floods[0][0];
    assert.deepEqual(first.labels, { alertname: 'SynwatchSynFlood', kind: 'syn-flood', severity: 'critical', instance: 'edge-1', interface: 'eth0', target: '198.51.100.10:8080' });
    assert.equal(first.startsAt, '2026-12-02T01:00:00.000000Z');
    const ahead = Date.parse(first.endsAt) - Date.parse(first.startsAt);
    assert.ok(ahead >= 400 && ahead < 600, `endsAt 4 re-send intervals ahead: ${ahead} ms`);
    const resends = floods.slice(1, -1).map((p) => p[0]);
    assert.ok(resends.every((a) => JSON.stringify(a.labels) === JSON.stringify(first.labels)), 'same labels: one alert');
    assert.ok(resends.every((a, i) => Date.parse(a.endsAt) > Date.parse(i === 0 ? first.endsAt : resends[i - 1].endsAt)), 'endsAt moves ahead');
    const last = floods[floods.length - 1];
    assert.deepEqual(last.map((a) => a.labels.kind), ['syn-flood', 'spoofed-flood']);
    const endIso = new Date((r.endUs as number) / 1000).toISOString().slice(0, 19);
    assert.ok(last.every((a) => a.endsAt.startsWith(endIso) && a.endsAt === last[0].endsAt), `both resolved at the last attempt: ${last.map((a) => a.endsAt).join(' ')}`);
    assert.ok(Date.parse(last[0].endsAt) < Date.parse(resends[resends.length - 1].endsAt), 'endsAt in the past of the open one: resolved');
    assert.equal(last[1].labels.alertname, 'SynwatchSpoofedFlood');
    assert.equal(last[0].annotations.attempts, '4000', 'the final report in the annotations');
    const policy = posts.filter((p) => p[0].labels.alertname === 'SynwatchPolicy');
    assert.equal(policy.length, 1);
    assert.deepEqual(policy[0][0].labels, { alertname: 'SynwatchPolicy', reason: 'rate-cap', severity: 'warning', instance: 'edge-1', interface: 'eth0' });
    assert.equal(posts[posts.length - 1], policy[0], 'no re-send after the end');
    assert.deepEqual(stats('am'), { queued: 0, sent: posts.length, retried: 0, failed: 0, dropped: 0 });
  });
});
