--[[
  Records how far a namespace's input partitions are handled, each offset only upwards. A scorer that lost its
  partitions while it stalled (paused longer than its group's session, or waiting on a Redis only it could not reach)
  finishes its unit of work late, after the partition's new owner recorded and committed offsets past it: written as
  they came, its offsets put the record behind the group, and every start was refused until the partition moved again
  (an outside tester, 2026-12-07). Fenced as the unit's writes are: a server that restarted since (and may have lost
  them) must not record them handled, or the record hides its loss (another tester, 2026-12-08: a raise sent across a
  master's restart covered 4 lost events).

  Input:
    KEYS[KEY.inputOffsets]  hash  field `<topic>:<partition>`, the next offset to consume (decimal)

    ARGV[ARG.fence]            the run_id(s) the unit's writes were meant for, or '' (see the fence include)
    ARGV[FIRST_EXTRA_ARG ...]  PER_PARTITION.size arguments per partition: its field, the offset it is handled to

  Output:
    { REPLY.recorded, the fields raised (or recorded for the first time) }: the caller records their last records;
    or { REPLY.fenced }: the server is not one the fence names, nothing written
]]
--- @include "fence"

if fencedOff(ARGV[ARG.fence]) then return {REPLY.fenced} end
local offsetsKey = KEYS[KEY.inputOffsets]
local reply = {REPLY.recorded}
for i = FIRST_EXTRA_ARG, #ARGV, PER_PARTITION.size do
  local field, offset = ARGV[i], ARGV[i + PER_PARTITION.offset]
  local recorded = redis.call('HGET', offsetsKey, field)
  if not recorded or tonumber(recorded) < tonumber(offset) then
    redis.call('HSET', offsetsKey, field, offset)
    reply[#reply + 1] = field
  end
end
return reply
