--[[
  Moves customers of one due shard from the lease a claim put in their entry to their next due time, each only while
  its entry still holds that lease. Another instance that scored the customer since has set the entry from a newer
  score, and a claimer that took the customer once the lease had ended holds a lease of its own: either is left as it
  is. (A plain ZADD from a re-scoring for time put back its own due time over a newer score's.)

  Input:
    KEYS[KEY.dueShard]  sorted set, member customerId, score due time (epoch ms)

    ARGV[FIRST_EXTRA_ARG ...]  PER_CUSTOMER.size arguments per customer: its customerId, the end of its claim's lease
                               (epoch ms, as the claim wrote it), its next due time (epoch ms, or '' to leave the shard)

  Output:
    how many entries were moved
]]
local shardKey = KEYS[KEY.dueShard]
-- The members at each lease's end: a claim leases up to its limit of customers to one end, so one read per claim.
local atLeaseEnd = {}
local moved = 0
for i = FIRST_EXTRA_ARG, #ARGV, PER_CUSTOMER.size do
  local customerId, leaseEnd, dueAt = ARGV[i], ARGV[i + PER_CUSTOMER.leasedUntil], ARGV[i + PER_CUSTOMER.dueAt]
  local members = atLeaseEnd[leaseEnd]
  if members == nil then
    members = {}
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', shardKey, leaseEnd, leaseEnd)) do members[member] = true end
    atLeaseEnd[leaseEnd] = members
  end
  if members[customerId] then
    if dueAt == '' then redis.call('ZREM', shardKey, customerId) else redis.call('ZADD', shardKey, dueAt, customerId) end
    members[customerId] = nil
    moved = moved + 1
  end
end
return moved
