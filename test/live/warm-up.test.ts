/**
 * The start-up warm-up (src/live/warm-up.ts) drives its synthetic flood through the real record
 * loop, decoder, tracker, detector and policy: its frames decode as TCP, its sources cross the
 * detector's threshold (so the flag and block path runs too), and it follows the options it is
 * given. That it leaves nothing behind in the live run is what the live end-to-end tests check:
 * their exact packet and decision counts would include its records otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SETTLING_RECORDS, warmUp } from '../../src/live/warm-up';
import { DEFAULT_PIPELINE_OPTIONS } from '../../src/pipeline';

test('warm-up: its synthetic SYNs are decoded, tracked and flagged', () => {
  const r = warmUp(DEFAULT_PIPELINE_OPTIONS, 8 * 960);
  // The settling pass (4 batches) and the main one (8), each with a pipeline of its own.
  assert.equal(SETTLING_RECORDS, 4 * 960);
  assert.equal(r.records, 12 * 960);
  // Every frame is a TCP segment, the 802.1Q-tagged sixteenth (the layer-by-layer path) too.
  assert.equal(r.segments, r.records);
  // 508 sources, ~11 SYNs each in the 8 batches of the main pass: at the default threshold most
  // are flagged there; the settling pass flags its own (a new detector), at most 508 more.
  assert.ok(r.flagged > 100 && r.flagged <= 2 * 508, `flagged ${r.flagged}`);
  assert.ok(r.ms >= 0);
});

test('warm-up: follows the detector options (a threshold no source reaches flags none)', () => {
  const options = { ...DEFAULT_PIPELINE_OPTIONS, detector: { ...DEFAULT_PIPELINE_OPTIONS.detector, threshold: 1e6, windowIncomplete: 1e6, scanPorts: 1e6, crowdAttempts: 1e6 } };
  const r = warmUp(options, 4 * 960);
  assert.equal(r.flagged, 0);
});
