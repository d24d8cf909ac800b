/**
 * The Prometheus metrics of `synwatch live` (README "Metrics" lists each one), in synwatch's own
 * prom-client Registry (never the global one, so nothing else registers into it).
 *
 * Contract: nothing here runs per packet. Each metric's collect() copies a counter the pipeline,
 * the capture or the policy already keeps (LiveView) when a scrape asks; a scrape reads a few
 * dozen numbers and allocates only its reply. Names carry the `synwatch_` prefix and base units;
 * counters end in `_total`; label values are closed sets (no address is ever a label value).
 * The event-loop delay is sampled by perf_hooks' monitorEventLoopDelay (a libuv timer, no work
 * on the packet path); its quantiles cover the time since the previous scrape.
 */
import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import { ALERT_KINDS, DECISION_ACTIONS, FLAG_REASONS, LATENCY_BUCKETS_S } from './live-counters';
import { LiveView } from './live-view';

/** Event-loop delay sampling period; the histogram's values include it, so it is subtracted. */
const LAG_RESOLUTION_MS = 10;
const LAG_QUANTILES = [0.5, 0.99];
/** synwatch_notifications_total's outcome label, per notifier type: [label value, stats key]. */
const NOTIFICATION_OUTCOMES = {
  'on-block': [['succeeded', 'succeeded'], ['failed', 'failed'], ['timed_out', 'timedOut'], ['dropped', 'dropped']],
  webhook: [['sent', 'sent'], ['retried', 'retried'], ['failed', 'failed'], ['dropped', 'dropped']],
} as const;

/** One value of a metric as prom-client's Registry serialises it. */
interface SampleValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** A metric whose samples are computed at scrape time, registered as prom-client's own are. */
interface ComputedMetric {
  name: string;
  help: string;
  type: 'histogram' | 'summary';
  aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: string; values: SampleValue[] };
}

export class LiveMetrics {
  readonly registry = new Registry();
  private readonly lag: IntervalHistogram;
  private lagSumS = 0;
  private lagCount = 0;

  constructor(private readonly view: LiveView) {
    this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lag.enable();
    this.define();
  }

