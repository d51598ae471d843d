--[[
  dead-letters: one page of a queue's dead-letter set, oldest first.
  KEYS[1]  environment base "<ns>:{<env>}:"
  ARGV[1]  queue name
  ARGV[2]  offset
  ARGV[3]  page size
  Touches (reads): q|<queue>|dead, m|<id>.
  Returns: { flat entries (9 fields each: id, key, payload, header, available-at,
  nacks, reason, detail, dead-at), more 0/1 }.
]]
-- @include "queue-state"

local base = KEYS[1]
local q = ARGV[1]
local offset = tonumber(ARGV[2])
local size = tonumber(ARGV[3])
local ids = redis.call("ZRANGE", key_dead(base, q), offset, offset + size)
local out = {}
local more = 0
for i, id in ipairs(ids) do
  if i > size then
    more = 1
  else
    local m = redis.call("HMGET", key_msg(base, id), "ck", "p", "h", "av", "n", "dr", "nd", "dt")
    out[#out + 1] = id
    for j = 1, 8 do out[#out + 1] = m[j] or "" end
  end
end
return { out, more }
