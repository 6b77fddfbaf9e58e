// How customer state is laid out inside its Redis values: field names, the letters of the activity
// counters, the latest-wins record tuples, the dedupe window's records and the outbox entries. Writers
// (apply-ops.ts, the script modules), readers (read-state.ts, score-codec.ts, read-store.ts) and the Lua
// scripts all take their encodings from here: the scripts get LUA_LAYOUT, substituted into them when they
// are loaded (scripts/lua-script.ts), so no side can drift. Documented in docs/redis-contract.md.
import { MS_PER_DAY, USAGE_SUM_SCALE, type ActivityType, type OutputMessage, type ScoreChangedMessage } from '@churnscore/domain';
import { percentEncode } from './keys';

/**
 * Fields of the `state` hash: short numbers only, so the hash keeps its compact listpack encoding (values
 * of at most 64 bytes). Watermarks are `w:<topic>:<partition>`. Latest-wins records, which carry an
 * eventId of any length, live in the `ent` string instead.
 */
export const STATE_FIELD = {
  revision: 'rev',
  lastActivityAt: 'lastAct',
  lastInboundAt: 'lastIn',
  lastCustomerActivityAt: 'lastCust',
  /** The earliest startDate any of the customer's contract events carried (a minimum): where its tenure begins. */
  earliestContractStart: 'firstStart',
  /** UTC day of the last retention sweep (the sweep runs at most once per customer per day). */
  trimDay: 'trimDay',
  /** Sequence number of the last outbox entry ever appended. */
  outboxSeq: 'outboxSeq',
  /**
   * When this state was created (Redis's TIME in microseconds since the epoch): an erasure deletes the state and its revision
   * starts again from 1, so the revision alone cannot tell a state read before an erasure from one created after it.
   * A commit computed from another incarnation is refused as a conflict.
   */
  incarnation: 'born',
  /**
   * When the customer's latest erasure request occurred (epoch ms): the one field an erasure leaves. An event that
   * occurred at or before it belongs to the erased customer and is never applied, however late it arrives (another
   * topic's backlog, a redelivery, a replay into a fresh namespace), so that nothing erased comes back.
   */
  erasedTo: 'erasedTo',
} as const;

/**
 * Prefixes of a topic-partition's fields in the `state` hash, each followed by `<topic>:<partition>`: its offset watermark
 * (the highest offset applied, found duplicate or refused), and the offsets of its records refused for the entity bound
 * that may not have reached the DLQ yet (comma-separated, ascending; absent when none), which a redelivery judges again.
 */
const PARTITION_FIELD_PREFIX = { watermark: 'w:', refused: 'x:' } as const;

/** The `state` hash field of a topic-partition's offset watermark, built once each. */
const WATERMARK_FIELDS = new Map<string, string[]>();

export function watermarkField(topic: string, partition: number): string {
  // Kept: the apply names one with every event, and a deployment has a few dozen.
  let ofTopic = WATERMARK_FIELDS.get(topic);
  if (ofTopic === undefined) {
    ofTopic = [];
    WATERMARK_FIELDS.set(topic, ofTopic);
  }
  return (ofTopic[partition] ??= `${PARTITION_FIELD_PREFIX.watermark}${topic}:${partition}`);
}

/**
 * Fields of the `score` hash besides the Score's own scalars (stored under their property names by
 * scoreFieldArgs): what the commit script records about the write.
 */
export const SCORE_FIELD = {
  /** Per-customer version of the last published change. */
  version: 'version',
  /** The state revision the score was computed from. */
  revision: 'revision',
  asOf: 'asOf',
  nextDueAt: 'nextDueAt',
  /** The Redis generation the score was last committed in. */
  generation: 'gen',
  /** The Score's segment: erasure reads it to find the segment rankings that hold the customer. */
  segment: 'segment',
  /**
   * Present ('1') on a score published while its customer's inputs were being caught up (part of its history read, its
   * alerts held): the history point it pushed stands for a state the data never supported, and the next published
   * score's replaces it instead of following it (docs/redis-contract.md, Score).
   */
  catchingUp: 'catchingUp',
} as const;

