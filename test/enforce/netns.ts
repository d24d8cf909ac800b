/**
 * Network namespaces for real-kernel tests, so nothing ever touches the host's routing table.
 *
 * Contract: TestNetns.create() makes `sw-t-<random>` with lo up and a veth pair carrying
 * documentation addresses only (198.51.100.0/24, 2001:db8:1::/64); pair() makes two namespaces
 * joined by a veth. delete() is idempotent; tests call it in after()/finally. nodeIn() runs a
 * snippet of JavaScript inside the namespace (cwd = repo root, so `require('commander')` and the
 * compiled dist/ resolve) and returns its exit status and output. netnsUnavailable() says why
 * these tests must skip (not root, no iproute2), or null. synwatch() runs blocks/unblock/poll
 * through a small program wired like src/cli/main.ts (exitOverride, errors.ts exit codes), so
 * these tests do not depend on the other commands being built.
 * Importing this file has no side effects (node --test may run it as a file of no tests).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** dist/test/enforce -> repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const DIST = path.join(REPO_ROOT, 'dist');

/** A checkout where `npm install` did not build the addon gets it built here (offline, ~2 s). */
export function ensureAddonBuilt(): void {
  const addon = path.join(REPO_ROOT, 'native/build/Release/synwatch_route.node');
  if (fs.existsSync(addon)) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:native'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  if (!fs.existsSync(addon)) throw new Error(`addon not built at ${addon}: npm run build:native said ${r.stderr}`);
}

export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip)';
  return null;
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function run(cmd: string, args: string[], input?: string): string {
  return must(spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 }), `${cmd} ${args.join(' ')}`);
}

export interface NodeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export class TestNetns {
  private deleted = false;

  private constructor(readonly name: string) {}

  static create(label = 't'): TestNetns {
    const ns = new TestNetns(`sw-${label}-${randomBytes(4).toString('hex')}`);
    run('ip', ['netns', 'add', ns.name]);
    try {
      ns.ip(['link', 'set', 'lo', 'up']);
    } catch (e) {
      ns.delete();
      throw e;
    }
    return ns;
  }

  /** One namespace with a veth pair (v0 198.51.100.1/24 + 2001:db8:1::1/64, v1 peer, both up). */
  static withVeth(): TestNetns {
    const ns = TestNetns.create();
    try {
      ns.ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
      ns.ip(['link', 'set', 'v0', 'up']);
      ns.ip(['link', 'set', 'v1', 'up']);
      ns.ip(['addr', 'add', '198.51.100.1/24', 'dev', 'v0']);
      ns.ip(['-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'v0', 'nodad']);
    } catch (e) {
      ns.delete();
      throw e;
    }
    return ns;
  }

  /** Two namespaces joined by a veth: a (198.51.100.1) <-> b (198.51.100.2). */
  static pair(): [TestNetns, TestNetns] {
    const a = TestNetns.create('ta');
    let b: TestNetns | null = null;
    try {
      b = TestNetns.create('tb');
      const ifA = `sw${randomBytes(3).toString('hex')}`;
      const ifB = `sw${randomBytes(3).toString('hex')}`;
      run('ip', ['link', 'add', ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name]);
      a.ip(['link', 'set', ifA, 'up']);
      b.ip(['link', 'set', ifB, 'up']);
      a.ip(['addr', 'add', '198.51.100.1/24', 'dev', ifA]);
      b.ip(['addr', 'add', '198.51.100.2/24', 'dev', ifB]);
    } catch (e) {
      b?.delete();
      a.delete();
      throw e;
    }
    return [a, b];
  }

  exec(cmd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): NodeResult {
    const r = spawnSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      encoding: 'utf8', input: options.input, env: options.env ?? process.env, cwd: REPO_ROOT, timeout: options.timeoutMs ?? 60_000,
    });
    if (r.error) throw new Error(`ip netns exec ${this.name} ${cmd}: ${r.error.message}`);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  ip(args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** `ip -j [-6] route show table main [proto P]` parsed. */
  routes(family: 4 | 6, proto?: number): Array<{ type?: string; dst: string; protocol?: string }> {
    const args = [`-${family}`, '-j', 'route', 'show', 'table', 'main'];
    if (proto !== undefined) args.push('proto', String(proto));
    const out = this.ip(args).trim();
    return out === '' ? [] : JSON.parse(out);
  }

  /** Run JavaScript inside the namespace; `args` arrive as JSON in process.env.SW_ARGS. */
  nodeIn(code: string, args: unknown = null, extraArgs: string[] = []): NodeResult {
    return this.exec(process.execPath, [...extraArgs, '-e', code], {
      env: { ...process.env, SW_ARGS: JSON.stringify(args), SW_DIST: DIST },
    });
  }

  /** Run `synwatch ARGS` (blocks, unblock, poll only) inside the namespace. */
  synwatch(args: string[]): NodeResult {
    return this.nodeIn(CLI_HARNESS, args);
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

const CLI_HARNESS = `
const { Command, CommanderError } = require('commander');
const { reportError } = require(process.env.SW_DIST + '/src/cli/errors.js');
const program = new Command('synwatch').exitOverride().option('--log-level <level>', 'log level', 'warn');
for (const name of ['blocks', 'unblock', 'poll']) require(process.env.SW_DIST + '/src/cli/commands/' + name + '.js').register(program);
program.parseAsync(['node', 'synwatch', ...JSON.parse(process.env.SW_ARGS)]).then(
  () => {},
  (e) => { process.exitCode = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(e); });
`;
