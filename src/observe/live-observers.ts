/**
 * Starts what watches a running `synwatch live` from outside: the status socket in the state
 * directory (always) and, with --metrics-listen, the Prometheus endpoint. The status socket comes
 * first, so it exists before anything listens on the network; a failure of either closes both
 * and rejects with a one-line error (StatusSocketError, MetricsListenError).
 */
import { endpoint } from '../report/text';
import { ListenAddress, MetricsServer } from './metrics-server';
import { LiveMetrics } from './metrics';
import { LiveView } from './live-view';
import { statusSnapshot } from './status-snapshot';
import { StatusServer } from './status-socket';

export interface LiveObserverOptions {
  stateDir: string;
  metricsListen?: ListenAddress;
}

export class LiveObservers {
  private constructor(
    private readonly status: StatusServer,
    private readonly metrics: LiveMetrics | null,
    private readonly metricsServer: MetricsServer | null,
  ) {}

  static async start(o: LiveObserverOptions, view: LiveView): Promise<LiveObservers> {
    const status = await StatusServer.start(o.stateDir, () => statusSnapshot(view));
    if (!o.metricsListen) return new LiveObservers(status, null, null);
    const metrics = new LiveMetrics(view);
    try {
      return new LiveObservers(status, metrics, await MetricsServer.start(o.metricsListen, metrics));
    } catch (e) {
      metrics.close();
      status.close();
      throw e;
    }
  }

  /** For the "capturing" line: where each listens. */
  describe(): { statusSocket: string; metricsListen: string | null } {
    const a = this.metricsServer?.address;
    return { statusSocket: this.status.path, metricsListen: a ? endpoint(a.host, a.port) : null };
  }

  close(): void {
    this.metricsServer?.close();
    this.metrics?.close();
    this.status.close();
  }
}
