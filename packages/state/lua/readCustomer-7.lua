--[[
  Reads everything the scorer needs about one customer in one atomic snapshot, so the revision it reads
  is exactly the revision of the state it reads.

  Input:
    KEYS[1] state    hash
    KEYS[2] act      string
    KEYS[3] ent      string
    KEYS[4] score        hash
    KEYS[5] explanation  string  the score's explanation (JSON)
    KEYS[6] alerts       string  the alert book (JSON)
    KEYS[7] outbox       list    un-acknowledged output messages (JSON), oldest first

  Output:
    { state HGETALL, act, ent, score HGETALL, explanation, alerts, outbox LRANGE }  (a missing string: false)
]]
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('GET', KEYS[2]),
  redis.call('GET', KEYS[3]),
  redis.call('HGETALL', KEYS[4]),
  redis.call('GET', KEYS[5]),
  redis.call('GET', KEYS[6]),
  redis.call('LRANGE', KEYS[7], 0, -1),
}
