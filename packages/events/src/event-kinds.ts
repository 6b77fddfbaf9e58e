import { DEFAULT_TOPICS, type TopicNames, type TopicRole } from '@churnscore/config';
import type { InputEvent, InputEventKind, OutputEvent } from '@churnscore/domain';

/** Every event the codec handles: the four CRM inputs and the two outputs. */
export type WireEvent = InputEvent | OutputEvent;
export type EventKind = WireEvent['kind'];
export type OutputEventKind = OutputEvent['kind'];

export const INPUT_EVENT_KINDS = ['activity', 'opportunity', 'contract', 'customer'] as const satisfies readonly InputEventKind[];
const OUTPUT_EVENT_KINDS = ['score-changed', 'alert'] as const satisfies readonly OutputEventKind[];
export const EVENT_KINDS: readonly EventKind[] = [...INPUT_EVENT_KINDS, ...OUTPUT_EVENT_KINDS];

export const isInputKind = (kind: EventKind): kind is InputEventKind => (INPUT_EVENT_KINDS as readonly string[]).includes(kind);
export const isOutputKind = (kind: EventKind): kind is OutputEventKind => !isInputKind(kind);

/** The topic role carrying each kind of event. */
export const TOPIC_ROLE_OF_KIND = {
  activity: 'activity',
  opportunity: 'opportunity',
  contract: 'contract',
  customer: 'customer',
  'score-changed': 'scoreChanged',
  alert: 'alerts',
} as const satisfies Record<EventKind, TopicRole>;

/** Schemas are named after the SPEC §2 topic they describe, whatever the deployed topic is called. */
export const schemaFileName = (kind: EventKind): string => `${DEFAULT_TOPICS[TOPIC_ROLE_OF_KIND[kind]]}.avsc`;

/** Confluent TopicNameStrategy: the value schema of topic T is registered under subject `T-value`. */
export const valueSubject = (topic: string): string => `${topic}-value`;

/** Which kind of event each deployed topic carries; the DLQ carries no events of its own. */
export function kindsByTopic(topics: TopicNames): ReadonlyMap<string, EventKind> {
  return new Map(EVENT_KINDS.map((kind) => [topics[TOPIC_ROLE_OF_KIND[kind]], kind]));
}
