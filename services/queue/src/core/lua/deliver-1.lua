--[[
  deliver: hands up to max messages of one environment to a consumer, fairly and
  within every concurrency limit, in one atomic step.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  now, ms
  ARGV[2]  consumer id
  ARGV[3]  nonce of this call; receipts' tokens are "<nonce>.<n>"
  ARGV[4]  max messages
  ARGV[5]  limits, joined by \31 (one argument: the same for most calls of a
           process, so the service sends it as one prebuilt string):
           free cpu of the consumer, -1 for no limit;
           free memory GB of the consumer, -1 for no limit;
           visibility timeout ms for these deliveries, 0 takes the queue's;
           default visibility timeout ms of a queue without its own;
           default concurrency limit of a queue without its own (0: none);
           share of a queue's limit a concurrency key gets when it has no limit of its own, percent
  ARGV[6]  random seed, 1 to 2147483646
  ARGV[7]  number of queue names that follow; 0 means every queue of the environment
  ARGV[8...] queue names
  Touches: env, active, delayed, vis, m|<id>, q|<queue>|{meta,kin,keys,k|<key>,all}.
  Returns: { flat deliveries (3 fields each: payload, header, and
  "id, queue, key, available-at, nacks, token, delivery count, visible-until" joined
  by \31), reclaimed "<id>\\31<header>" entries, next due ms (0: none), oldest ready ms of the
  environment (0: none) }.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local consumer = ARGV[2]
local nonce = ARGV[3]
local max = tonumber(ARGV[4])
local limits = {}
for part in string.gmatch(ARGV[5], "[^\31]+") do limits[#limits + 1] = tonumber(part) end
local free_cpu = limits[1]
local free_mem = limits[2]
local vt_override = limits[3]
local default_vt = limits[4]
local default_limit = limits[5]
local key_share = limits[6]
local seed = tonumber(ARGV[6])
local n_queues = tonumber(ARGV[7])

promote_due(base, now, 1000)
local reclaimed = reclaim_expired(base, now, 1000)

-- Park-Miller steps: deterministic inside the script, seeded per call by the caller.
local function random()
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
end

local env = redis.call("HMGET", base .. "env", "lim", "inflight")
local env_limit = tonumber(env[1] or "0") or 0
local env_spare = max
if env_limit > 0 then env_spare = env_limit - (tonumber(env[2] or "0") or 0) end

local names
if n_queues > 0 then
  names = {}
  for i = 1, n_queues do names[i] = ARGV[7 + i] end
else
  names = redis.call("ZRANGE", base .. "active", 0, -1)
end

-- Candidates weighted as MarQS's fair strategy does: older heads and more spare
-- capacity weigh more.
local cands = {}
for _, q in ipairs(names) do
  local oldest = redis.call("ZSCORE", base .. "active", q)
  if oldest then
    local meta = redis.call("HMGET", key_meta(base, q), "paused", "lim", "klim", "inflight", "vt")
    if meta[1] ~= "1" then
      local limit = tonumber(meta[2] or default_limit) or 0
      local spare = max
      if limit > 0 then spare = limit - (tonumber(meta[4] or "0") or 0) end
      if spare > 0 then
        local age = now - tonumber(oldest) + 1
        if age < 1 then age = 1 end
        local weight = age
        if limit > 0 then weight = age * spare / limit end
        local klim = key_limit_of(meta[3], limit, key_share)
        local vt = visibility_of(vt_override, meta[5], default_vt)
        cands[#cands + 1] = { q = q, spare = spare, weight = weight, klim = klim, vt = vt }
      end
    end
  end
end

local out = {}
local seq = 0
local total = 0

local function fits(cpu, mem)
  return fits_in(cpu, mem, free_cpu, free_mem)
end

local vis = {}

-- Delivers up to room messages of one concurrency key, skipping those that do not
-- fit the consumer's free resources (looking a little past them). Removals from the
-- key's sub-queue are one command per key; the caller removes them from the age index.
local function deliver_from_key(c, ck, room, taken)
  local kz = key_key(base, c.q, ck)
  local ids = redis.call("ZRANGE", kz, 0, room + 15)
  local got = {}
  for _, id in ipairs(ids) do
    if #got >= room then break end
    local mkey = key_msg(base, id)
    local m = redis.call("HMGET", mkey, "p", "h", "av", "n", "dc", "cpu", "mem")
    local cpu = tonumber(m[6]) or 0
    local mem = tonumber(m[7]) or 0
    if fits(cpu, mem) then
      if free_cpu >= 0 then free_cpu = free_cpu - cpu end
      if free_mem >= 0 then free_mem = free_mem - mem end
      seq = seq + 1
      local token = nonce .. "." .. seq
      local vu = now + c.vt
      local dc = (tonumber(m[5]) or 0) + 1
      redis.call("HSET", mkey, "st", "f", "tok", token, "con", consumer, "dc", dc, "vu", vu, "dat", now, "vt", c.vt)
      got[#got + 1] = id
      taken[#taken + 1] = id
      vis[#vis + 1] = vu
      vis[#vis + 1] = id
      local o = #out
      out[o + 1] = m[1]
      out[o + 2] = m[2]
      out[o + 3] = delivery_info(id, c.q, ck, m[3], m[4], token, dc, vu)
    end
  end
  if #got > 0 then redis.call("ZREM", kz, unpack(got)) end
  return #got
end

-- Round-robin over the queue's concurrency keys by served count, so a key with a
-- long backlog never holds back a key with a short one.
local function deliver_from_queue(c, take)
  local keys = key_keys(base, c.q)
  local kin = key_kin(base, c.q)
  local delivered = 0
  local offset = 0
  local taken = {}
  while delivered < take and offset < 1024 do
    local ks = redis.call("ZRANGE", keys, offset, offset + 63, "WITHSCORES")
    if #ks == 0 then break end
    local progress = 0
    local quantum = math.max(1, math.floor((take - delivered) / (#ks / 2)))
    for j = 1, #ks, 2 do
      if delivered >= take then break end
      local ck = ks[j]
      local room = math.min(quantum, take - delivered)
      if ck ~= "" and c.klim > 0 then
        room = math.min(room, c.klim - (tonumber(redis.call("HGET", kin, ck) or "0") or 0))
      end
      if room > 0 then
        local got = deliver_from_key(c, ck, room, taken)
        if got > 0 then
          delivered = delivered + got
          progress = progress + got
          if ck ~= "" then redis.call("HINCRBY", kin, ck, got) end
          local served = tonumber(ks[j + 1]) + got
          if redis.call("EXISTS", key_key(base, c.q, ck)) == 1 then
            redis.call("ZADD", keys, served, ck)
          else
            redis.call("ZREM", keys, ck)
          end
          redis.call("HSET", key_meta(base, c.q), "vc", served)
        end
      end
    end
    -- A window whose keys are all at their limit or do not fit: look further on.
    if progress == 0 then offset = offset + 64 else offset = 0 end
  end
  if delivered > 0 then
    for i = 1, #taken, 500 do
      redis.call("ZREM", key_all(base, c.q), unpack(taken, i, math.min(i + 499, #taken)))
    end
    redis.call("HINCRBY", key_meta(base, c.q), "inflight", delivered)
    refresh_active(base, c.q)
  end
  return delivered
end

while total < max and env_spare > 0 and #cands > 0 do
  local sum = 0
  for _, c in ipairs(cands) do sum = sum + c.weight end
  local r = random() * sum
  local pick = #cands
  for i, c in ipairs(cands) do
    r = r - c.weight
    if r <= 0 then pick = i break end
  end
  local c = cands[pick]
  local want = math.min(max - total, env_spare, c.spare, math.max(1, math.ceil((max - total) / #cands)))
  local got = deliver_from_queue(c, want)
  total = total + got
  env_spare = env_spare - got
  c.spare = c.spare - got
  if got < want or c.spare <= 0 then table.remove(cands, pick) end
end

if total > 0 then
  redis.call("HINCRBY", base .. "env", "inflight", total)
  for i = 1, #vis, 500 do
    redis.call("ZADD", base .. "vis", unpack(vis, i, math.min(i + 499, #vis)))
  end
end

local next_due = 0
local d = redis.call("ZRANGE", base .. "delayed", 0, 0, "WITHSCORES")
if d[1] then next_due = tonumber(d[2]) end
local v = redis.call("ZRANGE", base .. "vis", 0, 0, "WITHSCORES")
if v[1] and (next_due == 0 or tonumber(v[2]) < next_due) then next_due = tonumber(v[2]) end
local oldest = 0
local a = redis.call("ZRANGE", base .. "active", 0, 0, "WITHSCORES")
if a[1] then oldest = tonumber(a[2]) end
return { out, reclaimed, next_due, oldest }
