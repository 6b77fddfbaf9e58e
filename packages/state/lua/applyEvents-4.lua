--[[
  Applies a customer's input events, in the order given, to its state: atomically, idempotently, and with
  a result that does not depend on delivery order (every operation is a latest-wins, a maximum or an
  addition). One call does what one call per event would do, event after event, reading and writing the
  customer's strings once instead of once per event.

  Input:
    KEYS[1] state hash    revision, offset watermarks, maxima (lastAct, lastIn), trimDay
    KEYS[2] act   string  day buckets, one line per 32-day period with activity: "\n" .. the period
                          (floor(day / 32)) as 3 base-36 digits .. its days' buckets separated by ',' (day
                          period * 32 + i in the i-th place, from 0; empty for a day without activity;
                          nothing after the last bucket). A bucket is its counters, letter .. amount,
                          letters in alphabetical order, an amount of 1 omitted
    KEYS[3] ent   string  latest-wins records, one line each: "\n" .. field .. "\t" .. record
    KEYS[4] seen  string  dedupe window, 11-byte records in arrival order: arrival hour since the epoch
                          (3 bytes, big-endian) .. the event's digest (8 bytes)

    ARGV[1] retention days: the horizon is the first UTC day of the last <retention days> days
    ARGV[2] dedupe window days
    ARGV[3] fence: the run_id(s) of the Redis server(s) the caller's writes are meant for, ',' joined, or ''
            for none. On any other server (restarted, or a replica promoted, and so possibly without the
            caller's last writes) nothing is written: an offset applied there would raise the watermark
            over events whose effects were lost, and their re-consumption would be taken for redelivery
    ARGV[4...] the events, each as:
      clock          epoch ms, the injected "now" for this event (never Redis TIME), from which the
                     retention horizon and the dedupe window are measured
      watermark      field "w:<topic>:<partition>"
      offset         the record's Kafka offset
      digest         first 8 bytes of SHA-1(eventId), raw
      count          how many operation arguments follow
      operations     each an opcode followed by its arguments:
        'L', field, record          latest wins in line `field` of ent. record: JSON [occurredAt, eventId,
                                    agesOut, ...payload]; a stored record is replaced only by one with a
                                    greater (occurredAt, eventId), eventIds compared as bytes (a ticket's
                                    carries its phase first, so that a close outranks a same-instant open:
                                    layout.ts, ticketRankId). A record with
                                    agesOut = 1 older than the horizon is stored as a tombstone, [occurredAt,
                                    eventId]: it no longer counts, yet still outranks exactly the events it
                                    outranked before.
        'M', field, value           the state hash field keeps the greater number
        'A', day, letter, amount    adds an integer amount to counter `letter` of the bucket of UTC day
                                    `day`; skipped for a day before the horizon (an old event changes no
                                    window)

  Output:
    { outcome, revision, outcome, revision, ... }, one pair per event
      'fenced'       the server is not one the fence names: nothing changed (revision 0)
      'redelivered'  offset <= the watermark of its topic-partition: nothing changed
      'duplicate'    eventId applied within the dedupe window: only the watermark advanced
      'applied'      the operations ran and the revision was incremented
]]
local stateKey, actKey, entKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local retentionDays = tonumber(ARGV[1])
local dedupeWindowDays = tonumber(ARGV[2])
local fence = ARGV[3]
local FIRST_EVENT = 4
local EVENT_FIELDS = 5

local MS_PER_DAY, MS_PER_HOUR = 86400000, 3600000
local SEEN_RECORD_BYTES, SEEN_HOUR_BYTES = 11, 3
local USAGE_SUM_LETTER, USAGE_SCALE = 'u', 1000
local DAYS_PER_LINE = 32
local LINE_KEY_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'

