import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { Liveness } from './liveness';
import { answerWithin } from './answer-within';

/** A named readiness check; a service is ready when every check passes. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export interface OpsServerOptions {
  port: number;
  /** The address to listen on (a service's setting: loopback unless it says otherwise). */
  host: string;
  metrics: Registry;
  readiness: ReadinessCheck[];
  /** What `/healthz` reports; a fresh (alive) one by default. */
  liveness?: Liveness;
}

export interface OpsServer {
  server: Server;
  /** The bound port (useful with port 0 in tests). */
  port: number;
  close(): Promise<void>;
}

/**
 * How long one readiness check may take before it counts as failed. A dependency that hangs (a Redis
 * client waiting out an outage, a login it keeps being refused) must turn readiness red within a
 * probe's usual timeout, not hold the probe open.
 */
export const READINESS_CHECK_TIMEOUT_MS = 1_000;

export interface ReadinessReport {
  ready: boolean;
  /** Each check by name: passed, or failed (threw, answered false, or gave no answer in time). */
  checks: Record<string, boolean>;
}

async function passesInTime(check: ReadinessCheck['check']): Promise<boolean> {
  try {
    return (await answerWithin(Promise.resolve().then(check), READINESS_CHECK_TIMEOUT_MS)) === true;
  } catch {
    return false;
  }
}

/** Runs every check at once, each bounded by READINESS_CHECK_TIMEOUT_MS. */
export async function readinessReport(checks: readonly ReadinessCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map(async ({ name, check }) => [name, await passesInTime(check)] as const));
  return { ready: results.every(([, ok]) => ok), checks: Object.fromEntries(results) };
}

/** The `/healthz` answer: 200 while the process can do its work, 503 with the reason once it cannot. */
export function livenessReport(liveness: Liveness): { status: 200 | 503; body: { status: 'ok' } | { status: 'failed'; reason: string } } {
  const failure = liveness.failedWith;
  return failure ? { status: 503, body: { status: 'failed', reason: failure.reason } } : { status: 200, body: { status: 'ok' } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Liveness (`/healthz`: the process can still do its work), readiness (`/readyz`: every dependency check passes,
 * 503 otherwise, with the failing checks named) and Prometheus metrics (`/metrics`).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const liveness = options.liveness ?? new Liveness();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const { status, body } = livenessReport(liveness);
      return sendJson(res, status, body);
    }
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
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
