import { registryClientConfig, type ScorerSettings } from '@churnscore/config';
import type { InputEvent } from '@churnscore/domain';
import { createEventCodec, eventCodecOptions, type EventCodec } from '@churnscore/events';
import { generateLiveEvents } from '@churnscore/simulator';
import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import type { BenchContext } from '../context';
import { clonePopulation, populationCustomerId, type Templates } from '../population';
import type { SectionOutcome, TableRow } from '../report';
import { Sandbox } from '../../infra/src/sandbox';
import { fetchMetrics, sampleTotal, scorerCounters, type ScorerCounters } from '../scorer-metrics';
import { startScorerProcess, type ScorerProcess } from '../scorer-process';
import { count, millis, perSecond, summarise, type LatencySummary } from '../stats';
import { startCpuMeter, type CpuUse } from '../system';
import { sleep, waitForGroup } from '../waiting';

export interface LatencyRun {
  offeredRate: number;
  /** Events actually handed to the producer per second, first send to last. */
  achievedRate: number;
  sent: number;
  /** From the first send until the scorer had caught up; null when it never did (the rate is not sustained). */
  warmupSeconds: number | null;
  /** Events the scorer handled per second during the warm-up: its pace when it cannot keep up. */
  handledRateInWarmup: number;
  /** Sent after the warm-up: the events the percentiles are over. */
  measured: number;
  /** Measured events named as the cause of a score-changed event (the others moved no score enough to publish). */
  matched: number;
  /** Produced → score-changed received by a subscriber, after the warm-up. */
  scorer: LatencySummary;
  /** The same during the warm-up: a scorer process that just started (cold JIT, first touch of each customer). */
  coldStart: LatencySummary;
  /** Produced → the input record itself received by a bare consumer: Kafka's share of the above. */
  kafkaHop: LatencySummary;
  /** The scorer caught up after its warm-up and had consumed everything sent by the end of the drain. */
  sustained: boolean;
  cpu: CpuUse;
  /** The scorer's own view: its batches (one partition's fetched records each, handled one partition after another). */
  counters: ScorerCounters;
  /** The scorer's settings in this run: messages per unit of several partitions and per chunk of one, partitions at once, offset commit interval, fsync grace. */
  settings: Pick<ScorerSettings, 'chunkSize' | 'maxChunkSize' | 'concurrentPartitions' | 'commitIntervalMs' | 'fsyncGraceMs'>;
}

export interface LatencyDetails {
  customers: number;
  runs: LatencyRun[];
}

/**
 * A scorer process that just started is slower (cold JIT, the first touch of each customer) and builds
 * a backlog, which takes a while to drain at the offered rate. The measured part starts once it has
 * caught up (its handled count within a quarter second of traffic of what was sent), and not before
 * MIN_WARMUP_MS; a scorer that has not caught up after MAX_WARMUP_MS cannot sustain the rate.
 */
const MIN_WARMUP_MS = 10_000;
const MAX_WARMUP_MS = 30_000;
const CAUGHT_UP_SECONDS = 0.25;
const PROGRESS_POLL_MS = 250;
const TARGET_P99_MS = 100;
const TARGET_RATE = 1_000;
/** How long the scorer may take after the last send to consume everything before it counts as not keeping up. */
const DRAIN_LIMIT_MS = 15_000;
const SEQUENCE_HEADER = 'bench-seq';

/**
 * Live activity for a population of template copies: the simulator's live stream over the templates,
 * each burst (one customer's day of activity) handed to the next copy of its template in turn, so
 * the traffic spreads over the whole population with the simulator's mix.
 */
function* liveTraffic(templates: Templates, customers: number, seed: string): Generator<InputEvent> {
  const templateCount = Math.min(templates.plans.length, customers);
  const templateIndex = new Map(templates.plans.slice(0, templateCount).map((plan, i) => [plan.customerId, i]));
  const copiesServed = new Array<number>(templateCount).fill(0);
  let previousTemplate = '';
  let customerId = '';
  for (const event of generateLiveEvents(templates.plans.slice(0, templateCount), { seed, clock: Date.now })) {
    if (event.customerId !== previousTemplate) {
      previousTemplate = event.customerId;
      const index = templateIndex.get(event.customerId)!;
      const copies = Math.ceil((customers - index) / templateCount);
      const served = copiesServed[index]!;
      copiesServed[index] = served + 1;
      customerId = populationCustomerId(index + templateCount * (served % copies));
    }
    yield { ...event, customerId };
  }
}

