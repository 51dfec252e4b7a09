-- Atomic, idempotent append of one event to its channel, in its partition's log.
-- KEYS: 1 stream, 2 ids hash, 3 position counter, 4 epoch, 5 channel counters,
--       6 the channel's stream
-- ARGV: 1 epoch the caller believes in, 2 event id, 3 history length (of the partition),
--       4 the event's body (JSON of everything but its id and channel),
--       5 newest position the caller knows is stored (0: none), 6 the id and 7 the channel
--       of the event stored there, 8 the channel, 9 the prefix of the channels' streams,
--       10 the id of the event of the channel this one must follow ('' when none)
-- Returns {0, current_epoch} when the epoch differs (the log was lost or replaced),
--         {3, position} when the log no longer holds what the caller knows (it went back),
--         {2, offset} when the id is already stored in the channel,
--         {4, 0} when the event it must follow is not stored (out of order: not stored),
--         {1, offset, stored_at_us, position} otherwise.
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == name then
      return f[i + 1]
    end
  end
end
local epoch = redis.call('GET', KEYS[4])
if epoch ~= ARGV[1] then
  return {0, epoch or ''}
end
-- The log must still hold what the caller knows it held: the event (ARGV[6], ARGV[7]) at
-- position ARGV[5] (0: nothing known yet). If it does not, it went back in time: refuse, so
-- that no event is acked into a rewound log (the caller starts a new history and retries).
local known = tonumber(ARGV[5])
if known > 0 then
  local at = redis.call('XRANGE', KEYS[1], known .. '-0', known .. '-0')[1]
  if at then
    if field(at, 'i') ~= ARGV[6] or field(at, 'c') ~= ARGV[7] then
      return {3, known}
    end
  elseif tonumber(redis.call('GET', KEYS[3]) or '0') < known then
    return {3, known}
  end
end
local channel = ARGV[8]
local existing = redis.call('HGET', KEYS[2], channel .. '\n' .. ARGV[2])
if existing then
  return {2, tonumber(existing)}
end
-- The publisher's previous event of the channel, sent before this one, must be stored
-- first: a connection's events of a channel are stored in the order it sent them.
if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[2], channel .. '\n' .. ARGV[10]) == 0 then
  return {4, 0}
end
local position = redis.call('INCR', KEYS[3])
local offset = redis.call('HINCRBY', KEYS[5], channel, 1)
local t = redis.call('TIME')
local stored = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('XADD', KEYS[1], position .. '-0', 'c', channel, 'o', offset, 'i', ARGV[2], 's', stored, 'd', ARGV[4])
-- The channel's stream only grows with its counter; one left over from a log lost in part
-- (keys deleted by hand) is started again rather than refusing the publish.
local indexed = redis.pcall('XADD', KEYS[6], offset .. '-0', 'p', position)
if type(indexed) == 'table' and indexed.err then
  redis.call('DEL', KEYS[6])
  redis.call('XADD', KEYS[6], offset .. '-0', 'p', position)
end
redis.call('HSET', KEYS[2], channel .. '\n' .. ARGV[2], offset)
-- Trim the partition to its history, each dropped event with its id and its place in its
-- channel's stream (which shares this partition's hash tag, so its slot).
local maxlen = tonumber(ARGV[3])
while redis.call('XLEN', KEYS[1]) > maxlen do
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  local c = field(first, 'c')
  local stream = ARGV[9] .. c
  redis.call('HDEL', KEYS[2], c .. '\n' .. field(first, 'i'))
  redis.call('XDEL', stream, field(first, 'o') .. '-0')
  if redis.call('XLEN', stream) == 0 then
    redis.call('DEL', stream)
  end
  redis.call('XDEL', KEYS[1], first[1])
end
return {1, offset, stored, position}
