export { createEventCodec, eventCodecOptions, SCHEMA_ID_CHECK_INTERVAL_MS, watchSchemaIds, type EventCodec, type EventCodecOptions, type WireRecord } from './codec';
export {
  DECODE_REJECT_REASONS,
  REJECT_REASONS,
  rejected,
  type DecodeResult,
  type Rejected,
  type RejectReason,
  type Rejection,
} from './rejections';
export { validateEvent, type InputEventOf, type ValidationOptions } from './validation';
// The output events are domain types (the scoring, state and scorer packages build, store and publish them);
// they are exported here too as what the codec encodes and decodes.
export { scoreValues, type AlertEvent, type OutputEvent, type ScoreChangedEvent, type ScoreValues } from '@churnscore/domain';
export {
  EVENT_KINDS,
  INPUT_EVENT_KINDS,
  TOPIC_ROLE_OF_KIND,
  valueSubject,
  type EventKind,
  type OutputEventKind,
  type WireEvent,
} from './event-kinds';
export { dlqHeaders, dlqRecord, dlqRedrive, DLQ_HEADERS, type ConsumedRecord, type DlqRecord, type DlqRedrive, type DlqSource } from './dlq';
export { recordBytes, type ConsumedHeaderValue } from './record-size';
export { setOwnProperty } from './own-property';
export { AvroRegistrySerde, EventEncodeError, SchemaRegistryAccessRefusedError, SchemaRegistryError, type AvroReadResult } from './registry-serde';
export { readerType, schemaSource } from './schemas';
export { frame } from './wire-format';
