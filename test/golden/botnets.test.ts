/**
 * The targets of issue #11 over the botnet captures (fixtures/make-botnets.ts, oracle in
 * fixtures/botnets.json): with default settings,
 * - slow botnet: >= 95 % of the bots flagged, the median flag <= 30 s of packet time after the
 *   attack's first SYN;
 * - fast botnet: every bot blocked within (bots / --max-new-blocks-per-second) + 2 s of its flag,
 *   the rate cap deferring, never refusing;
 * - mixed flood: a spoofed-flood alert for the one-shot burst (span, rate, share) beside the
 *   syn-flood alert and the per-source flags, advice covering both;
 * - everywhere: no legitimate client (the retransmitting one and the NAT-like one included) and
 *   no one-shot source flagged.
 * The golden tests (fixtures.test.ts) pin the exact reports; these say why they are right.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeCapture, Analysis } from '../../src/analyze';
import { ipToWords } from '../../src/decode/address';
import { FIXTURES } from '../support/paths';

interface BotnetOracle {
  flagged: string[];
  reasons: Record<string, string>;
  legit: string[];
  oneShot: string[];
}

const oracle: Record<string, BotnetOracle> = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'botnets.json'), 'utf8'));
const US = 1e6;

function analyzed(name: string): () => Promise<Analysis> {
  let a: Promise<Analysis> | undefined;
  return () => (a ??= analyzeCapture(path.join(FIXTURES, name)));
}

/** Packet time (µs) each flagged source was flagged at. */
function flagTimes(a: Analysis): Map<string, number> {
  return new Map(a.pipeline.detector.flagged.map((f) => [f.ip, f.flaggedUs]));
}

/** The first SYN of any of `ips`, from the source table (flagged or not). */
function firstSyn(a: Analysis, ips: string[]): number {
  const s = a.pipeline.tracker.sources;
  let first = Infinity;
  for (const ip of ips) {
    const w = ipToWords(ip, new Uint32Array(4))!;
    const slot = s.table.find(w, s.table.hashKey(w));
    if (slot >= 0 && s.firstUs[slot] < first) first = s.firstUs[slot];
  }
  return first;
}

for (const name of Object.keys(oracle)) {
  test(`${name}: no legitimate client and no one-shot source is flagged`, async () => {
    const a = await analyzed(name)();
    const flagged = flagTimes(a);
    for (const ip of [...oracle[name].legit, ...oracle[name].oneShot]) assert.ok(!flagged.has(ip), `${ip} flagged`);
    assert.equal(oracle[name].legit.length, 4);
  });
}

describe('slow botnet: hundreds of bots, one SYN every 3-9 s each', () => {
  const name = 'botnet-slow.pcap.gz';
  const get = analyzed(name);
  const bots = oracle[name].flagged;
  let delays: number[] = [];
  before(async () => {
    const a = await get();
    const start = firstSyn(a, bots);
    const flagged = flagTimes(a);
    delays = bots.map((ip) => (flagged.has(ip) ? (flagged.get(ip)! - start) / US : Infinity)).sort((x, y) => x - y);
  });

  test('at least 95 % of the bots are flagged', () => {
    assert.ok(bots.length >= 400, `${bots.length} bots`);
    const share = delays.filter((d) => d < Infinity).length / bots.length;
    assert.ok(share >= 0.95, `${(share * 100).toFixed(1)} % flagged`);
  });

  test('the median flag comes within 30 s of packet time after the attack starts', () => {
    const median = delays[Math.floor(delays.length / 2)];
    assert.ok(median <= 30, `median ${median.toFixed(1)} s`);
  });

  test('they are flagged by the crowd rule: each alone stays under the single-source lines', async () => {
    const a = await get();
    const mine = a.report.sources.filter((s) => s.flagged);
    assert.ok(mine.every((s) => s.reason === 'crowd'));
    assert.ok(a.pipeline.detector.flagged.every((f) => f.halfOpenAtFlag < a.report.settings.threshold));
  });
});

