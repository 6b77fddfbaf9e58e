--[[
  Writes a customer's newly computed score, only if it is newer than the stored one, so a stale instance
  (after a rebalance, or a retried call) can never overwrite a newer score. Newer means computed from a
  greater state revision, or from the same revision as of a later time; a score from the same revision
  and asOf as the stored one is the same computation again, and is refused so a retry changes nothing.

  Field names and reply codes are not spelled out here: the loader substitutes them from LAYOUT
  (packages/state/src/layout.ts) and REPLY (src/scripts/commit-score.ts).

  Input:
    KEYS[KEY.state]        hash    rev: the customer's current revision (absent: erased, nothing to score);
                                   outboxSeq: the last outbox sequence number
    KEYS[KEY.score]        hash    the last published score: replaced as a whole by a significant change (or
                                   the first score); otherwise only those of version, revision, asOf, nextDueAt
                                   and gen that changed are written
    KEYS[KEY.explanation]  string  the published score's explanation (compact JSON: src/explanation-codec.ts),
                                   replaced with the score
    KEYS[KEY.insights]     hash    brought in line with the insights arguments: only changed fields are
                                   written and fields no longer present deleted
    KEYS[KEY.alerts]       string  the alert book (JSON), written only when it differs
    KEYS[KEY.outbox]       list    un-acknowledged output messages
    KEYS[KEY.history]      list    the published scores' headline values, newest first, capped (a chart's data);
                                   the point of a score published while catching up (its catchingUp field) is
                                   replaced by the next published score's rather than followed by it

    ARGV[ARG.revision]  the state revision the score was computed from
    ARGV[ARG.asOf]      the time (epoch ms) it was computed as of
    ARGV[ARG.scoreChanged]  the score-changed message (JSON, the event without its version, its explanation
                        omitted: it is ARG.explanation) if the change is significant, else '': a significant change is published: the version is incremented,
                        the score replaced and the message appended to the outbox first. Otherwise
                        subscribers and dashboards keep seeing the last published score, and the next
                        significance test compares against it, so slow drift is published once it adds up
    ARGV[ARG.nextDueAt]    next due time (epoch ms), or '' for none
    ARGV[ARG.alertBook]    alert book JSON, or '' to delete it
    ARGV[ARG.explanation]  the explanation, encoded (src/explanation-codec.ts), written when the score is
                        replaced ('' when it is not: an insignificant change after a first score, which
                        the caller knows from ARG.scoreChanged and ARG.basedOn)
    ARGV[ARG.historyEntry]   history point (an integer: score-codec.ts encodeScoreHistoryEntry), pushed when the score is
                             replaced ('' likewise)
    ARGV[ARG.historyLength]  how many history entries to keep
    ARGV[ARG.basedOn]   the stored score the computation started from, as 'revision:asOf' ('' for none): if
                        another commit landed since (two instances, or the time-driven loop and an event, on
                        one customer), the computation saw a stale alert book and last score, so the call is
                        refused as a conflict and the caller recomputes from a fresh read
    ARGV[ARG.incarnation]  the state's incarnation the computation read ('' for none): an erasure since, and
                        events that created the state again, make it another one, whatever its revision; the
                        call is then refused as a conflict, so nothing computed from erased data is stored
    ARGV[ARG.fence]     the run_id(s) the caller's writes are meant for, or '' (see the fence include):
                        versions handed out on another server could repeat ones already published
    ARGV[ARG.generation]  the incarnation of Redis the caller synchronised with ('' for none), stored with
                        the score. The first commit of a customer in another generation than its score's
                        starts the version and the outbox sequence at ARG.versionFloor at least, since the
                        stored ones may have gone back
    ARGV[ARG.versionFloor]  the generation's version floor (0 for none)
    ARGV[ARG.fields]    one MessagePack array (unpacked with cmsgpack): S, how many score values follow; the S
                        score values (field, value, field, value, ...); then I, how many insights values
                        follow, and the I insights values (field, value, ...); then the alert messages to
                        append to the outbox after the score-changed one, each JSON (the event without its
                        version). Values are text, stored as given

  Only what changed is written: with effects replication Redis appends every write command a script runs to
  its AOF and replicas, so an unchanged value rewritten costs its full size there on every commit.

  Every appended message is stored as an outbox entry (the outboxEntry include): seq is the customer's next
  outbox sequence number, version the one the message is published with, assigned here and nowhere else: a
  score-changed message takes the customer's new score version, an alert message its seq (which only ever
  grows for the customer, and so for each of its alerts).

  Output:
    { REPLY.written, version, the previous score hash (HGETALL), the outbox entries that were there before
      this call (LRANGE, an omitted explanation put back), the seq and version given to each appended message, in order: {seq, version, ...},
      the state's revision now (past ARG.revision when events were applied after the read the score was computed from) }
    or, refused, { REPLY.notNewer | REPLY.conflict | REPLY.fenced, the stored version, the stored score hash }
    (the outbox's owner publishes it). The explanation and the appended messages are not sent back: the
    caller has them, and they are most of the bytes.
]]
--- @include "fence"
--- @include "outboxEntry"

