import {
  ALERT_SEVERITIES,
  ALERT_TYPES,
  LIFECYCLE_STAGES,
  MS_PER_DAY,
  type AlertStatus,
  type HealthBand,
  type InputEvent,
  type InputEventKind,
  type RiskBand,
  type ScoreCause,
  type ScoreDriver,
  type AlertEvent,
  type OutputEvent,
  type ScoreChangedEvent,
  type ScoreValues,
} from '@churnscore/domain';
import type { OutputEventKind, WireEvent } from './event-kinds';
import { rejectField } from './rejections';

// Converts between the TypeScript events and the plain records avsc reads and writes. The input events'
// domain shape already matches their schemas except for `kind` and the contract dates (epoch ms here, Avro
// `date` days on the wire); the outputs also translate the domain's lower-case enums into Avro names.

export type AvroRecord = Record<string, unknown>;

/** A two-way map between a domain enum and its Avro symbols. */
function symbols<D extends string>(wireByDomain: Record<D, string>) {
  const domainByWire = new Map<string, D>(Object.entries<string>(wireByDomain).map(([domain, wire]) => [wire, domain as D]));
  return {
    toWire: (value: D): string => wireByDomain[value],
    /** Rejects a symbol the domain lacks, notably the reader's UNKNOWN fallback for a newer writer's symbol. */
    fromWire(field: string, symbol: unknown): D {
      const value = typeof symbol === 'string' ? domainByWire.get(symbol) : undefined;
      if (value === undefined) rejectField('UNKNOWN_ENUM_SYMBOL', field, `must be one of ${[...domainByWire.keys()].join(', ')}`);
      return value;
    },
  };
}

const sameSymbols = <D extends string>(values: readonly D[]) =>
  symbols(Object.fromEntries(values.map((value): [D, string] => [value, value])) as Record<D, string>);

const healthBands = symbols<HealthBand>({ green: 'GREEN', yellow: 'YELLOW', red: 'RED' });
const riskBands = symbols<RiskBand>({ low: 'LOW', medium: 'MEDIUM', high: 'HIGH' });
const lifecycleStages = sameSymbols(LIFECYCLE_STAGES);
const driverKinds = symbols<ScoreDriver['kind']>({ measure: 'MEASURE', churnFeature: 'CHURN_FEATURE' });
const causeKinds = symbols<ScoreCause['kind']>({ event: 'EVENT', time: 'TIME' });
const alertTypes = sameSymbols(ALERT_TYPES);
const alertStatuses = symbols<AlertStatus>({ OPEN: 'OPEN', RESOLVED: 'RESOLVED' });
const alertSeverities = sameSymbols(ALERT_SEVERITIES);

const msToAvroDate = (epochMs: number) => Math.floor(epochMs / MS_PER_DAY);

function inputToAvro(event: InputEvent): AvroRecord {
  const { kind: _kind, ...fields } = event;
  if (event.kind !== 'contract') return fields;
  return { ...fields, startDate: msToAvroDate(event.startDate), endDate: msToAvroDate(event.endDate) };
}

/**
 * The domain-shaped candidate of an input event, still to be validated: enum symbols pass through as read
 * (UNKNOWN included) so that validation rejects them with its own reason.
 */
export function inputFromAvro(kind: InputEventKind, record: AvroRecord): AvroRecord {
  // Validation builds the event from the fields it reads (its kind named apart), so only a contract's dates,
  // which Avro holds in days, need a new object: copying every record cost the decode ~800 bytes of garbage.
  if (kind !== 'contract') return record;
  const days = (field: string) => (typeof record[field] === 'number' ? record[field] * MS_PER_DAY : record[field]);
  return { ...record, startDate: days('startDate'), endDate: days('endDate') };
}

const valuesToAvro = (values: ScoreValues): AvroRecord => ({
  ...values,
  band: healthBands.toWire(values.band),
  riskBand: riskBands.toWire(values.riskBand),
  lifecycleStage: lifecycleStages.toWire(values.lifecycleStage),
});

