--[[
  Deletes every per-customer key of one customer (an erasure request). The global rankings, the open-alert
  index and the due shard live in other slots: the caller removes the customer from them afterwards.

  Input:
    KEYS[1..10] state, act, ent, seen, score, explanation, insights, alerts, outbox, history

  Output:
    { number of keys deleted, the segment the rankings held the customer under (score hash) or false }
]]
local segment = redis.call('HGET', KEYS[5], 'segment')
return {redis.call('DEL', unpack(KEYS)), segment}