interface Received {
  at: number;
  message: KafkaMessage;
}

/** What the subscriber saw: when each input record (by sequence number) and each score-changed record arrived. */
interface Observation {
  inputSeen: number[];
  outputs: Received[];
  joined(): boolean;
}

/** A bare consumer of the input and score-changed topics that only timestamps what arrives (decoding comes after the run). */
async function startObserver(consumer: Consumer, topics: { input: string; scoreChanged: string }): Promise<Observation> {
  let joined = false;
  const observation = { inputSeen: [] as number[], outputs: [] as Received[], joined: () => joined };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.input, topics.scoreChanged], fromBeginning: true });
  await consumer.run({
    // kafkajs' auto-commit commits after every partition's batch and delays the next fetch by a round trip each.
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      if (batch.topic === topics.scoreChanged) {
        for (const message of batch.messages) observation.outputs.push({ at, message });
      } else {
        for (const message of batch.messages) observation.inputSeen[Number(message.headers?.[SEQUENCE_HEADER]?.toString())] = at;
      }
    },
  });
  return observation;
}

/** Events the scorer has handled so far (all outcomes), from its own counter. */
const handledBy = async (scorer: ScorerProcess): Promise<number> => sampleTotal([await fetchMetrics(scorer.httpPort)], 'churnscore_events_total');

interface Offered {
  /** Send time of each event, by sequence number (performance.now()). */
  sentAt: number[];
  sequenceOf: Map<string, number>;
  startedAt: number;
  lastSentAt: number;
  /** When the scorer had caught up and the measured part began; null if it never did. */
  caughtUpAt: number | null;
  handledRateInWarmup: number;
}

/**
 * Sends on a 1 ms timer whatever the clock says is due at `rate`, never waiting for the scorer, so a
 * slow scorer shows up as latency instead of a lower rate. Runs the warm-up until the scorer has
 * caught up (or MAX_WARMUP_MS), then `seconds` more.
 */
async function offerOpenLoop(options: {
  producer: Producer;
  codec: EventCodec;
  topic: string;
  traffic: Iterator<InputEvent>;
  rate: number;
  seconds: number;
  scorer: ScorerProcess;
  onCaughtUp(afterMs: number): void;
  signal: AbortSignal;
}): Promise<Offered> {
  const { producer, codec, topic, traffic, rate, scorer, signal } = options;
  const sentAt: number[] = [];
  const sequenceOf = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();
  const startedAt = performance.now();
  let caughtUpAt: number | null = null;
  let stopAt = startedAt + MAX_WARMUP_MS;
  let handled = 0;
  const watchWarmup = (async () => {
    while (caughtUpAt === null && performance.now() < stopAt) {
      await sleep(PROGRESS_POLL_MS, signal);
      handled = await handledBy(scorer);
      const now = performance.now();
      if (now - startedAt >= MIN_WARMUP_MS && sentAt.length - handled <= rate * CAUGHT_UP_SECONDS) {
        caughtUpAt = now;
        stopAt = now + options.seconds * 1000;
        options.onCaughtUp(now - startedAt);
      }
    }
  })();
  // Awaited after the send loop; until then a failure must not count as unhandled.
  watchWarmup.catch(() => undefined);
  let sendFailure: unknown;
  while (performance.now() < stopAt) {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * rate) + 1 - sentAt.length;
    if (due > 0) {
      const events = Array.from({ length: due }, () => traffic.next().value as InputEvent);
      const values = await Promise.all(events.map((event) => codec.encode(topic, event)));
      const at = performance.now();
      const messages = events.map((event, i) => {
        const seq = sentAt.push(at) - 1;
        sequenceOf.set(event.eventId, seq);
        return { key: event.customerId, value: values[i]!, headers: { [SEQUENCE_HEADER]: String(seq) } };
      });
      const send: Promise<unknown> = producer
        .send({ topic, messages })
        .catch((error: unknown) => (sendFailure ??= error))
        .finally(() => inFlight.delete(send));
      inFlight.add(send);
    }
    await sleep(1, signal);
  }
  const lastSentAt = performance.now();
  await Promise.all([watchWarmup, ...inFlight]);
  if (sendFailure !== undefined) throw sendFailure;
  const warmupMs = (caughtUpAt ?? stopAt) - startedAt;
  return { sentAt, sequenceOf, startedAt, lastSentAt, caughtUpAt, handledRateInWarmup: handled / (warmupMs / 1000) };
}

