--[[
  acknowledge: settles delivered messages of one environment with a reason.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id the deliveries were made to
  ARGV[3]  ms an acknowledged delivery is remembered, so a second acknowledgement is
           answered "already acknowledged" rather than "unknown"
  ARGV[4]  1 to return each message's header and delivery time (for lifecycle logs), else 0
  ARGV[5]  number of items n
  ARGV[6 ...] per item: "message id, delivery token, reason number" joined by \31
  Touches: m|<id>, vis, acked, env, q|<queue>|{meta,kin,acks}.
  Returns: flat, per item: code, queue, and (when asked) header and delivered-at
  joined by \31; code 1 applied, -1 unknown or stale receipt, -2 already
  acknowledged, -3 delivered to another consumer. Last, one more element: 1 when the
  environment or a queue touched has a concurrency limit (freed capacity may let a
  waiting consumer go on), else 0.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local consumer = ARGV[2]
local keep = tonumber(ARGV[3])
local details = ARGV[4] == "1"
local n = tonumber(ARGV[5])
local out = {}
local done_ids = {}
local remembered = {}
local per_queue = {}
local per_key = {}
local per_reason = {}
for i = 1, n do
  local f = split(ARGV[5 + i])
  local id, token, reason = f[1], f[2], f[3]
  local mkey = key_msg(base, id)
  local m = redis.call("HMGET", mkey, "st", "tok", "con", "q", "ck", "h", "dat")
  local code = check_delivery(base, id, m[1], m[2], m[3], token, consumer)
  if code == 1 then
    local q, ck = m[4], m[5]
    redis.call("DEL", mkey)
    done_ids[#done_ids + 1] = id
    remembered[#remembered + 1] = now + keep
    remembered[#remembered + 1] = id .. "|" .. token
    per_queue[q] = (per_queue[q] or 0) + 1
    if ck ~= "" then
      local k = per_key[q]
      if not k then
        k = {}
        per_key[q] = k
      end
      k[ck] = (k[ck] or 0) + 1
    end
    local rq = q .. "|" .. reason
    local r = per_reason[rq]
    if not r then
      r = { q, reason, 0 }
      per_reason[rq] = r
    end
    r[3] = r[3] + 1
  end
  out[#out + 1] = code
  out[#out + 1] = m[4] or ""
  if details and code == 1 then
    out[#out + 1] = m[6] .. "\31" .. m[7]
  else
    out[#out + 1] = ""
  end
end
-- Counters and indexes once per batch, not once per message.
if #done_ids > 0 then
  for i = 1, #done_ids, 500 do
    redis.call("ZREM", base .. "vis", unpack(done_ids, i, math.min(i + 499, #done_ids)))
  end
  for i = 1, #remembered, 500 do
    redis.call("ZADD", base .. "acked", unpack(remembered, i, math.min(i + 499, #remembered)))
  end
  redis.call("ZREMRANGEBYSCORE", base .. "acked", "-inf", now)
  for q, count in pairs(per_queue) do
    redis.call("HINCRBY", key_meta(base, q), "inflight", -count)
  end
  for q, keys in pairs(per_key) do
    local kin = key_kin(base, q)
    for ck, count in pairs(keys) do
      if redis.call("HINCRBY", kin, ck, -count) <= 0 then redis.call("HDEL", kin, ck) end
    end
  end
  for _, r in pairs(per_reason) do
    redis.call("HINCRBY", key_acks(base, r[1]), r[2], r[3])
  end
  redis.call("HINCRBY", base .. "env", "inflight", -#done_ids)
end
local limited = 0
if #done_ids > 0 then
  if (tonumber(redis.call("HGET", base .. "env", "lim") or "0") or 0) > 0 then limited = 1 end
  for q in pairs(per_queue) do
    if (tonumber(redis.call("HGET", key_meta(base, q), "lim") or "0") or 0) > 0 then limited = 1 end
  end
end
out[#out + 1] = limited
return out
