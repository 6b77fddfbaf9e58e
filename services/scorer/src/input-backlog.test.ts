import { keyPartition, partitionKey, partitionOfKey, type MessageChunk } from '@churnscore/kafka';
import { kafkaMessage } from '@churnscore/kafka/testing';
import { createLogger } from '@churnscore/observability';
import { beforeEach, describe, expect, it } from 'vitest';
import { InputBacklog } from './input-backlog';

const ACTIVITY = 'crm.activity.v1';
const CONTRACT = 'crm.contract.v1';
const PARTITIONS = 3;
const FAR_BEHIND = 100;

/** Two customers whose records go to different partitions (of every input topic: same partition counts). */
const customers = Array.from({ length: 20 }, (_, i) => `customer-${i}`);
const first = customers[0]!;
const elsewhere = customers.find((id) => keyPartition(id, PARTITIONS) !== keyPartition(first, PARTITIONS))!;
const partitionOf = (customerId: string) => keyPartition(customerId, PARTITIONS);

/** Records `from`…`to` (inclusive) of a partition, handled as one chunk. */
const chunk = (topic: string, partition: number, from: number, to: number): MessageChunk => ({
  topic,
  partition,
  messages: Array.from({ length: to - from + 1 }, (_, i) => kafkaMessage(from + i)),
  nextOffset: String(to + 1),
});

let brokerEnd: number;
/** The high watermark of the contract topic's partitions, when it is not brokerEnd. */
let contractEnd: number | null;
/** Where the group stands in each partition, as the brokers say (groupPositions); null: they cannot say. */
let groupAt: number | null;
/** How many times the brokers were asked where the group stands. */
let groupPositionQuestions: number;
let backlog: InputBacklog;
/** What the instances recorded in Redis as behind (`<p>:inputs:behind`), by partitionKey. */
let recordedBehind: Set<string>;
/** What the backlog told of the consumer's lag in the partitions of its assignments. */
let lagsLearnt: Array<{ topic: string; partition: number; lag: number }>;
beforeEach(async () => {
  recordedBehind = new Set();
  lagsLearnt = [];
  brokerEnd = 1_000;
  contractEnd = null;
  groupAt = 0;
  groupPositionQuestions = 0;
  backlog = new InputBacklog({
    topics: [ACTIVITY, CONTRACT],
    farBehind: FAR_BEHIND,
    brokers: {
      partitionCounts: (topics) => Promise.resolve(new Map(topics.map((topic) => [topic, PARTITIONS]))),
      highWatermarks: () => Promise.resolve(new Map(Array.from({ length: PARTITIONS }, (_, partition) => [partition, brokerEnd]))),
      groupPositions: (topics) =>
        ++groupPositionQuestions && groupAt === null
          ? Promise.reject(new Error('coordinator not available'))
          : Promise.resolve(
              new Map(topics.flatMap((topic) => Array.from({ length: PARTITIONS }, (_, partition) => [partitionKey(topic, partition), { position: groupAt!, end: topic === CONTRACT ? (contractEnd ?? brokerEnd) : brokerEnd }] as const))),
            ),
    },
    shared: {
      record: (partitions) => {
        for (const { topic, partition, behind } of partitions) {
          if (behind) recordedBehind.add(partitionKey(topic, partition));
          else recordedBehind.delete(partitionKey(topic, partition));
        }
        return Promise.resolve();
      },
      read: () => Promise.resolve([...recordedBehind].map((key) => partitionOfKey(key))),
    },
    logger: createLogger({ name: 'backlog-test', level: 'silent' }),
    onLagLearnt: (lags) => lagsLearnt.push(...lags),
  });
  await backlog.refreshPartitionCounts();
});

/** The activity partition of `first`, fetched from offset 0 with the broker holding 1,000 records. */
const fetchActivityBacklog = () =>
  backlog.fetched({ topic: ACTIVITY, partition: partitionOf(first), firstOffset: '0', highWatermark: String(brokerEnd) });

