--[[
  Deletes every per-customer key of one customer (an erasure request). The global rankings and the due
  shard live in other slots: the caller removes the customer from them afterwards.

  Input:
    KEYS[1..9] state, act, ent, seen, score, explanation, insights, alerts, outbox

  Output:
    { number of keys deleted, the segment the rankings held the customer under (score hash) or false }
]]
local segment = redis.call('HGET', KEYS[5], 'segment')
return {redis.call('DEL', unpack(KEYS)), segment}
