export { startApi, type ApiOptions, type RunningApi } from './api';
export type { AlertUpdate, LiveMessage, ScoreUpdate } from './live-feed';
export type { AlertsPage, CustomerDetail, CustomerPage, CustomerRow, HistoryPoint, Model, ServedModelCard, Stats } from './schemas';