describe('fast botnet: ~560 bots at ~4 SYN/s each for 15 s', () => {
  const name = 'botnet-fast.pcap.gz';
  const get = analyzed(name);
  const bots = oracle[name].flagged;

  test('every bot is blocked within (bots / rate cap) + 2 s of its flag', async () => {
    const a = await get();
    const cap = a.session.config.maxNewBlocksPerSecond;
    assert.equal(cap, 50, 'the default');
    const bound = (bots.length / cap + 2) * US;
    const flagged = flagTimes(a);
    const blocked = new Map<string, number>();
    for (const d of a.session.decisions) if (d.action === 'block' && !blocked.has(d.ip)) blocked.set(d.ip, d.tsUs);
    for (const ip of bots) {
      assert.ok(flagged.has(ip), `${ip} flagged`);
      assert.ok(blocked.has(ip), `${ip} blocked`);
      const wait = blocked.get(ip)! - flagged.get(ip)!;
      assert.ok(wait >= 0 && wait <= bound, `${ip} blocked ${wait / US} s after its flag (bound ${bound / US} s)`);
    }
  });

  test('the rate cap defers, then blocks: nobody refused, every deferral followed by its block', async () => {
    const a = await get();
    const ds = a.session.decisions;
    assert.ok(!ds.some((d) => d.action === 'skip'), 'no skip');
    const deferred = ds.filter((d) => d.action === 'deferred');
    assert.ok(deferred.length > bots.length / 2, `${deferred.length} deferred`);
    for (const d of deferred) {
      const block = ds.find((x) => x.action === 'block' && x.ip === d.ip);
      assert.ok(block && block.tsUs >= d.tsUs, `${d.ip} blocked after its deferral`);
    }
  });
});

describe('mixed flood: three per-source attackers and a 1 s burst of one-shot sources', () => {
  const name = 'mixed-flood.pcap.gz';
  const get = analyzed(name);

  test('the per-source attackers are flagged', async () => {
    const a = await get();
    assert.deepEqual([...flagTimes(a).keys()].sort(), oracle[name].flagged);
  });

  test('the one-shot part has its own spoofed-flood alert: span, rate, share of the attempts', async () => {
    const a = await get();
    assert.deepEqual(a.report.alerts.map((x) => x.kind), ['syn-flood', 'spoofed-flood']);
    const [flood, part] = a.session.alerts;
    const burst = oracle[name].oneShot.length;
    assert.ok(part.count >= 0.95 * burst && part.count <= burst, `${part.count} one-shot attempts of ${burst}`);
    assert.equal(part.newSourceAttempts, part.count);
    assert.ok(part.endUs - part.startUs <= 2 * US, `the burst's span: ${(part.endUs - part.startUs) / US} s`);
    assert.ok(part.startUs >= flood.startUs && part.endUs <= flood.endUs, 'within the flood');
    assert.ok(part.peakRate >= burst / 3, `peak ${part.peakRate}/s`);
    assert.equal(part.share, Math.round((part.count / flood.count) * 1e4) / 1e4);
    assert.ok(part.share > 0.1 && part.share < 0.5, `share ${part.share}`);
    assert.equal(flood.share, Math.round(((flood.count - part.count) / flood.count) * 1e4) / 1e4);
    assert.deepEqual(flood.sources.map((s) => s.ip).sort(), oracle[name].flagged, 'its top senders are the attackers');
  });

  test('the advice covers both parts, in JSON and in text', async () => {
    const a = await get();
    const [flood, part] = a.report.alerts;
    assert.match(flood.advice, /flagged individually/);
    assert.match(flood.advice, /one-shot random \(spoofed\) sources/);
    assert.match(part.advice, /per-source routes cannot stop it/);
    assert.match(part.advice, /repeat senders of the same flood/);
    const { renderText } = await import('../../src/report/text');
    const text = renderText(a.report);
    assert.match(text, /spoofed-flood .*% of the flood's attempts \(its one-shot part\)/);
    assert.match(text, /syn-flood .*% of the flood's attempts \(its repeat senders\)/);
  });
});
