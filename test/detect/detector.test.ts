import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeTracker, DEFAULT_TRACKER_OPTIONS } from '../../src/track/tracker';
import { Detector, DetectorSink, DEFAULT_DETECTOR_OPTIONS } from '../../src/detect/detector';
import { Alert } from '../../src/detect/alerts';
import { ActivityEvent, FlagEvent } from '../../src/detect/events';
import { RSTACK, SYN, SYNACK, Seg, handshake, viewOf } from '../track/segments';

class Sink implements DetectorSink {
  flags: FlagEvent[] = [];
  activity: ActivityEvent[] = [];
  alerts: Alert[] = [];
  onFlag(ev: FlagEvent): void { this.flags.push(ev); }
  onActivity(ev: ActivityEvent): void { this.activity.push(ev); }
  onAlert(a: Alert, phase: 'start' | 'end'): void { if (phase === 'end') this.alerts.push(a); }
  onTime(): void {}
}

const T0 = 1_700_000_000_000_000;
const S = '198.51.100.1';

/** Feed timed segments ([offsetUs, seg]) and finish. */
function run(timed: [number, Seg][], opts = DEFAULT_DETECTOR_OPTIONS) {
  const t = new HandshakeTracker(DEFAULT_TRACKER_OPTIONS);
  const sink = new Sink();
  const d = new Detector(opts, t, sink);
  let now = T0;
  for (const [off, s] of timed) {
    now = T0 + off;
    t.onSegment(viewOf(s), now);
  }
  t.advanceTo(now);
  d.finish(now);
  return { t, d, sink };
}

function synFrom(src: string, sport: number, dport: number, isn: number): Seg {
  return { src, dst: S, sport, dport, flags: SYN, seq: isn };
}

test('a one-source flood is flagged at the SYN that makes `threshold` half-open attempts', () => {
  const timed: [number, Seg][] = [];
  for (let i = 0; i < 50; i++) timed.push([i * 10_000, synFrom('203.0.113.66', 30000 + i, 80, i * 1000)]);
  const { sink } = run(timed);
  assert.equal(sink.flags.length, 1);
  const f = sink.flags[0];
  assert.equal(f.ip, '203.0.113.66');
  assert.equal(f.reason, 'flood');
  assert.equal(f.halfOpen, DEFAULT_DETECTOR_OPTIONS.threshold);
  assert.equal(f.tsUs, T0 + (DEFAULT_DETECTOR_OPTIONS.threshold - 1) * 10_000, 'flag time is the crossing SYN');
  assert.ok(sink.activity.length >= 0);
  assert.deepEqual(sink.alerts.map((a) => a.kind), ['syn-flood']);
});

test('a source that completes its handshakes is never flagged, however many it opens', () => {
  const timed: [number, Seg][] = [];
  let off = 0;
  for (let i = 0; i < 200; i++) for (const s of handshake('192.0.2.20', S, 20000 + i, 443, i * 77, i * 99)) timed.push([(off += 500), s]);
  const { sink } = run(timed);
  assert.equal(sink.flags.length, 0);
  assert.equal(sink.alerts.length, 0);
});

test('a spoofed flood raises one spoofed-flood alert and flags no source', () => {
  const timed: [number, Seg][] = [];
  for (let i = 0; i < 600; i++) {
    const a = `${['192.0.2', '198.51.100', '203.0.113'][i % 3]}.${Math.floor(i / 3) + 1}`;
    timed.push([i * 5000, synFrom(a, 1024 + i, 80, i * 7919)]);
  }
  const { sink } = run(timed);
  assert.equal(sink.flags.length, 0);
  assert.equal(sink.alerts.length, 1);
  const a = sink.alerts[0];
  assert.equal(a.kind, 'spoofed-flood');
  assert.equal(a.count, 600);
  assert.equal(a.newSourceAttempts, 600);
  assert.deepEqual(a.targets, [{ ip: S, port: 80, attempts: 600 }]);
});

test('a port scan against closed ports is flagged as a scan (reset at once, never half-open)', () => {
  const timed: [number, Seg][] = [];
  for (let p = 1; p <= 100; p++) {
    timed.push([p * 20_000, synFrom('203.0.113.8', 55555, p, 4242)]);
    timed.push([p * 20_000 + 100, { src: S, dst: '203.0.113.8', sport: p, dport: 55555, flags: RSTACK, seq: 0, ack: 4243 }]);
  }
  const { sink } = run(timed);
  assert.equal(sink.flags.length, 1);
  assert.equal(sink.flags[0].reason, 'scan');
  assert.equal(sink.flags[0].halfOpen, 1);
});