/**
 * One rate: a fresh population and scorer process, the open-loop producer, and a subscriber that
 * timestamps the score-changed events and, for the Kafka-only reference, the input records themselves.
 */
async function runAtRate(
  context: BenchContext,
  templates: Templates,
  options: { rate: number; seconds: number; customers: number; partitions: number; seed: string; nodeFlags: readonly string[]; signal: AbortSignal },
): Promise<LatencyRun> {
  const { reporter } = context;
  const { rate, signal } = options;
  const scope = `latency ${rate}`;
  const sandbox = await Sandbox.open(context, `latency-${rate}`, options.partitions);
  const config = sandbox.config();
  const codec = createEventCodec(eventCodecOptions(config, registryClientConfig(config)));
  const producer = context.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = context.kafka.consumer({ groupId: sandbox.group('observer') });
  let scorer: ScorerProcess | undefined;
  try {
    await clonePopulation(context, templates, sandbox.prefix, options.customers);
    const observation = await startObserver(consumer, { input: sandbox.topics.activity, scoreChanged: sandbox.topics.scoreChanged });
    const group = sandbox.group('scorer');
    const running = await startScorerProcess(`scorer @${rate}/s`, sandbox.scorerEnv(group), options.nodeFlags);
    scorer = running;
    await waitForGroup(context.admin, group, 1, signal);
    while (!observation.joined()) await sleep(50, signal);
    await producer.connect();

    reporter.step(scope, `offering ${perSecond(rate)} to ${count(options.customers)} customers: warm-up, then ${options.seconds} s measured`);
    const meter = await startCpuMeter(context, { scorer: running.cpuSeconds });
    const offered = await offerOpenLoop({
      producer,
      codec,
      topic: sandbox.topics.activity,
      traffic: liveTraffic(templates, options.customers, `${options.seed}-${rate}`),
      rate,
      seconds: options.seconds,
      scorer: running,
      onCaughtUp: (afterMs) => reporter.step(scope, `caught up after ${(afterMs / 1000).toFixed(1)} s; measuring`),
      signal,
    });
    const { sentAt, caughtUpAt } = offered;
    const sustained = caughtUpAt !== null && (await drained(running, sentAt.length, signal));
    await sleep(1_000, signal);
    const cpu = await meter.stop();
    const counters = scorerCounters([await fetchMetrics(running.httpPort)]);

    const measured = (seq: number) => caughtUpAt !== null && sentAt[seq]! >= caughtUpAt;
    const causes = await causeLatencies(codec, sandbox.topics.scoreChanged, observation.outputs, offered.sequenceOf, sentAt);
    const scorerLatencies = causes.filter(({ seq }) => measured(seq)).map(({ latency }) => latency);
    const coldLatencies = causes.filter(({ seq }) => !measured(seq)).map(({ latency }) => latency);
    const kafkaLatencies = observation.inputSeen.flatMap((at, seq) => (at !== undefined && measured(seq) ? [at - sentAt[seq]!] : []));
    const { chunkSize, maxChunkSize, concurrentPartitions, commitIntervalMs, fsyncGraceMs } = config.scorer;
    const run: LatencyRun = {
      offeredRate: rate,
      achievedRate: sentAt.length / ((offered.lastSentAt - offered.startedAt) / 1000),
      sent: sentAt.length,
      warmupSeconds: caughtUpAt === null ? null : (caughtUpAt - offered.startedAt) / 1000,
      handledRateInWarmup: offered.handledRateInWarmup,
      measured: sentAt.filter((_, seq) => measured(seq)).length,
      matched: scorerLatencies.length,
      scorer: summarise(scorerLatencies),
      coldStart: summarise(coldLatencies),
      kafkaHop: summarise(kafkaLatencies),
      sustained,
      cpu,
      counters,
      settings: { chunkSize, maxChunkSize, concurrentPartitions, commitIntervalMs, fsyncGraceMs },
    };
    // Every event of a unit has its customer read, scored and committed in full: how many events one scoring carried
    // says whether the units are small (about one per customer) or large (docs/performance.md, "3. Latency").
    const handled = Object.values(counters.events).reduce((sum, n) => sum + n, 0);
    const work = `scorer batches ${millis(counters.meanBatchMs)} on average, ${(handled / Math.max(1, counters.customersScoredForEvents)).toFixed(1)} events per customer scored`;
    reporter.step(
      scope,
      sustained
        ? `achieved ${perSecond(run.achievedRate)}; p50 ${millis(run.scorer.p50)}, p95 ${millis(run.scorer.p95)}, p99 ${millis(run.scorer.p99)} ` +
            `over ${count(run.matched)} score changes; ${work}`
        : `not sustained: the scorer handled ${perSecond(run.handledRateInWarmup)} and never caught up (${work})`,
    );
    return run;
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
    await scorer?.stop();
    codec.close();
    await sandbox.cleanup();
  }
}

