// Test support shared across the repository as `@churnscore/events/testing`.
export * from './sample-events';
export * from './schema-variants';
export * from './in-memory-codec';
/** An event as the Avro record its schema holds (contract dates in days): what another language's serializer is given. */
export { toAvroRecord } from '../avro-records';
