/*
 * The Lua scripts of the Redis incident store (redis-incidents.ts has the key layout). Numbers arrive as the
 * strings JavaScript wrote and are stored as such: Lua compares them with tonumber() but never formats one
 * (cjson and tostring would round a millisecond time). Missing hash fields come back as false.
 */

const COMMON = `
local p = ARGV[1]
local function ik(id) return p .. ':inc:' .. id end
local function push_event(id, json, etype, at)
  redis.call('RPUSH', ik(id) .. ':ev', json)
  local f = 'last:' .. etype
  local cur = redis.call('HGET', ik(id), f)
  if (not cur) or tonumber(at) > tonumber(cur) then redis.call('HSET', ik(id), f, at) end
end
local function move_state(id, score, from, to)
  if from == to then return end
  redis.call('ZREM', p .. ':idx:state:' .. from, id)
  redis.call('ZADD', p .. ':idx:state:' .. to, score, id)
  if to == 'closed' then redis.call('ZREM', p .. ':idx:active', id) end
end
`

/**
 * The engine's writes of one batch, atomically. ARGV: prefix, flush id, ops JSON, fences JSON ([{k, t}]: a lease
 * key and the token it must hold). A write whose fence (`f`, 1-based) does not hold is refused; returns how many
 * were. A flush id already applied (a retry after the reply was lost) applies nothing, so a retried batch does not
 * append its events twice.
 */
export const APPLY_LUA = `${COMMON}
if ARGV[2] ~= '' then
  if not redis.call('SET', p .. ':flush:' .. ARGV[2], '1', 'NX', 'EX', '600') then return 0 end
end
local ops = cjson.decode(ARGV[3])
local held = {}
for i, f in ipairs(cjson.decode(ARGV[4] or '[]')) do held[i] = redis.call('GET', f.k) == f.t end
local refused = 0
for _, o in ipairs(ops) do
  local k = o.id and ik(o.id)
  if o.f and not held[o.f] then
    refused = refused + 1
  elseif o.t == 'hold' then
    redis.call('HSET', p .. ':hold:' .. o.s, o.r, o.j)
  elseif o.t == 'create' then
    if redis.call('EXISTS', k) == 0 then
      redis.call('HSET', k, unpack(o.fields))
      for _, z in ipairs({'all', 'active', 'state:' .. o.state, 'sev:' .. o.sev, 'rule:' .. o.rule}) do redis.call('ZADD', p .. ':idx:' .. z, o.raised, o.id) end
      for _, d in ipairs(o.devs) do redis.call('ZADD', p .. ':idx:dev:' .. d, o.raised, o.id) end
      push_event(o.id, o.ev, o.et, o.at)
    end
  elseif o.t == 'update' then
    local h = redis.call('HMGET', k, 'raisedAt', 'state', 'severity', 'peakLevel', 'peakValue', 'acknowledgedAt')
    if h[1] then
      local level = tonumber(o.level)
      local sets = {'level', o.level, 'title', o.title, 'severity', o.sev, 'updatedAt', o.at}
      local function set(f, v) sets[#sets + 1] = f; sets[#sets + 1] = v end
      -- as the SQLite UPDATE: peak value compared against the peak level before this change
      if level >= tonumber(h[4]) then set('peakLevel', o.level) end
      if o.value == '' then
        redis.call('HDEL', k, 'lastValue')
      else
        set('lastValue', o.value)
        local v = tonumber(o.value)
        if (not h[5]) or (level >= tonumber(h[4]) and math.abs(v) > math.abs(tonumber(h[5]))) then set('peakValue', o.value) end
      end
      local acked = h[6] and not o.reopen
      if o.reopen then redis.call('HDEL', k, 'acknowledgedAt', 'acknowledgedBy', 'ackNote') end
      if o.cleared then set('clearedAt', o.at) end
      if o.action == '' then redis.call('HDEL', k, 'action') elseif o.action then set('action', o.action) end
      local state
      if o.cleared and acked then state = 'closed'; set('closedAt', o.at)
      elseif o.cleared then state = 'cleared'
      elseif o.reopen or not h[6] then state = 'open'
      else state = 'acknowledged' end
      set('state', state)
      redis.call('HSET', k, unpack(sets))
      move_state(o.id, h[1], h[2], state)
      if h[3] ~= o.sev then
        redis.call('ZREM', p .. ':idx:sev:' .. h[3], o.id)
        redis.call('ZADD', p .. ':idx:sev:' .. o.sev, h[1], o.id)
      end
      push_event(o.id, o.ev, o.et, o.at)
    end
  elseif o.t == 'touch' then
    local h = redis.call('HMGET', k, 'raisedAt', 'updatedAt', 'peakValue')
    if h[1] then
      -- several touches of one batch merged: the last value, the latest time, the worst value
      local w = tonumber(o.worst)
      local sets = {'lastValue', o.value}
      if tonumber(o.at) > tonumber(h[2]) then sets[3] = 'updatedAt'; sets[4] = o.at end
      if (not h[3]) or (o.above and w > tonumber(h[3])) or ((not o.above) and w < tonumber(h[3])) then sets[#sets + 1] = 'peakValue'; sets[#sets + 1] = o.worst end
      redis.call('HSET', k, unpack(sets))
    end
  elseif o.t == 'device' then
    local h = redis.call('HMGET', k, 'raisedAt', 'deviceIds')
    if h[1] then
      local ids = cjson.decode(h[2])
      local found = false
      for _, d in ipairs(ids) do if d == o.d then found = true end end
      if not found then
        ids[#ids + 1] = o.d
        redis.call('HSET', k, 'deviceIds', cjson.encode(ids))
        redis.call('ZADD', p .. ':idx:dev:' .. o.d, h[1], o.id)
      end
    end
  elseif o.t == 'event' then
    if redis.call('EXISTS', k) == 1 then push_event(o.id, o.ev, o.et, o.at) end
  end
end
return refused
`

