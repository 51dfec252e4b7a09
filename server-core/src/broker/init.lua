-- Open (or create) one partition's log and return its epoch.
-- KEYS: 1 stream, 2 ids hash, 3 position counter, 4 epoch, 5 channel counters
-- ARGV: 1 a fresh epoch to use if the log does not exist, 2 the prefix of channels' streams,
--       3 the prefix of the partition's keys ("{T}:"), for its presence keys
-- A log without an epoch is a log that was lost (or never made): whatever partial keys
-- remain are cleared (the channels' streams by the names the counters keep) so that a new
-- epoch never mixes with old offsets.
local epoch = redis.call('GET', KEYS[4])
if epoch then
  return epoch
end
for _, channel in ipairs(redis.call('HKEYS', KEYS[5])) do
  redis.call('DEL', ARGV[2] .. channel)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
-- Presence: every channel's members and every instance's index go with the log.
local p = ARGV[3]
for _, channel in ipairs(redis.call('SMEMBERS', p .. 'pch')) do
  redis.call('DEL', p .. 'm:' .. channel)
end
for _, instance in ipairs(redis.call('HKEYS', p .. 'leases')) do
  redis.call('DEL', p .. 'mi:' .. instance)
end
redis.call('DEL', p .. 'pch', p .. 'leases', p .. 'plog', p .. 'pseq')
redis.call('SET', KEYS[4], ARGV[1])
return ARGV[1]
