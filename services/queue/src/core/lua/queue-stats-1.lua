--[[
  queue-stats: settings and numbers of queues of one environment, read atomically.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  number of queue names n
  ARGV[2...] queue names
  Touches (reads): queues, q|<queue>|{meta,all,dead,acks}.
  Returns: per queue { exists 0/1, paused, lim, klim, maxn, vt, inflight, delayed,
  ready count, dead count, oldest ready ms or 0, flat acks reason/count }.
]]
-- @include "queue-state"

local base = KEYS[1]
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local q = ARGV[1 + i]
  local exists = 0
  if redis.call("ZSCORE", base .. "queues", q) then exists = 1 end
  local meta = redis.call("HMGET", key_meta(base, q), "paused", "lim", "klim", "maxn", "vt", "inflight", "delayed")
  local head = redis.call("ZRANGE", key_all(base, q), 0, 0, "WITHSCORES")
  local oldest = 0
  if head[1] then oldest = tonumber(head[2]) end
  out[i] = {
    exists, meta[1] or "", meta[2] or "", meta[3] or "", meta[4] or "", meta[5] or "",
    meta[6] or "0", meta[7] or "0",
    redis.call("ZCARD", key_all(base, q)), redis.call("ZCARD", key_dead(base, q)), oldest,
    redis.call("HGETALL", key_acks(base, q)),
  }
end
return out