/** An output committed to a customer's outbox, as the `outbox` list holds it (JSON): publish it, then ack. */
export interface OutboxEntry {
  /** Per-customer sequence number; pass the highest published one to ackOutbox. */
  seq: number;
  /**
   * The version the output is published with (`withVersion(value, version)`), assigned by the commit: a
   * score-changed event's is the customer's new score version, an alert event's its sequence number
   * (which only ever grows for the customer, and so for each of its alerts).
   */
  version: number;
  value: OutputMessage;
}

/** The outbox entry's JSON fields, in the order the commit script writes them: `seq` first, read without parsing the rest. */
const OUTBOX_ENTRY_FIELD = { seq: 'seq', version: 'version', value: 'value' } as const satisfies { [F in keyof OutboxEntry]: F };

const EXPLANATION_FIELD = 'explanation' satisfies keyof ScoreChangedMessage;
/**
 * A score-changed message is stored in the outbox without its explanation: that is the published score's, in
 * the `explanation` key, which the commit writes beside it. The stored JSON has this in its place; the scripts
 * that return outbox entries put the explanation back (and a commit that replaces the explanation first puts it
 * back into an older score-changed entry still waiting to be published), its stored JSON (explanation-codec.ts)
 * as the member's value, which decodeOutboxEntry decodes.
 */
export const OMITTED_EXPLANATION = JSON.stringify({ [EXPLANATION_FIELD]: null }).slice(1, -1);
/** What precedes the stored explanation in an entry that has it back. */
const EXPLANATION_MEMBER = `${JSON.stringify(EXPLANATION_FIELD)}:`;
/** A score-changed message as the outbox stores it. */
export const withoutExplanation = (message: ScoreChangedMessage): string => JSON.stringify({ ...message, [EXPLANATION_FIELD]: null });

/**
 * The `seen` string (the dedupe window) holds a record per recent event, in arrival order: its arrival hour
 * since the epoch, big-endian, then the first bytes of SHA-1(eventId).
 */
const SEEN_HOUR_BYTES = 3;
export const EVENT_DIGEST_BYTES = 8;
/**
 * A dedupe window at least this long (about 1,500 events a week) grows by APPEND between the hours its front is cut,
 * rather than being written again whole: a customer sending thousands of events a day holds hundreds of KB of window,
 * and rewriting it on every apply cost Redis milliseconds and as many bytes of AOF per event. A shorter one is written
 * whole (SET), at most this many bytes a call, which leaves the string no spare capacity: the first APPEND after a cut
 * has Redis allocate twice the length (below 1 MB), which the allocator rounds up, up to about 2.5 times the length in
 * all: a customer this busy can pay that, a typical one (~240 B) or a merely busy one should not.
 */
const SEEN_APPEND_FROM_BYTES = 16_384;
/**
 * A dedupe window of SEEN_APPEND_FROM_BYTES or more has an index (the `seenIndex` key, applyEvents-5.lua's header):
 * Bloom filters, so that an apply of a customer sending thousands of events a day does not read and scan its whole
 * window for every event (an outside tester's flood of one customer: 400,000 events cost 106 s of Redis, the time of
 * each growing with the window). 24 bits and 6 probes a record of capacity rule out an absent eventId but about once in
 * 8,000 when a filter is full (the window is then read, as without an index), at about 3 bytes a record; the header
 * lists the filters, about log2(window / minCapacity) of them (a full filter is followed by one of twice its size).
 */
const SEEN_INDEX = {
  headerBytes: 512,
  bitsPerRecord: 24,
  probes: 6,
  minCapacity: 1_024,
  /** A filter is built in runs of this many bytes (Lua's string.char takes them as arguments, some thousands at most). */
  buildRunBytes: 4_096,
} as const;
/** The dedupe window's granularity: arrivals are remembered to the hour. */
export const MS_PER_HOUR = 3_600_000;

/**
 * One letter per day-bucket counter in the `act` string. Fixed by the contract: never reorder or reuse
 * a letter. The Lua script renders a bucket's counters in alphabetical order of these letters.
 */