describe('InputBacklog', () => {
  it('counts a partition fetched far behind as catching up, and the customers whose records go there as behind', () => {
    fetchActivityBacklog();
    expect(backlog.catchingUp()).toBe(1);
    expect(backlog.partitionsBehind(first)).toHaveLength(1);
    expect(backlog.partitionsBehind(elsewhere)).toEqual([]);
  });

  it('does not count a batch within one unit of work as a backlog: live traffic is not held', () => {
    backlog.fetched({ topic: ACTIVITY, partition: partitionOf(first), firstOffset: '0', highWatermark: String(FAR_BEHIND - 1) });
    expect(backlog.catchingUp()).toBe(0);
    expect(backlog.partitionsBehind(first)).toEqual([]);
  });

  it('holds a customer behind through its other topics: its contract is read while its activity partition catches up', () => {
    fetchActivityBacklog();
    const contractChunk = chunk(CONTRACT, partitionOf(first), 0, 0);
    expect(backlog.partitionsBehind(first, [contractChunk])).toHaveLength(1);
  });

  it('counts the unit being evaluated as handled: the one ending the backlog evaluates its customers as caught up', () => {
    fetchActivityBacklog();
    expect(backlog.partitionsBehind(first, [chunk(ACTIVITY, partitionOf(first), 0, 499)])).toHaveLength(1);
    expect(backlog.partitionsBehind(first, [chunk(ACTIVITY, partitionOf(first), 500, 999)])).toEqual([]);
  });

  it('stays catching up through the tail until everything seen when it was last far behind is handled', () => {
    fetchActivityBacklog();
    backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, 949)]);
    // 50 records left: fewer than a unit's worth, yet a customer there may have the rest of its history in them.
    backlog.fetched({ topic: ACTIVITY, partition: partitionOf(first), firstOffset: '950', highWatermark: '1000' });
    expect(backlog.partitionsBehind(first)).toHaveLength(1);
  });

  it('hands back the customers whose alerts waited for a partition once it catches up, once', () => {
    fetchActivityBacklog();
    backlog.awaitCatchUp(first, backlog.partitionsBehind(first), 'alerts');
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, 499)])).toEqual([]);
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 500, 999)])).toEqual([{ customerId: first, waitingFor: 'alerts' }]);
    expect(backlog.catchingUp()).toBe(0);
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 1_000, 1_009)])).toEqual([]);
  });

  it('hands a customer back with what it waited for last: its scoring deferred, then scored with its alerts held', () => {
    fetchActivityBacklog();
    backlog.awaitCatchUp(first, backlog.partitionsBehind(first), 'scoring');
    backlog.awaitCatchUp(first, backlog.partitionsBehind(first), 'alerts');
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, 999)])).toEqual([{ customerId: first, waitingFor: 'alerts' }]);
  });

  it('hands a customer back once every partition it waits for caught up, not once for each', () => {
    backlog.assigned({ [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first)] });
    fetchActivityBacklog();
    backlog.fetched({ topic: CONTRACT, partition: partitionOf(first), firstOffset: '0', highWatermark: String(brokerEnd) });
    backlog.awaitCatchUp(first, backlog.partitionsBehind(first), 'scoring');
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, 999)])).toEqual([]);
    expect(backlog.handled([chunk(CONTRACT, partitionOf(first), 0, 999)])).toEqual([{ customerId: first, waitingFor: 'scoring' }]);
  });

  it('forgets a customer that no longer waits (its alerts were released by an event)', () => {
    fetchActivityBacklog();
    backlog.awaitCatchUp(first, backlog.partitionsBehind(first), 'alerts');
    backlog.awaitCatchUp(first, [], 'alerts');
    expect(backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, 999)])).toEqual([]);
  });

  it('keeps catching up to the new end when the broker received a backlog more since the fetch (a load still being published)', async () => {
    fetchActivityBacklog();
    const last = [chunk(ACTIVITY, partitionOf(first), 500, 999)];
    brokerEnd = 5_000;
    await backlog.confirmCatchUp(last);
    expect(backlog.partitionsBehind(first, last)).toHaveLength(1);
    expect(backlog.handled(last)).toEqual([]);
  });

  it('takes the end for reached when the broker received fewer records than a unit since the fetch', async () => {
    fetchActivityBacklog();
    const last = [chunk(ACTIVITY, partitionOf(first), 500, 999)];
    brokerEnd = 1_000 + FAR_BEHIND - 1;
    await backlog.confirmCatchUp(last);
    expect(backlog.partitionsBehind(first, last)).toEqual([]);
  });

  it("tells the lag of every partition of an assignment from where the group stands, before any fetch: the lag metric's series", async () => {
    groupAt = 200;
    const assignment = { [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first), partitionOf(elsewhere)] };
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    expect(lagsLearnt).toEqual([
      { topic: ACTIVITY, partition: partitionOf(first), lag: 800 },
      { topic: CONTRACT, partition: partitionOf(first), lag: 800 },
      { topic: CONTRACT, partition: partitionOf(elsewhere), lag: 800 },
    ]);
  });

  it("learns an assignment's backlog from where the group stands, before any fetch, and only then says it is known", async () => {
    expect(backlog.assignmentKnown).toBe(false);
    const assignment = { [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first)] };
    backlog.assigned(assignment);
    const learning = backlog.learnAssignment(assignment);
    expect(backlog.assignmentKnown).toBe(false);
    await learning;
    expect(backlog.assignmentKnown).toBe(true);
    // 1,000 records ahead of the group's committed offset: its customers are behind before the first fetch.
    expect(backlog.partitionsBehind(first).sort()).toEqual([partitionKey(ACTIVITY, partitionOf(first)), partitionKey(CONTRACT, partitionOf(first))].sort());
    expect(backlog.partitionsBehind(elsewhere)).toEqual([]);

    // A rebalance makes it unknown again; what was learnt for an assignment replaced meanwhile does not count.
    backlog.assigned(assignment);
    const stale = backlog.learnAssignment(assignment);
    backlog.assigned(assignment);
    await stale;
    expect(backlog.assignmentKnown).toBe(false);
  });

  it("counts a partition with fewer records ahead than a unit as catching up when another of the assignment is far behind: the customer's contracts are part of the history loading", async () => {
    const assignment = { [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first)] };
    contractEnd = FAR_BEHIND - 1;
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    const contracts = partitionKey(CONTRACT, partitionOf(first));
    // The activity partition caught up before the contract records were read: the customer is still behind.
    backlog.handled([chunk(ACTIVITY, partitionOf(first), 0, brokerEnd - 1)]);
    expect(backlog.partitionsBehind(first)).toEqual([contracts]);
    backlog.handled([chunk(CONTRACT, partitionOf(first), 0, contractEnd - 1)]);
    expect(backlog.partitionsBehind(first)).toEqual([]);
  });

  it('takes fewer records ahead than a unit in every partition of an assignment for live traffic, as at a fetch', async () => {
    const assignment = { [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first)] };
    brokerEnd = FAR_BEHIND - 1;
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    expect(backlog.catchingUp()).toBe(0);
  });

  it('asks the brokers about every partition it consumes when a fetch finds a load beginning, before the next unit is evaluated', async () => {
    const assignment = { [ACTIVITY]: [partitionOf(first), partitionOf(elsewhere)], [CONTRACT]: [partitionOf(first), partitionOf(elsewhere)] };
    // Nothing ahead at the join.
    groupAt = brokerEnd;
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    expect(backlog.catchingUp()).toBe(0);
    // Then a history is published: `first`'s activity partition is fetched first, far behind.
    groupAt = 0;
    fetchActivityBacklog();
    expect(backlog.partitionsBehind(elsewhere)).toEqual([]);
    const contracts = [chunk(CONTRACT, partitionOf(elsewhere), 0, 9)];
    await backlog.confirmCatchUp(contracts);
    // `elsewhere`'s records arriving first (its contracts) do not get it scored for part of its history: its activity
    // partition, not fetched yet, is far behind too.
    expect(backlog.partitionsBehind(elsewhere, contracts)).toContain(partitionKey(ACTIVITY, partitionOf(elsewhere)));
    expect(groupPositionQuestions).toBe(2);
    // Asked once per load: the partition fetched again, and the next unit, ask nothing more.
    fetchActivityBacklog();
    await backlog.confirmCatchUp(contracts);
    expect(groupPositionQuestions).toBe(2);
  });

  it('asks nothing when a fetch finds its partition within a unit of its end, as live traffic keeps it', async () => {
    const assignment = { [ACTIVITY]: [partitionOf(first)], [CONTRACT]: [partitionOf(first)] };
    groupAt = brokerEnd;
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    backlog.fetched({ topic: ACTIVITY, partition: partitionOf(first), firstOffset: String(brokerEnd - FAR_BEHIND + 1), highWatermark: String(brokerEnd) });
    await backlog.confirmCatchUp([chunk(ACTIVITY, partitionOf(first), brokerEnd - FAR_BEHIND + 1, brokerEnd - 1)]);
    expect(groupPositionQuestions).toBe(1);
    expect(backlog.catchingUp()).toBe(0);
  });

  it('leaves the backlog to the fetches when the brokers cannot say where the group stands, rather than stay unknown', async () => {
    groupAt = null;
    const assignment = { [ACTIVITY]: [partitionOf(first)] };
    backlog.assigned(assignment);
    await backlog.learnAssignment(assignment);
    expect(backlog.assignmentKnown).toBe(true);
    expect(backlog.partitionsBehind(first)).toEqual([]);
  });

  it('forgets the partitions a rebalance took away, and where it stood after a rewind', () => {
    fetchActivityBacklog();
    backlog.assigned({ [ACTIVITY]: [partitionOf(elsewhere)] });
    expect(backlog.partitionsBehind(first)).toEqual([]);

    fetchActivityBacklog();
    backlog.rewound();
    expect(backlog.catchingUp()).toBe(0);
  });

  describe('with other instances', () => {
    const mine = partitionOf(first);
    const theirs = partitionOf(elsewhere);

    it("tells the others when one of its partitions starts and ends catching up, and only then", async () => {
      backlog.assigned({ [ACTIVITY]: [mine] });
      fetchActivityBacklog();
      await backlog.shareProgress();
      expect([...recordedBehind]).toEqual([partitionKey(ACTIVITY, mine)]);
      backlog.handled([chunk(ACTIVITY, mine, 0, 499)]);
      await backlog.shareProgress();
      expect([...recordedBehind]).toEqual([partitionKey(ACTIVITY, mine)]);
      backlog.handled([chunk(ACTIVITY, mine, 500, 999)]);
      await backlog.shareProgress();
      expect([...recordedBehind]).toEqual([]);
    });

    it("counts the customers of another instance's partition behind while its owner records it so (its time-driven claims)", async () => {
      backlog.assigned({ [ACTIVITY]: [mine] });
      recordedBehind.add(partitionKey(ACTIVITY, theirs));
      await backlog.learnOthers();
      expect(backlog.partitionsBehind(elsewhere)).toEqual([partitionKey(ACTIVITY, theirs)]);
      expect(backlog.partitionsBehind(first)).toEqual([]);
      recordedBehind.clear();
      await backlog.learnOthers();
      expect(backlog.partitionsBehind(elsewhere)).toEqual([]);
    });

    it('records its assignment as it found it, whatever the last owner left, and leaves nothing behind after a rewind', async () => {
      // The last owner crashed while catching up with a partition this instance finds caught up.
      recordedBehind.add(partitionKey(CONTRACT, mine));
      const assignment = { [ACTIVITY]: [mine], [CONTRACT]: [mine] };
      contractEnd = 0;
      backlog.assigned(assignment);
      await backlog.learnAssignment(assignment);
      expect([...recordedBehind]).toEqual([partitionKey(ACTIVITY, mine)]);

      backlog.rewound();
      await backlog.shareProgress();
      expect([...recordedBehind]).toEqual([]);
    });
  });
});
