// Serves /metrics over plain HTTP on the configured address (keep it on loopback or a management network).
import http from 'node:http';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { AgentMetrics } from './metrics.js';
import { formatListen, type ListenAddress } from './listen.js';

export class MetricsServer {
  private server: http.Server | undefined;

  constructor(
    private readonly metrics: AgentMetrics,
    private readonly listenAddress: ListenAddress,
    private readonly log: Logger,
  ) {}

  async listen(): Promise<ListenAddress> {
    const server = http.createServer((request, response) => void this.serve(request, response));
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.log.error({ err: messageOf(error) }, 'metrics server error'));
    this.server = server;
    const address = server.address();
    const bound = typeof address === 'object' && address ? { host: this.listenAddress.host, port: address.port } : this.listenAddress;
    this.log.info({ listen: formatListen(bound) }, 'metrics listening');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url !== '/metrics') {
      response.writeHead(url === '/' ? 200 : 404, { 'content-type': 'text/plain' }).end(url === '/' ? 'healthcast: metrics at /metrics\n' : 'not found\n');
      return;
    }
    try {
      const parts = await this.metrics.parts();
      response.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      if (request.method !== 'HEAD') for (const part of parts) response.write(part);
      response.end();
    } catch (error) {
      this.log.error({ err: messageOf(error) }, 'metrics collection failed');
      response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
    }
  }
}
