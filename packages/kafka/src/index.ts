export * from './client';
export * from './at-least-once-consumer';
