import { ConfigError, kafkaClientOptions, registryClientConfig, type AppConfig } from '@churnscore/config';
import { createEventCodec, eventCodecOptions, watchSchemaIds } from '@churnscore/events';
import { createKafkaClient } from '@churnscore/kafka';
import { CONNECTION_ERROR_LOG_INTERVAL_MS, connectionErrorLogger, createLogger, Liveness, rateLimitedLog, type Logger } from '@churnscore/observability';
import type { ScoringConfig } from '@churnscore/scoring';
import { createReadStore, createRedis, redisLoginRefusal, requireRedisLogin } from '@churnscore/state';
import { LiveFeed } from './live-feed';
import { createApiMetrics } from './metrics';
import { readModelCard } from './model-card';
import { buildApiServer } from './server';
import { SseHub } from './sse-hub';
import { createStatsReader } from './stats';
import { unreadableReporter } from './unreadable-records';

export interface ApiOptions {
  config: AppConfig;
  /**
   * The scoring configuration: its band thresholds for the statistics, its measure definitions for the drivers'
   * sentences, its version and horizon for GET /api/v1/model, whose card is looked for beside config.scoringConfigPath.
   */
  scoring: ScoringConfig;
  logger?: Logger;
  /** Port to listen on; 0 picks a free one. Defaults to config.apiPort. */
  port?: number;
  /** Address to listen on. Defaults to config.apiHost. */
  host?: string;
  /** What `/healthz` reports; a fresh one by default. */
  liveness?: Liveness;
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

/**
 * The composition root: configuration in, a listening read API out.
 * @throws ConfigError without API_TOKEN unless API_ALLOW_ANONYMOUS=true: customer data is never served
 * to anyone by default. RedisLoginRefusedError when Redis refuses the credentials of REDIS_URL; a Redis
 * that does not answer yet is waited for, with the API not ready meanwhile.
 */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { config, scoring } = options;
  if (config.apiToken === null && !config.apiAllowAnonymous) {
    throw new ConfigError([
      'API_TOKEN: required to serve customer data (at least 16 characters); to serve it to anyone who can reach the API instead, set API_ALLOW_ANONYMOUS=true',
    ]);
  }
  const logger = options.logger ?? createLogger({ name: 'api', level: config.logLevel });
  const metrics = createApiMetrics();
  const redisLogin = new RedisLoginWatch(logger);
  const redis = createRedis({ ...config.redis, connectionName: 'churnscore-api', onError: redisLogin.onError });
  redis.on('ready', redisLogin.onReady);
  if (!(await requireRedisLogin(redis))) logger.warn('Redis did not answer at start: waiting for it (readiness reports it)');
  const reportUnreadable = unreadableReporter(metrics, logger);
  const store = createReadStore(redis, { prefix: config.redis.keyPrefix, onUndecodable: reportUnreadable });
  const modelCard = await readModelCard(config.scoringConfigPath, scoring, logger);
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
    store,
    stats: createStatsReader(store, { scoring, currency: config.reportingCurrency }),
    scoring,
    modelCard,
    hub,
    liveUpdates: () => liveFeed.connected,
    redisLoginRefused: () => redisLogin.refused,
    metrics,
    logger,
    reportUnreadable,
    apiToken: config.apiToken,
    liveness: options.liveness ?? new Liveness(),
  });
  const host = options.host ?? config.apiHost;
  await app.listen({ port: options.port ?? config.apiPort, host });
  liveFeed.start();
  // The live feed decodes what the scorer publishes, with schemas cached by id.
  const stopSchemaIdWatch = watchSchemaIds(codec, logger);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? config.apiPort);
  if (config.apiToken === null) {
    logger.warn({ host, port }, 'API_ALLOW_ANONYMOUS=true: every customer\'s data is served WITHOUT A TOKEN to anyone who can reach this address');
  }
  logger.info(
    { host, port, keyPrefix: config.redis.keyPrefix, auth: config.apiToken !== null, liveGroup: liveFeed.groupId, modelVersion: scoring.version, modelCard: modelCard !== null },
    'api started',
  );

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    liveFeed,
    async stop() {
      // Streams first: the server only closes once every connection has ended.
      hub.close();
      stopSchemaIdWatch();
      await liveFeed.stop();
      await app.close();
      codec.close();
      // Nothing reads Redis any more; QUIT would wait for the answer of a server that may not give one.
      redis.disconnect();
      logger.info('api stopped');
    },
  };
}

/**
 * Redis refusing the login on a reconnection (its user's password changed, the user disabled, while the API ran): the
 * API keeps trying, as for an unreachable Redis, but says what is wrong, in its log and its readiness, rather than
 * reporting a connection error that waiting would mend.
 */
class RedisLoginWatch {
  /** Redis refused the login on the last connection attempt, and no connection has been ready since. */
  refused = false;
  private readonly logConnectionError: (error: Error) => void;
  private readonly logRefusal: (fields: Record<string, unknown>) => void;

  constructor(logger: Logger) {
    this.logConnectionError = connectionErrorLogger(logger, 'redis');
    this.logRefusal = rateLimitedLog(
      logger,
      'error',
      'Redis refuses the login of REDIS_URL; the API keeps trying and is not ready until the ACL user or its password is fixed',
      CONNECTION_ERROR_LOG_INTERVAL_MS,
    );
  }

  readonly onError = (error: Error): void => {
    const reply = redisLoginRefusal(error);
    this.refused = reply !== undefined;
    if (reply === undefined) this.logConnectionError(error);
    else this.logRefusal({ dependency: 'redis', reply });
  };

  readonly onReady = (): void => {
    this.refused = false;
  };
}
