--[[
  enqueue: stores a batch of messages of one environment, idempotently by id.
  KEYS[1]  environment base "<ns>:{<env>}:" (every key below is built from it)
  ARGV[1]  now, ms since the Unix epoch
  ARGV[2]  number of messages n
  ARGV[3]  pub/sub channel that tells other replicas of the service, "" for none
  ARGV[4]  message to publish on it when at least one message was stored
  ARGV[5 ...] the messages, packed (enqueue-packing.ts), each argument holding
           whole messages; per message, read by struct.unpack(MESSAGE): id, queue,
           concurrency key, priority, available-at ms, cpu, memory GB (as text), the
           payload, and the header, which holds what only the service reads back
           (run, task, attempt, enqueued-at, priority, cpu, memory, labels JSON joined
           by \31) so a delivery returns it whole
  Touches: m|<id>, queues, active, delayed, q|<queue>|{meta,keys,k|<key>,all}.
  Publishes ARGV[4] on ARGV[3] when it stored anything, so other replicas hear of
  it in the same atomic step as the write.
  Returns: one integer per message, 1 when the id was already stored (left as it
  was), 0 when stored now; then the PUBLISH reply (subscribers that got the
  message), or -1 when nothing was published.
]]
-- @include "queue-state"

local base = KEYS[1]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local channel = ARGV[3]
local stored = 0
local out = {}
local batch = ready_batch()
local delayed = {}
local delayed_by_queue = {}
local seen_queues = {}
-- Big-endian: 16-bit length and bytes of id, queue and key; priority (int32);
-- available-at (double); cpu and memory (16-bit length and text); payload and header
-- (32-bit length and bytes). struct.unpack returns the next position last.
local MESSAGE = ">Hc0Hc0Hc0i4dHc0Hc0I4c0I4c0"
local g, group, pos = 5, ARGV[5], 1
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
    redis.call("HSET", mkey, "q", q, "ck", ck, "p", payload, "pr", pr, "av", av,
      "cpu", cpu, "mem", mem, "h", header, "n", 0, "dc", 0, "st", st)
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
if stored > 0 and channel ~= "" then receivers = redis.call("PUBLISH", channel, ARGV[4]) end
out[n + 1] = receivers
return out
