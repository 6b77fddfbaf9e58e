--[[
  Replaces a customer's back-filled score history (npm run backfill) with new points, if the customer is still
  scored. Checking the score in the same script as the write keeps a back-fill that was computed before an
  erasure request from writing the customer's data again after the erasure deleted it.

  Input:
    KEYS[KEY.score]     hash  the stored score: the customer is known to the store
    KEYS[KEY.backfill]  list  the back-filled points, oldest first (each a score history entry's JSON)

    ARGV[FIRST_EXTRA_ARG…]  the new points, oldest first; none deletes the back-fill

  Output:
    1 when the points were written (or the back-fill deleted), 0 when the customer has no score: nothing written
]]
local backfillKey = KEYS[KEY.backfill]
redis.call('DEL', backfillKey)
if redis.call('EXISTS', KEYS[KEY.score]) == 0 then return 0 end
if #ARGV >= FIRST_EXTRA_ARG then redis.call('RPUSH', backfillKey, unpack(ARGV, FIRST_EXTRA_ARG)) end
return 1
