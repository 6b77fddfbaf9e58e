// The API's request and response shapes, written once: fastify validates query parameters and serialises
// responses with them, @fastify/swagger turns them into the OpenAPI document, and their static types are
// checked against the domain types below, so a field added to the domain cannot silently go missing here.
import {
  ACTIVITY_TYPES,
  ALERT_SEVERITIES,
  ALERT_TYPES,
  HEALTH_BANDS,
  LIFECYCLE_STAGES,
  RISK_BANDS,
  type AlertEpisode,
  type CustomerInsights,
  type Explanation,
  type ScoreDriver,
} from '@churnscore/domain';
import { RANKING_METRICS, type CustomerSummary, type ScoreHistoryPoint } from '@churnscore/state';
import type { ModelCard } from '@churnscore/training';
import { Type, type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * A query string of these parameters and no other: a misspelt or unknown one (`bnad=red`, `band[]=red`) is refused
 * with 400 rather than ignored, which showed a client that misspelt a filter every customer as if they matched.
 */
const QueryString = <T extends Record<string, TSchema>>(parameters: T) => Type.Object(parameters, { additionalProperties: false });
const EpochMs = (description: string) => Type.Integer({ description: `${description} (epoch ms, UTC)` });
const NullableEpochMs = (description: string) => Nullable(EpochMs(description));

const HealthBandSchema = Type.Enum(HEALTH_BANDS, { description: 'green ≥ greenMin, red < redBelow, yellow between' });
const RiskBandSchema = Type.Enum(RISK_BANDS);
const LifecycleStageSchema = Type.Enum(LIFECYCLE_STAGES);

const WindowedCountsSchema = Type.Object(
  { d7: Type.Number(), d30: Type.Number(), d90: Type.Number(), d365: Type.Number() },
  { description: 'Per rolling window of 7, 30, 90 and 365 UTC days ending today' },
);

const InsightsSchema = Type.Object(
  {
    customerId: Type.String(),
    asOf: EpochMs('The instant the aggregates were evaluated at'),
    segment: Nullable(Type.String()),
    activity: Type.Record(Type.Enum(ACTIVITY_TYPES), WindowedCountsSchema, { description: 'Distinct activity events per type and window' }),
    usageQuantity: WindowedCountsSchema,
    lastActivityAt: NullableEpochMs('Latest activity of any type'),
    lastInboundAt: NullableEpochMs('Latest EMAIL_RECEIVED, CALL or MEETING'),
    lastCustomerActivityAt: NullableEpochMs("Latest of the customer's own activities (EMAIL_RECEIVED, CALL, MEETING, PRODUCT_USAGE, SUPPORT_TICKET_OPENED, NPS_RESPONSE): silence counts from it"),
    openOpportunities: Type.Integer(),
    openPipelineAmount: Type.Number(),
    weightedPipelineAmount: Type.Number({ description: 'Σ amount × probability over open opportunities' }),
    openQuotes: Type.Integer(),
    won365: Type.Integer(),
    wonAmount365: Type.Number(),
    lost365: Type.Integer(),
    lostAmount365: Type.Number(),
    winRate365: Nullable(Type.Number({ description: 'won / (won + lost) over 365 days; null when both are 0' })),
    activeContracts: Type.Integer(),
    totalContractValue: Type.Number(),
    nextRenewalAt: NullableEpochMs('Earliest end date of an active contract'),
    cancelled365: Type.Integer(),
    contractsSeen: Type.Integer(),
    firstContractStartAt: NullableEpochMs('Earliest contract start'),
    openTickets: Type.Integer(),
    slaBreaches90: Type.Integer(),
    latestNps: Nullable(Type.Number()),
    latestCsmSentiment: Nullable(Type.Number()),
  },
  { description: 'The SPEC §4 Insights aggregates' },
);

const ExplanationSchema = Type.Object({
  scorecardId: Type.String(),
  measures: Type.Array(
    Type.Object({
      measureId: Type.String(),
      group: Type.String(),
      rawValue: Nullable(Type.Number({ description: 'The aggregate the measure reads; null when it has no data (excluded)' })),
      score: Nullable(Type.Number({ description: '0–100; null when excluded' })),
      weight: Type.Number({ description: 'Normalised weight applied, rounded to 4 decimals; the weights of included measures sum to 1 within that rounding' }),
      contribution: Type.Number({ description: 'score × weight: health points this measure adds' }),
    }),
  ),
  churnFeatures: Type.Array(
    Type.Object({ feature: Type.String(), value: Type.Number(), coefficient: Type.Number(), logitContribution: Type.Number() }),
  ),
  topDrivers: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.Enum(['measure', 'churnFeature']),
      previous: Nullable(Type.Number()),
      current: Nullable(Type.Number()),
      impact: Type.Number({ description: 'Signed effect: health points (measures) or churn-risk probability (features)' }),
      text: Type.String({ description: 'One plain sentence: what moved, from what to what, and its impact in its unit' }),
    }),
    { description: 'What moved the score since the previous one: the health measures, then the churn features, each largest effect first' },
  ),
});

