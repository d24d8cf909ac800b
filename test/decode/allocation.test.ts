/**
 * The hot path allocates nothing: a million decodes of every kind of unit-test frame (segments,
 * ICMP quotes, anomalies, unknown link types) run without a single garbage collection. Any
 * per-packet allocation, even 8 bytes, fills V8's young generation many times over and shows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeFrame } from '../../src/decode/frame';
import { DecodeCounters, PacketView } from '../../src/decode/packet';
import { hex, linkTypeOf, PKT } from './packets';


test('a million decodes of mixed frames cause no garbage collection', async () => {
  const names = Object.keys(PKT) as (keyof typeof PKT)[];
  const frames = names.map((n) => hex(PKT[n]));
  const buf = Buffer.concat(frames);
  const offsets: number[] = [];
  for (let i = 0, at = 0; i < frames.length; at += frames[i].length, i++) offsets.push(at);
  const lengths = frames.map((f) => f.length);
  const linkTypes = names.map(linkTypeOf);
  const view = new PacketView();
  const counters = new DecodeCounters();
  // Every frame whole, cut to half (anomalies, truncation) and on an unknown link type.
  const round = (): void => {
    for (let i = 0; i < offsets.length; i++) {
      decodeFrame(view, buf, offsets[i], lengths[i], lengths[i] + 100, linkTypes[i], counters);
      decodeFrame(view, buf, offsets[i], lengths[i] >> 1, lengths[i], linkTypes[i], counters);
      decodeFrame(view, buf, offsets[i], lengths[i], lengths[i], 4242, counters);
    }
  };
  for (let i = 0; i < 2000; i++) round(); // warm up, and every anomaly name is in the record
  // Start from an empty young generation: the warm-up's own garbage (compilation, the test
  // runner) must not be collected inside the measured loop and be blamed on the decoder.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  const before = counters.frames;
  while (counters.frames - before < 1_000_000) round();
  await new Promise((resolve) => setTimeout(resolve, 50));
  obs.disconnect();
  assert.equal(gcs, 0);
});