/** Until the scorer has handled every record sent, or DRAIN_LIMIT_MS passed: false then. */
async function drained(scorer: ScorerProcess, sent: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + DRAIN_LIMIT_MS;
  while (Date.now() < deadline) {
    if ((await handledBy(scorer)) >= sent) return true;
    await sleep(200, signal);
  }
  return false;
}

/** Latency of every event that a score-changed event names as its cause. */
async function causeLatencies(
  codec: EventCodec,
  topic: string,
  outputs: readonly Received[],
  sequenceOf: ReadonlyMap<string, number>,
  sentAt: readonly number[],
): Promise<Array<{ seq: number; latency: number }>> {
  const latencies: Array<{ seq: number; latency: number }> = [];
  for (const { at, message } of outputs) {
    const decoded = await codec.decodeOutput(topic, message.key, message.value);
    if (!decoded.ok || decoded.event.kind !== 'score-changed' || decoded.event.cause.kind !== 'event') continue;
    const seq = sequenceOf.get(decoded.event.cause.eventId);
    if (seq !== undefined) latencies.push({ seq, latency: at - sentAt[seq]! });
  }
  return latencies;
}

export async function measureLatency(
  context: BenchContext,
  templates: Templates,
  options: { rates: number[]; seconds: number; customers: number; partitions: number; seed: string; nodeFlags: readonly string[]; signal: AbortSignal },
): Promise<SectionOutcome<LatencyDetails>> {
  const runs: LatencyRun[] = [];
  for (const rate of options.rates) runs.push(await runAtRate(context, templates, { ...options, rate }));
  const rows: TableRow[] = runs.map((run) => {
    const targeted = run.offeredRate === TARGET_RATE;
    const target = targeted ? `p99 ≤ ${TARGET_P99_MS} ms; ` : '';
    const metric = `Latency p50 / p95 / p99 at ${perSecond(run.offeredRate)} offered (${perSecond(run.achievedRate)} achieved)`;
    if (!run.sustained) {
      return { metric, value: 'not sustained', reference: `${target}scorer handled ${perSecond(run.handledRateInWarmup)}`, verdict: 'NOT SUSTAINED' };
    }
    const met = run.scorer.p99 <= TARGET_P99_MS;
    return {
      metric,
      value: `${millis(run.scorer.p50)} / ${millis(run.scorer.p95)} / ${millis(run.scorer.p99)}`,
      reference: `${target}Kafka hop p99 ${millis(run.kafkaHop.p99)}`,
      verdict: targeted ? (met ? 'met' : 'MISSED') : 'sustained (no target)',
    };
  });
  return {
    rows,
    details: { customers: options.customers, runs },
  };
}
