// Point-in-time training data: each customer's insights as of many past instants, computed by the scorer's own
// pure code from only what the product had by then, each labelled with whether the customer churned within the
// horizon after it (docs/scoring.md, "Training data").
import { MS_PER_DAY, utcDay, type ContractEvent, type CustomerInsights, type CustomerState, type InputEvent } from '@churnscore/domain';
import { CustomerFold, computeInsights, type FoldOptions } from '@churnscore/scoring';
import { DEFAULT_RENEWAL_GRACE_DAYS, activeSpells, spellAt } from './churn';

/** The risk's horizon: a label says whether the customer churns within this many days after the as-of instant. */
export const DEFAULT_HORIZON_DAYS = 90;
/**
 * Days of activity history before the first default as-of date: the engagement trend compares the last 30 days with
 * the 60 before, so earlier snapshots would show every customer without a baseline, an artefact of where the history
 * starts rather than of behaviour (knownSpan says where its activity begins).
 */
export const DEFAULT_WARM_UP_DAYS = 90;

/** One event of a customer's history. */
export interface HistoryEvent {
  event: InputEvent;
  /**
   * When the product received it: the Kafka record's timestamp in a replay of topics fed live. Absent (a CRM
   * export) it counts as known when it occurred, and the store applies it with that clock.
   */
  receivedAt?: number;
}

export interface CustomerHistory {
  customerId: string;
  events: readonly HistoryEvent[];
}

/** Which instants to take snapshots as of; the same for every customer, so the data splits by time. */
export type AsOfSchedule =
  | { dates: readonly number[] }
  /** The end of every `everyDays`-th UTC day from `from` (default: the first activity + DEFAULT_WARM_UP_DAYS, knownSpan) to `until` (default: the last labelable). */
  | { everyDays: number; from?: number; until?: number };

export interface DatasetOptions extends FoldOptions {
  asOf: AsOfSchedule;
  /** Default DEFAULT_HORIZON_DAYS. */
  horizonDays?: number;
  /** Default DEFAULT_RENEWAL_GRACE_DAYS. */
  renewalGraceDays?: number;
  /** The end of the history: when the export was taken or the replay ends. Default: the latest instant an event became known. */
  observedUntil?: number;
  /** After each customer, with the totals so far. */
  onProgress?: (progress: { customers: number; rows: number }) => void;
}

export interface DatasetRow {
  customerId: string;
  asOf: number;
  /** The SPEC §4 aggregates the scorer would have computed at `asOf`. */
  insights: CustomerInsights;
  /** Whether the customer churns within the horizon after `asOf`. */
  label: boolean;
  /** When it churns, if within the horizon. */
  churnsAt: number | null;
}

export interface Dataset extends SnapshotPlan {
  /** By customer, then as-of instant. */
  rows: DatasetRow[];
}

/** When an event became known: it must have happened and, in a replay, have arrived. */
const knownAt = ({ event, receivedAt }: HistoryEvent): number => Math.max(event.occurredAt, receivedAt ?? event.occurredAt);
const isErasure = ({ event }: HistoryEvent): boolean => event.kind === 'customer' && event.erase;
const endOfDay = (day: number): number => (day + 1) * MS_PER_DAY - 1;

