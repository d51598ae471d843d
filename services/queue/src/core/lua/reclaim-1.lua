--[[
  reclaim: the periodic sweep of one environment: requeues deliveries past their
  visibility timeout and makes due delayed messages ready.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  most messages to move of each kind
  Touches: m|<id>, vis, delayed, env, active, q|<queue>|{meta,kin,keys,k|<key>,all}.
  Returns: { reclaimed "<id>\31<header>" entries, promoted count, next due ms (0: none) }.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local promoted = promote_due(base, now, limit)
local reclaimed = reclaim_expired(base, now, limit)
local next_due = 0
local d = redis.call("ZRANGE", base .. "delayed", 0, 0, "WITHSCORES")
if d[1] then next_due = tonumber(d[2]) end
local v = redis.call("ZRANGE", base .. "vis", 0, 0, "WITHSCORES")
if v[1] and (next_due == 0 or tonumber(v[2]) < next_due) then next_due = tonumber(v[2]) end
return { reclaimed, promoted, next_due }