export const AlertEpisodeSchema = Type.Object({
  alertId: Type.String({ description: 'Deterministic per customer, alert type and episode' }),
  customerId: Type.String(),
  alertType: Type.Enum(ALERT_TYPES),
  status: Type.Enum(['OPEN', 'RESOLVED']),
  severity: Type.Enum(ALERT_SEVERITIES),
  episode: Type.Integer(),
  openedAt: EpochMs('When the episode opened'),
  resolvedAt: NullableEpochMs('When it resolved'),
  valueAtRisk: Type.Number(),
  churnRisk: Type.Number(),
  health: Type.Number(),
  band: HealthBandSchema,
  reason: Type.String(),
});

/** The score fields every customer view shares. */
const scoreFields = {
  customerId: Type.String(),
  segment: Nullable(Type.String()),
  health: Type.Integer({ minimum: 0, maximum: 100 }),
  band: HealthBandSchema,
  churnRisk: Type.Number({ minimum: 0, maximum: 1 }),
  riskBand: RiskBandSchema,
  lifecycleStage: LifecycleStageSchema,
  valueAtRisk: Type.Number({ description: 'churnRisk × totalContractValue' }),
  version: Type.Integer({ description: 'Per-customer version of the last published change' }),
  modelVersion: Type.String({ description: 'Version of the scoring configuration' }),
  computedAt: EpochMs('When the score was computed'),
  catchingUp: Type.Boolean({
    description: "Published while the customer's history was being caught up (part of it read, its alerts held): a transient score, which the score published once the rest is read replaces",
  }),
  underContract: Type.Boolean({
    description: 'Has an active contract (stage other than PROSPECT and CHURNED): only then do its health and churn risk count in the bands, filters and rankings of risk',
  }),
};

export const CustomerRowSchema = Type.Object({
  ...scoreFields,
  nextRenewalAt: NullableEpochMs('Earliest end date of an active contract'),
});

export const CustomerDetailSchema = Type.Object({
  ...scoreFields,
  asOf: EpochMs('The instant the score was evaluated as of'),
  nextDueAt: NullableEpochMs('Next time-driven re-scoring'),
  explanation: ExplanationSchema,
  insights: Nullable(InsightsSchema),
  alerts: Type.Object({
    open: Type.Array(AlertEpisodeSchema),
    recentlyResolved: Type.Array(AlertEpisodeSchema, { description: 'The latest resolved episode of each alert type' }),
  }),
});

const SORT_ORDERS = ['desc', 'asc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
const MAX_PAGE_SIZE = 200;

export const CustomerListQuerySchema = QueryString({
  sort: Type.Enum(RANKING_METRICS, { default: 'valueAtRisk', description: 'The ranking to page through' }),
  order: Type.Enum(SORT_ORDERS, { default: 'desc' }),
  segment: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Uses the per-segment ranking' })),
  band: Type.Optional(HealthBandSchema),
  riskBand: Type.Optional(RiskBandSchema),
  stage: Type.Optional(LifecycleStageSchema),
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'nextCursor of the previous page, with the same sort, order and segment' })),
});