test('a refused connection retried a few times is not flagged', () => {
  const timed: [number, Seg][] = [];
  for (let i = 0; i < 3; i++) {
    timed.push([i * 1e6, synFrom('192.0.2.34', 40000 + i, 8080, i)]);
    timed.push([i * 1e6 + 200, { src: S, dst: '192.0.2.34', sport: 8080, dport: 40000 + i, flags: RSTACK, seq: 0, ack: i + 1 }]);
  }
  const { sink } = run(timed);
  assert.equal(sink.flags.length, 0);
  assert.equal(sink.alerts.length, 0);
});

test('SYN-ACKs with no SYN raise a backscatter alert naming the reflectors, who are never sources', () => {
  const timed: [number, Seg][] = [];
  for (let i = 0; i < 40; i++) {
    timed.push([i * 1000, { src: `198.51.100.${1 + (i % 2)}`, dst: '192.0.2.5', sport: 443, dport: 1000 + i, flags: SYNACK, seq: i, ack: 77 }]);
  }
  const { t, sink } = run(timed);
  assert.equal(t.sources.table.size, 0);
  assert.equal(sink.flags.length, 0);
  assert.equal(sink.alerts.length, 1);
  assert.equal(sink.alerts[0].kind, 'backscatter');
  assert.deepEqual(sink.alerts[0].sources, [{ ip: '198.51.100.1', count: 20 }, { ip: '198.51.100.2', count: 20 }]);
});

// ---- the crowd rule (detector.ts) ----

/** `n` quiet bots, one unanswered SYN every `periodUs` each (phases spread), for `durationUs`. */
function crowd(n: number, periodUs: number, durationUs: number, prefix = '203.0.113'): [number, Seg][] {
  const timed: [number, Seg][] = [];
  for (let b = 0; b < n; b++) {
    const src = b < 250 ? `${prefix}.${b + 1}` : `2001:db8:203::${(b + 1).toString(16)}`;
    const phase = Math.floor((b * periodUs) / n);
    for (let k = 0, t = phase; t < durationUs; k++, t += periodUs) timed.push([t, synFrom(src, 1024 + k, 80, b * 100_003 + k * 7)]);
  }
  return timed;
}

const byTime = (timed: [number, Seg][]) => timed.sort((a, b) => a[0] - b[0]);

test('crowd: quiet bots under the single-source lines are flagged during a flood, each at its crowdAttempts-th attempt', () => {
  // 300 bots, one SYN every 8 s: 37 SYN/s in all (a flood: floor 20/s), 8 half-open each at most.
  const { sink } = run(byTime(crowd(300, 8e6, 60e6)));
  assert.equal(sink.flags.length, 300);
  assert.deepEqual([...new Set(sink.flags.map((f) => f.reason))], ['crowd']);
  assert.deepEqual([...new Set(sink.flags.map((f) => f.attempts))], [DEFAULT_DETECTOR_OPTIONS.crowdAttempts]);
  assert.ok(sink.flags.every((f) => f.halfOpen < DEFAULT_DETECTOR_OPTIONS.threshold));
  assert.deepEqual(sink.alerts.map((a) => a.kind), ['syn-flood']);
});

test('crowd: the same sending pattern without a flood is not flagged', () => {
  // 3 such bots: 0.4 SYN/s in all, no alarm; 8 attempts each stay under threshold and window.
  const { sink } = run(byTime(crowd(3, 8e6, 60e6)));
  assert.equal(sink.alerts.length, 0);
  assert.equal(sink.flags.length, 0);
});

test('crowd: a client that retransmits its unanswered SYNs, or completed a handshake, is never a crowd member', () => {
  const timed = crowd(300, 8e6, 60e6);
  // Retransmitter: a new connection every 5 s, each SYN retransmitted at +1 s and +3 s, never
  // answered (6 of them: 10 half-open at once would cross --threshold, crowd or not).
  for (let k = 0; k < 6; k++) {
    for (const rto of [0, 1e6, 3e6]) timed.push([2e6 + k * 5e6 + rto, synFrom('192.0.2.21', 40000 + k, 80, 5000 + k)]);
  }
  // One completed handshake early, then nothing but unanswered single SYNs.
  for (const [i, s] of handshake('192.0.2.22', S, 50000, 80, 9000, 77).entries()) timed.push([1e6 + i * 100, s]);
  for (let k = 1; k <= 8; k++) timed.push([2e6 + k * 5e6, synFrom('192.0.2.22', 50000 + k, 80, 9000 + k * 13)]);
  const { sink } = run(byTime(timed));
  const flagged = new Set(sink.flags.map((f) => f.ip));
  assert.equal(flagged.size, 300);
  assert.ok(!flagged.has('192.0.2.21'), 'the retransmitting client');
  assert.ok(!flagged.has('192.0.2.22'), 'the client that completed once');
});