function valuesFromAvro(field: string, record: AvroRecord): ScoreValues {
  return {
    health: record.health as number,
    band: healthBands.fromWire(`${field}.band`, record.band),
    churnRisk: record.churnRisk as number,
    riskBand: riskBands.fromWire(`${field}.riskBand`, record.riskBand),
    lifecycleStage: lifecycleStages.fromWire(`${field}.lifecycleStage`, record.lifecycleStage),
    valueAtRisk: record.valueAtRisk as number,
  };
}

function scoreChangedToAvro(event: ScoreChangedEvent): AvroRecord {
  const { kind: _kind, cause, previous, current, explanation, ...fields } = event;
  return {
    ...fields,
    cause: { kind: causeKinds.toWire(cause.kind), eventId: cause.kind === 'event' ? cause.eventId : null },
    previous: previous === null ? null : valuesToAvro(previous),
    current: valuesToAvro(current),
    explanation: {
      ...explanation,
      topDrivers: explanation.topDrivers.map((driver) => ({ ...driver, kind: driverKinds.toWire(driver.kind) })),
    },
  };
}

function scoreChangedFromAvro(record: AvroRecord): ScoreChangedEvent {
  const cause = record.cause as AvroRecord;
  const explanation = record.explanation as ScoreChangedEvent['explanation'];
  const causeKind = causeKinds.fromWire('cause.kind', cause.kind);
  if (causeKind === 'event' && typeof cause.eventId !== 'string') {
    rejectField('MISSING_FIELD', 'cause.eventId', 'is required for EVENT');
  }
  return {
    kind: 'score-changed',
    customerId: record.customerId as string,
    version: record.version as number,
    cause: causeKind === 'event' ? { kind: 'event', eventId: cause.eventId as string } : { kind: 'time' },
    previous: record.previous === null ? null : valuesFromAvro('previous', record.previous as AvroRecord),
    current: valuesFromAvro('current', record.current as AvroRecord),
    segment: record.segment as string | null,
    // Copied field by field: avsc reads nested records as instances of generated classes, not plain objects.
    explanation: {
      scorecardId: explanation.scorecardId,
      measures: explanation.measures.map((measure) => ({ ...measure })),
      churnFeatures: explanation.churnFeatures.map((feature) => ({ ...feature })),
      topDrivers: explanation.topDrivers.map((driver) => ({
        ...driver,
        kind: driverKinds.fromWire('explanation.topDrivers.kind', driver.kind),
      })),
    },
    modelVersion: record.modelVersion as string,
    computedAt: record.computedAt as number,
    catchingUp: record.catchingUp as boolean,
  };
}

function alertToAvro(event: AlertEvent): AvroRecord {
  const { kind: _kind, ...fields } = event;
  return {
    ...fields,
    alertType: alertTypes.toWire(event.alertType),
    status: alertStatuses.toWire(event.status),
    severity: alertSeverities.toWire(event.severity),
    band: healthBands.toWire(event.band),
  };
}

function alertFromAvro(record: AvroRecord): AlertEvent {
  return {
    ...(record as Omit<AlertEvent, 'kind'>),
    kind: 'alert',
    alertType: alertTypes.fromWire('alertType', record.alertType),
    status: alertStatuses.fromWire('status', record.status),
    severity: alertSeverities.fromWire('severity', record.severity),
    band: healthBands.fromWire('band', record.band),
  };
}

export function toAvroRecord(event: WireEvent): AvroRecord {
  switch (event.kind) {
    case 'score-changed':
      return scoreChangedToAvro(event);
    case 'alert':
      return alertToAvro(event);
    default:
      return inputToAvro(event);
  }
}

/** The output event a record read with the output's reader schema holds; rejects symbols the domain lacks. */
export function outputFromAvro(kind: OutputEventKind, record: AvroRecord): OutputEvent {
  return kind === 'score-changed' ? scoreChangedFromAvro(record) : alertFromAvro(record);
}