export const CustomerPageSchema = Type.Object({
  items: Type.Array(CustomerRowSchema),
  nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null at the end of the ranking' })),
  total: Type.Integer({ description: 'Customers in the ranking (before band, riskBand and stage filters)' }),
  scanned: Type.Integer({ description: 'Ranking entries examined for this page (filters may skip some)' }),
});

const CustomerIdSchema = Type.String({ minLength: 1, maxLength: 128 });
export const CustomerParamsSchema = Type.Object({ customerId: CustomerIdSchema });

const MAX_HISTORY_POINTS = 500;
const historyLimit = { limit: Type.Integer({ minimum: 1, maximum: MAX_HISTORY_POINTS, default: 100 }) };
export const HistoryQuerySchema = QueryString(historyLimit);

/**
 * The same reads with the id in the query string: a browser resolves the ids `.` and `..` as dot segments of a path,
 * percent-encoded or not (WHATWG URL), so no path can name those customers; a query parameter can name any id.
 */
const byIdQuery = { customerId: Type.String({ ...CustomerIdSchema, description: 'Any customer id, percent-encoded as a query value' }) };
export const CustomerByIdQuerySchema = QueryString(byIdQuery);
export const HistoryByIdQuerySchema = QueryString({ ...byIdQuery, ...historyLimit });

const HistoryPointSchema = Type.Object({
  t: EpochMs('When the score was computed; for a back-filled point, the instant it was computed as of'),
  health: Type.Number(),
  churnRisk: Type.Number(),
  band: HealthBandSchema,
  backfilled: Type.Optional(
    Type.Literal(true, { description: 'Computed from event time by npm run backfill (the end of a past UTC week), not published live; absent on live points' }),
  ),
});

export const HistorySchema = Type.Object({
  customerId: Type.String(),
  points: Type.Array(HistoryPointSchema, {
    description: 'Oldest first: back-filled points (before the first live point), then live ones; empty while no history is recorded',
  }),
});

const MAX_ALERTS = 500;
export const AlertsQuerySchema = QueryString({
  status: Type.Enum(['OPEN', 'RESOLVED'], { default: 'OPEN' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_ALERTS, default: 100 }),
});

export const AlertsPageSchema = Type.Object({
  items: Type.Array(AlertEpisodeSchema, { description: 'Most severe first, then by value at risk' }),
  total: Type.Integer({ description: 'Alerts with this status among the scanned customers, before the limit' }),
  scannedCustomers: Type.Integer({
    description: 'Alert books read: the first customers of the alert index of that status (open: by value at risk; resolved: most recently resolved)',
  }),
  complete: Type.Boolean({ description: 'True when every customer of that index was scanned' }),
});

export const StatsQuerySchema = QueryString({ segment: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) });

const countsOf = <const T extends readonly string[]>(names: T, description?: string) =>
  Type.Object(Object.fromEntries(names.map((name) => [name, Type.Integer()])) as { [K in T[number]]: ReturnType<typeof Type.Integer> }, { description });

export const StatsSchema = Type.Object({
  segment: Nullable(Type.String()),
  customers: Type.Integer({ description: 'Scored customers' }),
  customersUnderContract: Type.Integer({ description: 'Scored customers with an active contract: those that can churn' }),
  bands: countsOf(HEALTH_BANDS, 'The customers under contract by health band'),
  riskBands: countsOf(RISK_BANDS, 'The customers under contract by churn-risk band'),
  valueAtRisk: Type.Object({
    total: Type.Number({ description: 'Σ value at risk' }),
    customersAtRisk: Type.Integer({ description: 'Customers with a value at risk above 0' }),
  }),
  thresholds: Type.Object({
    health: Type.Object({ greenMin: Type.Number(), redBelow: Type.Number() }),
    risk: Type.Object({ mediumMin: Type.Number(), highMin: Type.Number() }),
  }),
  modelVersion: Type.String({ description: 'Version of the scoring configuration the API reads thresholds from' }),
  currency: Type.String({ description: 'ISO 4217 reporting currency of every amount' }),
  computedAt: EpochMs('When the figures were computed (the value-at-risk total is cached briefly)'),
});

