--[[
  The fence. A caller passes the run_id(s) of the Redis server(s) it last synchronised with, ',' joined, or ''
  for none. A server with another run_id restarted, or is a replica promoted since, and may lack the caller's
  last writes (a replica's copy has the same keys, so the data cannot tell): a script writes nothing there.
  INFO server costs about 5 µs, once per call; each run_id is looked for in it as plain text, which costs less
  than matching a pattern over it.
]]
local function fencedOff(fence)
  if fence == '' then return false end
  local info = redis.call('INFO', 'server')
  for runId in string.gmatch(fence, '[^,]+') do
    if string.find(info, 'run_id:' .. runId .. '\r\n', 1, true) then return false end
  end
  return true
end
