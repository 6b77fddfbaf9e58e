// raiseInputOffsets-1.lua: how far a namespace's input partitions are handled, each offset only raised.
import type { ScriptDefinition, ScriptInvocation } from './lua-script';

/** Each partition's arguments, in this order. */
const PER_PARTITION = ['field', 'offset'] as const;

export const RAISE_INPUT_OFFSETS_SCRIPT: ScriptDefinition = {
  name: 'raiseInputOffsets',
  keys: ['inputOffsets'],
  args: [],
  constants: { PER_PARTITION: { size: PER_PARTITION.length, offset: PER_PARTITION.indexOf('offset') } },
};

export const raiseInputOffsetsCall = (offsetsKey: string, handled: ReadonlyArray<{ field: string; offset: string }>): ScriptInvocation => ({
  keys: [offsetsKey],
  args: handled.flatMap((partition) => PER_PARTITION.map((name) => partition[name])),
});

/** The fields raised. */
export const parseRaiseInputOffsetsReply = (reply: unknown): string[] => reply as string[];
