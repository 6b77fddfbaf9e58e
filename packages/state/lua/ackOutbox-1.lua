--[[
  Drops the outbox entries up to a sequence number, once the caller has published them.

  Sequence numbers grow along the outbox, but not always by one: the first commit of a customer in a new
  generation of Redis starts them at the generation's floor (commitScore). So each entry's own number,
  which every entry starts with ('{"seq":<n>,'), decides.

  Input:
    KEYS[1] outbox  list  entries, oldest first

    ARGV[1] the highest sequence number published

  Output:
    the number of entries dropped
]]
local upTo = tonumber(ARGV[1])
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local drop = 0
for _, entry in ipairs(entries) do
  local seq = tonumber(string.match(entry, '^{"seq":(%d+),'))
  if not seq or seq > upTo then break end
  drop = drop + 1
end
if drop > 0 then redis.call('LTRIM', KEYS[1], drop, -1) end
return drop
