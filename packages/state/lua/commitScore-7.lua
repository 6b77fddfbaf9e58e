--[[
  Writes a customer's newly computed score, only if it is newer than the stored one, so a stale instance
  (after a rebalance, or a retried call) can never overwrite a newer score. Newer means computed from a
  greater state revision, or from the same revision as of a later time; a score from the same revision
  and asOf as the stored one is the same computation again, and is refused so a retry changes nothing.

  Input:
    KEYS[1] state     hash    rev: the customer's current revision (absent: erased, nothing to score);
                              outboxSeq: the last outbox sequence number
    KEYS[2] score        hash    the last published score: replaced as a whole by a significant change (or
                                 the first score); otherwise only version, revision, asOf, nextDueAt move
    KEYS[3] explanation  string  the published score's explanation (JSON), replaced with the score
    KEYS[4] insights     hash    replaced as a whole
    KEYS[5] alerts       string  the alert book (JSON)
    KEYS[6] outbox       list    un-acknowledged output messages
    KEYS[7] history      list    the published scores' headline values, newest first, capped (a chart's data)

    ARGV[1] revision the score was computed from
    ARGV[2] asOf (epoch ms) it was computed as of
    ARGV[3] the score-changed message (JSON, the event without its version) if the change is significant,
            else '': a significant change is published: the version is incremented, the score replaced and
            the message appended to the outbox first. Otherwise subscribers and dashboards keep seeing the
            last published score, and the next significance test compares against it, so slow drift is
            published once it adds up
    ARGV[4] next due time (epoch ms), or '' for none
    ARGV[5] alert book JSON, or '' to delete it
    ARGV[6] explanation JSON, written when the score is replaced ('' when it is not: an insignificant change
            after a first score, which the caller knows from ARGV[3] and ARGV[9])
    ARGV[7] history entry JSON, pushed when the score is replaced ('' likewise)
    ARGV[8] how many history entries to keep
    ARGV[9] the stored score the computation started from, as 'revision:asOf' ('' for none): if another
            commit landed since (two instances, or the time-driven loop and an event, on one customer),
            the computation saw a stale alert book and last score, so the call is refused as a conflict
            and the caller recomputes from a fresh read
    ARGV[10] fence: the run_id(s) of the Redis server(s) the caller's writes are meant for, ',' joined, or ''
             for none. On any other server (restarted, or a replica promoted, possibly without the last
             writes) nothing is written: versions handed out there could repeat ones already published
    ARGV[11] generation: the incarnation of Redis the caller synchronised with ('' for none), stored with
             the score. The first commit of a customer in another generation than its score's starts the
             version and the outbox sequence at ARGV[12] at least, since the stored ones may have gone back
    ARGV[12] the generation's version floor (0 for none)
    ARGV[13] S: how many score arguments follow
    ARGV[14 .. 13+S] score field, value, field, value, ...
    ARGV[14+S] I: how many insights arguments follow
    ARGV[15+S .. 14+S+I] insights field, value, ...
    ARGV[15+S+I ...] alert messages to append to the outbox after it, each JSON (the event without its version)

  Every appended message is stored as {"seq":<seq>,"version":<version>,"value":<message>}: seq is the
  customer's next outbox sequence number, version the one the message is published with, assigned here and
  nowhere else: a score-changed message takes the customer's new score version, an alert message its seq
  (which only ever grows for the customer, and so for each of its alerts).

  Output:
    { written (1 | 0 refused as not newer | 2 refused as a conflict | 3 fenced off), version, the previous
      score hash (HGETALL), the outbox entries that were there before this call (LRANGE), the seq and version
      given to each appended message, in order: {seq, version, seq, version, ...} }
    When refused: the stored version and score only (the outbox's owner publishes it). The explanation and
    the appended messages are not sent back: the caller has them, and they are most of the bytes.
]]
local stateKey, scoreKey, explanationKey, insightsKey, alertsKey, outboxKey, historyKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local revision, asOf = tonumber(ARGV[1]), tonumber(ARGV[2])
local scoreChanged, nextDueAt, alertBook, explanation = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local significant = scoreChanged ~= ''
local historyEntry, historyLength = ARGV[7], tonumber(ARGV[8])
local basedOn = ARGV[9]
local fence, generation, versionFloor = ARGV[10], ARGV[11], tonumber(ARGV[12])
local scoreArgsFrom, scoreArgCount = 14, tonumber(ARGV[13])
local insightsArgsFrom = scoreArgsFrom + scoreArgCount + 1
local insightsArgCount = tonumber(ARGV[insightsArgsFrom - 1])
local messagesFrom = insightsArgsFrom + insightsArgCount

