-- Open (or create) the log and return its epoch.
-- KEYS: 1 stream, 2 ids hash, 3 offset counter, 4 epoch
-- ARGV: 1 a fresh epoch to use if the log does not exist
-- A log without an epoch is a log that was lost (or never made): whatever partial keys
-- remain are cleared so that a new epoch never mixes with old offsets.
local epoch = redis.call('GET', KEYS[4])
if epoch then
  return epoch
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SET', KEYS[4], ARGV[1])
return ARGV[1]
