--[[
  Deletes every per-customer key of one customer (an erasure request), leaving in its state hash only when the
  latest erasure request occurred: the customer's events from before it are never applied again, however late they
  arrive (applyEvents-5.lua). The global rankings, the open-alert index and the due shard live in other slots: the
  caller removes the customer from them afterwards.

  Input:
    KEYS  every per-customer key (CUSTOMER_KEY_PARTS), in any order; KEYS[KEY.score] is the score hash,
          KEYS[KEY.state] the state hash
    ARGV[ARG.erasedAt]  when the erasure request occurred (epoch ms)

  Output:
    { number of keys of the customer's data deleted (the state hash counted when an event had been applied to it),
      the segment the rankings held the customer under (score hash) or false, 1 when the request was superseded (no
      later than the latest one carried out, while the state holds events applied since: nothing done) else 0 }
]]
local stateKey = KEYS[KEY.state]
local segment = redis.call('HGET', KEYS[KEY.score], LAYOUT.score.segment)
local erasedBefore = redis.call('HGET', stateKey, LAYOUT.state.erasedTo)
-- The state hash counts as the customer's data once an event was applied to it (it has a revision).
local hadState = redis.call('HGET', stateKey, LAYOUT.state.revision)
local others = {}
for _, key in ipairs(KEYS) do
  if key ~= stateKey then others[#others + 1] = key end
end
-- A request no later than one carried out already (a redelivery, a CRM's retry, a replay reading it again): every event
-- before it was erased then and has been refused since, so what the state holds now is of the customer come back after
-- it. Nothing to erase.
if erasedBefore and hadState and tonumber(ARGV[ARG.erasedAt]) <= tonumber(erasedBefore) then return {0, false, 1} end
local deleted = redis.call('DEL', unpack(others)) + (hadState and 1 or 0)
redis.call('DEL', stateKey)
-- The later of the two requests, kept as given (digits).
local latest = ARGV[ARG.erasedAt]
if erasedBefore and tonumber(erasedBefore) > tonumber(latest) then latest = erasedBefore end
redis.call('HSET', stateKey, LAYOUT.state.erasedTo, latest)
return {deleted, segment, 0}
