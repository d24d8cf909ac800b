/**
 * CPU profile of one whole `analyze --json` run, summarised as the top functions by self time.
 *
 * Contract: `profileAnalyze(root, file, top)` runs `node --cpu-prof` on the CLI in a scratch
 * directory, reads the .cpuprofile V8 writes, and returns the `top` functions by self time with
 * their share of the sampled total. Locations are given in the compiled JS (dist/...:line, the
 * profile's own coordinates) and, where the function's definition can be found by name in the
 * matching .ts file, as src/...ts:line as well (tsc keeps names; the line is found by search,
 * since the build has no source maps). CLI: node dist/bench/profile.js FILE [--top N].
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface HotSpot {
  fn: string;
  /** dist-relative JS location, e.g. dist/src/track/flow-table.js:79 */
  js: string;
  /** TypeScript location found by name, or '' */
  ts: string;
  selfMs: number;
  share: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const REPO = path.resolve(__dirname, '..', '..');

const MODIFIERS = '(export\\s+|async\\s+|function\\s+|private\\s+|protected\\s+|public\\s+|static\\s+|readonly\\s+|override\\s+|get\\s+)*';

/** Lines (0-based) where a function or method named `fn` is defined (declarations ending in ';' excluded). */
function definitions(lines: string[], fn: string): number[] {
  const def = new RegExp(`^\\s*${MODIFIERS}${fn.replace(/\$/g, '\\$')}\\s*(\\(|<|=\\s*(async\\s*)?(\\(|function)|$)`);
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (def.test(l) && !/;\s*$/.test(l)) out.push(i);
  });
  return out;
}

/**
 * Line (1-based) of `fn`'s definition in the .ts file that compiled to `jsFile`, or 0. When the
 * name is defined more than once (methods of two classes), the k-th definition in the JS (the one
 * at `jsLine`) is taken to be the k-th in the TS: tsc keeps their order.
 */
function tsLine(root: string, jsFile: string, jsLine: number, fn: string): [string, number] {
  const rel = path.relative(path.join(root, 'dist'), jsFile).replace(/\.js$/, '.ts');
  const tsFile = path.join(REPO, rel);
  if (!fs.existsSync(tsFile) || !fs.existsSync(jsFile) || fn === '' || !/^[\w$]+$/.test(fn)) return [rel, 0];
  const tsDefs = definitions(fs.readFileSync(tsFile, 'utf8').split('\n'), fn);
  if (tsDefs.length <= 1) return [rel, tsDefs.length === 1 ? tsDefs[0] + 1 : 0];
  const jsDefs = definitions(fs.readFileSync(jsFile, 'utf8').split('\n'), fn);
  const k = jsDefs.filter((i) => i < jsLine).length - 1;
  return [rel, k >= 0 && k < tsDefs.length ? tsDefs[k] + 1 : 0];
}

/** `root`: the directory holding the dist/ that ran (the repository, or a snapshot of its build). */
export function summarise(profile: CpuProfile, top: number, root = REPO): HotSpot[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const byFn = new Map<string, { fn: string; url: string; line: number; us: number }>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const key = `${cf.functionName}@${cf.url}:${cf.lineNumber}`;
    const e = byFn.get(key) ?? { fn: cf.functionName, url: cf.url, line: cf.lineNumber + 1, us: 0 };
    e.us += us;
    byFn.set(key, e);
  }
  return [...byFn.values()]
    .sort((a, b) => b.us - a.us || a.fn.localeCompare(b.fn))
    .slice(0, top)
    .map((e) => {
      const file = e.url.startsWith('file://') ? e.url.slice('file://'.length) : e.url;
      const inRepo = file.startsWith(`${root}${path.sep}`);
      let ts = '';
      if (inRepo) {
        const [rel, line] = tsLine(root, file, e.line, e.fn);
        if (line > 0) ts = `${rel}:${line}`;
      }
      return {
        fn: e.fn || '(anonymous)',
        js: inRepo ? `${path.relative(root, file)}:${e.line}` : file ? `${file}:${e.line}` : '(native)',
        ts,
        selfMs: e.us / 1000,
        share: total > 0 ? e.us / total : 0,
      };
    });
}

/** `root` as for summarise; `cli` is root/dist/src/cli/main.js, the unbundled tree (profile frames name their own files). */
export function profileAnalyze(root: string, file: string, top = 15): { hotSpots: HotSpot[]; totalMs: number } {
  const cli = path.join(root, 'dist/src/cli/main.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synwatch-prof-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, cli, 'analyze', file, '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`profiled analyze exited ${r.status}: ${r.stderr}`);
    const prof = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (prof === undefined) throw new Error('node wrote no .cpuprofile');
    const profile = JSON.parse(fs.readFileSync(path.join(dir, prof), 'utf8')) as CpuProfile;
    const totalMs = profile.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
    return { hotSpots: summarise(profile, top, root), totalMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args[0];
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile.js FILE [--top N]\n');
    process.exit(2);
  }
  const { hotSpots, totalMs } = profileAnalyze(REPO, file, top);
  console.log(`sampled ${totalMs.toFixed(0)} ms`);
  for (const h of hotSpots) {
    console.log(`${h.selfMs.toFixed(0).padStart(7)} ms ${(100 * h.share).toFixed(1).padStart(5)}%  ${h.fn}  ${h.ts || h.js}`);
  }
}
