--[[
  Reads everything the scorer needs about one customer in one atomic snapshot, so the revision it reads
  is exactly the revision of the state it reads.

  Input:
    KEYS[KEY.state]        hash
    KEYS[KEY.act]          string
    KEYS[KEY.ent]          string
    KEYS[KEY.score]        hash
    KEYS[KEY.explanation]  string  the score's explanation (compact JSON: src/explanation-codec.ts)
    KEYS[KEY.alerts]       string  the alert book (JSON)
    KEYS[KEY.outbox]       list    un-acknowledged outbox entries (JSON), oldest first

  Output:
    { state HGETALL (but the partitions' refused offsets), act, ent, score HGETALL, explanation, alerts, outbox
      LRANGE (an omitted explanation put back: see the outboxEntry include) }  (a missing string: false)
]]
--- @include "outboxEntry"

-- A partition's refused offsets are the apply's own bookkeeping (applyEvents-5.lua), as long as a flood of refusals not
-- yet settled: left out, so that no score reads them.
local REFUSED_PREFIX = LAYOUT.partitionField.refused
local state, stateRead = {}, redis.call('HGETALL', KEYS[KEY.state])
for i = 1, #stateRead, 2 do
  if string.sub(stateRead[i], 1, #REFUSED_PREFIX) ~= REFUSED_PREFIX then
    state[#state + 1] = stateRead[i]
    state[#state + 1] = stateRead[i + 1]
  end
end
local explanation = redis.call('GET', KEYS[KEY.explanation])
local outbox = redis.call('LRANGE', KEYS[KEY.outbox], 0, -1)
for i, entry in ipairs(outbox) do outbox[i] = withExplanation(entry, explanation) end
return {
  state,
  redis.call('GET', KEYS[KEY.act]),
  redis.call('GET', KEYS[KEY.ent]),
  redis.call('HGETALL', KEYS[KEY.score]),
  explanation,
  redis.call('GET', KEYS[KEY.alerts]),
  outbox,
}
