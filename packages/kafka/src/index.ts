export * from './client';
export * from './at-least-once-consumer';
export * from './bounded-send';
export * from './read-to-end';
export * from './offsets';
export * from './skipped-records';
export * from './broker-contact';
export * from './topics-watch';
