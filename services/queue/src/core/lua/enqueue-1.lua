--[[
  enqueue: stores a batch of messages of one environment, idempotently by id.
  KEYS[1]  environment base "<ns>:{<env>}:" (every key below is built from it)
  ARGV[1]  now, ms since the Unix epoch
  ARGV[2]  number of messages n
  ARGV[3 + 10*(i-1) ...] per message: id, queue, concurrency key, payload, priority,
           available-at ms, cpu, memory GB, header, labels JSON; the header holds the
           fields only the service reads back (run, task, attempt, enqueued-at,
           priority, cpu, memory joined by \31), so a delivery returns it whole
  Touches: m|<id>, queues, active, delayed, q|<queue>|{meta,keys,k|<key>,all}.
  Returns: one integer per message, 1 when the id was already stored (left as it
  was), 0 when stored now.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
local batch = ready_batch()
local delayed = {}
local delayed_by_queue = {}
local seen_queues = {}
for i = 1, n do
  local o = 2 + 10 * (i - 1)
  local id = ARGV[o + 1]
  local mkey = key_msg(base, id)
  if redis.call("EXISTS", mkey) == 1 then
    out[i] = 1
  else
    local q, ck, pr, av = ARGV[o + 2], ARGV[o + 3], tonumber(ARGV[o + 5]), tonumber(ARGV[o + 6])
    local st = "r"
    if av > now then st = "d" end
    redis.call("HSET", mkey, "q", q, "ck", ck, "p", ARGV[o + 4], "pr", pr, "av", av,
      "cpu", ARGV[o + 7], "mem", ARGV[o + 8], "h", ARGV[o + 9], "lab", ARGV[o + 10], "n", 0, "dc", 0, "st", st)
    if not seen_queues[q] then
      redis.call("ZADD", base .. "queues", "NX", 0, q)
      seen_queues[q] = true
    end
    if st == "d" then
      delayed[#delayed + 1] = av
      delayed[#delayed + 1] = id
      delayed_by_queue[q] = (delayed_by_queue[q] or 0) + 1
    else
      make_ready_in(batch, base, id, q, ck, pr, av)
    end
    out[i] = 0
  end
end
flush_ready(batch, base)
for i = 1, #delayed, 500 do
  redis.call("ZADD", base .. "delayed", unpack(delayed, i, math.min(i + 499, #delayed)))
end
for q, count in pairs(delayed_by_queue) do
  redis.call("HINCRBY", key_meta(base, q), "delayed", count)
end
return out
