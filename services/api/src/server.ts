// The HTTP surface: JSON read endpoints under /api/v1 (behind the bearer token when one is configured),
// the live-update stream, the ops endpoints, the OpenAPI document and the dashboard's static files.
import { STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ScoringConfig } from '@churnscore/scoring';
import type { ReadStore } from '@churnscore/state';
import { livenessReport, oneCallAtATime, readinessReport, type Liveness, type Logger } from '@churnscore/observability';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { listAlerts } from './alerts';
import { bearerTokenCheck, WrongTokenLimiter } from './auth';
import { getCustomer, getHistory } from './customer-detail';
import { createReadDeadline } from './read-deadline';
import { listCustomers } from './customer-list';
import type { ReportUnreadable } from './unreadable-records';
import type { ApiMetrics } from './metrics';
import { RequestError, StoreUnavailableError } from './request-error';
import {
  AlertsPageSchema,
  AlertsQuerySchema,
  CustomerByIdQuerySchema,
  CustomerDetailSchema,
  CustomerListQuerySchema,
  CustomerPageSchema,
  CustomerParamsSchema,
  ErrorSchema,
  HistoryByIdQuerySchema,
  HistoryQuerySchema,
  HistorySchema,
  ModelSchema,
  StatsQuerySchema,
  StatsSchema,
  type ServedModelCard,
} from './schemas';
import { MAX_LIVE_STREAMS, type SseHub } from './sse-hub';
import type { StatsReader } from './stats';

const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

export interface ApiServerDependencies {
  /** Everything the endpoints read. */
  store: ReadStore;
  stats: StatsReader;
  /** The scoring configuration: its measure definitions name the drivers in their sentences; its version and horizon describe the model. */
  scoring: ScoringConfig;
  /** The model card of `scoring` (readModelCard); null when it has none. */
  modelCard: ServedModelCard | null;
  hub: SseHub;
  /** Whether live updates are flowing (the output-topic consumer is in its group). */
  liveUpdates(): boolean;
  /** Whether Redis refused the login on the last connection attempt (and none has succeeded since). */
  redisLoginRefused(): boolean;
  metrics: ApiMetrics;
  logger: Logger;
  /** Told of each stored record a list leaves out because it does not decode (the store's reporter too). */
  reportUnreadable: ReportUnreadable;
  /** Required as `Authorization: Bearer <token>` on /api/*; null leaves the API open. */
  apiToken: string | null;
  /** What `/healthz` reports. */
  liveness: Liveness;
}

// The dashboard loads nothing from elsewhere and runs no inline script; styles may be inline (SVG charts).
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Whether a request is for the API (token, no caching): its URL or its matched route is under /api. The URL
 * alone would not do: the router decodes the path, so `/%61pi/v1/…` reaches an /api route too.
 */
const isApiRequest = (request: FastifyRequest): boolean =>
  request.url.startsWith('/api/') || (request.routeOptions.url?.startsWith('/api/') ?? false);

/**
 * Ajv's message, with what it leaves out: for a value outside a list the list itself ("must be equal to one of the
 * allowed values" names none), for a parameter the query string does not take its name.
 */
function validationMessage(error: FastifyError): string {
  const [first] = error.validation ?? [];
  if (first?.keyword === 'enum' && Array.isArray(first.params.allowedValues)) return `${error.message}: ${first.params.allowedValues.join(', ')}`;
  if (first?.keyword === 'additionalProperties') return `${error.message}: ${String(first.params.additionalProperty)}`;
  return error.message;
}

const errorResponses = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

const secured = [{ bearerAuth: [] }];

const UNAUTHORIZED = { statusCode: 401, error: 'Unauthorized', message: 'a valid Authorization: Bearer <token> header is required' } as const;

/** Readiness's reason while Redis refuses the login: no wait mends it, the configuration or the ACL user must change. */
const NOT_PERCENT_ENCODED = 'the URL is not valid percent-encoding';

