/**
 * `--metrics-listen ADDR:PORT`: GET /metrics over HTTP, in the Prometheus text format.
 *
 * Contract: one path, /metrics (GET or HEAD; any other method there is 405, any other path 404).
 * The server shares the event loop with the capture, so it is kept small: a scrape copies a few
 * dozen counters (metrics.ts); requests have short timeouts, and at most MAX_CONNECTIONS are open
 * at once, so a stuck or hostile client cannot pile up sockets. listen() failures (address in use,
 * not local) become a MetricsListenError naming the option.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { LiveMetrics } from './metrics';

const MAX_CONNECTIONS = 16;
/** A scraper sends its request at once; Prometheus' own timeout defaults to 10 s. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface ListenAddress {
  host: string;
  port: number;
}

export class MetricsListenError extends Error {
  override name = 'MetricsListenError';
}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464" (port 0: any free port). Throws naming the option. */
export function parseListenAddress(value: string, option = '--metrics-listen'): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  const host = m ? (m[1] ?? m[2]) : '';
  if (!m || port > 65535 || (m[1] !== undefined && net.isIPv6(host) === false)) {
    throw new MetricsListenError(`${option} takes ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464), got '${value}'`);
  }
  return { host, port };
}

export class MetricsServer {
  private constructor(private readonly server: http.Server, readonly address: ListenAddress) {}

  static start(at: ListenAddress, metrics: LiveMetrics, option = '--metrics-listen'): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: synwatch serves /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
        return;
      }
      metrics.render().then(({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      }, (e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${e.message}\n`);
      });
    });
    server.maxConnections = MAX_CONNECTIONS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = REQUEST_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new MetricsListenError(`${option} ${at.host}:${at.port}: cannot listen (${e.code ?? e.message})`));
      });
      server.listen({ host: at.host, port: at.port, exclusive: true }, () => {
        const a = server.address() as net.AddressInfo;
        resolve(new MetricsServer(server, { host: at.host, port: a.port }));
      });
    });
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
