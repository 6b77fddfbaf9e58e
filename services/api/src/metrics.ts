import { Counter, Gauge, Histogram, createMetricsRegistry, type Registry } from '@churnscore/observability';

/** The read API's Prometheus metrics. Routes are labelled by their template, never by a customer id. */
export function createApiMetrics() {
  const registry: Registry = createMetricsRegistry('churnscore_api_');
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'churnscore_api_requests_total',
      help: 'HTTP requests by method, route template and status code (open live-update streams: churnscore_api_live_clients)',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'churnscore_api_request_duration_seconds',
      help: 'HTTP request latency by method and route template (live-update streams are not timed)',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    liveClients: new Gauge({
      name: 'churnscore_api_live_clients',
      help: 'Open Server-Sent Events streams',
      registers,
    }),
    liveEvents: new Counter({
      name: 'churnscore_api_live_events_total',
      help: 'Output-topic records received for live updates, by type (score, alert, erased, undecodable)',
      labelNames: ['type'] as const,
      registers,
    }),
    unreadableRecords: new Counter({
      name: 'churnscore_api_unreadable_records_total',
      help: 'Stored records left out of a list because they do not decode or hold values outside the response schema, by record (score, alert book, alert episode)',
      labelNames: ['record'] as const,
      registers,
    }),
    liveFeedConnected: new Gauge({
      name: 'churnscore_api_live_feed_connected',
      help: '1 while the live-update consumer is in its group and receiving, 0 otherwise',
      registers,
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