/**
 * The operator's acknowledgement. ARGV: prefix, id, by, note, has note ('1'/'0'), at, and optionally the name an
 * anonymous acknowledger claimed (only in the event, as claimedBy). Returns 0 when there is no such incident, 1
 * otherwise (an incident already acknowledged or closed is left as it is).
 */
export const ACK_LUA = `${COMMON}
local id, by, note, has_note, at, claimed = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6], ARGV[7]
local k = ik(id)
local h = redis.call('HMGET', k, 'raisedAt', 'state', 'acknowledgedAt', 'level')
if not h[1] then return 0 end
if h[2] == 'closed' or h[3] then return 2 end
local closes = h[2] == 'cleared'
local state = closes and 'closed' or 'acknowledged'
local sets = {'acknowledgedAt', at, 'acknowledgedBy', by, 'updatedAt', at, 'state', state}
if has_note then sets[#sets + 1] = 'ackNote'; sets[#sets + 1] = note end
if closes then sets[#sets + 1] = 'closedAt'; sets[#sets + 1] = at end
redis.call('HSET', k, unpack(sets))
move_state(id, h[1], h[2], state)
local ev = '{"at":' .. at .. ',"type":"acknowledged","level":' .. h[4] .. ',"value":null,"by":' .. cjson.encode(by)
if claimed then ev = ev .. ',"claimedBy":' .. cjson.encode(claimed) end
if has_note then ev = ev .. ',"note":' .. cjson.encode(note) end
push_event(id, ev .. '}', 'acknowledged', at)
if closes then push_event(id, '{"at":' .. at .. ',"type":"closed","level":0,"value":null}', 'closed', at) end
return 1
`

/**
 * Incident ids matching a list query. ARGV: prefix, min score, max score, limit, number of severities, the
 * severities worst first, then the filter index keys. Per severity, the index with the fewest ids in range drives
 * (raisedAt order) and the others are probed with ZSCORE.
 */
export const LIST_LUA = `
local p, min, max, limit, nsev = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local filters = {}
for i = 6 + nsev, #ARGV do filters[#filters + 1] = ARGV[i] end
local out = {}
for s = 6, 5 + nsev do
  local keys = {p .. ':idx:sev:' .. ARGV[s]}
  for _, f in ipairs(filters) do keys[#keys + 1] = f end
  local best, bestn = 1, nil
  for i, key in ipairs(keys) do
    local n = redis.call('ZCOUNT', key, min, max)
    if bestn == nil or n < bestn then best, bestn = i, n end
  end
  local offset = 0
  while bestn > 0 and #out < limit do
    local ids = redis.call('ZRANGEBYSCORE', keys[best], min, max, 'LIMIT', offset, 256)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      local ok = true
      for i, key in ipairs(keys) do
        if i ~= best and not redis.call('ZSCORE', key, id) then ok = false; break end
      end
      if ok then out[#out + 1] = id; if #out >= limit then break end end
    end
    offset = offset + 256
  end
  if #out >= limit then break end
end
return out
`
