--[[
  Claims the customers of one due-set shard whose due time has come, and leases them: each claimed member
  is moved to the lease's end, so a concurrent claimer cannot take it, and it falls due again if the
  claimer dies before it commits the customer's next due time.

  Input:
    KEYS[KEY.dueShard]  sorted set, member customerId, score due time (epoch ms)

    ARGV[ARG.now]       epoch ms
    ARGV[ARG.leaseEnd]  epoch ms, greater than now
    ARGV[ARG.limit]     the most members to claim

  Output:
    { customerId, dueAt, customerId, dueAt, ... }  dueAt the score each member had when claimed
]]
local shardKey = KEYS[KEY.dueShard]
local due = redis.call('ZRANGEBYSCORE', shardKey, '-inf', ARGV[ARG.now], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[ARG.limit]))
for i = 1, #due, 2 do
  redis.call('ZADD', shardKey, ARGV[ARG.leaseEnd], due[i])
end
return due
