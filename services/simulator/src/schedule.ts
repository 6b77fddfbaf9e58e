import type { ActivityEvent, ActivityType, ContractEvent, EventEnvelope, InputEvent } from '@churnscore/domain';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before it is placed in time and given its ids. */
export type EventBody = DistributiveOmit<InputEvent, keyof EventEnvelope>;
export type ActivityBody = Omit<ActivityEvent, keyof EventEnvelope>;
export type ContractBody = Omit<ContractEvent, keyof EventEnvelope>;

/** An event scheduled on a UTC day. */
export interface Scheduled<Body extends EventBody = EventBody> {
  day: number;
  /** At the first instant of the day rather than during business hours: the initial CRM sync. */
  atStartOfDay?: boolean;
  body: Body;
}
export type ScheduledContract = Scheduled<ContractBody>;

/** The simulated span: its first and last UTC day, and the amounts' currency. */
export interface SpanContext {
  spanStartDay: number;
  today: number;
  currency: string;
}

export const activity = (
  activityType: ActivityType,
  fields: Partial<Pick<ActivityBody, 'value' | 'ticketId' | 'slaBreached'>> = {},
): ActivityBody => ({ kind: 'activity', activityType, value: null, ticketId: null, slaBreached: null, ...fields });

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/** Rounds to a multiple of `step` without binary-fraction noise (0.7000000000000001). */
export function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number((Math.round(value / step) * step).toFixed(decimals));
}
