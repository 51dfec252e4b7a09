-- Atomic, idempotent append to the global log.
-- KEYS: 1 stream, 2 ids hash, 3 offset counter, 4 epoch
-- ARGV: 1 epoch the caller believes in, 2 event id, 3 history length, 4 the event's body
--       (JSON of everything but its id),
--       5 newest offset the caller knows is stored (0: none), 6 the event id stored there
-- Returns {0, current_epoch} when the epoch differs (the log was lost or replaced),
--         {3, offset} when the log no longer holds what the caller knows (it went back in time),
--         {2, offset} when the id is already stored, {1, offset, stored_at_us} otherwise.
local epoch = redis.call('GET', KEYS[4])
if epoch ~= ARGV[1] then
  return {0, epoch or ''}
end
-- The log must still hold what the caller knows it held: event ARGV[6] at offset ARGV[5]
-- (0: nothing known yet). If it does not, it went back in time: refuse, so that no event is
-- acked into a rewound log (the caller starts a new history and retries there).
local known = tonumber(ARGV[5])
if known > 0 then
  local at = redis.call('XRANGE', KEYS[1], known .. '-0', known .. '-0')[1]
  if at then
    if at[2][2] ~= ARGV[6] then
      return {3, known}
    end
  elseif tonumber(redis.call('GET', KEYS[3]) or '0') < known then
    return {3, known}
  end
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
