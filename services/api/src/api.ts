import { kafkaClientOptions, registryClientConfig, type AppConfig } from '@churnscore/config';
import { createEventCodec, eventCodecOptions } from '@churnscore/events';
import { createKafkaClient } from '@churnscore/kafka';
import { createLogger, type Logger } from '@churnscore/observability';
import type { ScoringConfig } from '@churnscore/scoring';
import { createRedis, keySchema } from '@churnscore/state';
import { LiveFeed } from './live-feed';
import { createApiMetrics } from './metrics';
import { buildApiServer } from './server';
import { SseHub } from './sse-hub';
import { createStatsReader } from './stats';

export interface ApiOptions {
  config: AppConfig;
  /** The scoring configuration whose band thresholds the statistics use. */
  scoring: ScoringConfig;
  logger?: Logger;
  /** Port to listen on; 0 picks a free one. Defaults to config.apiPort. */
  port?: number;
  host?: string;
}

export interface RunningApi {
  /** The bound port. */
  port: number;
  /** Base URL on the loopback interface, e.g. http://127.0.0.1:8080 */
  url: string;
  liveFeed: LiveFeed;
  /** Ends the live-update streams, stops consuming, and closes the server and connections. */
  stop(): Promise<void>;
}

/** The composition root: configuration in, a listening read API out. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { config, scoring } = options;
  const logger = options.logger ?? createLogger({ name: 'api', level: config.logLevel });
  const metrics = createApiMetrics();
  const redis = createRedis({ ...config.redis, connectionName: 'churnscore-api' });
  const context = { redis, keys: keySchema(config.redis.keyPrefix) };
  const hub = new SseHub(metrics.liveClients);
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  const liveFeed = new LiveFeed({
    kafka: createKafkaClient(kafkaClientOptions(config), logger),
    codec,
    topics: config.topics,
    groupPrefix: `${config.kafka.clientId}-api`,
    publish: (message) => hub.broadcast(message),
    metrics,
    logger,
  });
  const app = await buildApiServer({
    context,
    stats: createStatsReader(context, { scoring, currency: config.reportingCurrency }),
    hub,
    liveUpdates: () => liveFeed.connected,
    metrics,
    logger,
    apiToken: config.apiToken,
  });
  await app.listen({ port: options.port ?? config.apiPort, host: options.host ?? '0.0.0.0' });
  liveFeed.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? config.apiPort);
  logger.info({ port, keyPrefix: config.redis.keyPrefix, auth: config.apiToken !== null, liveGroup: liveFeed.groupId }, 'api started');

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    liveFeed,
    async stop() {
      // Streams first: the server only closes once every connection has ended.
      hub.close();
      await liveFeed.stop();
      await app.close();
      codec.close();
      await redis.quit();
      logger.info('api stopped');
    },
  };
}
