/**
 * src/live/heap.ts: after collectBeforeCapture(), big typed arrays made at start-up no longer
 * cost a collection at the next ArrayBuffer allocation (what made the first flood's threshold
 * window pause, bench/findings.md), and no context is left with a global gc().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { collectBeforeCapture } from '../../src/live/heap';

/** Collections (perf_hooks 'gc' entries) while `work` runs and for 20 ms after. */
async function collectionsDuring(work: () => void): Promise<number> {
  let n = 0;
  const observer = new PerformanceObserver((list) => { n += list.getEntries().length; });
  observer.observe({ entryTypes: ['gc'] });
  work();
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  return n;
}

const smallBuffers = () => { for (let i = 0; i < 100; i++) new ArrayBuffer(8); };

test('heap: a young 40 MiB table costs a collection at the next small ArrayBuffer; after collectBeforeCapture, none', async () => {
  // The cause, so that this test fails if V8 stops doing it (and the collection is then moot).
  const young = new Uint32Array(10 << 20);
  young[0] = 1;
  assert.ok(await collectionsDuring(smallBuffers) >= 1, 'V8 collected at the small allocations after a young 40 MiB table');

  const table = new Uint32Array(10 << 20);
  table[0] = 1;
  const ms = collectBeforeCapture();
  assert.ok(ms >= 0 && ms < 1000, `took ${ms} ms`);
  assert.equal(await collectionsDuring(smallBuffers), 0);
  assert.equal(young[0] + table[0], 2);
});

test('heap: collectBeforeCapture leaves no global gc, here or in a new context', () => {
  collectBeforeCapture();
  collectBeforeCapture(); // the second call reuses the function
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  assert.equal(runInNewContext('typeof gc'), 'undefined');
});