local stateKey, scoreKey, explanationKey = KEYS[KEY.state], KEYS[KEY.score], KEYS[KEY.explanation]
local insightsKey, alertsKey, outboxKey, historyKey = KEYS[KEY.insights], KEYS[KEY.alerts], KEYS[KEY.outbox], KEYS[KEY.history]
local revision, asOf = tonumber(ARGV[ARG.revision]), tonumber(ARGV[ARG.asOf])
local scoreChanged, nextDueAt = ARGV[ARG.scoreChanged], ARGV[ARG.nextDueAt]
local alertBook, explanation = ARGV[ARG.alertBook], ARGV[ARG.explanation]
local significant = scoreChanged ~= ''
local historyEntry, historyLength = ARGV[ARG.historyEntry], tonumber(ARGV[ARG.historyLength])
local basedOn = ARGV[ARG.basedOn]
local fence, generation, versionFloor = ARGV[ARG.fence], ARGV[ARG.generation], tonumber(ARGV[ARG.versionFloor])
local unpacked, packed = pcall(cmsgpack.unpack, ARGV[ARG.fields])
if not unpacked or type(packed) ~= 'table' then return redis.error_reply('ERR commitScore: the fields are not a MessagePack array') end
local scoreArgsFrom, scoreArgCount = 2, tonumber(packed[1])
local insightsArgsFrom = scoreArgsFrom + scoreArgCount + 1
local insightsArgCount = tonumber(packed[insightsArgsFrom - 1])
local messagesFrom = insightsArgsFrom + insightsArgCount

if fencedOff(fence) then return {REPLY.fenced, 0, {}} end

local previous = redis.call('HGETALL', scoreKey)
local stored = {}
for i = 1, #previous, 2 do stored[previous[i]] = previous[i + 1] end
local version = tonumber(stored[LAYOUT.score.version] or '0')

local storedToken = ''
if #previous > 0 then storedToken = (stored[LAYOUT.score.revision] or '') .. ':' .. (stored[LAYOUT.score.asOf] or '') end
if storedToken ~= basedOn then
  return {REPLY.conflict, version, previous}
end

-- Two HGETs rather than one HMGET: the scorer's documented ACL (docs/operations.md) allows HGET, and deployments
-- that set it up before the incarnation existed keep working.
local stateRevision = redis.call('HGET', stateKey, LAYOUT.state.revision)
local hasState = stateRevision ~= false
if hasState and (redis.call('HGET', stateKey, LAYOUT.state.incarnation) or '') ~= ARGV[ARG.incarnation] then
  return {REPLY.conflict, version, previous}
end
local storedRevision, storedAsOf = tonumber(stored[LAYOUT.score.revision] or '-1'), tonumber(stored[LAYOUT.score.asOf] or '-1')
local isNewer = revision > storedRevision or (revision == storedRevision and asOf > storedAsOf)
if not hasState or not isNewer then
  return {REPLY.notNewer, version, previous}
end

-- Versions and sequence numbers of an earlier generation may have been published and then lost here.
local newGeneration = (stored[LAYOUT.score.generation] or '') ~= generation
if newGeneration then
  version = math.max(version, versionFloor)
  if tonumber(redis.call('HGET', stateKey, LAYOUT.state.outboxSeq) or '0') < versionFloor then
    redis.call('HSET', stateKey, LAYOUT.state.outboxSeq, versionFloor)
  end
