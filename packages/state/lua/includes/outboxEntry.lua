--[[
  An outbox entry, {"seq":<seq>,"version":<version>,"value":<message JSON>}: seq first, so that acknowledging
  reads an entry's seq without parsing the message (most of its bytes). A score-changed message is stored
  without its explanation (LAYOUT.outboxEntry.omittedExplanation in its place), which is the stored one's.
]]
local OUTBOX_ENTRY_SEQ = '^{"' .. LAYOUT.outboxEntry.seq .. '":(%d+),'

local function outboxEntry(seq, version, message)
  return '{"' .. LAYOUT.outboxEntry.seq .. '":' .. seq .. ',"' .. LAYOUT.outboxEntry.version .. '":' .. version
    .. ',"' .. LAYOUT.outboxEntry.value .. '":' .. message .. '}'
end

local function outboxEntrySeq(entry)
  return tonumber(string.match(entry, OUTBOX_ENTRY_SEQ))
end

-- The entry with `explanation` (the stored JSON) in the place of an omitted one; an entry without one as it is.
local function withExplanation(entry, explanation)
  local from, to = string.find(entry, LAYOUT.outboxEntry.omittedExplanation, 1, true)
  if not from or not explanation then return entry end
  return string.sub(entry, 1, from - 1) .. LAYOUT.outboxEntry.explanationMember .. explanation .. string.sub(entry, to + 1)
end
