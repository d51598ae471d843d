--[[
  enqueue: stores a batch of messages of one environment, idempotently by id.
  KEYS[1]  environment base "<ns>:{<env>}:" (every key below is built from it)
  ARGV[1]  now, ms since the Unix epoch
  ARGV[2]  number of messages n
  ARGV[3]  pub/sub channel that tells other replicas of the service, "" for none
  ARGV[4]  message to publish on it when at least one message was stored
  ARGV[5]  hand-off terms, "" for none: a consumer the service knows is waiting
           that may take the message at once (one message only), joined by \31:
           consumer id, delivery token, free cpu (-1: no limit), free memory GB
           (-1: no limit), visibility timeout ms (0: the queue's), default
           visibility timeout ms, default concurrency limit, key share percent
  ARGV[6 ...] the messages, packed (enqueue-packing.ts), each argument holding
           whole messages; per message, read by struct.unpack(MESSAGE): id, queue,
           concurrency key, priority, available-at ms, cpu, memory GB (as text), the
           payload, and the header, which holds what only the service reads back
           (run, task, attempt, enqueued-at, priority, cpu, memory, labels JSON joined
           by \31) so a delivery returns it whole
  Touches: m|<id>, queues, active, delayed, q|<queue>|{meta,keys,k|<key>,all};
  with hand-off terms also env, vis, q|<queue>|kin.
  Publishes ARGV[4] on ARGV[3] when it stored anything ready or delayed, so other
  replicas hear of it in the same atomic step as the write.
  Returns: one integer per message, 1 when the id was already stored (left as it
  was), 0 when stored now; then the PUBLISH reply (subscribers that got the
  message), or -1 when nothing was published; then, when the message was handed
  to the consumer, its delivery as deliver-1.lua returns one (payload, header,
  joined rest).
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])

-- Hands a new message that is ready now straight to a waiting consumer, stored
-- in flight as deliver-1.lua would leave it, when a delivery script run next
-- would give the consumer this very message: its queue has no other message
-- ready (so no older or higher-priority one is passed over), is not paused, has
-- room under the environment's, the queue's and the concurrency key's limits,
-- and the message fits the consumer's free resources. Saves the ready writes,
-- the delivery script and their undoing. Returns the delivery, or nil when the
-- message is to be stored ready as usual.
local function hand_off(spec, id, mkey, q, ck, av, cpu, mem, payload, header, pr)
  local t = split(spec)
  if not fits_in(tonumber(cpu) or 0, tonumber(mem) or 0, tonumber(t[3]), tonumber(t[4])) then return nil end
  if redis.call("EXISTS", key_all(base, q)) == 1 then return nil end
  local env = redis.call("HMGET", base .. "env", "lim", "inflight")
  local env_limit = tonumber(env[1] or "0") or 0
  local env_inflight = tonumber(env[2] or "0") or 0
  if env_limit > 0 and env_inflight >= env_limit then return nil end
  local meta = redis.call("HMGET", key_meta(base, q), "paused", "lim", "klim", "inflight", "vt", "vc")
  if meta[1] == "1" then return nil end
  local limit = tonumber(meta[2] or t[7]) or 0
  local inflight = tonumber(meta[4] or "0") or 0
  if limit > 0 and inflight >= limit then return nil end
  if ck ~= "" then
    local klim = key_limit_of(meta[3], limit, tonumber(t[8]))
    if klim > 0 and (tonumber(redis.call("HGET", key_kin(base, q), ck) or "0") or 0) >= klim then return nil end
    redis.call("HINCRBY", key_kin(base, q), ck, 1)
  end
  local vt = visibility_of(tonumber(t[5]), meta[5], tonumber(t[6]))
  local vu = now + vt
  local token = t[2]
  redis.call("HSET", mkey, "q", q, "ck", ck, "p", payload, "pr", pr, "av", av,
    "cpu", cpu, "mem", mem, "h", header, "n", 0, "dc", 1, "st", "f",
    "tok", token, "con", t[1], "vu", vu, "dat", now, "vt", vt)
  -- The key's served count moves on as a delivery from its sub-queue would move it
  -- (the key joins at the queue's last served count, is served once and leaves).
  redis.call("HSET", key_meta(base, q), "inflight", inflight + 1, "vc", (tonumber(meta[6] or "0") or 0) + 1)
  redis.call("HSET", base .. "env", "inflight", env_inflight + 1)
  redis.call("ZADD", base .. "vis", vu, id)
  return { payload, header, delivery_info(id, q, ck, av, 0, token, 1, vu) }
end
local n = tonumber(ARGV[2])
local channel = ARGV[3]
local terms = ARGV[5]
local stored = 0
local handed
local out = {}
local batch = ready_batch()
local delayed = {}
local delayed_by_queue = {}
local seen_queues = {}
-- Big-endian: 16-bit length and bytes of id, queue and key; priority (int32);
-- available-at (double); cpu and memory (16-bit length and text); payload and header
-- (32-bit length and bytes). struct.unpack returns the next position last.
local MESSAGE = ">Hc0Hc0Hc0i4dHc0Hc0I4c0I4c0"
local g, group, pos = 6, ARGV[6], 1
for i = 1, n do
  if pos > #group then
    g = g + 1
    group, pos = ARGV[g], 1
  end
  local id, q, ck, pr, av, cpu, mem, payload, header
  id, q, ck, pr, av, cpu, mem, payload, header, pos = struct.unpack(MESSAGE, group, pos)
  local mkey = key_msg(base, id)
  if redis.call("EXISTS", mkey) == 1 then
    out[i] = 1
  else
    local st = "r"
    if av > now then st = "d" end
    if st == "r" and n == 1 and terms ~= "" then
      handed = hand_off(terms, id, mkey, q, ck, av, cpu, mem, payload, header, pr)
    end
    if not handed then
      redis.call("HSET", mkey, "q", q, "ck", ck, "p", payload, "pr", pr, "av", av,
        "cpu", cpu, "mem", mem, "h", header, "n", 0, "dc", 0, "st", st)
    end
    if not seen_queues[q] then
      redis.call("ZADD", base .. "queues", "NX", 0, q)
      seen_queues[q] = true
    end
    if handed then
      -- In flight already: nothing to make ready.
    elseif st == "d" then
      delayed[#delayed + 1] = av
      delayed[#delayed + 1] = id
      delayed_by_queue[q] = (delayed_by_queue[q] or 0) + 1
    else
      make_ready_in(batch, base, id, q, ck, pr, av)
    end
    out[i] = 0
    stored = stored + 1
  end
end
flush_ready(batch, base)
for i = 1, #delayed, 500 do
  redis.call("ZADD", base .. "delayed", unpack(delayed, i, math.min(i + 499, #delayed)))
end
for q, count in pairs(delayed_by_queue) do
  redis.call("HINCRBY", key_meta(base, q), "delayed", count)
end
local receivers = -1
if stored > 0 and not handed and channel ~= "" then receivers = redis.call("PUBLISH", channel, ARGV[4]) end
out[n + 1] = receivers
if handed then out[n + 2] = handed end
return out