/** Whether every name and value of a query string decodes: each `%` begins an escape, and the escapes spell UTF-8. */
function isPercentEncoded(query: string): boolean {
  try {
    for (const part of query.split(/[&=]/)) decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

const REDIS_LOGIN_REFUSED = 'Redis refuses the login of REDIS_URL: fix its ACL user or password';

export async function buildApiServer(deps: ApiServerDependencies) {
  const { store, stats, hub, metrics, logger, reportUnreadable } = deps;
  const redisReadable = { name: 'redis', check: oneCallAtATime(() => store.readable()) };
  const withinReadDeadline = createReadDeadline();
  const tokenMatches = deps.apiToken === null ? null : bearerTokenCheck(deps.apiToken);
  const app = Fastify({
    loggerInstance: logger,
    // A URL that does not decode is refused before any route or hook runs, and Fastify's own answer quotes the path,
    // which carries a customer id: a client without the token gets the 401 any /api request would, others a 400
    // that quotes nothing (an outside tester).
    frameworkErrors: (_error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply.headers(SECURITY_HEADERS);
      if (tokenMatches !== null && request.url.startsWith('/api/') && !tokenMatches(request.headers.authorization)) {
        return reply.code(401).header('www-authenticate', 'Bearer').header('connection', 'close').send(UNAUTHORIZED);
      }
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: NOT_PERCENT_ENCODED });
    },
    // Request URLs carry customer ids: the request log below records the route template instead.
    logController: new LogController({ disableRequestLogging: true }),
    // A customerId is up to 128 characters, which percent-encoded can be several times longer.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2_048 },
    // Fastify's default strips the parameters a query string does not take; the schemas refuse them (QueryString).
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'churnscore read API',
        version: '1',
        description: 'Current customer health and churn-risk scores, Insights aggregates, rankings and alerts, read from Redis.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The API_TOKEN of the service' } } },
    },
  });

  const wrongTokens = new WrongTokenLimiter();
  app.addHook('onRequest', async (request, reply) => {
    if (tokenMatches === null || !isApiRequest(request)) return;
    const retryAfterMs = wrongTokens.retryAfterMs(request.ip);
    if (retryAfterMs > 0) {
      await reply
        .code(429)
        .header('retry-after', String(Math.ceil(retryAfterMs / 1000)))
        .header('connection', 'close')
        .send({ statusCode: 429, error: 'Too Many Requests', message: 'too many wrong tokens from this address; try again after Retry-After seconds' });
      return;
    }
    if (!tokenMatches(request.headers.authorization)) {
      // A request without a token (the dashboard's first one) guesses nothing; only wrong tokens count.
      if (request.headers.authorization !== undefined && wrongTokens.recordWrongToken(request.ip)) {
        logger.warn('wrong API tokens: a client address reached the limit and is refused until the window ends');
      }
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        // A client without the token keeps no connection open: it cannot hold the API's sockets (a black-box test).
        .header('connection', 'close')
        .send(UNAUTHORIZED);
    }
  });
  // The query string's parser takes a `%` that begins no escape, and bytes that are not UTF-8, as they are
  // (`customerId=a%` read customer "a%"), where a path of the same bytes is refused: refused alike, after the token.
  app.addHook('preValidation', async (request) => {
    const queryStart = request.url.indexOf('?');
    if (queryStart !== -1 && !isPercentEncoded(request.url.slice(queryStart + 1))) throw new RequestError(400, NOT_PERCENT_ENCODED);
  });
  // Ajv (8.20) coerces "Infinity" and "1e400" to numbers and then skips minimum and maximum for a number that is not
  // finite: `limit=Infinity` passed a maximum of 200 (and reached Redis as a bound it refuses). After validation, no
  // query number may be other than finite.
  app.addHook('preHandler', async (request) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const unbounded = Object.entries(query).find(([, value]) => typeof value === 'number' && !Number.isFinite(value));
    if (unbounded !== undefined) throw new RequestError(400, `querystring/${unbounded[0]} must be a finite number`);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (isApiRequest(request)) reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ method: request.method, route }, seconds);
    request.log.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  // Fastify's own answer quotes the method and path ("Route GET:/v1/customers/<id> not found"), which may carry a
  // customer id, to anyone: this one quotes nothing (an outside tester).
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such route' }));
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof RequestError || error instanceof StoreUnavailableError) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: STATUS_CODES[error.statusCode], message: error.message });
    }
    if (error.validation) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: validationMessage(error) });
    }
    // A client's error a plugin raised (the static files' 403 for a path outside their folder, a 404): not a failure of ours.
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: STATUS_CODES[error.statusCode], message: STATUS_CODES[error.statusCode] });
    }
    request.log.error({ err: error, route: request.routeOptions.url }, 'request failed');
    return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'the request could not be served' });
  });

  app.get(
    '/api/v1/customers',
    {
      schema: {
        summary: 'Customers ranked by value at risk, churn risk or health, filtered and paginated',
        tags: ['customers'],
        security: secured,
        querystring: CustomerListQuerySchema,
        response: { 200: CustomerPageSchema, ...errorResponses },
      },
    },
    (request) => withinReadDeadline(() => listCustomers(store, request.query, reportUnreadable)),
  );

  const customerDetail = (customerId: string) => withinReadDeadline(() => getCustomer(store, deps.scoring, customerId));
  const customerHistory = async (customerId: string, limit: number) => ({
    customerId,
    points: await withinReadDeadline(() => getHistory(store, customerId, limit)),
  });
  const detailSchema = {
    summary: "A customer's scores, explanation, Insights aggregates and alerts",
    tags: ['customers'],
    security: secured,
    response: { 200: CustomerDetailSchema, ...errorResponses },
  };
  const historySchema = {
    summary: "A customer's score over time",
    tags: ['customers'],
    security: secured,
    response: { 200: HistorySchema, ...errorResponses },
  };

  app.get('/api/v1/customers/:customerId', { schema: { ...detailSchema, params: CustomerParamsSchema } }, (request) =>
    customerDetail(request.params.customerId),
  );
  app.get('/api/v1/customer', { schema: { ...detailSchema, querystring: CustomerByIdQuerySchema } }, (request) =>
    customerDetail(request.query.customerId),
  );
  app.get('/api/v1/customers/:customerId/history', { schema: { ...historySchema, params: CustomerParamsSchema, querystring: HistoryQuerySchema } }, (request) =>
    customerHistory(request.params.customerId, request.query.limit),
  );
  app.get('/api/v1/customer/history', { schema: { ...historySchema, querystring: HistoryByIdQuerySchema } }, (request) =>
    customerHistory(request.query.customerId, request.query.limit),
  );

  app.get(
    '/api/v1/alerts',
    {
      schema: {
        summary: 'Open (or recently resolved) alerts across customers',
        tags: ['alerts'],
        security: secured,
        querystring: AlertsQuerySchema,
        response: { 200: AlertsPageSchema, ...errorResponses },
      },
    },
    (request) => withinReadDeadline(() => listAlerts(store, request.query, reportUnreadable)),
  );

  app.get(
    '/api/v1/stats',
    {
      schema: {
        summary: 'Band and risk-band distribution and the value at risk, overall or for one segment',
        tags: ['portfolio'],
        security: secured,
        querystring: StatsQuerySchema,
        response: { 200: StatsSchema, ...errorResponses },
      },
    },
    (request) => withinReadDeadline(() => stats.stats(request.query.segment ?? null)),
  );

  app.get(
    '/api/v1/model',
    {
      schema: {
        summary: 'The churn model the scores are computed with: its version, horizon and model card',
        tags: ['portfolio'],
        security: secured,
        response: { 200: ModelSchema, 401: ErrorSchema, 429: ErrorSchema },
      },
    },
    async () => ({ version: deps.scoring.version, horizonDays: deps.scoring.churn.horizonDays, card: deps.modelCard }),
  );

  app.get(
    '/api/v1/events',
    {
      schema: {
        summary: 'Live updates as Server-Sent Events: score, alert, erased and status events',
        tags: ['live'],
        security: secured,
        response: {
          200: { description: 'An endless text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
          401: ErrorSchema,
          429: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      if (hub.full) {
        return reply
          .code(503)
          .header('retry-after', '30')
          .send({ statusCode: 503, error: 'Service Unavailable', message: `${MAX_LIVE_STREAMS} live-update streams are open, the most this API serves: try again later` });
      }
      reply.hijack();
      // Hijacked, the stream gets no onSend hook: it is given the headers every response carries here.
      hub.attach(reply.raw, { event: 'status', data: { live: deps.liveUpdates() } }, SECURITY_HEADERS);
      request.log.debug({ clients: hub.size }, 'live-update stream opened');
    },
  );

  app.get('/healthz', { schema: { summary: 'Liveness: the process can still do its work', tags: ['ops'] } }, async (_request, reply) => {
    const { status, body } = livenessReport(deps.liveness);
    return reply.code(status).send(body);
  });

  app.get(
    '/readyz',
    { schema: { summary: 'Readiness: Redis answers within a second (live updates are reported, not required)', tags: ['ops'] } },
    async (_request, reply) => {
      const report = await readinessReport([redisReadable]);
      const reason = !report.ready && deps.redisLoginRefused() ? { reason: REDIS_LOGIN_REFUSED } : {};
      return reply.code(report.ready ? 200 : 503).send({ ...report, ...reason, liveUpdates: deps.liveUpdates() ? 'connected' : 'connecting' });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(fastifyStatic, { root: PUBLIC_DIR, index: 'index.html' });
  return app;
}