  /** The exposition text (Prometheus text format 0.0.4) and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.lag.disable();
  }

  private define(): void {
    const v = this.view;
    const r = this.registry;
    const totals = () => v.pipeline.tracker.totals;
    this.counter('synwatch_packets_total', 'Packets the capture delivered to the decoder.', () => v.captureStats().captured);
    this.counter('synwatch_tcp_segments_total', 'TCP segments decoded (ICMP-quoted headers excluded).', () => v.pipeline.counters.tcpSegments);
    this.counter('synwatch_syn_packets_total', 'SYN segments without ACK, retransmissions included.', () => totals().synOnly);
    this.counter('synwatch_synack_packets_total', 'SYN-ACK segments.', () => totals().synAck);
    this.counter('synwatch_handshake_attempts_total', 'Handshake attempts: distinct (source, port, destination, port, ISN) SYNs.', () => totals().attempts);
    this.labelledCounter('synwatch_handshakes_total', 'Handshake attempts by how they ended.', 'outcome', {
      completed: () => totals().completed,
      client_reset: () => totals().clientResets,
      server_reset: () => totals().serverResets,
      timed_out: () => totals().timedOut,
      evicted: () => totals().evictedOpen,
    });
    this.labelledCounter('synwatch_sources_flagged_total', 'Sources flagged by the detector, by rule.', 'reason',
      indexed(FLAG_REASONS, (i) => v.events.flagged[i]));
    this.gauge('synwatch_blocks_active', 'Blocks in force: routes, nftables elements or both (dry-run: that would be).', () => v.policy().activeCount);
    this.labelledCounter('synwatch_blocks_total', 'Enforcer decisions, by action.', 'action',
      indexed(DECISION_ACTIONS, (i) => v.events.decisions[i]));
    this.labelledCounter('synwatch_alerts_total', 'Alerts started, by kind at their start.', 'kind',
      indexed(ALERT_KINDS, (i) => v.events.alertsStarted[i]));
    this.labelledGauge('synwatch_attack_active', '1 while an alert of this kind is open, else 0.', 'kind',
      Object.fromEntries(ALERT_KINDS.map((k) => [k, () => v.events.attackActive(k)])));
    this.counter('synwatch_capture_captured_packets_total', 'Records libpcap delivered (as synwatch_packets_total).', () => v.captureStats().captured);
    this.counter('synwatch_capture_received_packets_total', 'Packets that passed the kernel filter, dropped ones included (pcap_stats ps_recv).', () => v.captureStats().received);
    this.labelledCounter('synwatch_capture_dropped_packets_total', 'Packets lost before synwatch saw them: kernel ring full (kernel) or by the interface (interface).', 'where', {
      kernel: () => v.captureStats().kernelDrops,
      interface: () => v.captureStats().ifDrops,
    });
    this.counter('synwatch_capture_batches_total', 'Batches of records the capture handed to JavaScript.', () => v.captureStats().batches);
    this.labelledCounter('synwatch_table_evictions_total', 'Entries evicted from the bounded tables, by table.', 'table', {
      sources: () => v.pipeline.tracker.sources.table.evictions,
      attempts: () => v.pipeline.tracker.attemptEvictions,
      targets: () => v.pipeline.tracker.targets.table.evictions,
    });
    this.notificationCounters();
    this.gauge('synwatch_start_time_seconds', 'When this live process started, seconds since the epoch.', () => v.startedUs / 1e6);

    const latency = 'synwatch_detection_latency_seconds';
    r.registerMetric(computed(latency, 'From the SYN that crossed the threshold to the block route confirmed by the kernel.', 'histogram', () => {
      const e = v.events;
      const values: SampleValue[] = [];
      let cumulative = 0;
      for (let b = 0; b < LATENCY_BUCKETS_S.length; b++) {
        cumulative += e.latencyBuckets[b];
        values.push({ metricName: `${latency}_bucket`, labels: { le: LATENCY_BUCKETS_S[b] }, value: cumulative });
      }
      cumulative += e.latencyBuckets[LATENCY_BUCKETS_S.length];
      values.push({ metricName: `${latency}_bucket`, labels: { le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${latency}_sum`, labels: {}, value: e.latencySumS });
      values.push({ metricName: `${latency}_count`, labels: {}, value: e.latencyCount });
      return values;
    }) as never);

    const lag = 'synwatch_event_loop_lag_seconds';
    r.registerMetric(computed(lag, 'Event-loop delay (perf_hooks monitorEventLoopDelay); quantiles since the previous scrape.', 'summary', () => {
      const h = this.lag;
      const seconds = (ns: number) => Math.max(0, ns / 1e9 - LAG_RESOLUTION_MS / 1000);
      const values: SampleValue[] = LAG_QUANTILES.map((q) => ({ labels: { quantile: q }, value: h.count > 0 ? seconds(h.percentile(q * 100)) : 0 }));
      if (h.count > 0) {
        this.lagSumS += seconds(h.mean) * h.count;
        this.lagCount += h.count;
      }
      h.reset();
      values.push({ metricName: `${lag}_sum`, labels: {}, value: this.lagSumS });
      values.push({ metricName: `${lag}_count`, labels: {}, value: this.lagCount });
      return values;
    }) as never);
  }

  /** --on-block runs and webhook posts by outcome, summed over the notifiers of each type. */
  private notificationCounters(): void {
    const v = this.view;
    new Counter({ name: 'synwatch_notifications_total', help: 'Notifications by notifier (on-block, webhook) and outcome.',
      labelNames: ['notifier', 'outcome'], registers: [this.registry], collect() {
        this.reset();
        for (const n of v.notifiers()) {
          const d = n.describe();
          const outcomes = NOTIFICATION_OUTCOMES[d.type as keyof typeof NOTIFICATION_OUTCOMES];
          if (!outcomes) continue;
          for (const [outcome, key] of outcomes) {
            if (typeof d[key] === 'number') this.inc({ notifier: d.type as string, outcome }, d[key] as number);
          }
        }
      } });
  }

  private counter(name: string, help: string, read: () => number): void {
    new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(read()); } });
  }

  private labelledCounter(name: string, help: string, label: string, read: Record<string, () => number>): void {
    new Counter({ name, help, labelNames: [label], registers: [this.registry], collect() {
      this.reset();
      for (const [value, f] of Object.entries(read)) this.inc({ [label]: value }, f());
    } });
  }

  private gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  private labelledGauge(name: string, help: string, label: string, read: Record<string, () => number>): void {
    new Gauge({ name, help, labelNames: [label], registers: [this.registry], collect() {
      for (const [value, f] of Object.entries(read)) this.set({ [label]: value }, f());
    } });
  }
}

/** { name: reader } for a closed list of label values read from one typed array. */
function indexed(names: readonly string[], read: (i: number) => number): Record<string, () => number> {
  return Object.fromEntries(names.map((n, i) => [n, () => read(i)]));
}

function computed(name: string, help: string, type: ComputedMetric['type'], values: () => SampleValue[]): ComputedMetric {
  return { name, help, type, aggregator: 'sum', get: () => ({ name, help, type, aggregator: 'sum', values: values() }) };
}
