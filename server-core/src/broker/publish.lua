-- Atomic, idempotent append to the global log.
-- KEYS: 1 stream, 2 ids hash, 3 offset counter, 4 epoch
-- ARGV: 1 epoch the caller believes in, 2 event id, 3 history length, 4 event JSON
-- Returns {0, current_epoch} when the epoch differs (the log was lost or replaced),
--         {2, offset} when the id is already stored, {1, offset, stored_at_us} otherwise.
local epoch = redis.call('GET', KEYS[4])
if epoch ~= ARGV[1] then
  return {0, epoch or ''}
end
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then
  return {2, tonumber(existing)}
end
local offset = redis.call('INCR', KEYS[3])
local t = redis.call('TIME')
local stored = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('XADD', KEYS[1], offset .. '-0', 'i', ARGV[2], 's', stored, 'd', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], offset)
local maxlen = tonumber(ARGV[3])
while redis.call('XLEN', KEYS[1]) > maxlen do
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  redis.call('HDEL', KEYS[2], first[2][2])
  redis.call('XDEL', KEYS[1], first[1])
end
return {1, offset, stored}
