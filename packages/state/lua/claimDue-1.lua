--[[
  Claims the customers of one due-set shard whose due time has come, and leases them: each claimed member
  is moved to the lease's end, so a concurrent claimer cannot take it, and it falls due again if the
  claimer dies before it commits the customer's next due time.

  Input:
    KEYS[1] due shard  sorted set, member customerId, score due time (epoch ms)

    ARGV[1] now (epoch ms)
    ARGV[2] lease end (epoch ms), greater than now
    ARGV[3] the most members to claim

  Output:
    { customerId, dueAt, customerId, dueAt, ... }  dueAt the score each member had when claimed
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[2], due[i])
end
return due
