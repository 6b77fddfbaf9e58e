import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** A named readiness check; a service is ready when every check passes. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export interface OpsServerOptions {
  port: number;
  host?: string;
  metrics: Registry;
  readiness: ReadinessCheck[];
}

export interface OpsServer {
  server: Server;
  /** The bound port (useful with port 0 in tests). */
  port: number;
  close(): Promise<void>;
}

async function readinessReport(checks: ReadinessCheck[]): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        return [name, await check()] as const;
      } catch {
        return [name, false] as const;
      }
    }),
  );
  return { ready: results.every(([, ok]) => ok), checks: Object.fromEntries(results) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Liveness (`/healthz`: the process answers), readiness (`/readyz`: every dependency check passes,
 * 503 otherwise, with the failing checks named) and Prometheus metrics (`/metrics`).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const report = await readinessReport(options.readiness);
      return sendJson(res, report.ready ? 200 : 503, report);
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': options.metrics.contentType }).end(await options.metrics.metrics());
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
