--[[
  redrive: puts dead-lettered messages of one queue back, their nack count reset.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  queue name
  ARGV[3]  most messages to move when no ids are given
  ARGV[4]  number of ids n; 0 takes the oldest dead letters
  ARGV[5...] message ids
  Touches: m|<id>, active, q|<queue>|{dead,keys,k|<key>,all}.
  Returns: { redriven ids }.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local q = ARGV[2]
local limit = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local dead = key_dead(base, q)
local ids
if n > 0 then
  ids = {}
  for i = 1, n do ids[i] = ARGV[4 + i] end
else
  ids = redis.call("ZRANGE", dead, 0, limit - 1)
end
local moved = {}
for _, id in ipairs(ids) do
  local mkey = key_msg(base, id)
  local m = redis.call("HMGET", mkey, "st", "q", "ck", "pr")
  if m[1] == "x" and m[2] == q then
    redis.call("ZREM", dead, id)
    redis.call("HDEL", mkey, "dr", "dt", "nd")
    redis.call("HSET", mkey, "n", 0, "av", now)
    make_ready(base, id, q, m[3], tonumber(m[4]), now)
    moved[#moved + 1] = id
  end
end
return moved
