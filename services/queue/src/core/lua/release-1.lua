--[[
  release: gives deliveries back at once, without counting a nack (their consumer
  went away), at their original place in the queue.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id the deliveries were made to
  ARGV[3]  number of items n
  ARGV[4 + 2*(i-1) ...] per item: message id, delivery token
  Touches: m|<id>, vis, env, active, q|<queue>|{meta,kin,keys,k|<key>,all}.
  Returns: "<id>\31<header>" of each released delivery (the others had been settled).
]]
-- @include "queue-state"

local base = KEYS[1]
local consumer = ARGV[2]
local n = tonumber(ARGV[3])
local released = {}
for i = 1, n do
  local o = 3 + 2 * (i - 1)
  local id, token = ARGV[o + 1], ARGV[o + 2]
  local m = redis.call("HMGET", key_msg(base, id), "st", "tok", "con", "q", "ck", "pr", "av", "h")
  if check_delivery(base, id, m[1], m[2], m[3], token, consumer) == 1 then
    requeue_inflight(base, id, m[4], m[5], m[6], m[7])
    released[#released + 1] = id .. "\31" .. (m[8] or "")
  end
end
return released
