/**
 * The report's timeline (src/report/timeline.ts): bins in packet time sized to the capture, each
 * series summing to the report's totals, min and max of the per-second rates kept across merges,
 * quiet stretches read as 0, and the same series whatever the tracker's batching.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { HandshakeTracker, DEFAULT_TRACKER_OPTIONS } from '../../src/track/tracker';
import { Timeline, MAX_BINS, TIMELINE_SERIES } from '../../src/report/timeline';
import { analyzeCapture } from '../../src/analyze';
import { FIXTURES } from '../support/paths';
import { SYN, viewOf } from '../track/segments';

const SECOND = 1e6;

function tracked(segmentBatch = 1): { tracker: HandshakeTracker; timeline: Timeline } {
  const tracker = new HandshakeTracker({ ...DEFAULT_TRACKER_OPTIONS, segmentBatch });
  tracker.setEvents({ onSyn() {}, onAttemptEnd() {}, onUnsolicitedSynAck() {}, onTime() {} });
  return { tracker, timeline: new Timeline(tracker, { firstUs: -1 }) };
}

function syn(t: HandshakeTracker, atUs: number, n: number, seq: number): void {
  t.onSegment(viewOf({ src: '192.0.2.7', dst: '198.51.100.1', sport: 40000 + (seq % 20000), dport: 80, flags: SYN, seq }), atUs);
}

test('a 3,000-second capture gets 4-second bins with the quietest and busiest second of each', () => {
  const { tracker, timeline } = tracked();
  const start = 1_700_000_000 * SECOND;
  let seq = 1;
  // Second k carries k % 5 SYNs, except a quiet stretch 1,000-1,199 s; the last SYN at 2,999.5 s.
  for (let k = 0; k < 3000; k++) {
    if (k >= 1000 && k < 1200) continue;
    for (let i = 0; i < k % 5; i++) syn(tracker, start + k * SECOND + i * 1000, 1, seq++);
  }
  syn(tracker, start + 2999.5 * SECOND, 1, seq++);
  tracker.flush();
  timeline.finish();
  const r = timeline.toReport()!;
  assert.equal(r.binSeconds, 4, '3,000 s over at most 1,024 bins');
  assert.equal(r.rateSeconds, 1);
  assert.equal(r.bins, 750);
  assert.ok(r.bins <= MAX_BINS);
  assert.equal(r.start, '2023-11-14T22:13:21.000000Z', 'second 0 had no SYN: the bins start at second 1');
  const s = r.series.syn;
  assert.equal(s.count.reduce((a, b) => a + b, 0), tracker.totals.synOnly);
  // Bin 0 holds seconds 1-4: 1, 2, 3, 4 SYNs.
  assert.deepEqual([s.count[0], s.min[0], s.max[0]], [10, 1, 4]);
  // Bin 1 holds seconds 5-8: 0, 1, 2, 3.
  assert.deepEqual([s.count[1], s.min[1], s.max[1]], [6, 0, 3]);
  // The quiet stretch (1,000-1,200 s): bins 250-299 (1,001-1,200 s) had no SYN at all.
  for (let b = 250; b < 300; b++) assert.deepEqual([s.count[b], s.min[b], s.max[b]], [0, 0, 0], `bin ${b}`);
  // Bin 249 (997-1,000 s): 2, 3, 4, then quiet.
  assert.deepEqual([s.count[249], s.min[249], s.max[249]], [9, 0, 4]);
  // Bin 300 (1,201-1,204 s): 1, 2, 3, 4 again.
  assert.deepEqual([s.count[300], s.min[300], s.max[300]], [10, 1, 4]);
  assert.equal(r.series.attempts.count.reduce((a, b) => a + b, 0), tracker.totals.attempts);
  assert.equal(r.series.newSources.count.reduce((a, b) => a + b, 0), 1, 'one source, new once');
});

test('a short capture gets sub-second bins, where min and max are the bin\'s own rate', () => {
  const { tracker, timeline } = tracked();
  const start = 1_700_000_000.25 * SECOND;
  for (let i = 0; i < 200; i++) syn(tracker, start + i * 1000, 1, i + 1); // 200 SYNs over 0.2 s
  tracker.flush();
  timeline.finish();
  const r = timeline.toReport()!;
  assert.equal(r.binSeconds, 1 / 1024 * 1, 'the finest bins fit 0.45 s');
  assert.equal(r.rateSeconds, r.binSeconds);
  const s = r.series.syn;
  assert.equal(s.count.reduce((a, b) => a + b, 0), 200);
  for (let b = 0; b < r.bins; b++) {
    assert.equal(s.min[b], s.max[b]);
    assert.equal(s.max[b], Math.round(s.count[b] / r.binSeconds * 1000) / 1000);
  }
});

test('the series sum to the report totals on every fixture, and do not depend on batching', async () => {
  for (const f of ['real-hping3-flood.pcap', 'botnet-slow.pcap.gz', 'synack-backscatter.pcap', 'real-curl.pcap', 'slow-source.pcap']) {
    const a = await analyzeCapture(path.join(FIXTURES, f));
    const b = await analyzeCapture(path.join(FIXTURES, f), {}, undefined, { segmentBatch: 1 });
    assert.deepEqual(b.report.timeline, a.report.timeline, `${f}: batch 1 vs 64`);
    const tl = a.report.timeline!;
    const totals = a.report.totals as Record<string, number>;
    const sum = (name: (typeof TIMELINE_SERIES)[number]) => tl.series[name].count.reduce((x, y) => x + y, 0);
    assert.equal(sum('syn'), totals.synOnly, f);
    assert.equal(sum('synAck'), totals.synAck, f);
    assert.equal(sum('rst'), totals.rst, f);
    assert.equal(sum('attempts'), totals.attempts, f);
    assert.equal(sum('completed'), totals.completed, f);
    assert.equal(tl.lastSeen.length, a.report.sources.length, f);
    const span = (Date.parse(a.report.capture.last!) - Date.parse(tl.start)) / 1000;
    assert.ok(tl.bins * tl.binSeconds >= span && tl.bins <= MAX_BINS, `${f}: ${tl.bins} bins of ${tl.binSeconds} s cover ${span} s`);
    for (const name of TIMELINE_SERIES) {
      const s = tl.series[name];
      for (let i = 0; i < tl.bins; i++) {
        const mean = s.count[i] / tl.binSeconds;
        assert.ok(s.min[i] <= mean + 1e-3 && mean <= s.max[i] + 1e-3, `${f} ${name} bin ${i}: ${s.min[i]} <= ${mean} <= ${s.max[i]}`);
      }
    }
  }
});
