-- Presence of one partition: members of its channels under leases of region instances, and
-- the partition's presence stream, in which every change is one entry (the order every
-- region delivers them in).
-- KEYS: 1 epoch, 2 presence stream, 3 presence counter, 4 leases hash, 5 channels with
--       members (set)
-- ARGV: 1 the epoch the caller believes in, 2 the prefix of the partition's keys ("{T}:"),
--       3 the stream's length bound (about), 4 the operation, then its arguments:
--   update then, in order: j INSTANCE CHANNEL MEMBER_ID MEMBER_JSON | l CHANNEL MEMBER_ID
--                                        -> {1 if a join was refused: its instance has no lease}
--   renew INSTANCE TTL_MS REAP(0|1)      -> {1 if the lease had to be made anew, 0 if renewed}
--   resync INSTANCE TTL_MS N (CHANNEL MEMBER_ID MEMBER_JSON)*N   (also renews the lease)
--   check INSTANCE N DIGEST              -> {1 if the instance has N members here with DIGEST}
--   release INSTANCE
-- Returns {0, current_epoch} when the epoch differs; otherwise {1, ...} as said above.
-- Keys of members: "{T}:m:<channel>" (hash member id -> member JSON) and "{T}:mi:<instance>"
-- (set of "<channel>\n<member id>"), under the partition's hash tag like every key here;
-- "{T}:md" (hash instance -> digest of its "<channel>\n<member id>" entries: their sum modulo
-- 2^32 of the first 32 bits of each one's SHA-1, kept as they come and go).
local prefix = ARGV[2]
local bound = tonumber(ARGV[3])
local digests = prefix .. 'md'
local function entry_hash(entry)
  return tonumber(string.sub(redis.sha1hex(entry), 1, 8), 16)
end
local function digest_by(instance, delta)
  local d = tonumber(redis.call('HGET', digests, instance) or '0')
  redis.call('HSET', digests, instance, string.format('%d', (d + delta) % 4294967296))
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function note(kind, channel, member_json)
  local position = redis.call('INCR', KEYS[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', bound, position .. '-0', 'k', kind, 'c', channel, 'm', member_json)
end
local function add(instance, channel, id, json)
  local members = prefix .. 'm:' .. channel
  if redis.call('HGET', members, id) == json then
    return
  end
  redis.call('HSET', members, id, json)
  local entry = channel .. '\n' .. id
  if redis.call('SADD', prefix .. 'mi:' .. instance, entry) == 1 then
    digest_by(instance, entry_hash(entry))
  end
  redis.call('SADD', KEYS[5], channel)
  note('j', channel, json)
end
local function remove(channel, id)
  local members = prefix .. 'm:' .. channel
  local json = redis.call('HGET', members, id)
  if not json then
    return
  end
  redis.call('HDEL', members, id)
  local instance = cjson.decode(json)['instance']
  local entry = channel .. '\n' .. id
  if redis.call('SREM', prefix .. 'mi:' .. instance, entry) == 1 then
    digest_by(instance, -entry_hash(entry))
  end
  if redis.call('HLEN', members) == 0 then
    redis.call('SREM', KEYS[5], channel)
  end
  note('l', channel, json)
end
local function remove_instance(instance)
  for _, entry in ipairs(redis.call('SMEMBERS', prefix .. 'mi:' .. instance)) do
    local at = string.find(entry, '\n', 1, true)
    remove(string.sub(entry, 1, at - 1), string.sub(entry, at + 1))
  end
  redis.call('DEL', prefix .. 'mi:' .. instance)
  redis.call('HDEL', KEYS[4], instance)
  redis.call('HDEL', digests, instance)
end

local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return {0, epoch or ''}
end
local op = ARGV[4]
if op == 'update' then
  -- A member exists only under a live lease, so that every member can be reaped: a join of
  -- an instance without one (it was reaped, or released at shutdown) is refused, and the
  -- instance adds it again with a resync once it holds a lease.
  local refused = 0
  local i = 5
  while i <= #ARGV do
    if ARGV[i] == 'j' then
      if redis.call('HEXISTS', KEYS[4], ARGV[i + 1]) == 1 then
        add(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
      else
        refused = 1
      end
      i = i + 5
    else
      remove(ARGV[i + 1], ARGV[i + 2])
      i = i + 3
    end
  end
  return {1, refused}
elseif op == 'renew' then
  local instance, ttl, reap = ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1'
  local now = now_ms()
  local made = redis.call('HGET', KEYS[4], instance) == false
  redis.call('HSET', KEYS[4], instance, now + ttl)
  -- Reap the instances whose lease ran out: each of their members leaves, once. Only a
  -- caller that has itself renewed for a whole TTL without a failure reaps, so that a
  -- Redis that was down (and every lease with it) gives the live regions a TTL to renew.
  if reap then
    local leases = redis.call('HGETALL', KEYS[4])
    for i = 1, #leases, 2 do
      if tonumber(leases[i + 1]) < now then
        remove_instance(leases[i])
      end
    end
  end
  return {1, made and 1 or 0}
elseif op == 'resync' then
  -- The instance's live members of this partition, whole: the ones it no longer has leave,
  -- the ones it has are there (joining if they were not).
  local instance, ttl, n = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  redis.call('HSET', KEYS[4], instance, now_ms() + ttl)
  local live = {}
  for i = 0, n - 1 do
    local channel, id, json = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
    live[channel .. '\n' .. id] = true
    add(instance, channel, id, json)
  end
  local sum = 0
  for _, entry in ipairs(redis.call('SMEMBERS', prefix .. 'mi:' .. instance)) do
    if live[entry] then
      sum = (sum + entry_hash(entry)) % 4294967296
    else
      local at = string.find(entry, '\n', 1, true)
      remove(string.sub(entry, 1, at - 1), string.sub(entry, at + 1))
    end
  end
  -- Exact again, whatever it was (a log of the version before digests had none).
  redis.call('HSET', digests, instance, string.format('%d', sum))
elseif op == 'check' then
  local instance, n, digest = ARGV[5], tonumber(ARGV[6]), ARGV[7]
  local count = redis.call('SCARD', prefix .. 'mi:' .. instance)
  local have = redis.call('HGET', digests, instance) or '0'
  return {1, (count == n and have == digest) and 1 or 0}
elseif op == 'release' then
  remove_instance(ARGV[5])
end
return {1, 0}