test('crowd: one-shot sources of a spoofed flood are never flagged, nor two that collide', () => {
  const timed = crowd(300, 8e6, 30e6);
  for (let i = 0; i < 2000; i++) timed.push([5e6 + i * 500, synFrom(`2001:db8:f00::${i.toString(16)}`, 1024 + i, 80, i * 31)]);
  for (let k = 0; k < 2; k++) timed.push([6e6 + k * 1e6, synFrom('198.51.100.99', 30000 + k, 80, k * 17)]);
  const { sink } = run(byTime(timed));
  assert.ok(sink.flags.every((f) => f.ip.startsWith('203.0.113.') || f.ip.startsWith('2001:db8:203::')), 'only the bots');
});

test('crowd: --crowd-attempts moves the line', () => {
  const { sink } = run(byTime(crowd(300, 8e6, 60e6)), { ...DEFAULT_DETECTOR_OPTIONS, crowdAttempts: 6 });
  assert.deepEqual([...new Set(sink.flags.map((f) => f.attempts))], [6]);
});

// ---- mixed floods (flood.ts) ----

/** Three attackers at 100 SYN/s for 10 s, and 500 one-shot sources within one second at 5 s. */
function mixedFlood(): [number, Seg][] {
  const timed: [number, Seg][] = [];
  for (let a = 0; a < 3; a++) for (let i = 0; i < 1000; i++) timed.push([i * 10_000 + a * 3000, synFrom(`203.0.113.${66 + a}`, 1024 + (i % 60000), 80, i * 7919 + a)]);
  for (let i = 0; i < 500; i++) timed.push([5e6 + i * 2000, synFrom(`2001:db8:f00::${(i + 1).toString(16)}`, 2000 + i, 80, i * 13)]);
  return byTime(timed);
}

test('mixed flood: a syn-flood alert for the repeat senders and a spoofed-flood alert for the one-shot part', () => {
  const { sink } = run(mixedFlood());
  assert.deepEqual(sink.flags.map((f) => f.ip).sort(), ['203.0.113.66', '203.0.113.67', '203.0.113.68']);
  assert.deepEqual(sink.alerts.map((a) => a.kind), ['syn-flood', 'spoofed-flood']);
  const [flood, part] = sink.alerts;
  assert.equal(flood.count, 3500);
  assert.equal(part.count, 500);
  assert.equal(part.newSourceAttempts, 500);
  assert.equal(part.startUs, T0 + 5e6);
  assert.equal(part.endUs, T0 + 5e6 + 499 * 2000);
  assert.equal(part.peakRate, 500);
  assert.equal(part.share, 0.1429);
  assert.equal(flood.share, 0.8571);
  assert.deepEqual(part.sources, []);
  assert.deepEqual(flood.sources.map((s) => s.ip), ['203.0.113.66', '203.0.113.67', '203.0.113.68'], 'one-shot sources are no top senders');
  assert.match(flood.advice, /one-shot random \(spoofed\) sources/);
  assert.match(part.advice, /SYN cookies/);
  assert.match(part.advice, /repeat senders of the same flood/);
});

test('mixed flood: a few one-shot sources spread over a syn-flood are no spoofed part', () => {
  const timed = mixedFlood().filter(([, s]) => !s.src.startsWith('2001:db8:f00::'));
  for (let i = 0; i < 30; i++) timed.push([i * 330_000 + 17, synFrom(`2001:db8:f00::${(i + 1).toString(16)}`, 2000 + i, 80, i * 13)]);
  const { sink } = run(byTime(timed));
  assert.deepEqual(sink.alerts.map((a) => [a.kind, a.share]), [['syn-flood', 1]]);
});

test('mixed flood: a whole spoofed flood stays one spoofed-flood alert of share 1', () => {
  const timed: [number, Seg][] = [];
  for (let i = 0; i < 600; i++) timed.push([i * 5000, synFrom(`2001:db8:f00::${(i + 1).toString(16)}`, 1024 + i, 80, i * 7919)]);
  const { sink } = run(timed);
  assert.deepEqual(sink.alerts.map((a) => [a.kind, a.share]), [['spoofed-flood', 1]]);
});
