--[[
  Deletes every per-customer key of one customer (an erasure request). The global rankings, the open-alert
  index and the due shard live in other slots: the caller removes the customer from them afterwards.

  Input:
    KEYS  every per-customer key (CUSTOMER_KEY_PARTS), in any order; KEYS[KEY.score] is the score hash

  Output:
    { number of keys deleted, the segment the rankings held the customer under (score hash) or false }
]]
local segment = redis.call('HGET', KEYS[KEY.score], LAYOUT.score.segment)
return {redis.call('DEL', unpack(KEYS)), segment}
