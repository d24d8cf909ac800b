/**
 * The layout is the architecture (README "Layout"): the pipeline stages import only backwards,
 * capture -> decode -> track -> detect -> enforce -> report, and only the CLI imports the CLI.
 *
 * Reads the TypeScript sources under src/ (not dist/: type-only imports vanish in the output),
 * takes every module specifier from the syntax tree (import, import type, export ... from,
 * import x = require(), require('...'), import('...'), typeof import('...')), resolves the
 * relative ones to files and checks where they land. A failure names the file and the import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './support/paths';

const SRC = path.join(REPO_ROOT, 'src');

/** The stages in pipeline order; a stage may import its own folder and the ones before it. */
const STAGES = ['capture', 'decode', 'track', 'detect', 'enforce', 'report'];
/** The stages the order rule applies to: enforce and report sit at the edge and may read later ones. */
const ORDERED = ['capture', 'decode', 'track', 'detect'];

interface Import {
  /** Importing file, relative to the repository ("src/live/runner.ts"). */
  from: string;
  /** The specifier as written ("../cli/decisions"). */
  spec: string;
  /** The file it resolves to, relative to the repository ("src/cli/decisions.ts"). */
  to: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every string-literal module specifier in a file, whatever the syntax that names it. */
function specifiers(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const literal = (n: ts.Node | undefined) => {
    if (n && ts.isStringLiteralLike(n)) out.push(n.text);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) literal(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) literal(n.moduleReference.expression);
    else if (ts.isCallExpression(n) && n.arguments.length === 1 &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      literal(n.arguments[0]);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) literal(n.argument.literal);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** How node and tsc resolve an extensionless relative specifier: X.ts, X.d.ts, X/index.ts, X. */
function resolveRelative(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts'), base]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

const rel = (p: string) => path.relative(REPO_ROOT, p).split(path.sep).join('/');

/** "capture" for src/capture/pcap.ts; "" for the files at the top of src/ (the wirers there). */
function folderOf(repoPath: string): string {
  const parts = repoPath.split('/');
  return parts.length > 2 ? parts[1] : '';
}

const files = sourceFiles(SRC);
const imports: Import[] = [];
const unresolved: string[] = [];
for (const file of files) {
  for (const spec of specifiers(file)) {
    if (!spec.startsWith('.')) continue; // a package or a node: built-in
    const to = resolveRelative(file, spec);
    const lands = path.resolve(path.dirname(file), spec);
    // Outside src/ (main.ts's '../../../package.json') the path is the runtime's, from dist/src/.
    if (!lands.startsWith(SRC + path.sep)) continue;
    if (to) imports.push({ from: rel(file), spec, to: rel(to) });
    else unresolved.push(`${rel(file)}: '${spec}' resolves to no file`);
  }
}

/** Fails naming each offending file and import, one per line. */
function none(bad: Import[], what: string): void {
  if (bad.length > 0) assert.fail(`${what}:\n${bad.map((i) => `  ${i.from} imports '${i.spec}' (${i.to})`).join('\n')}`);
}

test('the scan sees every stage and resolves every relative import inside src/', () => {
  for (const stage of [...STAGES, 'cli', 'live', 'replay', 'poll', 'observe']) {
    assert.ok(files.some((f) => folderOf(rel(f)) === stage), `no sources found in src/${stage}`);
  }
  assert.ok(imports.some((i) => i.to === 'src/cli/errors.ts'), 'the scan found no import of src/cli/errors.ts: it is reading the wrong tree');
  if (unresolved.length > 0) assert.fail(unresolved.join('\n'));
});

test('nothing outside src/cli imports from src/cli (the CLI is an edge; the library and the runners work without it)', () => {
  const bad = imports.filter((i) => folderOf(i.from) !== 'cli' && folderOf(i.to) === 'cli');
  none(bad, 'imports of src/cli from outside it');
});

test('detect takes nothing from enforce (the detector emits its events; the enforcer consumes them)', () => {
  const bad = imports.filter((i) => folderOf(i.from) === 'detect' && folderOf(i.to) === 'enforce');
  none(bad, 'imports of src/enforce from src/detect');
});

test('capture, decode, track and detect import only their own stage and earlier ones', () => {
  const bad = imports.filter((i) => {
    const from = ORDERED.indexOf(folderOf(i.from));
    if (from < 0) return false;
    // A wirer (live, replay, poll, cli, the top of src/) is not a stage, so it counts as later.
    const to = STAGES.indexOf(folderOf(i.to));
    return to < 0 || to > from;
  });
  none(bad, 'imports of a later stage or a wirer');
});

test('observe is an edge the runners use: it imports no runner (live, replay, poll) and no stage imports it', () => {
  const runners = ['live', 'replay', 'poll', 'cli'];
  const bad = imports.filter((i) => (folderOf(i.from) === 'observe' && runners.includes(folderOf(i.to))) ||
    (STAGES.includes(folderOf(i.from)) && folderOf(i.to) === 'observe'));
  none(bad, 'imports of a runner from src/observe, or of src/observe from a stage');
});