-- Events and their operations are decoded before anything is written, so a malformed call changes nothing.
local OPCODE_ARITY = {L = 2, M = 2, A = 3}
local events = {}
local i = FIRST_EVENT
while i <= #ARGV do
  local count = tonumber(ARGV[i + EVENT_FIELDS - 1])
  local last = count and i + EVENT_FIELDS - 1 + count
  if not count or not tonumber(ARGV[i]) or last > #ARGV then
    return redis.error_reply('ERR applyEvents: malformed event at ARGV[' .. i .. ']')
  end
  local event = {clock = tonumber(ARGV[i]), watermarkField = ARGV[i + 1], offset = ARGV[i + 2], digest = ARGV[i + 3], ops = {}}
  local j = i + EVENT_FIELDS
  while j <= last do
    local arity = OPCODE_ARITY[ARGV[j]]
    if not arity or j + arity > last then
      return redis.error_reply('ERR applyEvents: malformed operation at ARGV[' .. j .. ']')
    end
    event.ops[#event.ops + 1] = {opcode = ARGV[j], args = {unpack(ARGV, j + 1, j + arity)}}
    j = j + arity + 1
  end
  events[#events + 1] = event
  i = last + 1
end

local results = {}

-- 0. Fence: checked before anything else, by the server's run_id (a replica copy has the same keys).
if fence ~= '' then
  local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  if not runId or not string.find(fence, runId, 1, true) then
    for _ = 1, #events do
      results[#results + 1] = 'fenced'
      results[#results + 1] = 0
    end
    return results
  end
end

local function revision()
  return tonumber(redis.call('HGET', stateKey, 'rev') or '0')
end

local function saveBlob(key, blob)
  if blob == '' then redis.call('DEL', key) else redis.call('SET', key, blob) end
end

-- The customer's strings are read at most once and written back once, after the last event.
local act, actChanged = nil, false
local ent, entChanged = nil, false
local seen, seenChanged = nil, false
local function loadAct() act = act or redis.call('GET', actKey) or '' end
local function loadEnt() ent = ent or redis.call('GET', entKey) or '' end
local function loadSeen() seen = seen or redis.call('GET', seenKey) or '' end

-- The retention horizon of the event being applied (each event carries its own clock).
local horizonDay, horizonMs

-- Lines of the act and ent strings: "\n" .. head .. body, the head unique within its string.
local function findLine(blob, head)
  local at = string.find(blob, '\n' .. head, 1, true)
  if not at then return nil end
  local bodyFrom = at + 1 + #head
  local nextLine = string.find(blob, '\n', bodyFrom, true)
  return at, bodyFrom, (nextLine or #blob + 1) - 1
end
local function upsertLine(blob, head, body)
  local at, _, bodyTo = findLine(blob, head)
  if not at then return blob .. '\n' .. head .. body end
  return string.sub(blob, 1, at - 1) .. '\n' .. head .. body .. string.sub(blob, bodyTo + 1)
end

-- The tombstone keeps the eventId because ties on occurredAt are broken by it: without it, whether a
-- same-instant event wins would depend on whether it arrived before or after the shrink.
local function tombstoneOf(record)
  if record[3] == 1 and record[1] < horizonMs then
    return string.format('[%.0f,%s]', record[1], cjson.encode(record[2]))
  end
  return nil
end

-- Retention sweep: periods that ended before the horizon are dropped and entity records that age out
-- and are older than it shrink to tombstones.
local function sweep()
  loadAct()
  local kept = {}
  for line in string.gmatch(act, '\n[^\n]*') do
    local lastDay = (tonumber(string.sub(line, 2, 4), 36) + 1) * DAYS_PER_LINE - 1
    if lastDay >= horizonDay then kept[#kept + 1] = line end
  end
  local swept = table.concat(kept)
  actChanged = actChanged or swept ~= act
  act = swept
  loadEnt()
  local compacted = {}
  for field, body in string.gmatch(ent, '\n([^\t\n]*)\t([^\n]*)') do
    local tombstone = tombstoneOf(cjson.decode(body))
    compacted[#compacted + 1] = '\n' .. field .. '\t' .. (tombstone or body)
  end
  local compactedEnt = table.concat(compacted)
  entChanged = entChanged or compactedEnt ~= ent
  ent = compactedEnt
end

-- Whether a decoded record outranks what is stored (a record or a tombstone: both open with occurredAt, eventId).
local function bytesLess(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function outranks(record, stored)
  if record[1] ~= stored[1] then return record[1] > stored[1] end
  return bytesLess(stored[2], record[2])
end

local function latestWins(field, body)
  local record = cjson.decode(body)
  loadEnt()
  local head = field .. '\t'
  local _, bodyFrom, bodyTo = findLine(ent, head)
  if bodyFrom and not outranks(record, cjson.decode(string.sub(ent, bodyFrom, bodyTo))) then return end
  ent = upsertLine(ent, head, tombstoneOf(record) or body)
  entChanged = true
end

local function maxWins(field, value)
  local stored = redis.call('HGET', stateKey, field)
  if not stored or tonumber(value) > tonumber(stored) then redis.call('HSET', stateKey, field, value) end
end

local function lineKey(period)
  local digits = ''
  for _ = 1, 3 do
    local d = period % 36
    digits = string.sub(LINE_KEY_DIGITS, d + 1, d + 1) .. digits
    period = math.floor(period / 36)
  end
  return digits
end
local function splitBuckets(body)
  local buckets, from = {}, 1
  while true do
    local comma = string.find(body, ',', from, true)
    if not comma then
      buckets[#buckets + 1] = string.sub(body, from)
      return buckets
    end
    buckets[#buckets + 1] = string.sub(body, from, comma - 1)
    from = comma + 1
  end
end
local function formatAmount(letter, amount)
  if letter ~= USAGE_SUM_LETTER then
    return amount == 1 and '' or string.format('%.0f', amount)
  end
  local sign = amount < 0 and '-' or ''
  local whole, fraction = math.floor(math.abs(amount) / USAGE_SCALE), math.abs(amount) % USAGE_SCALE
  if fraction == 0 then return sign .. string.format('%.0f', whole) end
  return sign .. (string.gsub(string.format('%.0f.%03d', whole, fraction), '0+$', ''))
end
local function parseAmount(letter, text)
  if letter ~= USAGE_SUM_LETTER then return text == '' and 1 or tonumber(text) end
  local value = tonumber(text) * USAGE_SCALE
  return value < 0 and -math.floor(-value + 0.5) or math.floor(value + 0.5)
end

local function addToDay(dayText, letter, amountText)
  local day, amount = tonumber(dayText), tonumber(amountText)
  if day < horizonDay then return end
  loadAct()
  local head = lineKey(math.floor(day / DAYS_PER_LINE))
  local place = day % DAYS_PER_LINE + 1
  local _, bodyFrom, bodyTo = findLine(act, head)
  local buckets = bodyFrom and splitBuckets(string.sub(act, bodyFrom, bodyTo)) or {}
  for k = #buckets + 1, place do buckets[k] = '' end
  local counters = {}
  for l, text in string.gmatch(buckets[place], '(%l)([%d%.%-]*)') do counters[l] = parseAmount(l, text) end
  counters[letter] = (counters[letter] or 0) + amount
  local letters = {}
  for l in pairs(counters) do letters[#letters + 1] = l end
  table.sort(letters)
  local parts = {}
  for k, l in ipairs(letters) do parts[k] = l .. formatAmount(l, counters[l]) end
  buckets[place] = table.concat(parts)
  act = upsertLine(act, head, table.concat(buckets, ','))
  actChanged = true
end

local RUN = {L = latestWins, M = maxWins, A = addToDay}

local function seenBefore(digest)
  local from = 1
  while true do
    local at = string.find(seen, digest, from, true)
    if not at then return false end
    -- a match must sit at a record's digest position, not straddle two records
    if (at - 1) % SEEN_RECORD_BYTES == SEEN_HOUR_BYTES then return true end
    from = at + 1
  end
end

local function applyOne(event)
  -- 1. Redelivery: Kafka hands out each partition in offset order, so an offset at or below the watermark
  --    was applied (or found a duplicate) before.
  local watermark = redis.call('HGET', stateKey, event.watermarkField)
  if watermark and tonumber(event.offset) <= tonumber(watermark) then return 'redelivered' end
  redis.call('HSET', stateKey, event.watermarkField, event.offset)

  -- 2. Upstream duplicate: an eventId whose digest arrived within the window. Arrivals older than the
  --    window (plus one hour, for the hour granularity) are forgotten first, so the string stays bounded.
  loadSeen()
  local arrivalHour = math.floor(event.clock / MS_PER_HOUR)
  local oldestKeptHour = arrivalHour - dedupeWindowDays * 24 - 1
  local keepFrom = 1
  while keepFrom <= #seen do
    local a, b, c = string.byte(seen, keepFrom, keepFrom + SEEN_HOUR_BYTES - 1)
    if (a * 256 + b) * 256 + c >= oldestKeptHour then break end
    keepFrom = keepFrom + SEEN_RECORD_BYTES
  end
  if keepFrom > 1 then
    seen = string.sub(seen, keepFrom)
    seenChanged = true
  end
  if seenBefore(event.digest) then return 'duplicate' end
  local arrival = string.char(math.floor(arrivalHour / 65536) % 256, math.floor(arrivalHour / 256) % 256, arrivalHour % 256)
  seen = seen .. arrival .. event.digest
  seenChanged = true

  -- 3. Retention sweep, at most once per customer per UTC day.
  local today = math.floor(event.clock / MS_PER_DAY)
  horizonDay = today - retentionDays + 1
  horizonMs = horizonDay * MS_PER_DAY
  local sweptDay = tonumber(redis.call('HGET', stateKey, 'trimDay') or '-1')
  if today > sweptDay then
    redis.call('HSET', stateKey, 'trimDay', today)
    sweep()
  end

  -- 4. The event's operations.
  for _, op in ipairs(event.ops) do
    RUN[op.opcode](unpack(op.args))
  end
  return 'applied'
end

for _, event in ipairs(events) do
  local outcome = applyOne(event)
  results[#results + 1] = outcome
  results[#results + 1] = outcome == 'applied' and redis.call('HINCRBY', stateKey, 'rev', 1) or revision()
end

-- SET rather than APPEND for seen: APPEND would leave the string with up to as much spare capacity again.
if actChanged then saveBlob(actKey, act) end
if entChanged then saveBlob(entKey, ent) end
if seenChanged then saveBlob(seenKey, seen) end
return results
