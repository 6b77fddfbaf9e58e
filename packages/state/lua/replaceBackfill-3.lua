--[[
  Replaces a customer's back-filled score history (npm run backfill) with new points, if the customer is still
  scored and is the one the back-fill was computed for. Checking in the same script as the write keeps a back-fill
  computed before an erasure request from writing the customer's data again after the erasure deleted it: when
  the customer has no score (erased, or never scored), or when its state was created after the replay the points
  were computed from began (erased and created again by later events since: the replay may not hold the erasure
  request, so the points may be of erased data).

  Input:
    KEYS[KEY.score]     hash  the stored score: the customer is known to the store
    KEYS[KEY.backfill]  list  the back-filled points, oldest first (each in a score history entry's form)
    KEYS[KEY.state]     hash  the state: its incarnation (LAYOUT.state.incarnation) is when it was created

    ARGV[ARG.replayBegan]   Redis's TIME in microseconds, digits only, no later than the replay's start
    ARGV[FIRST_EXTRA_ARG…]  the new points, oldest first; none deletes the back-fill

  Output:
    REPLY.written when the points were written (or the back-fill deleted); REPLY.notScored when the customer has no
    score and REPLY.createdSinceReplay when its state was created after ARGV[ARG.replayBegan]: nothing written
]]
local backfillKey = KEYS[KEY.backfill]
redis.call('DEL', backfillKey)
if redis.call('EXISTS', KEYS[KEY.score]) == 0 then return REPLY.notScored end
-- A state stored before the incarnation stamp has none: it cannot have been created again since without one.
local born = redis.call('HGET', KEYS[KEY.state], LAYOUT.state.incarnation)
if born and tonumber(born) > tonumber(ARGV[ARG.replayBegan]) then return REPLY.createdSinceReplay end
if #ARGV >= FIRST_EXTRA_ARG then redis.call('RPUSH', backfillKey, unpack(ARGV, FIRST_EXTRA_ARG)) end
return REPLY.written
