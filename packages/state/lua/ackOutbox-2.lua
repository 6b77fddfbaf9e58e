--[[
  Drops the outbox entries up to a sequence number, once the caller has published them.

  The outbox holds consecutive sequence numbers ending at the state hash's outboxSeq, so the entries to
  drop are counted without decoding any of them.

  Input:
    KEYS[1] state   hash  field outboxSeq: sequence number of the last entry ever appended
    KEYS[2] outbox  list  entries, oldest first

    ARGV[1] the highest sequence number published

  Output:
    the number of entries dropped
]]
local lastSeq = tonumber(redis.call('HGET', KEYS[1], 'outboxSeq') or '0')
local length = redis.call('LLEN', KEYS[2])
local firstSeq = lastSeq - length + 1
local drop = math.min(length, tonumber(ARGV[1]) - firstSeq + 1)
if drop <= 0 then return 0 end
redis.call('LTRIM', KEYS[2], drop, -1)
return drop
