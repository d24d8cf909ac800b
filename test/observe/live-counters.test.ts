/**
 * The counters behind the metrics and the status socket, on plain data: the latency histogram's
 * buckets, the open alert kept per detector (floods send a new snapshot at start and end, and a
 * flood's kind may change by its end), and --metrics-listen's parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Alert, AlertKind } from '../../src/detect/alerts';
import { LATENCY_BUCKETS_S, LiveEventCounters } from '../../src/observe/live-counters';
import { parseListenAddress } from '../../src/observe/metrics-server';

function alert(kind: AlertKind): Alert {
  return { kind, startUs: 1, endUs: 2, count: 30, completed: 0, peakRate: 30, newSourceAttempts: 30, share: 1, targets: [], sources: [], advice: '' };
}

describe('LiveEventCounters', () => {
  it('puts a block latency in the first bucket whose bound holds it, and only blocks', () => {
    const c = new LiveEventCounters();
    c.countDecision('block', 100);       // 0.0001 s: on the first bound (le is inclusive)
    c.countDecision('block', 101);       // just above it
    c.countDecision('block', 60_000_000); // 60 s: beyond the last bound, +Inf
    c.countDecision('renew', 5);
    assert.equal(c.latencyBuckets[0], 1);
    assert.equal(c.latencyBuckets[1], 1);
    assert.equal(c.latencyBuckets[LATENCY_BUCKETS_S.length], 1);
    assert.equal(c.latencyCount, 3);
    assert.ok(Math.abs(c.latencySumS - 60.000201) < 1e-9);
    assert.equal(c.decisions[0], 3, 'blocks');
    assert.equal(c.decisions[1], 1, 'renews');
  });

  it('keeps one open flood alert: a kind changed by its end still closes it', () => {
    const c = new LiveEventCounters();
    c.countAlert(alert('spoofed-flood'), 'start');
    assert.equal(c.attackActive('spoofed-flood'), 1);
    c.countAlert(alert('syn-flood'), 'end');
    assert.equal(c.attackActive('spoofed-flood'), 0);
    assert.equal(c.attackActive('syn-flood'), 0);
    assert.deepEqual(c.openAlerts(), []);
    assert.equal(c.alertsStarted[1], 1, 'counted once, by its kind at the start');
  });

  it('keeps a backscatter alert open beside a flood', () => {
    const c = new LiveEventCounters();
    c.countAlert(alert('syn-flood'), 'start');
    c.countAlert(alert('backscatter'), 'start');
    c.countAlert(alert('syn-flood'), 'end');
    assert.deepEqual(c.openAlerts().map((a) => a.kind), ['backscatter']);
    assert.equal(c.attackActive('backscatter'), 1);
  });

  it('counts flags by reason', () => {
    const c = new LiveEventCounters();
    c.countFlag('crowd');
    c.countFlag('crowd');
    c.countFlag('flood');
    assert.deepEqual([...c.flagged], [1, 0, 2]);
  });
});

describe('--metrics-listen ADDR:PORT', () => {
  it('takes an IPv4 address, a name, and IPv6 in brackets', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:9464'), { host: '::1', port: 9464 });
  });

  for (const bad of ['9464', ':9464', '127.0.0.1', '127.0.0.1:65536', '::1:9464', '[::1]', '[nope]:1', 'a b:1', '127.0.0.1:9464x']) {
    it(`refuses '${bad}', naming the option and the value`, () => {
      assert.throws(() => parseListenAddress(bad), (e: Error) => e.message.startsWith('--metrics-listen takes ADDR:PORT') && e.message.includes(`'${bad}'`));
    });
  }
});
