--[[
  Shared pieces of the queue scripts: key names and the moves between the
  ready, delayed, in-flight and dead-letter states. Every key is built from the
  environment base (KEYS[1] of the calling script, "<ns>:{<env>}:"), so all of
  one environment's keys share a hash tag and one script never crosses slots.
  "|" separates parts because names may contain ":" but never "|".
]]
local function key_meta(base, q) return base .. "q|" .. q .. "|meta" end
local function key_acks(base, q) return base .. "q|" .. q .. "|acks" end
local function key_kin(base, q) return base .. "q|" .. q .. "|kin" end
local function key_keys(base, q) return base .. "q|" .. q .. "|keys" end
local function key_key(base, q, ck) return base .. "q|" .. q .. "|k|" .. ck end
local function key_all(base, q) return base .. "q|" .. q .. "|all" end
local function key_dead(base, q) return base .. "q|" .. q .. "|dead" end
local function key_msg(base, id) return base .. "m|" .. id end

-- Splits a string at "\31" (unit separator), which names, ids, tokens, numbers and
-- JSON text never contain.
local function split(s)
  local parts = {}
  local from = 1
  while true do
    local at = string.find(s, "\31", from, true)
    if not at then
      parts[#parts + 1] = string.sub(s, from)
      return parts
    end
    parts[#parts + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end

-- Milliseconds since 2020-01-01; keeps priority * 1e12 + time inside a double's exact range.
local EPOCH = 1577836800000

local function order_score(pr, av)
  local t = av - EPOCH
  if t < 0 then t = 0 end
  return (1000 - pr) * 1000000000000 + t
end

-- Whether needs fit free resources (a free amount below 0: no limit).
local function fits_in(cpu, mem, free_cpu, free_mem)
  return (free_cpu < 0 or cpu <= free_cpu + 1e-9) and (free_mem < 0 or mem <= free_mem + 1e-9)
end

-- A concurrency key's limit: the queue's setting, else its share of the queue's limit.
local function key_limit_of(klim_field, limit, key_share)
  local klim = tonumber(klim_field or "0") or 0
  if klim == 0 and limit > 1 then klim = math.max(1, math.floor(limit * key_share / 100)) end
  return klim
end

-- A delivery's visibility timeout: the consumer's, else the queue's, else the default.
local function visibility_of(override, vt_field, default_vt)
  if override > 0 then return override end
  return tonumber(vt_field or default_vt) or default_vt
end

-- The joined part of a delivery in a script's reply (read by message-codec.ts).
local function delivery_info(id, q, ck, av, nacks, token, dc, vu)
  return table.concat({ id, q, ck, av, nacks, token, dc, vu }, "\31")
end

-- Puts the oldest ready message's time of a queue on the environment's active set.
local function refresh_active(base, q)
  local head = redis.call("ZRANGE", key_all(base, q), 0, 0, "WITHSCORES")
  if head[1] then
    redis.call("ZADD", base .. "active", head[2], q)
  else
    redis.call("ZREM", base .. "active", q)
  end
end

-- Collects the writes that make messages ready, so a batch of n messages costs a
-- few multi-member commands instead of several commands per message.
local function ready_batch()
  return { zadds = {}, keys = {}, active = {} }
end

local function batch_zadd(batch, key, score, member)
  local list = batch.zadds[key]
  if not list then
    list = {}
    batch.zadds[key] = list
  end
  list[#list + 1] = score
  list[#list + 1] = member
end

-- Makes a message ready (once the batch is flushed): its key's sub-queue, the age
-- index, the key's fairness slot and the environment's active set. The caller sets
-- the message's state field itself.
local function make_ready_in(batch, base, id, q, ck, pr, av)
  batch_zadd(batch, key_key(base, q, ck), order_score(pr, av), id)
  batch_zadd(batch, key_all(base, q), av, id)
  batch.keys[q .. "|" .. ck] = { q, ck }
  local a = batch.active[q]
  if not a or av < a then batch.active[q] = av end
end

-- Writes a ready batch. A key that was idle joins the fairness order at the lowest
-- served score, so it neither jumps ahead of nor waits behind keys served meanwhile.
local function flush_ready(batch, base)
  for key, list in pairs(batch.zadds) do
    for i = 1, #list, 500 do
      redis.call("ZADD", key, unpack(list, i, math.min(i + 499, #list)))
    end
  end
  for _, qk in pairs(batch.keys) do
    local keys = key_keys(base, qk[1])
    if not redis.call("ZSCORE", keys, qk[2]) then
      local low = redis.call("ZRANGE", keys, 0, 0, "WITHSCORES")
      local start = 0
      if low[1] then
        start = tonumber(low[2])
      else
        start = tonumber(redis.call("HGET", key_meta(base, qk[1]), "vc") or "0")
      end
      redis.call("ZADD", keys, start, qk[2])
    end
  end
  for q, av in pairs(batch.active) do
    redis.call("ZADD", base .. "active", "LT", av, q)
  end
end

-- Makes one message ready at once (state included).
local function make_ready(base, id, q, ck, pr, av)
  local batch = ready_batch()
  make_ready_in(batch, base, id, q, ck, pr, av)
  flush_ready(batch, base)
  redis.call("HSET", key_msg(base, id), "st", "r")
end

-- Moves due delayed messages to ready. Returns how many moved.
local function promote_due(base, now, limit)
  local ids = redis.call("ZRANGE", base .. "delayed", "-inf", now, "BYSCORE", "LIMIT", 0, limit)
  for _, id in ipairs(ids) do
    local m = redis.call("HMGET", key_msg(base, id), "q", "ck", "pr", "av")
    redis.call("ZREM", base .. "delayed", id)
    if m[1] then
      redis.call("HINCRBY", key_meta(base, m[1]), "delayed", -1)
      make_ready(base, id, m[1], m[2], tonumber(m[3]), tonumber(m[4]))
    end
  end
  return #ids
end

-- Lowers the in-flight counters of a queue, its key and its environment.
local function release_slots(base, q, ck, n)
  redis.call("HINCRBY", key_meta(base, q), "inflight", -n)
  if ck ~= "" then
    local left = redis.call("HINCRBY", key_kin(base, q), ck, -n)
    if left <= 0 then redis.call("HDEL", key_kin(base, q), ck) end
  end
  redis.call("HINCRBY", base .. "env", "inflight", -n)
end

-- Gives an in-flight message back to its queue at its original place; the
-- receipt of the delivery stops working because the state is no longer "f".
local function requeue_inflight(base, id, m_q, m_ck, m_pr, m_av)
  redis.call("ZREM", base .. "vis", id)
  release_slots(base, m_q, m_ck, 1)
  redis.call("HDEL", key_msg(base, id), "con", "vu")
  make_ready(base, id, m_q, m_ck, tonumber(m_pr), tonumber(m_av))
end

-- Requeues deliveries whose visibility timeout passed. Returns "<id>\31<header>"
-- for each, so the service can log them with their run and task.
local function reclaim_expired(base, now, limit)
  local ids = redis.call("ZRANGE", base .. "vis", "-inf", now, "BYSCORE", "LIMIT", 0, limit)
  local out = {}
  for _, id in ipairs(ids) do
    local m = redis.call("HMGET", key_msg(base, id), "q", "ck", "pr", "av", "st", "h")
    if m[5] == "f" then
      requeue_inflight(base, id, m[1], m[2], m[3], m[4])
      out[#out + 1] = id .. "\31" .. (m[6] or "")
    else
      redis.call("ZREM", base .. "vis", id)
    end
  end
  return out
end

-- Checks that a receipt names the current delivery of a message to this consumer.
-- Returns 1 when it does, -1 unknown or stale, -2 already acknowledged, -3 another
-- consumer. Acknowledged deliveries are remembered for a while in the "acked" set as
-- "<id>|<token>" (see acknowledge-1.lua).
local function check_delivery(base, id, m_st, m_tok, m_con, token, consumer)
  if not m_st then
    if redis.call("ZSCORE", base .. "acked", id .. "|" .. token) then return -2 end
    return -1
  end
  if m_tok ~= token or m_st ~= "f" then return -1 end
  if m_con ~= consumer then return -3 end
  return 1
end
