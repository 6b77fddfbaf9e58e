export { startApi, type ApiOptions, type RunningApi } from './api';
export { buildApiServer, PUBLIC_DIR, type ApiServerDependencies } from './server';
export type { AlertUpdate, LiveMessage, ScoreUpdate } from './live-feed';
export type { AlertsPage, CustomerDetail, CustomerPage, CustomerRow, HistoryPoint, Stats } from './schemas';