export const ACTIVITY_COUNTER: Readonly<Record<ActivityType, string>> = {
  EMAIL_SENT: 'a',
  EMAIL_RECEIVED: 'b',
  CALL: 'c',
  MEETING: 'd',
  FOLLOW_UP_TASK: 'e',
  SUPPORT_TICKET_OPENED: 'f',
  SUPPORT_TICKET_CLOSED: 'g',
  PRODUCT_USAGE: 'h',
  NPS_RESPONSE: 'i',
  CSM_SENTIMENT: 'j',
};
export const SLA_BREACH_COUNTER = 's';
/** Σ PRODUCT_USAGE value, in thousandths (USAGE_SUM_SCALE: integers add exactly in any order; doubles would not). */
export const USAGE_SUM_COUNTER = 'u';

/**
 * The `act` string has a line per 32-day period: its number (floor(day / 32)) as exactly 3 upper-case base-36
 * digits, then the period's day buckets separated by commas, in day order.
 */
export const DAYS_PER_LINE = 32;
export const LINE_KEY_WIDTH = 3;
export const LINE_KEY_RADIX = 36;
/** The digits of a line key, upper case. */
const LINE_KEY_DIGITS = Array.from({ length: LINE_KEY_RADIX }, (_, digit) => digit.toString(LINE_KEY_RADIX).toUpperCase()).join('');
/** The last UTC day a line key can name (year 5052): a guard, not a practical limit. */
export const LAST_BUCKET_DAY = LINE_KEY_RADIX ** LINE_KEY_WIDTH * DAYS_PER_LINE - 1;

/**
 * Line prefixes of the `ent` string: one per entity kind, `v` for the customer's latest-wins values, and `b` for a
 * ticket's first SLA breach (an earliest-wins record under the ticket's id: SlaBreachRecord).
 */
export const ENTITY_KIND = { ticket: 't', opportunity: 'o', contract: 'c', value: 'v', slaBreach: 'b' } as const;
export type EntityKind = keyof typeof ENTITY_KIND;
/** The ids of the `value` records. */
export const LATEST_VALUE_ID = { segment: 'segment', latestNps: 'nps', latestCsmSentiment: 'csm' } as const;

// A record is one line of the `ent` string: "\n<field>\t<json>", so ids must not contain those separators.
const ENTITY_ID_UNSAFE = /[%\t\n]/g;
export const entityField = (kind: EntityKind, id: string): string => `${ENTITY_KIND[kind]}:${percentEncode(id, ENTITY_ID_UNSAFE)}`;
/** The fewest bytes a line of the `ent` string takes ("\n", the kind's letter, ":", "\t"): a string of n bytes holds n / this lines at most. */
const ENT_LINE_MIN_BYTES = '\n'.length + 1 + ':'.length + '\t'.length;

/**
 * A latest-wins record, stored as a JSON array: the event with the greatest (occurredAt, eventId) is the
 * entity's state. `agesOut` = 1 marks a state that stops counting once its event is older than the
 * retention horizon (any ticket, open or closed; a won or lost opportunity): the Lua sweep then shrinks
 * it to a tombstone that no longer counts yet outranks exactly the events the record outranked, so
 * delivery order never matters, or drops it where its kind is FORGOTTEN_ONCE_AGED_OUT.
 */
export type LatestRecord<Payload extends unknown[]> = [occurredAt: number, eventId: string, agesOut: 0 | 1, ...Payload];

/**
 * Kinds whose aged-out records leave nothing behind, not even a tombstone. Every event of a ticket ages out, so an event
 * a dropped ticket record outranked is older still and counts no more, as of any later read, than it would have: a
 * tombstone would only grow the customer's `ent` string by a line per ticket for ever (docs/performance.md, 4. Memory).
 * A won or lost deal keeps its tombstone: an older event of an open stage, which never ages out, must not bring it back.
 */
