// Fans live events out to every open Server-Sent Events stream.
import type { ServerResponse } from 'node:http';
import type { Gauge } from '@churnscore/observability';

/** A comment line this often keeps idle streams open through proxies and lets clients notice a dead one. */
const HEARTBEAT_MS = 15_000;
/** A client this far behind is disconnected rather than buffered without bound; its EventSource reconnects. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How long a client waits before reconnecting after the stream drops. */
const RECONNECT_MS = 3_000;
/**
 * The most streams open at once. Dashboards are counted in tens; without a bound, a client holding thousands of
 * streams used every file descriptor, and the API (its readiness included) answered nobody (a black-box test).
 */
export const MAX_LIVE_STREAMS = 1_000;

export interface SseMessage {
  event: string;
  data: unknown;
}

const frame = ({ event, data }: SseMessage): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly clientsGauge: Gauge) {
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n'), HEARTBEAT_MS).unref();
  }

  /** Takes over a response as an event stream, starting with `greeting`; it leaves the hub when the client goes. */
  attach(res: ServerResponse, greeting: SseMessage, headers: Readonly<Record<string, string>> = {}): void {
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      // Not stored, as no /api response is, and not transformed (compressed, buffered) by a proxy on the way.
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RECONNECT_MS}\n\n${frame(greeting)}`);
    this.clients.add(res);
    this.clientsGauge.set(this.clients.size);
    res.on('close', () => {
      this.clients.delete(res);
      this.clientsGauge.set(this.clients.size);
    });
  }

  broadcast(message: SseMessage): void {
    this.send(frame(message));
  }

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= MAX_LIVE_STREAMS;
  }

  /** Ends every stream (on shutdown) and stops the heartbeat. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.clientsGauge.set(0);
  }

  private send(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
      else res.write(chunk);
    }
  }
}
