/**
 * `--webhook URL`: JSON over HTTP, one POST per decision that matters and per alert phase.
 *
 * Contract:
 * - JsonPoster sends bodies in order, one request at a time, each with a timeout; a network
 *   error, a timeout, a 429 or a 5xx is retried after 1 s, 2 s and 4 s (RETRY_DELAYS_MS), then
 *   given up (counted, warned about at most once per 10 s); once stopping, a failed POST gets
 *   one more try without a wait, no more. Another 4xx is not retried: the
 *   receiver refused the document. At most `queueMax` bodies wait; beyond that the newest is
 *   dropped, counted and warned about. post() only queues: nothing waits for the receiver.
 * - JSON mode (WebhookJson) posts:
 *     {"version":1,"type":"decision","host","interface","dryRun","activeBlocks", ...the decision as the
 *      report has it (action, ip, at, reason, expires?, detail?), "source": flag or null}
 *   for block, unblock and alert decisions (a policy alert: block cap, rate cap, backend or
 *   ledger error), and
 *     {"version":1,"type":"alert","phase":"start"|"end","host","interface","dryRun","activeBlocks",
 *      ...the alert as the report has it (kind, start, end, count, peakRate, targets, ...)}
 *   at the start and the end of every flood and backscatter alert. renew, deferred and skip
 *   decisions are in the log only: they come per source and per TTL step, and a receiver wants
 *   state changes. A spoofed flood flags no source (its sources send one SYN each), so it is
 *   two POSTs: its alert's start and end.
 */
import type { Alert } from '../detect/alerts';
import type { FlagEvent } from '../detect/events';
import type { Decision } from '../enforce/contract';
import { alertReport, decisionReport } from '../report/model';
import { flagDocument, GracefulStop, LiveNotifier, NotifyContext, NotifyLog, WarnLimiter } from './live-notifier';

export const DEFAULT_WEBHOOK_TIMEOUT_S = 5;
export const DEFAULT_WEBHOOK_QUEUE = 1024;
export const RETRY_DELAYS_MS = [1000, 2000, 4000];
/** The version of the JSON documents; bumped on an incompatible change. */
export const WEBHOOK_DOCUMENT_VERSION = 1;

export interface PosterOptions {
  url: string;
  timeoutMs: number;
  queueMax?: number;
  /** Delays before each retry (default RETRY_DELAYS_MS; the tests shorten them). */
  retryDelaysMs?: number[];
}

export interface PosterStats {
  queued: number;
  sent: number;
  retried: number;
  failed: number;
  dropped: number;
}

