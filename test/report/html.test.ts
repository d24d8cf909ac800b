/**
 * `analyze --html`: the page a person opens, checked in a real browser (Debian chromium via
 * playwright-core) on the fixtures, the corpus floods and small bench captures: it loads from
 * file:// with no network request and no console error, its charts are drawn, it has one marker
 * per decision of the JSON report and one tick per flagged source, its tables sort, and a screenshot of each is left in
 * dist/test-output/html/ for people to look at.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { runCli } from '../support/cli';
import { CAPTURE_FILE, CORPUS, FIXTURES, HAVE_CORPUS, NO_CORPUS_REASON, REPO_ROOT } from '../support/paths';
import { BrowserSession, HAVE_CHROMIUM, launchChromium, NO_CHROMIUM_REASON } from '../support/browser';
import { CAPTURE_KINDS, ensureCapture } from '../../bench/generate';
import { renderHtml, jsonForScript } from '../../src/report/html';

/** The page's globals, inside page.evaluate (this project compiles without the DOM library). */
declare const window: any;
declare const document: any;

const SHOTS = path.join(REPO_ROOT, 'dist', 'test-output', 'html');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'synwatch-html-'));
let session: BrowserSession | null = null;
/** Sorts whose columns held distinct values (a sort of equal values proves nothing). */
let meaningfulSorts = 0;

interface PageResult {
  requests: string[];
  errors: string[];
  report: { renderMs: number; markers: number; charts: number };
  markerActions: string[];
  flagTicks: number;
  synPixels: number;
  blankCanvases: number;
}

async function openReport(page: Page, file: string): Promise<PageResult> {
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as any).synwatchReport !== undefined, null, { timeout: 10_000 });
  const result = await page.evaluate(() => {
    const canvases = [...document.querySelectorAll('.uplot canvas')] as any[];
    let blank = 0;
    let syn = 0;
    canvases.forEach((c, i) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let p = 0; p < d.length; p += 4) {
        if (d[p + 3] === 0) continue;
        painted++;
        // The SYN/s line of the main chart: #d64545.
        if (i === 0 && Math.abs(d[p] - 0xd6) < 12 && Math.abs(d[p + 1] - 0x45) < 12 && Math.abs(d[p + 2] - 0x45) < 12) syn++;
      }
      if (painted === 0) blank++;
    });
    return {
      report: (window as any).synwatchReport,
      markerActions: [...document.querySelectorAll('.marker')].map((m: any) => m.getAttribute('data-action')!),
      flagTicks: document.querySelectorAll('.markers .flag').length,
      synPixels: syn,
      blankCanvases: blank + (canvases.length === 0 ? 1 : 0),
    };
  });
  return { requests, errors, ...result };
}

/** Clicks a numeric column's header of `table` twice: descending, then ascending, read back from the cells. */
async function checkSort(page: Page, tableSelector: string, header: string): Promise<void> {
  const table = page.locator(tableSelector);
  const headers = await table.locator('thead th').allTextContents();
  const col = headers.indexOf(header);
  assert.ok(col >= 0, `${tableSelector} has a "${header}" column (has ${headers.join(', ')})`);
  const read = async () => (await table.locator(`tbody tr td:nth-child(${col + 1})`).allTextContents()).map((t) => Number(t.replace(/,/g, '')));
  const before = await read();
  if (before.length < 2) return;
  await table.locator('thead th').nth(col).click();
  const desc = await read();
  assert.deepEqual(desc, [...before].sort((a, b) => b - a), `${tableSelector} sorted by ${header}, descending`);
  await table.locator('thead th').nth(col).click();
  const asc = await read();
  assert.deepEqual(asc, [...before].sort((a, b) => a - b), `${tableSelector} sorted by ${header}, ascending`);
  if (new Set(before).size > 1) meaningfulSorts++;
}

