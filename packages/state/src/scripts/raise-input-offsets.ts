// raiseInputOffsets-1.lua: how far a namespace's input partitions are handled, each offset only raised, fenced.
import { scriptArgs, type ScriptDefinition, type ScriptInvocation } from './lua-script';

/** Each partition's arguments, in this order. */
const PER_PARTITION = ['field', 'offset'] as const;
const ARGS = ['fence'] as const;
const RAISE_REPLY = { recorded: 1, fenced: 2 } as const;

export const RAISE_INPUT_OFFSETS_SCRIPT: ScriptDefinition = {
  name: 'raiseInputOffsets',
  keys: ['inputOffsets'],
  args: ARGS,
  constants: { PER_PARTITION: { size: PER_PARTITION.length, offset: PER_PARTITION.indexOf('offset') }, REPLY: RAISE_REPLY },
};

/** `fence`: the run id(s) the unit's writes were meant for (WriteFence.runId), '' for none. */
export const raiseInputOffsetsCall = (offsetsKey: string, handled: ReadonlyArray<{ field: string; offset: string }>, fence: string): ScriptInvocation => ({
  keys: [offsetsKey],
  args: scriptArgs(ARGS, { fence }, handled.flatMap((partition) => PER_PARTITION.map((name) => partition[name]))),
});

/** The fields raised, or 'fenced' when the server is not one the fence names (nothing written). */
export function parseRaiseInputOffsetsReply(reply: unknown): string[] | 'fenced' {
  const [code, ...raised] = reply as [number, ...string[]];
  if (code === RAISE_REPLY.fenced) return 'fenced';
  if (code !== RAISE_REPLY.recorded) throw new Error(`raiseInputOffsets answered an unknown code: ${String(code)}`);
  return raised;
}
