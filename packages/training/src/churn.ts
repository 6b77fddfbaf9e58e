// When a customer churns, from its own contract events: the ground truth training labels with (docs/scoring.md,
// "Training data"). Event time throughout: a label says what happened, whenever the product learnt of it.
import { ACTIVE_CONTRACT_STATUSES, MS_PER_DAY, type ContractEvent, type ContractStatus } from '@churnscore/domain';
import { compareUtf8 } from '@churnscore/scoring';

/**
 * A customer whose contracts all ended and who holds an active one again within this many days renewed late (a
 * CRM often records a renewal as a new contract days after the old one expired): it did not churn.
 */
export const DEFAULT_RENEWAL_GRACE_DAYS = 30;

/** An uninterrupted stretch in which the customer held at least one active contract. */
export interface ActiveSpell {
  from: number;
  /** The first instant it held none; null while it still holds one. */
  until: number | null;
  /** The churn that ends the relationship this spell belongs to: `until`, or that of a later spell it renewed into; null if none yet. */
  churnsAt: number | null;
}

const ACTIVE: ReadonlySet<ContractStatus> = new Set(ACTIVE_CONTRACT_STATUSES);

/** The store's latest-wins order: a contract's state is its event with the greatest (occurredAt, eventId). */
const byRank = (a: ContractEvent, b: ContractEvent): number => a.occurredAt - b.occurredAt || compareUtf8(a.eventId, b.eventId);

/**
 * The customer's active spells, oldest first. A contract is active while its latest event says ACTIVE or RENEWED,
 * the product's own rule; the customer churns at the instant its last active contract is cancelled or expires,
 * unless it holds an active contract again within `renewalGraceDays` (then both spells share the later churn).
 * Events of one instant are taken together, so a contract that expires as its successor starts is no gap.
 */
export function activeSpells(contractEvents: readonly ContractEvent[], renewalGraceDays = DEFAULT_RENEWAL_GRACE_DAYS): ActiveSpell[] {
  const statusOf = new Map<string, ContractStatus>();
  const spells: Array<{ from: number; until: number | null }> = [];
  const sorted = [...contractEvents].sort(byRank);
  sorted.forEach((event, i) => {
    statusOf.set(event.contractId, event.status);
    if (sorted[i + 1]?.occurredAt === event.occurredAt) return;
    const active = [...statusOf.values()].some((status) => ACTIVE.has(status));
    const current = spells.at(-1);
    const holding = current !== undefined && current.until === null;
    if (active && !holding) spells.push({ from: event.occurredAt, until: null });
    if (!active && holding) current.until = event.occurredAt;
  });
  const graceMs = renewalGraceDays * MS_PER_DAY;
  // From the last spell back: a spell's relationship ends with its own end unless the next spell began within the grace.
  const result: ActiveSpell[] = [];
  for (let i = spells.length - 1; i >= 0; i -= 1) {
    const spell = spells[i]!;
    const next = result[0];
    const renewed = next !== undefined && spell.until !== null && next.from - spell.until <= graceMs;
    result.unshift({ ...spell, churnsAt: renewed ? next.churnsAt : spell.until });
  }
  return result;
}

/** The spell holding `instant`, if the customer held an active contract then. */
export const spellAt = (spells: readonly ActiveSpell[], instant: number): ActiveSpell | undefined =>
  spells.find((spell) => spell.from <= instant && (spell.until === null || instant < spell.until));
