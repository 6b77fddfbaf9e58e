--[[
  An outbox entry, {"seq":<seq>,"version":<version>,"value":<message JSON>}: seq first, so that acknowledging
  reads an entry's seq without parsing the message (most of its bytes).
]]
local OUTBOX_ENTRY_SEQ = '^{"' .. LAYOUT.outboxEntry.seq .. '":(%d+),'

local function outboxEntry(seq, version, message)
  return '{"' .. LAYOUT.outboxEntry.seq .. '":' .. seq .. ',"' .. LAYOUT.outboxEntry.version .. '":' .. version
    .. ',"' .. LAYOUT.outboxEntry.value .. '":' .. message .. '}'
end

local function outboxEntrySeq(entry)
  return tonumber(string.match(entry, OUTBOX_ENTRY_SEQ))
end