if fence ~= '' then
  local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  if not runId or not string.find(fence, runId, 1, true) then return {3, 0, {}} end
end

local previous = redis.call('HGETALL', scoreKey)
local stored = {}
for i = 1, #previous, 2 do stored[previous[i]] = previous[i + 1] end
local version = tonumber(stored.version or '0')

local storedToken = ''
if #previous > 0 then storedToken = (stored.revision or '') .. ':' .. (stored.asOf or '') end
if storedToken ~= basedOn then
  return {2, version, previous}
end

local hasState = redis.call('HEXISTS', stateKey, 'rev') == 1
local storedRevision, storedAsOf = tonumber(stored.revision or '-1'), tonumber(stored.asOf or '-1')
local isNewer = revision > storedRevision or (revision == storedRevision and asOf > storedAsOf)
if not hasState or not isNewer then
  return {0, version, previous}
end

-- Versions and sequence numbers of an earlier generation may have been published and then lost here.
local newGeneration = (stored.gen or '') ~= generation
if newGeneration then
  version = math.max(version, versionFloor)
  if tonumber(redis.call('HGET', stateKey, 'outboxSeq') or '0') < versionFloor then
    redis.call('HSET', stateKey, 'outboxSeq', versionFloor)
  end
end

if significant or #previous == 0 then
  if significant then version = version + 1 end
  redis.call('DEL', scoreKey)
  redis.call('HSET', scoreKey, 'version', version, 'revision', ARGV[1], 'asOf', ARGV[2],
    unpack(ARGV, scoreArgsFrom, scoreArgsFrom + scoreArgCount - 1))
  redis.call('SET', explanationKey, explanation)
  redis.call('LPUSH', historyKey, historyEntry)
  redis.call('LTRIM', historyKey, 0, historyLength - 1)
else
  redis.call('HSET', scoreKey, 'revision', ARGV[1], 'asOf', ARGV[2], 'version', version)
end
if generation ~= '' then redis.call('HSET', scoreKey, 'gen', generation) end
if nextDueAt ~= '' then redis.call('HSET', scoreKey, 'nextDueAt', nextDueAt) else redis.call('HDEL', scoreKey, 'nextDueAt') end

redis.call('DEL', insightsKey)
if insightsArgCount > 0 then
  redis.call('HSET', insightsKey, unpack(ARGV, insightsArgsFrom, insightsArgsFrom + insightsArgCount - 1))
end

if alertBook == '' then redis.call('DEL', alertsKey) else redis.call('SET', alertsKey, alertBook) end

local earlier = redis.call('LRANGE', outboxKey, 0, -1)
local assigned = {}
-- messageVersion nil: the message is published with its seq
local function append(message, messageVersion)
  local seq = redis.call('HINCRBY', stateKey, 'outboxSeq', 1)
  messageVersion = messageVersion or seq
  redis.call('RPUSH', outboxKey, '{"seq":' .. seq .. ',"version":' .. messageVersion .. ',"value":' .. message .. '}')
  assigned[#assigned + 1] = seq
  assigned[#assigned + 1] = messageVersion
end
if significant then append(scoreChanged, version) end
for i = messagesFrom, #ARGV do append(ARGV[i], nil) end

return {1, version, previous, earlier, assigned}
