--[[
  nack: gives delivered messages of one environment back to their queue, or
  dead-letters them once they reach the queue's max nacks.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id the deliveries were made to
  ARGV[3]  default max nacks of a queue without its own
  ARGV[4]  number of items n
  ARGV[5 + 4*(i-1) ...] per item: message id, delivery token, retry-at ms, detail
  Touches: m|<id>, vis, env, delayed, active, q|<queue>|{meta,kin,keys,k|<key>,all,dead,acks}.
  Returns: per item { code, queue, nack count, dead-lettered 0/1, header }, codes as
  in acknowledge.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local consumer = ARGV[2]
local default_max = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local o = 4 + 4 * (i - 1)
  local id, token, retry_at, detail = ARGV[o + 1], ARGV[o + 2], tonumber(ARGV[o + 3]), ARGV[o + 4]
  local mkey = key_msg(base, id)
  local m = redis.call("HMGET", mkey, "st", "tok", "con", "q", "ck", "pr", "n", "h")
  local code = check_delivery(base, id, m[1], m[2], m[3], token, consumer)
  local nacks, dead = 0, 0
  if code == 1 then
    local q, ck = m[4], m[5]
    nacks = (tonumber(m[7]) or 0) + 1
    local max_nacks = tonumber(redis.call("HGET", key_meta(base, q), "maxn") or default_max) or default_max
    redis.call("ZREM", base .. "vis", id)
    release_slots(base, q, ck, 1)
    redis.call("HSET", mkey, "n", nacks, "nd", detail)
    redis.call("HDEL", mkey, "con", "vu")
    if nacks >= max_nacks then
      dead = 1
      redis.call("HSET", mkey, "st", "x", "dr", 6, "dt", now)
      redis.call("ZADD", key_dead(base, q), now, id)
      redis.call("HINCRBY", key_acks(base, q), 6, 1)
    elseif retry_at > now then
      redis.call("HSET", mkey, "st", "d", "av", retry_at)
      redis.call("ZADD", base .. "delayed", retry_at, id)
      redis.call("HINCRBY", key_meta(base, q), "delayed", 1)
    else
      -- Behind the messages already waiting at its priority, so a failing message
      -- does not block its key.
      redis.call("HSET", mkey, "av", now)
      make_ready(base, id, q, ck, tonumber(m[6]), now)
    end
  end
  out[i] = { code, m[4] or "", nacks, dead, m[8] or "" }
end
return out