const Share = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
/** A share that has no value without its denominator (an alert that never opens has no precision). */
const NullableShare = (description: string) => Nullable(Share(`${description}; null when undefined`));
const Iso8601 = (description: string) => Type.String({ description: `${description} (ISO 8601, UTC)` });

const SampleCountsSchema = Type.Object({
  snapshots: Type.Integer({ description: '(customer, as-of date) pairs' }),
  positives: Type.Integer({ description: 'Snapshots whose customer churns within the horizon' }),
  customers: Type.Integer(),
  churners: Type.Integer({ description: 'Customers with at least one positive snapshot' }),
});

/** CHURN_RISK_HIGH's thresholds as chosen for a target precision, and how the alert did on the snapshots they were chosen on (validation, or settled). */
const AlertSchema = Type.Object(
  {
    targetPrecision: Share('The precision the thresholds were chosen for'),
    earlyWarningDays: Type.Integer({ description: 'earlyRecall counts churners at least this many days ahead' }),
    openAt: Share('CHURN_RISK_HIGH opens at a risk ≥ this'),
    resolveBelow: Share('and resolves below this'),
    alerted: Type.Integer({ description: 'Snapshots with the alert open' }),
    truePositives: Type.Integer(),
    precision: NullableShare('Expected precision: share of alerted snapshots that churn within the horizon'),
    recall: NullableShare('Expected recall: share of churning snapshots alerted'),
    earlyRecall: NullableShare('Recall among snapshots at least earlyWarningDays before the churn'),
  },
  { description: 'CHURN_RISK_HIGH thresholds and their expected precision and recall' },
);

/**
 * What the dashboard shows of a model card (`@churnscore/training` ModelCard, as `npm run train` writes it): a
 * card file is checked against it when the API starts and served with everything else left out.
 */
export const ModelCardSchema = Type.Object({
  version: Type.String({ description: 'The scoring configuration it was trained into' }),
  baseVersion: Type.String({ description: 'The configuration it copies everything but the churn model and CHURN_RISK_HIGH from' }),
  trainedAt: Iso8601('When it was trained'),
  history: Type.Object({
    sources: Type.Array(Type.String(), { description: 'What it learnt from: the exports, or the simulated customer bases' }),
    observedUntil: Iso8601('Until when that history runs'),
    leftOut: Type.Optional(Type.Integer({ minimum: 0, description: 'Rejected records of that history left out (exports read with --partial, or what the scorer dead-letters in a replay); absent in cards of before' })),
  }),
  horizonDays: Type.Integer({ description: 'The risk is the probability of churning within this many days' }),
  samples: Type.Object({ train: SampleCountsSchema, validation: SampleCountsSchema }),
  validation: Type.Object(
    {
      auc: NullableShare('ROC AUC'),
      prAuc: NullableShare('Average precision'),
      baseRate: Share('Share of positive validation snapshots'),
      meanPredicted: Share('Mean predicted risk'),
      calibration: Type.Object({
        bins: Type.Array(
          Type.Object({
            from: Share('Lowest predicted risk in the bin'),
            to: Share('Highest predicted risk in the bin'),
            count: Type.Integer({ description: 'Snapshots in the bin' }),
            meanPredicted: Share('Mean predicted risk'),
            observedRate: Share('Share that churned within the horizon'),
          }),
          { description: 'Validation snapshots by decile of predicted risk' },
        ),
        error: Type.Number({ description: 'Σ count × |meanPredicted − observedRate| ÷ snapshots' }),
      }),
    },
    { description: 'The trained model on the later, validation snapshots it never saw' },
  ),
  baselines: Type.Array(
    Type.Object({
      name: Type.String(),
      auc: NullableShare('ROC AUC'),
      prAuc: NullableShare('Average precision'),
      calibrationError: Type.Optional(Type.Number({ description: 'For a model with probabilities (the base configuration)' })),
    }),
    { description: 'The base configuration’s model, health alone and the engagement trend, on the same snapshots' },
  ),
  alert: AlertSchema,
  adaptation: Type.Optional(
    Type.Object(
      {
        figuresOf: Type.String({ description: 'The model version whose validation figures the card shows' }),
        from: Share('The churn rate within the horizon the model was fitted at'),
        to: Share('The churn rate within the horizon of this base'),
        customers: Type.Integer({ description: 'Customers the rate comes from: those of the settled snapshots, or those under contract at observedUntil' }),
        outcomes: Type.Optional(
          Type.Object(
            {
              snapshots: Type.Integer({ description: 'Settled snapshots the intercept was fitted on' }),
              churningCustomers: Type.Integer({ description: 'Customers among them who churned within the horizon' }),
              firstAsOf: Iso8601('The first settled snapshot'),
              lastAsOf: Iso8601('The last settled snapshot'),
            },
            { description: 'Set when the rate was measured on the base’s settled outcomes; absent, it was estimated without labels from the risks of the customers under contract' },
          ),
        ),
        slope: Type.Optional(
          Type.Number({
            description: 'Set when the log-odds’ slope was fitted on the settled snapshots too: every coefficient was multiplied by it; absent, only the intercept moved',
          }),
        ),
        alert: Type.Optional({
          ...AlertSchema,
          description: 'Set when CHURN_RISK_HIGH’s thresholds were chosen on the settled snapshots too (the card’s alert is then this); absent, the base model’s were kept',
        }),
        observedUntil: Iso8601('The end of the history the rate comes from'),
      },
      { description: 'Set when the model was moved to this base’s churn rate (npm run train -- --adapt-base-rate)' },
    ),
  ),
});

