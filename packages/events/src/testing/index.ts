// Test support shared across the repository as `@churnscore/events/testing`.
export * from './sample-events';
export * from './schema-variants';
export * from './in-memory-codec';
