export * from './events';
export * from './state';
export * from './insights';
export * from './scores';
export * from './input-limits';
export * from './outputs';
export * from './iso-instant';
