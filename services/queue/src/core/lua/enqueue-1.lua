--[[
  enqueue: stores a batch of messages of one environment, idempotently by id.
  KEYS[1]  environment base "<ns>:{<env>}:" (every key below is built from it)
  ARGV[1]  now, ms since the Unix epoch
  ARGV[2]  number of messages n
  ARGV[3 + 12*(i-1) ...] per message: id, queue, concurrency key, payload, priority,
           available-at ms, cpu, memory GB, run id, task id, attempt, labels JSON
  Touches: m|<id>, queues, active, delayed, q|<queue>|{meta,keys,k|<key>,all}.
  Returns: one integer per message, 1 when the id was already stored (left as it
  was), 0 when stored now.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
for i = 1, n do
  local o = 2 + 12 * (i - 1)
  local id = ARGV[o + 1]
  local mkey = key_msg(base, id)
  local st = redis.call("HGET", mkey, "st")
  if st and st ~= "a" then
    out[i] = 1
  else
    local q, ck, pr, av = ARGV[o + 2], ARGV[o + 3], tonumber(ARGV[o + 5]), tonumber(ARGV[o + 6])
    -- An acknowledged message's tombstone only guards its receipts; a new message may reuse the id.
    redis.call("DEL", mkey)
    redis.call("HSET", mkey, "q", q, "ck", ck, "p", ARGV[o + 4], "pr", pr, "enq", now, "av", av,
      "cpu", ARGV[o + 7], "mem", ARGV[o + 8], "run", ARGV[o + 9], "task", ARGV[o + 10],
      "att", ARGV[o + 11], "lab", ARGV[o + 12], "n", 0, "dc", 0)
    redis.call("ZADD", base .. "queues", "NX", 0, q)
    if av > now then
      redis.call("HSET", mkey, "st", "d")
      redis.call("ZADD", base .. "delayed", av, id)
      redis.call("HINCRBY", key_meta(base, q), "delayed", 1)
    else
      make_ready(base, id, q, ck, pr, av)
    end
    out[i] = 0
  end
end
return out
