--[[
  Applies a customer's input events, in the order given, to its state: atomically, idempotently, and with
  a result that does not depend on delivery order (every operation is a latest-wins, a maximum, a minimum or
  an addition). One call does what one call per event would do, event after event, reading and writing the
  customer's strings once instead of once per event.

  Field names, counter letters, sizes and the reply's outcomes are not spelled out here: the loader
  substitutes them from LAYOUT (packages/state/src/layout.ts), OUTCOME, OP and EVENT (src/scripts/apply-events.ts).

  Input:
    KEYS[KEY.state] hash  revision, offset watermarks and refused offsets (LAYOUT.partitionField), maxima (lastAct,
                          lastIn), minima (firstStart), trimDay, incarnation
    KEYS[KEY.act]  string day buckets, one line per 32-day period with activity: "\n" .. the period
                          (floor(day / 32)) as 3 base-36 digits .. its days' buckets separated by ',' (day
                          period * 32 + i in the i-th place, from 0; empty for a day without activity;
                          nothing after the last bucket). A bucket is its counters, letter .. amount,
                          letters in alphabetical order, an amount of 1 omitted
    KEYS[KEY.ent]  string latest-wins records, one line each: "\n" .. field .. "\t" .. record
    KEYS[KEY.seen] string dedupe window, records in arrival order: arrival hour since the epoch (3 bytes,
                          big-endian) .. the event's digest (8 bytes); written whole when its front is cut or
                          while shorter than LAYOUT.seen.appendFromBytes, else appended to
    KEYS[KEY.seenIndex] string  an index of a long dedupe window (one of LAYOUT.seen.appendFromBytes or more; none for a
                          shorter one), so that an apply need not read and scan the whole window: Bloom filters of
                          its records' digests, LAYOUT.seenIndex.bitsPerRecord bits per record of capacity and
                          LAYOUT.seenIndex.probes probes each, the oldest records in the first filter. A header of
                          LAYOUT.seenIndex.headerBytes bytes lists them, "<capacity>:<inserted>:<remaining>;" each
                          (remaining: those of its records still in the window), space-padded; the filters follow it
                          back to back, capacity * bitsPerRecord / 8 bytes each. A filter saying "not there" is
                          certain; one saying "maybe" sends the apply to the window itself. The index is checked
                          against the window at every call (its remaining records times the record size must be
                          the window's length) and built anew from the window when it is not

    ARGV[ARG.retentionDays]      the horizon is the first UTC day of the last <retention days> days
    ARGV[ARG.dedupeWindowHours]  how long an eventId is remembered after its arrival
    ARGV[ARG.maxEntities]        the most records of the kinds LAYOUT.boundedKinds (tickets, opportunities,
                                 contracts) the ent string may hold: an event that would add one past it is refused
    ARGV[ARG.fence]  the run_id(s) the caller's writes are meant for, or '' (see the fence include): an
                     offset applied on another server would raise the watermark over events whose effects
                     were lost there, and their re-consumption would be taken for redelivery
    ARGV[ARG.events] the events: one MessagePack array (unpacked with cmsgpack), each event the group of
                     values at these offsets (EVENT) followed by its operations:
      clock           epoch ms, the injected "now" for this event (never Redis TIME), from which the
                      retention horizon and the dedupe window are measured
      occurredAt      epoch ms, when the event occurred: one at or before LAYOUT.state.erasedTo (the customer's
                      latest erasure request) is not applied
      watermark       field "w:<topic>:<partition>"
      offset          the record's Kafka offset (text: stored as given)
      digest          first 8 bytes of SHA-1(eventId), raw (bin)
      settledBelow    every record of the partition below this offset is settled, applied or dead-lettered, and
                      its refusals are forgotten ('': none known settled)
      operationCount  how many operation values follow
      operations      each an opcode (OP.<name>.opcode) followed by its arguments:
        latest, field, record     latest wins in line `field` of ent. record: JSON [occurredAt, eventId,
                                  agesOut, ...payload]; a stored record is replaced only by one with a
                                  greater (occurredAt, eventId), eventIds compared as bytes (a ticket's
                                  carries its phase first, so that a close outranks a same-instant open:
                                  layout.ts, ticketRankId). A record with agesOut = 1 older than the horizon
                                  is stored as a tombstone, [occurredAt, eventId]: it no longer counts, yet
                                  still outranks exactly the events it outranked before; or, for a kind in
                                  LAYOUT.forgottenOnceAgedOut (tickets), not at all, and the record it
                                  outranks is dropped.
        earliest, field, record   earliest wins in line `field` of ent (a ticket's first SLA breach): as latest, but
                                  a stored record is replaced only by one with a smaller (occurredAt, eventId),
                                  and a record older than the horizon is not kept. Such a line never ages out on
                                  its own: the sweep drops it with its ticket's (LAYOUT.kind.ticket, the same id),
                                  so an event it outranked can never take its place later.
        max, field, value         the state hash field keeps the greater number (text: stored as given)
        min, field, value         the state hash field keeps the smaller number (text: stored as given)
        add, day, letter, amount  adds an integer amount to counter `letter` of the bucket of UTC day `day`;
                                  skipped for a day before the horizon (an old event changes no window)

  Output:
    { outcome, revision, outcome, revision, ... }, one pair per event, the outcome one of OUTCOME:
      fenced       the server is not one the fence names: nothing changed (revision 0)
      redelivered  offset <= the watermark of its topic-partition: nothing changed
      duplicate    eventId applied within the dedupe window: only the watermark advanced
      predatesErasure  the event occurred at or before the customer's latest erasure request, however late it
                   arrives (another topic's backlog, a redelivery: an erasure forgets the watermarks, a replay):
                   only the watermark advanced, so nothing erased comes back
      refused      the event would add a bounded record past maxEntities: only the watermark advanced and its offset
                   was kept (and the daily sweep may have run); its eventId is not remembered, so a later copy is
                   judged afresh
      applied      the operations ran and the revision was incremented
    A refused event's offset is kept in its partition's refused offsets until the caller says it is settled: the
    caller dead-letters it after this call, and a crash in between must not turn its redelivery into `redelivered`.
    So an offset at or below the watermark that is among them is judged again (refused, or applied once there is room).
]]
--- @include "fence"

local stateKey, actKey, entKey, seenKey, seenIndexKey = KEYS[KEY.state], KEYS[KEY.act], KEYS[KEY.ent], KEYS[KEY.seen], KEYS[KEY.seenIndex]
local retentionDays = tonumber(ARGV[ARG.retentionDays])
local dedupeWindowHours = tonumber(ARGV[ARG.dedupeWindowHours])
local maxEntities = tonumber(ARGV[ARG.maxEntities])
local fence = ARGV[ARG.fence]

local MS_PER_DAY, MS_PER_HOUR = LAYOUT.msPerDay, LAYOUT.msPerHour
local SEEN_RECORD_BYTES, SEEN_HOUR_BYTES, SEEN_APPEND_FROM_BYTES = LAYOUT.seen.recordBytes, LAYOUT.seen.hourBytes, LAYOUT.seen.appendFromBytes
local INDEX_HEADER_BYTES, INDEX_BITS_PER_RECORD = LAYOUT.seenIndex.headerBytes, LAYOUT.seenIndex.bitsPerRecord
local INDEX_PROBES, INDEX_MIN_CAPACITY = LAYOUT.seenIndex.probes, LAYOUT.seenIndex.minCapacity
local BITS_PER_BYTE, INDEX_BUILD_RUN_BYTES = LAYOUT.bitsPerByte, LAYOUT.seenIndex.buildRunBytes
local USAGE_SUM_COUNTER, USAGE_SUM_SCALE = LAYOUT.act.usageSumCounter, LAYOUT.act.usageSumScale
local DAYS_PER_LINE, LINE_KEY_WIDTH = LAYOUT.act.daysPerLine, LAYOUT.act.lineKeyWidth
local LINE_KEY_RADIX, LINE_KEY_DIGITS = LAYOUT.act.lineKeyRadix, LAYOUT.act.lineKeyDigits
local BYTE = 256
local PARTITION_FIELD = LAYOUT.partitionField
-- By a line's first character, its kind: true for the kinds whose aged-out records leave nothing behind, and for
-- those maxEntities bounds.
local FORGOTTEN_ONCE_AGED_OUT, BOUNDED_KINDS = LAYOUT.forgottenOnceAgedOut, LAYOUT.boundedKinds
-- A usage sum's fraction has as many digits as the scale has zeros (thousandths: 3).
local USAGE_FRACTION_FORMAT = '%0' .. (#tostring(USAGE_SUM_SCALE) - 1) .. 'd'

-- Events and their operations are checked before anything is written, so a malformed call changes nothing. They are
-- then read where they lie among the unpacked values (eventStarts: each event's first value, and after the last event
-- the value past its end): a table per event and per operation cost as much as the unpacking.
local OPERATION_ARITY = {
  [OP.latest.opcode] = OP.latest.arguments, [OP.earliest.opcode] = OP.earliest.arguments, [OP.max.opcode] = OP.max.arguments,
  [OP.min.opcode] = OP.min.arguments, [OP.add.opcode] = OP.add.arguments,
}
local unpacked, values = pcall(cmsgpack.unpack, ARGV[ARG.events])
if not unpacked or type(values) ~= 'table' then
  return redis.error_reply('ERR applyEvents: the events are not a MessagePack array')
end
local eventStarts = {}
local i = 1
while i <= #values do
  local count = tonumber(values[i + EVENT.operationCount])
  local last = count and i + EVENT.operationCount + count
  if not count or not tonumber(values[i + EVENT.clock]) or last > #values then
    return redis.error_reply('ERR applyEvents: malformed event at value ' .. i)
  end
  local j = i + EVENT.operationCount + 1
  while j <= last do
    local arity = OPERATION_ARITY[values[j]]
    if not arity or j + arity > last then
      return redis.error_reply('ERR applyEvents: malformed operation at value ' .. j)
    end
    j = j + arity + 1
  end
  eventStarts[#eventStarts + 1] = i
  i = last + 1
end
local eventCount = #eventStarts
eventStarts[eventCount + 1] = i

local results = {}

-- 0. Fence: checked before anything else.
if fencedOff(fence) then
  for _ = 1, eventCount do
    results[#results + 1] = OUTCOME.fenced
    results[#results + 1] = 0
  end
  return results
end

-- The state hash's fields are read at most once and written once, after the last event, in one HSET: Redis
-- replicates a script by its effects, so a watermark and a revision written per event went to the AOF and
-- to replicas per event.
local stateFields, stateChanged = {}, {}
local function getState(field)
  if stateFields[field] == nil then stateFields[field] = redis.call('HGET', stateKey, field) end
  return stateFields[field] or nil
end
local function setState(field, value)
  stateFields[field] = value
  stateChanged[field] = true
end

local function revision()
  return tonumber(getState(LAYOUT.state.revision) or '0')
end

local function saveBlob(key, blob)
  if blob == '' then redis.call('DEL', key) else redis.call('SET', key, blob) end
end

-- The customer's strings are read at most once and written back once, after the last event: editing the strings
-- themselves copied each whole string once per operation. Only the lines a call touches are parsed and rewritten:
-- "\n" never occurs inside a line, so "\n" .. head finds exactly its line; edits are kept by head and spliced into
-- the string in place at the end. Live traffic touches one or two of a customer's dozens of lines; only the daily
-- retention sweep visits them all.

-- Lines of the act and ent strings: "\n" .. head .. body, the head unique within its string, kept in their
-- order (a new line goes last) so that the string written back is the one per-operation edits would give.
-- edits[head]: the line's body as this call left it (false: dropped); spans[head]: where the stored line lies
-- ({from, to}, false: not stored); dropped[head]: the stored line is gone (a line added again goes last).
local function openLines(key, headOf)
  return {text = redis.call('GET', key) or '', headOf = headOf, edits = {}, spans = {}, dropped = {}, added = {}, isAdded = {}, changed = false}
end
local function locate(lines, head)
  local span = lines.spans[head]
  if span == nil then
    local from = string.find(lines.text, '\n' .. head, 1, true)
    span = from and {from, (string.find(lines.text, '\n', from + 1, true) or #lines.text + 1) - 1} or false
    lines.spans[head] = span
  end
  return span
end
-- The line's body (a string, or what this call set it to), or nil when there is none.
local function getLine(lines, head)
  local edited = lines.edits[head]
  if edited ~= nil then return edited or nil end
  local span = locate(lines, head)
  if not span or lines.dropped[head] then return nil end
  return string.sub(lines.text, span[1] + 1 + #head, span[2])
end
local function setLine(lines, head, body)
  if not lines.isAdded[head] and (lines.dropped[head] or not locate(lines, head)) then
    lines.added[#lines.added + 1] = head
    lines.isAdded[head] = true
  end
  lines.edits[head] = body
  lines.changed = true
end
local function dropLine(lines, head)
  if not lines.isAdded[head] then lines.dropped[head] = true end
  lines.edits[head] = false
  lines.changed = true
end
-- keep(head, body) returns the body to keep (the same, or a replacement) or nil to drop the line.
local function keepLines(lines, keep)
  local function visit(head, body, stored)
    local kept = keep(head, body)
    if kept == body then return end
    lines.changed = true
    if kept == nil and stored and not lines.isAdded[head] then lines.dropped[head] = true end
    lines.edits[head] = kept == nil and false or kept
  end
  for from, line in string.gmatch(lines.text, '()(\n[^\n]*)') do
    local head = lines.headOf(line)
    if not lines.dropped[head] and not lines.isAdded[head] then
      if lines.spans[head] == nil then lines.spans[head] = {from, from + #line - 1} end
      local body = lines.edits[head]
      if body == nil then body = string.sub(line, 2 + #head) end
      visit(head, body, true)
    end
  end
  for _, head in ipairs(lines.added) do
    if lines.edits[head] then visit(head, lines.edits[head], false) end
  end
end
local function lineText(head, body)
  return '\n' .. head .. body
end
local function joinLines(lines)
  local replaced = {}
  for head, span in pairs(lines.spans) do
    if span and (lines.dropped[head] or (lines.edits[head] ~= nil and not lines.isAdded[head])) then replaced[#replaced + 1] = head end
  end
  table.sort(replaced, function(a, b) return lines.spans[a][1] < lines.spans[b][1] end)
  local parts, at = {}, 1
  for _, head in ipairs(replaced) do
    local span = lines.spans[head]
    parts[#parts + 1] = string.sub(lines.text, at, span[1] - 1)
    if not lines.dropped[head] and lines.edits[head] then parts[#parts + 1] = lineText(head, lines.edits[head]) end
    at = span[2] + 1
  end
  parts[#parts + 1] = string.sub(lines.text, at)
  for _, head in ipairs(lines.added) do
    if lines.edits[head] then parts[#parts + 1] = lineText(head, lines.edits[head]) end
  end
  return table.concat(parts)
end

local act, ent
local function loadAct()
  act = act or openLines(actKey, function(line) return string.sub(line, 2, 1 + LINE_KEY_WIDTH) end)
  return act
end
local function loadEnt()
  ent = ent or openLines(entKey, function(line) return string.match(line, '^\n([^\t\n]*\t)') or string.sub(line, 2) end)
  return ent
end

-- The dedupe window: the stored records from seenFrom on, then those added by this call from addedFrom on (a
-- queue: the oldest arrivals leave from the front).
local seen, seenFrom, added, addedFrom, addedAt = nil, 1, {}, 1, {}
local function loadSeen() seen = seen or redis.call('GET', seenKey) or '' end
-- The window's length as the call found it; a long window is read (`seen`) only when the call must: its front is to be
-- cut, its index is missing or out of step, or the index cannot rule an eventId out.
local windowBytes
-- A long window's index, as the call found it: its filters, or nil when there is none in step with the window (built
-- at the end of the call).
local windowIndex
-- How much of its header that index's listing took: written over, not the whole header, when it changes.
local windowIndexListed

-- The retention horizon of the event being applied (each event carries its own clock).
local horizonDay, horizonMs

-- What the record of line `head` leaves once it ages out: nil to keep it as it is (it still counts, or it is a
-- tombstone), false for nothing (its kind is forgotten once aged out: a tombstone of such a kind, older than the
-- horizon since it was made, goes too), else its tombstone. The tombstone keeps the eventId because ties on
-- occurredAt are broken by it: without it, whether a same-instant event wins would depend on whether it arrived
-- before or after the shrink.
local function agedOut(head, record)
  local forgotten = FORGOTTEN_ONCE_AGED_OUT[string.sub(head, 1, 1)] == true
  local agesOut = record[LAYOUT.record.agesOut]
  if agesOut == nil then
    if forgotten then return false end
    return nil
  end
  if agesOut ~= 1 or record[LAYOUT.record.occurredAt] >= horizonMs then return nil end
  if forgotten then return false end
  return string.format('[%.0f,%s]', record[LAYOUT.record.occurredAt], cjson.encode(record[LAYOUT.record.eventId]))
end

-- Whether any line of `lines`, stored or added by this call, is of `kind` (a line's first character).
local function holdsKind(lines, kind)
  if string.find(lines.text, '\n' .. kind, 1, true) then return true end
  for _, head in ipairs(lines.added) do
    if lines.edits[head] and string.sub(head, 1, 1) == kind then return true end
  end
  return false
end

-- Retention sweep: periods that ended before the horizon are dropped, and entity records that age out and are older
-- than it shrink to tombstones or are dropped, as their agesOut says.
local function sweep()
  keepLines(loadAct(), function(head, body)
    local lastDay = (tonumber(head, LINE_KEY_RADIX) + 1) * DAYS_PER_LINE - 1
    if lastDay >= horizonDay then return body end
    return nil
  end)
  local lines = loadEnt()
  keepLines(lines, function(head, body)
    local aged = agedOut(head, cjson.decode(body))
    if aged == nil then return body end
    return aged or nil
  end)
  -- A ticket's first SLA breach goes with the ticket (a line of the same id, another kind's letter first): one dropped
  -- now, or by an apply since the last sweep (an event past the horizon that outranked its record).
  if holdsKind(lines, LAYOUT.kind.slaBreach) then
    keepLines(lines, function(head, body)
      if string.sub(head, 1, 1) == LAYOUT.kind.slaBreach and not getLine(lines, LAYOUT.kind.ticket .. string.sub(head, 2)) then return nil end
      return body
    end)
  end
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
  if record[LAYOUT.record.occurredAt] ~= stored[LAYOUT.record.occurredAt] then return record[LAYOUT.record.occurredAt] > stored[LAYOUT.record.occurredAt] end
  return bytesLess(stored[LAYOUT.record.eventId], record[LAYOUT.record.eventId])
end

local function latestWins(field, body)
  local record = cjson.decode(body)
  local lines = loadEnt()
  local head = field .. '\t'
  local stored = getLine(lines, head)
  if stored and not outranks(record, cjson.decode(stored)) then return end
  local aged = agedOut(head, record)
  if aged == false then
    if stored then dropLine(lines, head) end
  else
    setLine(lines, head, aged or body)
  end
end

local function earliestWins(field, body)
  local record = cjson.decode(body)
  if record[LAYOUT.record.occurredAt] < horizonMs then return end
  local lines = loadEnt()
  local head = field .. '\t'
  local stored = getLine(lines, head)
  if stored and not outranks(cjson.decode(stored), record) then return end
  setLine(lines, head, body)
end

local function maxWins(field, value)
  local stored = getState(field)
  if not stored or tonumber(value) > tonumber(stored) then setState(field, value) end
end

local function minWins(field, value)
  local stored = getState(field)
  if not stored or tonumber(value) < tonumber(stored) then setState(field, value) end
end

local function lineKey(period)
  local digits = ''
  for _ = 1, LINE_KEY_WIDTH do
    local d = period % LINE_KEY_RADIX
    digits = string.sub(LINE_KEY_DIGITS, d + 1, d + 1) .. digits
    period = math.floor(period / LINE_KEY_RADIX)
  end
  return digits
end
local function formatAmount(letter, amount)
  if letter ~= USAGE_SUM_COUNTER then
    return amount == 1 and '' or string.format('%.0f', amount)
  end
  local sign = amount < 0 and '-' or ''
  local whole, fraction = math.floor(math.abs(amount) / USAGE_SUM_SCALE), math.abs(amount) % USAGE_SUM_SCALE
  if fraction == 0 then return sign .. string.format('%.0f', whole) end
  local fractionDigits = string.format(USAGE_FRACTION_FORMAT, fraction)
  return sign .. string.format('%.0f', whole) .. '.' .. (string.gsub(fractionDigits, '0+$', ''))
end
local function parseAmount(letter, text)
  if letter ~= USAGE_SUM_COUNTER then return text == '' and 1 or tonumber(text) end
  local value = tonumber(text) * USAGE_SUM_SCALE
  return value < 0 and -math.floor(-value + 0.5) or math.floor(value + 0.5)
end

-- A day's bucket is found in its line and replaced in place (splitting the line into its buckets cost more than
-- all else an event does), once per call with every addition the call made to it: live traffic brings a customer
-- a few events of the same day.
local function addToBucket(day, additions)
  local lines = loadAct()
  local head = lineKey(math.floor(day / DAYS_PER_LINE))
  local place = day % DAYS_PER_LINE + 1
  local body = getLine(lines, head) or ''
  -- The start of the body up to the day's bucket: the place − 1 buckets before it and their commas.
  local _, before = string.find(body, '^' .. string.rep('[^,]*,', place - 1))
  if not before then
    local _, commas = string.gsub(body, ',', '')
    body = body .. string.rep(',', place - 1 - commas)
    before = #body
  end
  local after = string.find(body, ',', before + 1, true) or #body + 1
  local counters = {}
  for l, text in string.gmatch(string.sub(body, before + 1, after - 1), '(%l)([%d%.%-]*)') do counters[l] = parseAmount(l, text) end
  for l, amount in pairs(additions) do counters[l] = (counters[l] or 0) + amount end
  local letters = {}
  for l in pairs(counters) do letters[#letters + 1] = l end
  table.sort(letters)
  local parts = {}
  for k, l in ipairs(letters) do parts[k] = l .. formatAmount(l, counters[l]) end
  setLine(lines, head, string.sub(body, 1, before) .. table.concat(parts) .. string.sub(body, after))
end

-- Additions waiting for their bucket, by day, and the days in the order of their first addition (the order in
-- which new lines are added, as if each addition were made at once).
local additionsByDay, additionDays = {}, {}
local function addToDay(day, letter, amount)
  if day < horizonDay then return end
  local additions = additionsByDay[day]
  if not additions then
    additions = {}
    additionsByDay[day] = additions
    additionDays[#additionDays + 1] = day
  end
  additions[letter] = (additions[letter] or 0) + amount
end
-- Before a sweep, which must see them, and after the last event.
local function flushAdditions()
  for _, day in ipairs(additionDays) do addToBucket(day, additionsByDay[day]) end
  additionsByDay, additionDays = {}, {}
end

local RUN = {
  [OP.latest.opcode] = latestWins, [OP.earliest.opcode] = earliestWins, [OP.max.opcode] = maxWins, [OP.min.opcode] = minWins,
  [OP.add.opcode] = addToDay,
}

-- A seen record's arrival hour, big-endian in its first bytes.
local function arrivalHourAt(record, from)
  local hour = 0
  for k = from, from + SEEN_HOUR_BYTES - 1 do hour = hour * BYTE + string.byte(record, k) end
  return hour
end
local function arrivalHourBytes(hour)
  local bytes = {}
  for k = SEEN_HOUR_BYTES, 1, -1 do
    bytes[k] = string.char(hour % BYTE)
    hour = math.floor(hour / BYTE)
  end
  return table.concat(bytes)
end

-- The window's index (see the header). A digest's probes combine its two halves (Kirsch and Mitzenmacher): the k-th
-- of a filter of `bits` bits is (h1 + k * h2) % bits, a bit numbered as GETBIT numbers them.
local DIGEST_BYTES = SEEN_RECORD_BYTES - SEEN_HOUR_BYTES
local HALF_DIGEST_BYTES = DIGEST_BYTES / 2
local function probeBase(text, at)
  local h1, h2 = 0, 0
  for k = at, at + HALF_DIGEST_BYTES - 1 do h1 = h1 * BYTE + string.byte(text, k) end
  for k = at + HALF_DIGEST_BYTES, at + DIGEST_BYTES - 1 do h2 = h2 * BYTE + string.byte(text, k) end
  return h1, h2
end
local function filterBytes(capacity) return capacity * INDEX_BITS_PER_RECORD / BITS_PER_BYTE end

-- The filters a header lists, how many records they hold in all, and how much of the header they took.
local function parseIndexHeader(header)
  local filters, remaining = {}, 0
  for capacity, inserted, left in string.gmatch(header, '(%d+):(%d+):(%d+);') do
    filters[#filters + 1] = {capacity = tonumber(capacity), inserted = tonumber(inserted), remaining = tonumber(left)}
    remaining = remaining + tonumber(left)
  end
  return filters, remaining, #(string.match(header, '^[%d:;]*'))
end
-- The header's listing of the filters, padded to `length` bytes at least; nil when it does not fit the header.
local function indexHeader(filters, length)
  local entries = {}
  for f, filter in ipairs(filters) do entries[f] = filter.capacity .. ':' .. filter.inserted .. ':' .. filter.remaining .. ';' end
  local header = table.concat(entries)
  if #header > INDEX_HEADER_BYTES then return nil end
  return header .. string.rep(' ', length - #header)
end

-- One filter of `capacity` records holding those of `records` (window records back to back), as its bytes.
local function buildFilter(records, capacity)
  local bits, bytes = capacity * INDEX_BITS_PER_RECORD, {}
  for at = SEEN_HOUR_BYTES + 1, #records, SEEN_RECORD_BYTES do
    local h1, h2 = probeBase(records, at)
    for k = 0, INDEX_PROBES - 1 do
      local position = (h1 + k * h2) % bits
      local byte = math.floor(position / BITS_PER_BYTE)
      -- the first bit of a byte its highest, as SETBIT and GETBIT count them
      bytes[byte] = bit.bor(bytes[byte] or 0, 2 ^ (BITS_PER_BYTE - 1 - position % BITS_PER_BYTE))
    end
  end
  local chunks, run = {}, {}
  for byte = 0, bits / BITS_PER_BYTE - 1 do
    run[#run + 1] = bytes[byte] or 0
    -- string.char takes its bytes as arguments, of which Lua allows some thousands
    if #run == INDEX_BUILD_RUN_BYTES then chunks[#chunks + 1], run = string.char(unpack(run)), {} end
  end
  chunks[#chunks + 1] = string.char(unpack(run))
  return table.concat(chunks)
end

-- The window as this call found it: a short one is read whole; a long one only its length and its index, and read
-- whole when it has no index in step with it.
local function openWindow()
  if windowBytes then return end
  windowBytes = redis.call('STRLEN', seenKey)
  if windowBytes < SEEN_APPEND_FROM_BYTES then return loadSeen() end
  local filters, remaining, listed = parseIndexHeader(redis.call('GETRANGE', seenIndexKey, 0, INDEX_HEADER_BYTES - 1))
  if #filters > 0 and remaining * SEEN_RECORD_BYTES == windowBytes then windowIndex, windowIndexListed = filters, listed else loadSeen() end
end

-- Whether the index cannot rule the digest out (the window as the call found it, unread and uncut).
local function indexMayHold(digest)
  local h1, h2 = probeBase(digest, 1)
  local startByte = INDEX_HEADER_BYTES
  for _, filter in ipairs(windowIndex) do
    local bits, maybe = filter.capacity * INDEX_BITS_PER_RECORD, true
    for k = 0, INDEX_PROBES - 1 do
      if redis.call('GETBIT', seenIndexKey, startByte * BITS_PER_BYTE + (h1 + k * h2) % bits) == 0 then
        maybe = false
        break
      end
    end
    if maybe then return true end
    startByte = startByte + filterBytes(filter.capacity)
  end
  return false
end

-- Before the window's writes: an index that holds records the window lacks (its writes refused, an ACL taken away) only
-- sends lookups to the window, and is found out of step at the next call; one lacking records the window holds would
-- take copies for new events. The records cut from its front leave the oldest filters (a filter
-- none of whose records is left goes, but the newest), the new records go into the newest filter, and a full one is
-- followed by one of twice its capacity, so that the filters of a window of n records number about log2(n).
local function updateIndex(newRecords)
  local finalBytes = windowBytes - (seenFrom - 1) + #newRecords
  if finalBytes < SEEN_APPEND_FROM_BYTES then
    if windowBytes >= SEEN_APPEND_FROM_BYTES then redis.call('DEL', seenIndexKey) end
    return
  end
  local filters = windowIndex
  if filters then
    if seenFrom == 1 and newRecords == '' then return end
    local cutRecords, dropBytes = (seenFrom - 1) / SEEN_RECORD_BYTES, 0
    while cutRecords > 0 do
      local oldest = filters[1]
      local leaving = math.min(cutRecords, oldest.remaining)
      oldest.remaining, cutRecords = oldest.remaining - leaving, cutRecords - leaving
      if oldest.remaining > 0 or #filters == 1 then break end
      dropBytes = dropBytes + filterBytes(oldest.capacity)
      table.remove(filters, 1)
    end
    if dropBytes > 0 then
      local kept = redis.call('GETRANGE', seenIndexKey, INDEX_HEADER_BYTES + dropBytes, -1)
      redis.call('SET', seenIndexKey, string.rep(' ', INDEX_HEADER_BYTES) .. kept)
      windowIndexListed = 0
    end
    local startByte = INDEX_HEADER_BYTES
    for f = 1, #filters - 1 do startByte = startByte + filterBytes(filters[f].capacity) end
    local newest = filters[#filters]
    for at = SEEN_HOUR_BYTES + 1, #newRecords, SEEN_RECORD_BYTES do
      if newest.inserted >= newest.capacity then
        startByte = startByte + filterBytes(newest.capacity)
        newest = {capacity = 2 * newest.capacity, inserted = 0, remaining = 0}
        filters[#filters + 1] = newest
        -- Written whole with the new filter's room: a string Redis grows in place (SETBIT past its end, APPEND) gets
        -- twice the room it needs, and the index would take twice its size.
        local index = redis.call('GET', seenIndexKey)
        local room = startByte + filterBytes(newest.capacity) - #index
        if room > 0 then redis.call('SET', seenIndexKey, index .. string.rep('\0', room)) end
      end
      local h1, h2 = probeBase(newRecords, at)
      local bits = newest.capacity * INDEX_BITS_PER_RECORD
      for k = 0, INDEX_PROBES - 1 do redis.call('SETBIT', seenIndexKey, startByte * BITS_PER_BYTE + (h1 + k * h2) % bits, 1) end
      newest.inserted, newest.remaining = newest.inserted + 1, newest.remaining + 1
    end
    local header = indexHeader(filters, windowIndexListed)
    if header then return redis.call('SETRANGE', seenIndexKey, 0, header) end
  end
  -- No index in step with the window (none yet, or the window written by a scorer without one), or more filters than
  -- the header holds: one filter built from the window as the call leaves it, with room for as many records again.
  loadSeen()
  local records = string.sub(seen, seenFrom) .. newRecords
  local count = #records / SEEN_RECORD_BYTES
  local capacity = math.max(INDEX_MIN_CAPACITY, 2 * count)
  redis.call('SET', seenIndexKey, indexHeader({{capacity = capacity, inserted = count, remaining = count}}, INDEX_HEADER_BYTES) .. buildFilter(records, capacity))
end

-- Arrivals before `oldestKeptHour` leave the front of the window. Called again with the same hour (the next event of
-- the same clock) it has nothing to do: what was remembered since arrived after that hour.
local forgottenBefore
local function forgetBefore(oldestKeptHour)
  if oldestKeptHour == forgottenBefore then return end
  forgottenBefore = oldestKeptHour
  -- A long window unread is read only when its front is to be cut: its first record arrived before that hour.
  if not seen and arrivalHourAt(redis.call('GETRANGE', seenKey, 0, SEEN_HOUR_BYTES - 1), 1) >= oldestKeptHour then return end
  loadSeen()
  while seenFrom <= #seen and arrivalHourAt(seen, seenFrom) < oldestKeptHour do seenFrom = seenFrom + SEEN_RECORD_BYTES end
  if seenFrom <= #seen then return end
  while addedFrom <= #added and arrivalHourAt(added[addedFrom], 1) < oldestKeptHour do addedFrom = addedFrom + 1 end
end

local function seenBefore(digest)
  local index = addedAt[digest]
  if index and index >= addedFrom then return true end
  if not seen then
    if not indexMayHold(digest) then return false end
    loadSeen()
  end
  local from = seenFrom
  while true do
    local at = string.find(seen, digest, from, true)
    if not at then return false end
    -- a match must sit at a record's digest position, not straddle two records
    if (at - 1) % SEEN_RECORD_BYTES == SEEN_HOUR_BYTES then return true end
    from = at + 1
  end
end

-- A call's events mostly share one clock, so the last arrival hour's bytes are kept rather than built for each.
local rememberedHour, rememberedHourBytes
local function remember(arrivalHour, digest)
  if arrivalHour ~= rememberedHour then rememberedHour, rememberedHourBytes = arrivalHour, arrivalHourBytes(arrivalHour) end
  added[#added + 1] = rememberedHourBytes .. digest
  addedAt[digest] = #added
end

-- What only the bound on entities and the refusals it keeps need: counting a customer's lines exactly, and a
-- partition's refused offsets (see the header). A script's functions are made anew at every call, and these made
-- every call about a tenth dearer, so they are made on first need, which few calls have: a customer near the bound,
-- a refusal, a redelivery, or refusals kept from before.
local rare
local function rareNeeds()
  if rare then return rare end
  rare = {lists = {}}
  -- How many bounded lines there are, as this call left them: the stored ones counted once per call (a pass over the
  -- string), then those this call dropped and added (a drop only ever takes a stored line; one added again is in added).
  function rare.countBounded(lines)
    if lines.storedBounded == nil then
      local count, from = 0, 1
      while true do
        local at = string.find(lines.text, '\n', from, true)
        if not at then break end
        if BOUNDED_KINDS[string.sub(lines.text, at + 1, at + 1)] then count = count + 1 end
        from = at + 1
      end
      lines.storedBounded = count
    end
    local count = lines.storedBounded
    for head in pairs(lines.dropped) do
      if BOUNDED_KINDS[string.sub(head, 1, 1)] then count = count - 1 end
    end
    for _, head in ipairs(lines.added) do
      if BOUNDED_KINDS[string.sub(head, 1, 1)] and lines.edits[head] then count = count + 1 end
    end
    return count
  end
  -- A partition's refused offsets, by field, read at most once, as runs of consecutive offsets ({first, last},
  -- ascending, apart): stored as `first` or `first-last`, comma-separated, so that a flood's refusals, consecutive in
  -- their partition, take a few bytes. Each refusal of a new record lies past the watermark, so past every offset kept.
  function rare.list(field)
    local list = rare.lists[field]
    if list == nil then
      list = {runs = {}, changed = false, settledBelow = nil}
      for first, last in string.gmatch(getState(field) or '', '(%d+)%-?(%d*)') do
        list.runs[#list.runs + 1] = {tonumber(first), tonumber(last ~= '' and last or first)}
      end
      rare.lists[field] = list
    end
    return list
  end
  -- Forgets the refusals the caller has settled (dead-lettered): those below `settledBelow` ('': none).
  function rare.settle(list, settledBelow)
    if settledBelow == '' or settledBelow == list.settledBelow then return end
    list.settledBelow = settledBelow
    local below, runs, kept = tonumber(settledBelow), list.runs, {}
    for _, run in ipairs(runs) do
      if run[2] >= below then kept[#kept + 1] = {math.max(run[1], below), run[2]} end
    end
    if #kept ~= #runs or (#kept > 0 and kept[1][1] ~= runs[1][1]) then list.runs, list.changed = kept, true end
  end
  -- The index of the run holding `offset`, or nil (a binary search).
  local function runOf(list, offset)
    local low, high = 1, #list.runs
    while low <= high do
      local middle = math.floor((low + high) / 2)
      local run = list.runs[middle]
      if offset < run[1] then high = middle - 1 elseif offset > run[2] then low = middle + 1 else return middle end
    end
    return nil
  end
  function rare.has(list, offset)
    return runOf(list, tonumber(offset)) ~= nil
  end
  function rare.add(list, offset)
    local at, last = tonumber(offset), list.runs[#list.runs]
    if last and at == last[2] + 1 then last[2] = at else list.runs[#list.runs + 1] = {at, at} end
    list.changed = true
  end
  function rare.remove(list, offset)
    local at = tonumber(offset)
    local i = runOf(list, at)
    local run = list.runs[i]
    if run[1] == run[2] then
      table.remove(list.runs, i)
    elseif at == run[1] then
      run[1] = at + 1
    elseif at == run[2] then
      run[2] = at - 1
    else
      table.insert(list.runs, i + 1, {at + 1, run[2]})
      run[2] = at - 1
    end
    list.changed = true
  end
  function rare.save()
    for field, list in pairs(rare.lists) do
      if list.changed then
        local entries = {}
        for k, run in ipairs(list.runs) do
          entries[k] = run[1] == run[2] and string.format('%.0f', run[1]) or string.format('%.0f-%.0f', run[1], run[2])
        end
        -- '' deletes the field (see the write at the end)
        setState(field, table.concat(entries, ','))
      end
    end
  end
  return rare
end

-- Whether the event whose values run from `from` up to `to` (excluded) would take the customer past maxEntities: whether
-- it adds a bounded record (a line it names that is not there, and that its record, aged out or not as of the event's
-- horizon, would not leave empty) to as many as the bound. Lines are counted only where the string could hold the
-- bound (its bytes over the fewest a line takes, and the lines added), so nearly every event costs a pass over its
-- operations.
local function pastTheBound(from, to)
  local bounded, j = 0, from + EVENT.operationCount + 1
  while j < to do
    if values[j] == OP.latest.opcode and BOUNDED_KINDS[string.sub(values[j + 1], 1, 1)] then bounded = bounded + 1 end
    j = j + OPERATION_ARITY[values[j]] + 1
  end
  if bounded == 0 then return false end
  local lines = loadEnt()
  if math.floor(#lines.text / LAYOUT.entLineMinBytes) + #lines.added + bounded <= maxEntities then return false end
  local adding = 0
  j = from + EVENT.operationCount + 1
  while j < to do
    if values[j] == OP.latest.opcode and BOUNDED_KINDS[string.sub(values[j + 1], 1, 1)] then
      local head = values[j + 1] .. '\t'
      -- only a kind forgotten once aged out can leave nothing: the others' records are not decoded
      if getLine(lines, head) == nil
        and not (FORGOTTEN_ONCE_AGED_OUT[string.sub(head, 1, 1)] and agedOut(head, cjson.decode(values[j + 2])) == false) then
        adding = adding + 1
      end
    end
    j = j + OPERATION_ARITY[values[j]] + 1
  end
  return adding > 0 and rareNeeds().countBounded(lines) + adding > maxEntities
end

-- A watermark field's refused-offsets field, made once per call.
local refusedFieldOf = {}

-- The event whose values run from `from` up to `to` (excluded).
local function applyOne(from, to)
  local clock = tonumber(values[from + EVENT.clock])
  local watermarkField, offset = values[from + EVENT.watermark], values[from + EVENT.offset]
  local refusedField = refusedFieldOf[watermarkField]
  if refusedField == nil then
    refusedField = PARTITION_FIELD.refused .. string.sub(watermarkField, #PARTITION_FIELD.watermark + 1)
    refusedFieldOf[watermarkField] = refusedField
  end
  -- The partition's refused offsets, if any are kept (or were refused earlier in this call).
  local refused = (rare and rare.lists[refusedField]) or (getState(refusedField) and rareNeeds().list(refusedField))
  if refused then rare.settle(refused, values[from + EVENT.settledBelow]) end
  -- 1. Redelivery: Kafka hands out each partition in offset order, so an offset at or below the watermark
  --    was applied, found a duplicate or refused before. One refused and not yet settled is judged again.
  local watermark = getState(watermarkField)
  local judgedAgain = false
  if watermark and tonumber(offset) <= tonumber(watermark) then
    if not (refused and rare.has(refused, offset)) then return OUTCOME.redelivered end
    judgedAgain = true
  else
    setState(watermarkField, offset)
  end

  -- An event of the erased past: the customer's state holds nothing from before its latest erasure request.
  local erasedTo = getState(LAYOUT.state.erasedTo)
  if erasedTo and tonumber(values[from + EVENT.occurredAt]) <= tonumber(erasedTo) then
    if judgedAgain then rare.remove(refused, offset) end
    return OUTCOME.predatesErasure
  end

  -- 2. Upstream duplicate: an eventId whose digest arrived within the window. Arrivals older than the
  --    window (plus one hour, for the hour granularity) are forgotten first, so the string stays bounded.
  openWindow()
  local arrivalHour = math.floor(clock / MS_PER_HOUR)
  forgetBefore(arrivalHour - dedupeWindowHours - 1)
  local outcome = OUTCOME.duplicate
  if not seenBefore(values[from + EVENT.digest]) then
    -- 3. Retention sweep, at most once per customer per UTC day.
    local today = math.floor(clock / MS_PER_DAY)
    horizonDay = today - retentionDays + 1
    horizonMs = horizonDay * MS_PER_DAY
    local sweptDay = tonumber(getState(LAYOUT.state.trimDay) or '-1')
    if today > sweptDay then
      setState(LAYOUT.state.trimDay, today)
      flushAdditions()
      sweep()
    end

    -- 4. The bound on a customer's records, once the sweep has dropped those aged out. The eventId is remembered only
    --    for an event applied: a copy of a refused one is refused again, or applied once there is room.
    if pastTheBound(from, to) then
      outcome = OUTCOME.refused
    else
      remember(arrivalHour, values[from + EVENT.digest])
      -- 5. The event's operations.
      local j = from + EVENT.operationCount + 1
      while j < to do
        local arity = OPERATION_ARITY[values[j]]
        RUN[values[j]](unpack(values, j + 1, j + arity))
        j = j + arity + 1
      end
      outcome = OUTCOME.applied
    end
  end
  if judgedAgain and outcome ~= OUTCOME.refused then rare.remove(refused, offset) end
  if not judgedAgain and outcome == OUTCOME.refused then
    local book = rareNeeds()
    book.add(book.list(refusedField), offset)
  end
  return outcome
end

for n = 1, eventCount do
  local outcome = applyOne(eventStarts[n], eventStarts[n + 1])
  results[#results + 1] = outcome
  if outcome == OUTCOME.applied then setState(LAYOUT.state.revision, revision() + 1) end
  results[#results + 1] = revision()
end

-- A state created here (or one older than the incarnation stamp) gets the stamp with its first applied event:
-- microseconds since the epoch, digits only, which the hash's listpack stores as an integer (9 bytes, not 17).
if stateChanged[LAYOUT.state.revision] and not getState(LAYOUT.state.incarnation) then
  local now = redis.call('TIME')
  setState(LAYOUT.state.incarnation, now[1] .. string.format('%06d', tonumber(now[2])))
end

flushAdditions()
if rare then rare.save() end
local stateWrites, stateDeletes = {}, {}
for field in pairs(stateChanged) do
  if stateFields[field] == '' then
    stateDeletes[#stateDeletes + 1] = field
  else
    stateWrites[#stateWrites + 1] = field
    stateWrites[#stateWrites + 1] = stateFields[field]
  end
end
-- The window and its index first of the writes: Redis keeps what a script wrote before a command of it fails, and APPEND
-- and the index's commands are those here a user of an older ACL line lacks (added 2026-12-07). Refused, the call has
-- written nothing of the state (at most an index ahead of its window, see updateIndex), and its events are judged again
-- once the user may; written last, the events were counted and their eventIds forgotten, and the next call took them for
-- redeliveries (an outside tester, 2026-12-07).
-- The window is written whole when its front was cut (at most once per customer and arrival hour) or while it is short;
-- a long one only gets its new records appended (LAYOUT.seen.appendFromBytes says why).
if windowBytes then
  local newRecords = table.concat(added, '', addedFrom, #added)
  updateIndex(newRecords)
  if seenFrom == 1 and windowBytes >= SEEN_APPEND_FROM_BYTES then
    if newRecords ~= '' then redis.call('APPEND', seenKey, newRecords) end
  elseif seenFrom > 1 or newRecords ~= '' then
    saveBlob(seenKey, string.sub(seen, seenFrom) .. newRecords)
  end
end
if #stateWrites > 0 then redis.call('HSET', stateKey, unpack(stateWrites)) end
if #stateDeletes > 0 then redis.call('HDEL', stateKey, unpack(stateDeletes)) end
if act and act.changed then saveBlob(actKey, joinLines(act)) end
if ent and ent.changed then saveBlob(entKey, joinLines(ent)) end
return results