end

-- Brings a hash in line with `fields` (field, value, ...; values as strings), given what it stores
-- (`stored`: field -> value): writes only the fields that differ and, unless `keepOthers`, deletes the others.
local function writeChanged(key, stored, fields, keepOthers)
  local wanted, changed = {}, {}
  for i = 1, #fields, 2 do
    wanted[fields[i]] = true
    if stored[fields[i]] ~= fields[i + 1] then
      changed[#changed + 1] = fields[i]
      changed[#changed + 1] = fields[i + 1]
    end
  end
  if #changed > 0 then redis.call('HSET', key, unpack(changed)) end
  if keepOthers then return end
  local gone = {}
  for field in pairs(stored) do
    if not wanted[field] then gone[#gone + 1] = field end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
end

-- A score-changed entry still waiting to be published omits its explanation, the stored one: it gets it
-- back before a replacement, and in what is returned.
local replacesScore = significant or #previous == 0
local earlier = redis.call('LRANGE', outboxKey, 0, -1)
for i, entry in ipairs(earlier) do
  if string.find(entry, LAYOUT.outboxEntry.omittedExplanation, 1, true) then
    earlier[i] = withExplanation(entry, redis.call('GET', explanationKey))
    if replacesScore then redis.call('LSET', outboxKey, i - 1, earlier[i]) end
  end
end

if significant then version = version + 1 end
-- What the script records about the write, beside the score's own fields.
local fields = {LAYOUT.score.version, string.format('%d', version), LAYOUT.score.revision, ARGV[ARG.revision], LAYOUT.score.asOf, ARGV[ARG.asOf]}
if generation ~= '' then
  fields[#fields + 1] = LAYOUT.score.generation
  fields[#fields + 1] = generation
end
if nextDueAt ~= '' then
  fields[#fields + 1] = LAYOUT.score.nextDueAt
  fields[#fields + 1] = nextDueAt
end
if replacesScore then
  for i = scoreArgsFrom, scoreArgsFrom + scoreArgCount - 1 do fields[#fields + 1] = packed[i] end
  redis.call('DEL', scoreKey)
  redis.call('HSET', scoreKey, unpack(fields))
  redis.call('SET', explanationKey, explanation)
  -- A score of a customer caught up from part of its history never was the customer's state: its point (the newest)
  -- gives way. LSET, which the scorer's documented ACL has, fails on a list emptied meanwhile: then the point is added.
  local replaced = stored[LAYOUT.score.catchingUp] and redis.pcall('LSET', historyKey, 0, historyEntry)
  if not (type(replaced) == 'table' and replaced.ok) then
    redis.call('LPUSH', historyKey, historyEntry)
    redis.call('LTRIM', historyKey, 0, historyLength - 1)
  end
else
  writeChanged(scoreKey, stored, fields, true)
  if nextDueAt == '' and stored[LAYOUT.score.nextDueAt] then redis.call('HDEL', scoreKey, LAYOUT.score.nextDueAt) end
end

local insightsFlat = redis.call('HGETALL', insightsKey)
local storedInsights = {}
for i = 1, #insightsFlat, 2 do storedInsights[insightsFlat[i]] = insightsFlat[i + 1] end
writeChanged(insightsKey, storedInsights, {unpack(packed, insightsArgsFrom, insightsArgsFrom + insightsArgCount - 1)}, false)

if alertBook == '' then redis.call('DEL', alertsKey)
elseif redis.call('GET', alertsKey) ~= alertBook then redis.call('SET', alertsKey, alertBook) end

local assigned = {}
-- messageVersion nil: the message is published with its seq
local function append(message, messageVersion)
  local seq = redis.call('HINCRBY', stateKey, LAYOUT.state.outboxSeq, 1)
  messageVersion = messageVersion or seq
  redis.call('RPUSH', outboxKey, outboxEntry(seq, messageVersion, message))
  assigned[#assigned + 1] = seq
  assigned[#assigned + 1] = messageVersion
end
if significant then append(scoreChanged, version) end
for i = messagesFrom, #packed do append(packed[i], nil) end

return {REPLY.written, version, previous, earlier, assigned, tonumber(stateRevision)}
