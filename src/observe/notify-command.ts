/**
 * `--on-block CMD`: the FastNetMon notify-script contract, run once per block and once per
 * unblock.
 *
 * Contract:
 * - argv: `CMD <ip> incoming <pps> ban` on a block, `CMD <ip> incoming <pps> unban` on an
 *   unblock. pps is the source's SYNs per second from its first SYN to its flag (an integer; the
 *   same number on the unban as on its ban; 0 when synwatch no longer knows the flag, e.g. a
 *   block restored from the ledger at start).
 * - stdin: one JSON document (commandDocument below; README "Notify command"), then EOF. A
 *   command that does not read it is fine (the EPIPE is ignored).
 * - Run as execFile runs a file (spawn without a shell: execFile cannot make a process group),
 *   CMD is a path or a name looked up in PATH, arguments passed as they are, its own process
 *   group (so a timeout kills what it started too, and a Ctrl-C at the terminal does not reach
 *   it), stdout discarded, the first STDERR_KEPT bytes of stderr kept for the failure warning.
 * - At most `concurrency` commands at once; two runs for the same address never overlap (a ban
 *   finishes before its unban starts). Excess runs wait in a FIFO of at most `queueMax`; beyond
 *   that a run is dropped, counted and warned about.
 * - A run that outlives `timeoutMs` is killed (SIGKILL to its process group, by its PID).
 *   Exit 0 is success; another exit code, a signal, a timeout or a failure to start is a failure:
 *   counted, and warned about at most once per 10 s with the count of the others.
 * - Nothing here blocks or throws into the caller: notify() queues and returns.
 */
import { spawn, ChildProcess } from 'node:child_process';
import type { FlagEvent } from '../detect/events';
import type { Decision } from '../enforce/contract';
import { decisionReport } from '../report/model';
import { Alert } from '../detect/alerts';
import { flagDocument, flagRate, GracefulStop, LiveNotifier, NotifyContext, NotifyLog, WarnLimiter } from './live-notifier';

export const DEFAULT_ON_BLOCK_TIMEOUT_S = 10;
export const DEFAULT_ON_BLOCK_CONCURRENCY = 4;
export const DEFAULT_ON_BLOCK_QUEUE = 1024;
/** Bytes of a failing command's stderr quoted in the warning. */
const STDERR_KEPT = 512;
/** The version of the stdin document; bumped on an incompatible change. */
export const COMMAND_DOCUMENT_VERSION = 1;

export interface BlockCommandOptions {
  command: string;
  timeoutMs: number;
  concurrency: number;
  queueMax?: number;
}

/** Counters, read by the status and metrics code at their own pace. */
export interface BlockCommandStats {
  queued: number;
  started: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  dropped: number;
  running: number;
}

interface Run {
  ip: string;
  args: string[];
  stdin: string;
}

/** The JSON document on the command's stdin. */
export function commandDocument(d: Decision, flag: FlagEvent | undefined, ctx: NotifyContext): Record<string, unknown> {
  return {
    version: COMMAND_DOCUMENT_VERSION,
    action: d.action === 'block' ? 'ban' : 'unban',
    ip: d.ip,
    direction: 'incoming',
    pps: flagRate(flag),
    host: ctx.host,
    interface: ctx.iface,
    decision: decisionReport(d),
    source: flagDocument(flag),
    activeBlocks: ctx.activeBlocks(),
  };
}

export class BlockCommand implements LiveNotifier {
  readonly stats: BlockCommandStats = { queued: 0, started: 0, succeeded: 0, failed: 0, timedOut: 0, dropped: 0, running: 0 };
  private readonly queue: Run[] = [];
  private readonly runningIps = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly warnFailure: WarnLimiter;
  private readonly warnDrop: WarnLimiter;
  private readonly queueMax: number;
  private closed = false;
  private readonly stopping = new GracefulStop();

  constructor(private readonly o: BlockCommandOptions, private readonly ctx: NotifyContext, log: NotifyLog) {
    this.queueMax = o.queueMax ?? DEFAULT_ON_BLOCK_QUEUE;
    this.warnFailure = new WarnLimiter(log);
    this.warnDrop = new WarnLimiter(log);
  }

