export * from './logger';
export * from './liveness';
export * from './metrics';
export * from './http-server';
export * from './run-service';
export * from './stall-watch';
export * from './event-loop-watch';
export * from './answer-within';
