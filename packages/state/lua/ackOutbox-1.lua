--[[
  Drops the outbox entries up to a sequence number, once the caller has published them.

  Sequence numbers grow along the outbox, but not always by one: the first commit of a customer in a new
  generation of Redis starts them at the generation's floor (commitScore). So each entry's own number
  (the outboxEntry include) decides.

  Input:
    KEYS[KEY.outbox]  list  entries, oldest first

    ARGV[ARG.upToSeq]  the highest sequence number published

  Output:
    the number of entries dropped
]]
--- @include "outboxEntry"

local outboxKey, upTo = KEYS[KEY.outbox], tonumber(ARGV[ARG.upToSeq])
local entries = redis.call('LRANGE', outboxKey, 0, -1)
local drop = 0
for _, entry in ipairs(entries) do
  local seq = outboxEntrySeq(entry)
  if not seq or seq > upTo then break end
  drop = drop + 1
end
if drop > 0 then redis.call('LTRIM', outboxKey, drop, -1) end
return drop