  onDecision(d: Decision, flag: FlagEvent | undefined): void {
    if (d.action !== 'block' && d.action !== 'unblock') return;
    const doc = commandDocument(d, flag, this.ctx);
    this.notify({ ip: d.ip, args: [d.ip, 'incoming', String(doc.pps), String(doc.action)], stdin: `${JSON.stringify(doc)}\n` });
  }

  onAlert(_a: Alert, _phase: 'start' | 'end'): void {
    // Floods are not bans: the command's contract is per address (FastNetMon's).
  }

  describe(): Record<string, unknown> {
    return { type: 'on-block', command: this.o.command, timeoutMs: this.o.timeoutMs, concurrency: this.o.concurrency, ...this.stats };
  }

  /** Queues one run (or drops it, counted, when the queue is full or the notifier closed). */
  private notify(run: Run): void {
    if (this.closed || this.queue.length >= this.queueMax) {
      this.stats.dropped++;
      this.warnDrop.warn({ command: this.o.command, ip: run.ip, action: run.args[3], dropped: this.stats.dropped, queueMax: this.queueMax },
        this.closed ? 'on-block: not run, synwatch is stopping' : 'on-block: queue full, run dropped (the command is slower than the blocks)');
      return;
    }
    this.queue.push(run);
    this.stats.queued = this.queue.length;
    this.dispatch();
  }

  close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.stats.running === 0 && this.queue.length === 0) return Promise.resolve();
    return this.stopping.wait(graceMs, () => {
      // Out of time: what is queued is dropped, what runs is killed; both counted.
      this.stats.dropped += this.queue.length;
      if (this.queue.length > 0) this.warnDrop.warn({ command: this.o.command, dropped: this.queue.length }, 'on-block: runs dropped at stop');
      this.queue.length = 0;
      this.stats.queued = 0;
      for (const c of this.children) killGroup(c);
    });
  }

  private dispatch(): void {
    while (this.stats.running < this.o.concurrency) {
      const i = this.queue.findIndex((r) => !this.runningIps.has(r.ip));
      if (i < 0) break;
      const [run] = this.queue.splice(i, 1);
      this.stats.queued = this.queue.length;
      this.start(run);
    }
    if (this.stats.running === 0 && this.queue.length === 0) this.stopping.settle();
  }

  private start(run: Run): void {
    this.stats.started++;
    this.stats.running++;
    this.runningIps.add(run.ip);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let child: ChildProcess | undefined;
    const finish = (failure: string | null, stderr: string) => {
      clearTimeout(timer);
      if (child) this.children.delete(child);
      this.stats.running--;
      this.runningIps.delete(run.ip);
      if (failure === null) this.stats.succeeded++;
      else {
        this.stats.failed++;
        if (timedOut) this.stats.timedOut++;
        this.warnFailure.warn({ command: this.o.command, args: run.args, failure, stderr: stderr.trim().slice(0, STDERR_KEPT) || undefined, failed: this.stats.failed },
          'on-block command failed');
      }
      this.dispatch();
    };
    try {
      child = spawn(this.o.command, run.args, { detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      // spawn throws synchronously only on arguments it refuses (a NUL byte): one failure.
      finish((e as Error).message, '');
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      if (stderr.length < STDERR_KEPT) stderr += s.slice(0, STDERR_KEPT - stderr.length);
    });
    let done = false;
    const once = (failure: string | null) => {
      if (done) return;
      done = true;
      finish(failure, stderr);
    };
    // 'exit', not 'close': a grandchild that keeps stderr open must not keep the slot busy.
    child.on('exit', (code, signal) => once(timedOut ? `timed out after ${this.o.timeoutMs} ms, killed`
      : code === 0 ? null : signal ? `killed by ${signal}` : `exit code ${String(code)}`));
    child.on('error', (e: NodeJS.ErrnoException) => once(`${e.code ?? 'error'}: ${e.message}`));
    const started = child;
    this.children.add(started);
    timer = setTimeout(() => {
      timedOut = true;
      killGroup(started);
    }, this.o.timeoutMs);
    // The command need not read its stdin: EPIPE or ECONNRESET on it is not a failure.
    started.stdin?.on('error', () => {});
    started.stdin?.end(run.stdin);
  }
}

/** SIGKILL to the run's process group (its PID: it leads the group, being detached). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