/** Checks a --webhook URL once, at start: http or https, with a host. Throws naming the option. */
export function parseWebhookUrl(text: string, option = '--webhook'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${option}: '${text}' is not a URL (e.g. http://127.0.0.1:9093/api/v2/alerts)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${option}: '${text}' is not an http:// or https:// URL`);
  return url;
}

/** An ordered, bounded queue of JSON POSTs to one URL (the contract at the top of this file). */
export class JsonPoster {
  readonly stats: PosterStats = { queued: 0, sent: 0, retried: 0, failed: 0, dropped: 0 };
  readonly url: string;
  private readonly queue: string[] = [];
  private busy = false;
  private closing = false;
  private readonly stopping = new GracefulStop();
  private readonly warnFailure: WarnLimiter;
  private readonly warnDrop: WarnLimiter;
  private readonly queueMax: number;
  private readonly retryDelaysMs: number[];
  private current: AbortController | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private wakeRetry: (() => void) | null = null;

  constructor(private readonly o: PosterOptions, log: NotifyLog) {
    this.url = o.url;
    this.queueMax = o.queueMax ?? DEFAULT_WEBHOOK_QUEUE;
    this.retryDelaysMs = o.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.warnFailure = new WarnLimiter(log);
    this.warnDrop = new WarnLimiter(log);
  }

  post(body: unknown): void {
    if (this.queue.length >= this.queueMax) {
      this.stats.dropped++;
      this.warnDrop.warn({ url: this.o.url, dropped: this.stats.dropped, queueMax: this.queueMax }, 'webhook: queue full, notification dropped (the receiver is slower than the events)');
      return;
    }
    this.queue.push(JSON.stringify(body));
    this.stats.queued = this.queue.length;
    if (!this.busy) void this.pump();
  }

  /** Sends what is queued within graceMs (no retry waits beyond it), then drops the rest. */
  close(graceMs: number): Promise<void> {
    this.closing = true;
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    const stopped = this.stopping.wait(graceMs, () => {
      this.stats.dropped += this.queue.length;
      if (this.queue.length > 0) this.warnDrop.warn({ url: this.o.url, dropped: this.queue.length }, 'webhook: notifications dropped at stop');
      this.queue.length = 0;
      this.stats.queued = 0;
      this.current?.abort();
    });
    // A retry wait is cut short at stop: one last try, then the next body.
    this.wakeRetry?.();
    return stopped;
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0) {
      const body = this.queue.shift()!;
      this.stats.queued = this.queue.length;
      await this.deliver(body);
    }
    this.busy = false;
    this.stopping.settle();
  }

  private async deliver(body: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.once(body);
      if (outcome.ok) {
        this.stats.sent++;
        return;
      }
      if (!outcome.retry || attempt >= this.retryDelaysMs.length || (this.closing && attempt > 0)) {
        this.stats.failed++;
        this.warnFailure.warn({ url: this.o.url, failure: outcome.why, attempts: attempt + 1, failed: this.stats.failed }, 'webhook: notification not delivered');
        return;
      }
      this.stats.retried++;
      await this.wait(this.closing ? 0 : this.retryDelaysMs[attempt]);
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.wakeRetry = null;
        resolve();
      };
      this.wakeRetry = done;
      this.retryTimer = setTimeout(done, ms);
    });
  }

  private async once(body: string): Promise<{ ok: boolean; retry: boolean; why: string }> {
    const abort = new AbortController();
    this.current = abort;
    const timer = setTimeout(() => abort.abort(), this.o.timeoutMs);
    try {
      const res = await fetch(this.o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: abort.signal });
      // The body is read (and bounded by the timeout) so the connection can be reused.
      const text = await res.text().catch(() => '');
      if (res.ok) return { ok: true, retry: false, why: '' };
      return { ok: false, retry: res.status === 429 || res.status >= 500, why: `HTTP ${res.status}${text ? `: ${text.trim().slice(0, 200)}` : ''}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = abort.signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message;
      return { ok: false, retry: true, why };
    } finally {
      clearTimeout(timer);
      this.current = null;
    }
  }
}

/** The decisions a webhook is told about (the contract above says why the others are not). */
function isPostedDecision(d: Decision): boolean {
  return d.action === 'block' || d.action === 'unblock' || d.action === 'alert';
}

/** `--webhook URL --webhook-format json`. */
export class WebhookJson implements LiveNotifier {
  readonly poster: JsonPoster;

  constructor(o: PosterOptions, private readonly ctx: NotifyContext, log: NotifyLog) {
    this.poster = new JsonPoster(o, log);
  }

  onDecision(d: Decision, flag: FlagEvent | undefined): void {
    if (!isPostedDecision(d)) return;
    this.poster.post({ ...this.envelope('decision'), ...decisionReport(d), source: flagDocument(flag) });
  }

  onAlert(a: Alert, phase: 'start' | 'end'): void {
    this.poster.post({ ...this.envelope('alert'), phase, ...alertReport(a) });
  }

  close(graceMs: number): Promise<void> {
    return this.poster.close(graceMs);
  }

  describe(): Record<string, unknown> {
    return { type: 'webhook', format: 'json', url: this.poster.url, ...this.poster.stats };
  }

  private envelope(type: 'decision' | 'alert'): Record<string, unknown> {
    return { version: WEBHOOK_DOCUMENT_VERSION, type, host: this.ctx.host, interface: this.ctx.iface, dryRun: this.ctx.dryRun, activeBlocks: this.ctx.activeBlocks() };
  }
}
