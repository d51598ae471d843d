--[[
  heartbeat: extends the visibility timeout of delivered messages of one environment.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id the deliveries were made to
  ARGV[3]  extension ms from now; 0 takes each delivery's own visibility timeout
  ARGV[4]  number of items n
  ARGV[5 + 2*(i-1) ...] per item: message id, delivery token
  Touches: m|<id>, vis.
  Returns: per item { code, queue, visible-until ms, header }, codes as in acknowledge.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local consumer = ARGV[2]
local extend = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local o = 4 + 2 * (i - 1)
  local id, token = ARGV[o + 1], ARGV[o + 2]
  local mkey = key_msg(base, id)
  local m = redis.call("HMGET", mkey, "st", "tok", "con", "q", "vt", "h")
  local code = check_delivery(base, id, m[1], m[2], m[3], token, consumer)
  local vu = 0
  if code == 1 then
    local by = extend
    if by <= 0 then by = tonumber(m[5]) or 30000 end
    vu = now + by
    redis.call("HSET", mkey, "vu", vu)
    redis.call("ZADD", base .. "vis", vu, id)
  end
  out[i] = { code, m[4] or "", vu, m[6] or "" }
end
return out