async function checkCapture(name: string, capture: string): Promise<void> {
  const out = path.join(work, `${name}.html`);
  const r = runCli(['analyze', '--json', '--html', out, capture], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, `analyze ${capture}: ${r.stderr}`);
  const json = JSON.parse(r.stdout);
  const html = fs.readFileSync(out, 'utf8');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(csp, 'the page carries a Content-Security-Policy');
  assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+';/);
  assert.doesNotMatch(csp, /unsafe|https?:|\*/);
  const page = await session!.context.newPage();
  try {
    const p = await openReport(page, out);
    assert.deepEqual(p.requests, [], 'no request besides the page itself');
    assert.deepEqual(p.errors, [], 'no console error or warning');
    assert.equal(p.blankCanvases, 0, 'every chart canvas has pixels drawn');
    if (json.totals.synOnly > 0) assert.ok(p.synPixels > 20, `the SYN/s line is drawn (${p.synPixels} pixels of its colour)`);
    assert.equal(p.report.markers, json.decisions.length, 'one marker per decision');
    assert.deepEqual(p.markerActions, json.decisions.map((d: { action: string }) => d.action), 'the markers are the decisions, in order');
    assert.equal(p.flagTicks, json.sources.filter((s: { flagged: boolean }) => s.flagged).length, 'one tick per flagged source');
    assert.equal(await page.locator('table.sources tbody tr').count(), json.sources.length, 'one row per source');
    await checkSort(page, 'table.sources', 'SYN');
    await checkSort(page, 'table.sources', 'incomplete');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  } finally {
    await page.close();
  }
}

describe('analyze --html in chromium', { skip: HAVE_CHROMIUM ? false : NO_CHROMIUM_REASON }, () => {
  before(async () => { session = await launchChromium(); });
  after(async () => {
    await session?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const fixtures = fs.readdirSync(FIXTURES).filter((f) => CAPTURE_FILE.test(f)).sort();
  for (const f of fixtures) {
    test(`fixture ${f}`, () => checkCapture(`fixture-${f.replace(CAPTURE_FILE, '')}`, path.join(FIXTURES, f)));
  }

  const corpusFloods = HAVE_CORPUS ? fs.readdirSync(path.join(CORPUS, 'A-synflood')).filter((f) => CAPTURE_FILE.test(f)).sort() : [];
  test('the corpus floods', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, async (t) => {
    for (const f of corpusFloods) {
      await t.test(f, () => checkCapture(`corpus-${f.replace(CAPTURE_FILE, '')}`, path.join(CORPUS, 'A-synflood', f)));
    }
  });

  // The bench captures, scaled down to 200,000 records each (bench/html.ts runs the 10-million one).
  for (const kind of CAPTURE_KINDS) {
    test(`bench capture ${kind} (200k records)`, () => {
      const m = ensureCapture(kind, path.join(os.tmpdir(), 'synwatch-bench-html'), { count: 200_000 });
      return checkCapture(`bench-${kind}`, m.file);
    });
  }

  test('some sort above reordered distinct values', () => {
    assert.ok(meaningfulSorts > 0, 'at least one sorted column held distinct values');
  });

  test('text from the capture cannot break out of the data block', async () => {
    const r = runCli(['analyze', '--json', path.join(FIXTURES, 'real-hping3-flood.pcap')]);
    const report = JSON.parse(r.stdout);
    const evil = 'x</script><script>document.title="pwned"</script>\u2028\u2029<!--';
    report.capture.file = evil;
    assert.doesNotMatch(jsonForScript(report), /<|>|\u2028|\u2029/);
    const out = path.join(work, 'escaping.html');
    fs.writeFileSync(out, renderHtml(report));
    const page = await session!.context.newPage();
    try {
      const p = await openReport(page, out);
      assert.deepEqual(p.errors, []);
      assert.equal(await page.locator('h1').textContent(), evil, 'the file name shows as text, whole');
      assert.equal(await page.title(), `synwatch report: ${evil}`);
    } finally {
      await page.close();
    }
  });
});

test('analyze --html names the option and the file when it cannot write, before analyzing', () => {
  const r = runCli(['analyze', '--html', '/nonexistent-dir/report.html', path.join(FIXTURES, 'real-hping3-flood.pcap')]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'synwatch: --html /nonexistent-dir/report.html: cannot write (no such directory)\n');
});
