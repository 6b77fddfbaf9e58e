import { AssignerProtocol, type Cluster, type Logger } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { coPartitionedAssigner } from './co-partitioned-assigner';

const ACTIVITY = 'crm.activity.v1';
const CONTRACT = 'crm.contract.v1';

/** An assigner over topics with these partition counts. */
function assigner(partitionCounts: Record<string, number>) {
  const cluster = {
    findTopicPartitionMetadata: (topic: string) => Array.from({ length: partitionCounts[topic]! }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster;
  return coPartitionedAssigner({ cluster, groupId: 'scorers', logger: {} as Logger });
}

/** Each member's decoded assignment, by memberId. */
async function assign(partitionCounts: Record<string, number>, memberIds: string[]): Promise<Record<string, Record<string, number[]>>> {
  const members = memberIds.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) }));
  const assignments = await assigner(partitionCounts).assign({ members, topics: Object.keys(partitionCounts) });
  return Object.fromEntries(assignments.map(({ memberId, memberAssignment }) => [memberId, AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment]));
}

describe('coPartitionedAssigner', () => {
  it("gives one member the same partition numbers of every topic: all of a customer's records", async () => {
    expect(await assign({ [ACTIVITY]: 6, [CONTRACT]: 6 }, ['member-b', 'member-a', 'member-c'])).toEqual({
      'member-a': { [ACTIVITY]: [0, 3], [CONTRACT]: [0, 3] },
      'member-b': { [ACTIVITY]: [1, 4], [CONTRACT]: [1, 4] },
      'member-c': { [ACTIVITY]: [2, 5], [CONTRACT]: [2, 5] },
    });
  });

  it('assigns every partition once when a topic has more partitions than the others, and leaves a member without one idle', async () => {
    expect(await assign({ [ACTIVITY]: 3, [CONTRACT]: 1 }, ['member-a', 'member-b', 'member-c', 'member-d'])).toEqual({
      'member-a': { [ACTIVITY]: [0], [CONTRACT]: [0] },
      'member-b': { [ACTIVITY]: [1] },
      'member-c': { [ACTIVITY]: [2] },
      'member-d': {},
    });
  });

  it('announces its protocol with the topics subscribed, as kafkajs encodes member metadata', () => {
    const { name, metadata } = assigner({}).protocol({ topics: [ACTIVITY, CONTRACT] });
    expect(name).toBe('CoPartitionedAssigner');
    expect(AssignerProtocol.MemberMetadata.decode(metadata)).toMatchObject({ version: 0, topics: [ACTIVITY, CONTRACT] });
  });
});