function wholeDays(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be a whole number of days ≥ ${min}, got ${value}`);
  return value;
}

/** Histories from a stream of events (an export or a replay), each customer's in the order given. */
export function groupByCustomer(events: Iterable<HistoryEvent>): CustomerHistory[] {
  const byCustomer = new Map<string, HistoryEvent[]>();
  for (const item of events) {
    const list = byCustomer.get(item.event.customerId) ?? [];
    list.push(item);
    byCustomer.set(item.event.customerId, list);
  }
  return [...byCustomer].map(([customerId, list]) => ({ customerId, events: list }));
}

/**
 * The events the product may use, in the order they became known. A customer who asked to be erased is
 * forgotten by training too: only what came after its last erasure request is used, and of that, as the store
 * applies it, only what occurred after the latest request (an event of before it, however late it arrives, is not
 * applied: in a replay it may have reached the topics after the request).
 */
export function usableEvents(history: CustomerHistory): HistoryEvent[] {
  const known = history.events.map((item, index) => ({ item, index, at: knownAt(item) }));
  const ordered = known.sort((a, b) => a.at - b.at || a.index - b.index).map(({ item }) => item);
  const erasures = ordered.filter(isErasure);
  if (erasures.length === 0) return ordered;
  const erasedTo = Math.max(...erasures.map(({ event }) => event.occurredAt));
  return ordered.slice(ordered.findLastIndex(isErasure) + 1).filter(({ event }) => event.occurredAt > erasedTo);
}

function asOfDates(schedule: AsOfSchedule, activityFrom: number, lastLabelable: number): number[] {
  if ('dates' in schedule) {
    const late = schedule.dates.find((date) => date > lastLabelable);
    if (late !== undefined) {
      throw new RangeError(
        `as-of ${new Date(late).toISOString()} is after ${new Date(lastLabelable).toISOString()}: the history ends before its horizon (and the renewal grace) does, so its labels are unknown`,
      );
    }
    return [...new Set(schedule.dates)].sort((a, b) => a - b);
  }
  const step = wholeDays('everyDays', schedule.everyDays, 1);
  const until = Math.min(schedule.until ?? lastLabelable, lastLabelable);
  const dates: number[] = [];
  for (let day = utcDay(schedule.from ?? activityFrom + DEFAULT_WARM_UP_DAYS * MS_PER_DAY); endOfDay(day) <= until; day += step) {
    dates.push(endOfDay(day));
  }
  return dates;
}

/** When the snapshots are taken and what their labels mean: the same for every customer of a history. */
export interface SnapshotPlan {
  asOfDates: number[];
  horizonDays: number;
  renewalGraceDays: number;
  /** The end of the history: a label needs it to run on past the horizon and the renewal grace. */
  observedUntil: number;
}

/** A customer's state as of an instant at which it holds an active contract, labelled. */
export interface StateSnapshot {
  customerId: string;
  asOf: number;
  /** The state the store holds at `asOf` after applying the events known by then. */
  state: CustomerState;
  /** Whether the customer churns within the horizon after `asOf`. */
  label: boolean;
  /** When it churns, if within the horizon. */
  churnsAt: number | null;
}

/**
 * When the histories' activity begins and when their last event became known. The warm-up counts from the first
 * activity known (the first event of histories holding none): a CRM keeps contracts for years but its export or
 * topics may hold a year of activity, and snapshots from the contracts' signing on would read the years nobody
 * recorded as silence. The latest event is the history's end by default.
 */
export function knownSpan(histories: readonly CustomerHistory[]): { activityFrom: number; lastKnown: number } {
  let firstKnown = Infinity;
  let firstActivityKnown = Infinity;
  let lastKnown = -Infinity;
  for (const history of histories) {
    for (const item of history.events) {
      const at = knownAt(item);
      firstKnown = Math.min(firstKnown, at);
      if (item.event.kind === 'activity') firstActivityKnown = Math.min(firstActivityKnown, at);
      lastKnown = Math.max(lastKnown, at);
    }
  }
  if (firstKnown === Infinity) throw new RangeError('the histories hold no events to learn from');
  return { activityFrom: firstActivityKnown === Infinity ? firstKnown : firstActivityKnown, lastKnown };
}

/**
 * The as-of instants, horizon and end of `histories` (see buildDataset). Later explicit instants, whose labels the
 * history cannot settle, are refused; a schedule stops before them.
 */
export function planSnapshots(histories: readonly CustomerHistory[], options: Omit<DatasetOptions, keyof FoldOptions | 'onProgress'>): SnapshotPlan {
  const horizonDays = wholeDays('horizonDays', options.horizonDays ?? DEFAULT_HORIZON_DAYS, 1);
  const renewalGraceDays = wholeDays('renewalGraceDays', options.renewalGraceDays ?? DEFAULT_RENEWAL_GRACE_DAYS, 0);
  const { activityFrom, lastKnown } = knownSpan(histories);
  const observedUntil = options.observedUntil ?? lastKnown;
  const dates = asOfDates(options.asOf, activityFrom, observedUntil - (horizonDays + renewalGraceDays) * MS_PER_DAY);
  return { asOfDates: dates, horizonDays, renewalGraceDays, observedUntil };
}

/** A customer's fold as of one instant: how many events were known by then, and the state the store held. */
export interface FoldedAsOf {
  asOf: number;
  /** Events applied by `asOf`. */
  known: number;
  /** The state as of `asOf`; read it before the generator moves on. */
  state: () => CustomerState;
}

/**
 * Walks a customer's usable events (usableEvents) once, in the order they became known, and at each instant of
 * `asOfDates` (ascending) yields the fold of exactly the events known by then: never one that occurred or arrived
 * later. The state is read only when asked for, since reading it costs more than folding.
 */
export function* foldAsOf(customerId: string, events: readonly HistoryEvent[], asOfDates: readonly number[], options: FoldOptions): Generator<FoldedAsOf> {
  const fold = new CustomerFold(customerId, options);
  let next = 0;
  for (const asOf of asOfDates) {
    for (; next < events.length && knownAt(events[next]!) <= asOf; next += 1) {
      const { event, receivedAt = event.occurredAt } = events[next]!;
      fold.apply(event, receivedAt);
    }
    yield { asOf, known: next, state: () => fold.stateAsOf(asOf) };
  }
}

/**
 * The contract events the store applies of `events`: not one whose eventId it already holds (a second export of the
 * same eventId with other content), nor one past the bound on the customer's entities. Labels read the contracts the
 * features do: from every contract event, a customer whose state held a cancelled contract was labelled as holding
 * the active one of a later copy (an outside tester's two exports sharing an eventId).
 */
function appliedContracts(customerId: string, events: readonly HistoryEvent[], options: FoldOptions): ContractEvent[] {
  const fold = new CustomerFold(customerId, options);
  return events.flatMap(({ event, receivedAt = event.occurredAt }) => (fold.apply(event, receivedAt) === 'applied' && event.kind === 'contract' ? [event] : []));
}

/**
 * Walks one customer's history once, in the order events became known, and at each planned instant at which it
 * holds an active contract yields the state the store holds then, from everything known by then. Customers without
 * one then (not yet customers, or churned) are no samples.
 */
export function* customerSnapshots(history: CustomerHistory, plan: SnapshotPlan, options: FoldOptions): Generator<StateSnapshot> {
  const events = usableEvents(history);
  const spells = activeSpells(appliedContracts(history.customerId, events, options), plan.renewalGraceDays);
  const horizonMs = plan.horizonDays * MS_PER_DAY;
  for (const { asOf, state } of foldAsOf(history.customerId, events, plan.asOfDates, options)) {
    const spell = spellAt(spells, asOf);
    if (spell === undefined) continue;
    const churnsAt = spell.churnsAt !== null && spell.churnsAt <= asOf + horizonMs ? spell.churnsAt : null;
    yield { customerId: history.customerId, asOf, state: state(), label: churnsAt !== null, churnsAt };
  }
}

/**
 * Feature snapshots and labels for every customer as of every scheduled instant. A snapshot uses only events that
 * had occurred and (in a replay) arrived by its instant, applied as the store applied them, and the scorer's own
 * computeInsights: never information from after it. Its label needs the history to run on past the horizon and
 * the renewal grace, so later as-of instants are refused (or, in a schedule, not taken).
 */
export function buildDataset(histories: readonly CustomerHistory[], options: DatasetOptions): Dataset {
  const plan = planSnapshots(histories, options);
  const seen = new Set<string>();
  const rows: DatasetRow[] = [];
  for (const history of histories) {
    if (seen.has(history.customerId)) throw new RangeError('a customer appears in two histories: group its events into one (groupByCustomer)');
    seen.add(history.customerId);
    rows.push(...customerRows(history, plan, options));
    options.onProgress?.({ customers: seen.size, rows: rows.length });
  }
  return { rows, ...plan };
}

/** One customer's rows of a dataset planned by planSnapshots: its snapshots' insights, labelled. */
export const customerRows = (history: CustomerHistory, plan: SnapshotPlan, options: FoldOptions): DatasetRow[] =>
  [...customerSnapshots(history, plan, options)].map(({ state, ...snapshot }) => ({ ...snapshot, insights: computeInsights(state, snapshot.asOf, options) }));

export type TimeSplitOptions =
  /** The first as-of instant of the validation set. */
  | { validateFrom: number }
  /** The share (0–1) of the as-of dates, the latest ones, to validate on. */
  | { validationShare: number };

export interface TimeSplit {
  train: DatasetRow[];
  validation: DatasetRow[];
  validateFrom: number;
  /** The last as-of instant trained on: its labels were all settled by validateFrom. */
  trainUntil: number;
}

/**
 * Train on earlier as-of instants, validate on later ones, as the model would have been trained at `validateFrom`
 * and then used: training takes only snapshots whose horizon ended by then (an embargo of one horizon), so no
 * training label comes from the validation period, and every customer's training snapshots precede its
 * validation ones.
 */
export function splitByTime(dataset: Dataset, options: TimeSplitOptions): TimeSplit {
  let validateFrom: number;
  if ('validateFrom' in options) {
    validateFrom = options.validateFrom;
  } else {
    const share = options.validationShare;
    if (!(share > 0 && share < 1)) throw new RangeError(`validationShare must be between 0 and 1, got ${share}`);
    const { asOfDates } = dataset;
    const first = asOfDates[Math.min(asOfDates.length - 1, Math.floor(asOfDates.length * (1 - share)))];
    if (first === undefined) throw new RangeError('the dataset has no as-of dates to split');
    validateFrom = first;
  }
  const trainUntil = validateFrom - dataset.horizonDays * MS_PER_DAY;
  return {
    train: dataset.rows.filter((row) => row.asOf <= trainUntil),
    validation: dataset.rows.filter((row) => row.asOf >= validateFrom),
    validateFrom,
    trainUntil,
  };
}
