--[[
  The fence. A caller passes the run_id(s) of the Redis server(s) it last synchronised with, ',' joined, or ''
  for none. A server with another run_id restarted, or is a replica promoted since, and may lack the caller's
  last writes (a replica's copy has the same keys, so the data cannot tell): a script writes nothing there.
  INFO server costs about 5 µs, once per call.
]]
local function fencedOff(fence)
  if fence == '' then return false end
  local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
  return not runId or not string.find(fence, runId, 1, true)
end
