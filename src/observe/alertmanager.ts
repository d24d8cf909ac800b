/**
 * `--webhook URL --webhook-format alertmanager` (the default when the URL's path ends in
 * /api/v2/alerts): synwatch as an alert source for Prometheus Alertmanager, the way Prometheus
 * itself is one.
 *
 * Contract:
 * - Each POST is Alertmanager's API v2 body: an array of {labels, annotations, startsAt, endsAt}.
 * - One alert per attack: a flood or backscatter alert is posted at its start with
 *     labels {alertname: SynwatchSynFlood | SynwatchSpoofedFlood | SynwatchBackscatter,
 *             kind, severity (critical for floods, warning for backscatter), instance (host),
 *             interface, target (the most-hit address:port at the start, if any)}
 *   and annotations (summary, description: the advice, attempts, completed, peakRate,
 *   newSourceAttempts, share, targets, sources, activeBlocks). While it lasts it is re-sent every
 *   `resendMs` with endsAt = now + 4 × resendMs, as Prometheus does (so an alert whose sender
 *   died resolves by itself, and Alertmanager's resolve_timeout never has to guess). Labels are
 *   fixed at the start: they are the alert's identity, and a changed one would be a second alert.
 *   At its end it is posted once more with endsAt = the attack's last attempt (resolved), and the
 *   annotations of its final report. If the detector's final report gives it another kind than
 *   its start did, that alert is posted resolved too, with its own labels.
 * - Per-source decisions are never alerts (a botnet would be hundreds; Alertmanager is told of
 *   attacks, the log and the JSON webhook of sources); the count of blocks in force is an
 *   annotation. A policy alert decision (block cap, rate cap, backend or ledger error, each at
 *   most once per episode or second: src/enforce/policy.ts) is one alert SynwatchPolicy with
 *   label reason, posted once with endsAt 4 × resendMs later.
 * - Delivery is JsonPoster's (webhook.ts): ordered, bounded, retried, never blocking.
 */
import { endpoint } from '../report/text';
import type { Alert } from '../detect/alerts';
import type { FlagEvent } from '../detect/events';
import type { Decision } from '../enforce/contract';
import { isoUs } from '../report/time';
import { LiveNotifier, NotifyContext, NotifyLog } from './live-notifier';
import { JsonPoster, PosterOptions } from './webhook';

export const DEFAULT_ALERTMANAGER_RESEND_S = 60;
/** endsAt of a firing alert is this many re-send intervals ahead (Prometheus: 4). */
const ENDS_AT_INTERVALS = 4;
/** Targets and sources named in the annotations. */
const ANNOTATED_TOP = 5;

const ALERT_NAMES: Record<Alert['kind'], string> = {
  'syn-flood': 'SynwatchSynFlood',
  'spoofed-flood': 'SynwatchSpoofedFlood',
  'backscatter': 'SynwatchBackscatter',
};

/** The path that selects this format when --webhook-format is not given. */
export function looksLikeAlertmanager(url: URL): boolean {
  return /\/api\/v2\/alerts\/?$/.test(url.pathname);
}

export interface AlertmanagerOptions extends PosterOptions {
  resendMs: number;
}

interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

interface Firing {
  labels: Record<string, string>;
  alert: Alert;
}

/** The alert's identity across its start and end: the detector it came from and its start. */
function attackKey(a: Alert): string {
  return `${a.kind === 'backscatter' ? 'backscatter' : 'flood'}@${a.startUs}`;
}

export class AlertmanagerNotifier implements LiveNotifier {
  readonly poster: JsonPoster;
  private readonly firing = new Map<string, Firing>();
  private readonly resend: NodeJS.Timeout;

  constructor(private readonly o: AlertmanagerOptions, private readonly ctx: NotifyContext, log: NotifyLog) {
    this.poster = new JsonPoster(o, log);
    this.resend = setInterval(() => this.resendFiring(), o.resendMs);
    this.resend.unref();
  }

  onDecision(d: Decision, _flag: FlagEvent | undefined): void {
    if (d.action !== 'alert') return;
    this.poster.post([{
      labels: { alertname: 'SynwatchPolicy', reason: d.reason, severity: 'warning', ...this.where() },
      annotations: { summary: `synwatch policy alert on ${this.ctx.iface}: ${d.reason}`, description: d.detail ?? d.reason, activeBlocks: String(this.ctx.activeBlocks()) },
      startsAt: isoUs(d.tsUs),
      endsAt: isoUs(d.tsUs + ENDS_AT_INTERVALS * this.o.resendMs * 1000),
    }]);
  }

  onAlert(a: Alert, phase: 'start' | 'end'): void {
    const key = attackKey(a);
    if (phase === 'start') {
      const f: Firing = { labels: this.labels(a), alert: a };
      this.firing.set(key, f);
      this.poster.post([this.entry(f, this.openEnd())]);
      return;
    }
    const started = this.firing.get(key);
    this.firing.delete(key);
    const end = isoUs(a.endUs);
    const out: AlertmanagerAlert[] = [];
    if (started) out.push(this.entry({ labels: started.labels, alert: a }, end));
    if (!started || started.alert.kind !== a.kind) out.push(this.entry({ labels: this.labels(a), alert: a }, end));
    this.poster.post(out);
  }

  close(graceMs: number): Promise<void> {
    clearInterval(this.resend);
    return this.poster.close(graceMs);
  }

  describe(): Record<string, unknown> {
    return { type: 'webhook', format: 'alertmanager', url: this.poster.url, resendMs: this.o.resendMs, firing: this.firing.size, ...this.poster.stats };
  }

  /** Every alert still firing, with endsAt pushed ahead again (the contract above). */
  resendFiring(): void {
    if (this.firing.size === 0) return;
    const ends = this.openEnd();
    this.poster.post([...this.firing.values()].map((f) => this.entry(f, ends)));
  }

  private openEnd(): string {
    return isoUs(this.ctx.nowUs() + ENDS_AT_INTERVALS * this.o.resendMs * 1000);
  }

  private where(): Record<string, string> {
    return { instance: this.ctx.host, interface: this.ctx.iface };
  }

  private labels(a: Alert): Record<string, string> {
    const labels: Record<string, string> = {
      alertname: ALERT_NAMES[a.kind], kind: a.kind, severity: a.kind === 'backscatter' ? 'warning' : 'critical', ...this.where(),
    };
    const top = a.targets[0];
    if (top) labels.target = a.kind === 'backscatter' ? top.ip : endpoint(top.ip, top.port);
    return labels;
  }

  private entry(f: Firing, endsAt: string): AlertmanagerAlert {
    const a = f.alert;
    const targets = a.targets.slice(0, ANNOTATED_TOP).map((t) => `${t.ip}:${t.port} (${t.attempts})`).join(', ');
    const sources = a.sources.slice(0, ANNOTATED_TOP).map((s) => `${s.ip} (${s.count})`).join(', ');
    const blocks = this.ctx.activeBlocks();
    return {
      labels: f.labels,
      annotations: {
        summary: `${a.kind} on ${this.ctx.iface} of ${this.ctx.host}: ${a.count} ${a.kind === 'backscatter' ? 'unsolicited SYN-ACKs' : 'handshake attempts'}, peak ${a.peakRate}/s, ${blocks} blocks in force`,
        description: a.advice,
        attempts: String(a.count), completed: String(a.completed), peakRate: String(a.peakRate),
        newSourceAttempts: String(a.newSourceAttempts), share: String(a.share),
        targets, sources, activeBlocks: String(blocks),
      },
      startsAt: isoUs(a.startUs),
      endsAt,
    };
  }
}