export const ModelSchema = Type.Object({
  version: Type.String({ description: 'The scoring configuration the API loaded (modelVersion of the scores it computes)' }),
  horizonDays: Type.Integer({ description: 'Its churn risk is the probability of churning within this many days' }),
  card: Type.Union([ModelCardSchema, Type.Null()], { description: 'The model card of that configuration; null when none was found for its version' }),
});

export const ErrorSchema = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() });

export type CustomerListQuery = Static<typeof CustomerListQuerySchema>;
export type CustomerRow = Static<typeof CustomerRowSchema>;
export type CustomerPage = Static<typeof CustomerPageSchema>;
export type CustomerDetail = Static<typeof CustomerDetailSchema>;
export type HistoryPoint = Static<typeof HistoryPointSchema>;
export type AlertsQuery = Static<typeof AlertsQuerySchema>;
export type AlertsPage = Static<typeof AlertsPageSchema>;
export type Stats = Static<typeof StatsSchema>;
export type ServedModelCard = Static<typeof ModelCardSchema>;
export type Model = Static<typeof ModelSchema>;

// Compile-time drift checks: each schema describes exactly its domain type.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
type _InsightsMatchDomain = Assert<Equals<Static<typeof InsightsSchema>, CustomerInsights>>;
/** The domain's explanation with each driver's sentence (describeDriver), as the customer detail serves it. */
type Flat<T> = { [K in keyof T]: T[K] };
type DescribedExplanation = Flat<Omit<Explanation, 'topDrivers'> & { topDrivers: Array<Flat<ScoreDriver & { text: string }>> }>;
type _ExplanationMatchesDomain = Assert<Equals<Static<typeof ExplanationSchema>, DescribedExplanation>>;
type _AlertEpisodeMatchesDomain = Assert<Equals<Static<typeof AlertEpisodeSchema>, AlertEpisode>>;
type _HistoryPointMatchesState = Assert<Equals<HistoryPoint, ScoreHistoryPoint>>;
/** Every card the trainer writes is one the API serves. */
type _ModelCardServed = Assert<ModelCard extends ServedModelCard ? true : false>;
/** A row is the stored summary's fields, and whether the customer is under contract (which the API works out). */
type _RowHoldsTheSummary = Assert<Equals<Omit<CustomerRow, 'underContract'>, Pick<CustomerSummary, Exclude<keyof CustomerRow, 'underContract'>>>>;
