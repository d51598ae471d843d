--[[
  acknowledge: settles delivered messages of one environment with a reason.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id the deliveries were made to
  ARGV[3]  seconds an acknowledged message's tombstone is kept (it answers a second
           acknowledgement with "already acknowledged")
  ARGV[4]  number of items n
  ARGV[5 + 3*(i-1) ...] per item: message id, delivery token, reason number
  Touches: m|<id>, vis, env, q|<queue>|{meta,kin,acks}.
  Returns: per item { code, queue, enqueued-at, delivered-at, run id, task id }, code 1
  applied, -1 unknown or stale receipt, -2 already acknowledged, -3 delivered to
  another consumer.
]]
-- @include "queue-state"

local base = KEYS[1]
local consumer = ARGV[2]
local keep = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local o = 4 + 3 * (i - 1)
  local id, token, reason = ARGV[o + 1], ARGV[o + 2], ARGV[o + 3]
  local mkey = key_msg(base, id)
  local m = redis.call("HMGET", mkey, "st", "tok", "con", "q", "ck", "enq", "dat", "run", "task")
  local code = check_delivery(m[1], m[2], m[3], token, consumer)
  if code == 1 then
    redis.call("ZREM", base .. "vis", id)
    release_slots(base, m[4], m[5], 1)
    redis.call("HINCRBY", key_acks(base, m[4]), reason, 1)
    redis.call("DEL", mkey)
    redis.call("HSET", mkey, "st", "a", "tok", token, "con", consumer, "q", m[4])
    redis.call("EXPIRE", mkey, keep)
  end
  out[i] = { code, m[4] or "", m[6] or "0", m[7] or "0", m[8] or "", m[9] or "" }
end
return out
