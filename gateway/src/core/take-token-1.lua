--[[
  Takes one token from a key's bucket (token bucket rate limit).

  KEYS[1]  the bucket hash: fields "tokens" (float) and "at" (ms of the last refill)
  ARGV[1]  refill rate, tokens per second
  ARGV[2]  burst: the bucket's capacity

  The clock is Redis's own TIME, so every gateway replica shares one bucket and
  one notion of now.

  Returns { allowed (1 or 0), milliseconds until a token is available (0 when allowed) }.
]]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end

-- Refill for the time passed, never past the capacity.
local elapsed = math.max(0, now - at)
tokens = math.min(burst, tokens + elapsed * rate / 1000)

local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end

redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "at", tostring(now))
-- An idle bucket refills completely in burst / rate seconds; after that it is
-- the same as no bucket, so it may expire.
redis.call("PEXPIRE", KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, wait }