const FORGOTTEN_ONCE_AGED_OUT: readonly EntityKind[] = ['ticket'];
/**
 * Kinds whose records a customer may hold only so many of (the store's maxEntities): their ids come from the producer,
 * which may mint any number of them, and every event of the customer reads and rewrites the `ent` string. The values
 * (segment, NPS, CSM sentiment) have ids of the product's own, three at most, and are never refused.
 */
const BOUNDED_KINDS: readonly EntityKind[] = ['ticket', 'opportunity', 'contract'];
/** Where a record's rank and retention flag sit in its array. */
export const RECORD_INDEX = { occurredAt: 0, eventId: 1, agesOut: 2 } as const;
/** An aged-out record shrinks to its rank alone, [occurredAt, eventId] (the eventId breaks ties on occurredAt). */
export const TOMBSTONE_LENGTH = 2;
export type TicketPayload = [open: 0 | 1];
/**
 * A ticket's first SLA breach: the earliest (occurredAt, eventId) of its events flagged `slaBreached`, so that a ticket
 * counts once in slaBreaches90, whichever of its events carry the flag and in whatever order they arrive. It never
 * ages out on its own (agesOut 0): it goes with its ticket's record, which outlives every event of the ticket.
 */
export type SlaBreachRecord = LatestRecord<[]>;

/**
 * A ticket record's second element is its eventId behind a mark of its phase, '0' opened or '1' closed, so that
 * it ranks by (occurredAt, phase, eventId): a close never precedes its open, so at the same instant the close
 * outranks the open whatever their eventIds (SPEC §4 "opened and not closed"). The script stays generic: it
 * compares that element byte by byte, like any eventId, and the tombstone keeps it.
 */
export const ticketRankId = (open: boolean, eventId: string): string => `${open ? '0' : '1'}${eventId}`;
export const eventIdOfTicketRank = (rankId: string): string => rankId.slice(1);
export type OpportunityPayload = [stage: string, amount: number, probability: number | null, openQuotes: number | null];
export type ContractPayload = [contractType: string, totalValue: number, startDate: number, endDate: number, status: string];
export type ValuePayload = [value: number];
export type SegmentPayload = [segment: string | null];

/**
 * The layout as the Lua scripts see it: the `LAYOUT` table that the script loader substitutes into every
 * script that declares it (a script names no field, letter or size of its own; scripts/lua-script.test.ts
 * checks that).
 */
export const LUA_LAYOUT = {
  state: STATE_FIELD,
  partitionField: PARTITION_FIELD_PREFIX,
  score: SCORE_FIELD,
  outboxEntry: { ...OUTBOX_ENTRY_FIELD, omittedExplanation: OMITTED_EXPLANATION, explanationMember: EXPLANATION_MEMBER },
  msPerDay: MS_PER_DAY,
  msPerHour: MS_PER_HOUR,
  bitsPerByte: 8,
  act: {
    daysPerLine: DAYS_PER_LINE,
    lineKeyWidth: LINE_KEY_WIDTH,
    lineKeyRadix: LINE_KEY_RADIX,
    lineKeyDigits: LINE_KEY_DIGITS,
    usageSumCounter: USAGE_SUM_COUNTER,
    usageSumScale: USAGE_SUM_SCALE,
  },
  // Lua arrays count from 1.
  record: { occurredAt: RECORD_INDEX.occurredAt + 1, eventId: RECORD_INDEX.eventId + 1, agesOut: RECORD_INDEX.agesOut + 1 },
  kind: { ticket: ENTITY_KIND.ticket, slaBreach: ENTITY_KIND.slaBreach },
  forgottenOnceAgedOut: Object.fromEntries(FORGOTTEN_ONCE_AGED_OUT.map((kind) => [ENTITY_KIND[kind], true])),
  boundedKinds: Object.fromEntries(BOUNDED_KINDS.map((kind) => [ENTITY_KIND[kind], true])),
  entLineMinBytes: ENT_LINE_MIN_BYTES,
  seen: { hourBytes: SEEN_HOUR_BYTES, recordBytes: SEEN_HOUR_BYTES + EVENT_DIGEST_BYTES, appendFromBytes: SEEN_APPEND_FROM_BYTES },
  seenIndex: SEEN_INDEX,
} as const;
