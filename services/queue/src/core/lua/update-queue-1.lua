--[[
  update-queue: creates a queue if needed and sets its settings.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  queue name
  ARGV[2...] field/value pairs to set on the queue's meta hash: paused (1/0),
           lim, klim, maxn, vt (ms)
  Touches: queues, q|<queue>|meta.
  Returns: 1.
]]
-- @include "queue-state"

local base = KEYS[1]
local q = ARGV[1]
redis.call("ZADD", base .. "queues", "NX", 0, q)
if #ARGV > 1 then
  local pairs_ = {}
  for i = 2, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call("HSET", key_meta(base, q), unpack(pairs_))
end
return 1
