import { AssignerProtocol, PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * Gives each member of the group the same partition numbers of every topic it subscribes to: partition p of each
 * topic goes to the (p mod members)-th member, by memberId. The input topics are co-partitioned (keyed by customerId
 * with Kafka's default partitioner, the same partition count), so one instance reads all of a customer's records, as
 * a Kafka Streams task reads the same partition of each topic it joins. kafkajs's round robin deals the topics'
 * partitions out one after another instead: a customer's contracts on one instance and its activity on another, each
 * seeing only its own partitions' backlog (docs/time-and-alerts.md "Several instances").
 *
 * A partition number some topic lacks (a topic given more partitions than the others) still goes to exactly one
 * member.
 */
/** The protocol's name and version, as each member announces them when joining. */
const NAME = 'CoPartitionedAssigner';
const VERSION = 0;

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: NAME,
  version: VERSION,

  async assign({ members, topics }) {
    const memberIds = members.map(({ memberId }) => memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((memberId) => [memberId, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const partitions = assignment.get(memberIds[partitionId % memberIds.length]!)!;
        (partitions[topic] ??= []).push(partitionId);
      }
    }
    return [...assignment].map(([memberId, partitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: VERSION, assignment: partitions, userData: Buffer.alloc(0) }),
    }));
  },

  protocol({ topics }) {
    return {
      name: NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData: Buffer.alloc(0) }),
    };
  },
});

/**
 * What a consumer of co-partitioned topics offers its group, preferred first. Kafka picks a protocol every member
 * supports: kafkajs's round robin after this one lets a group whose older members know only that one still form
 * (a rolling upgrade).
 */
export const coPartitionedAssigners: PartitionAssigner[] = [coPartitionedAssigner, PartitionAssigners.roundRobin];
