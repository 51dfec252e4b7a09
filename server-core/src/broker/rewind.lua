-- Start a new history because the log went back in time (Redis restarted from an older
-- snapshot, or failed over to a replica that lagged): a region had read, or a publisher had
-- been acked, an offset that the log no longer holds (or holds with another event).
-- KEYS: 1 stream, 2 ids hash, 3 position counter, 4 epoch, 5 channel counters
-- ARGV: 1 the epoch found rewound, 2 a fresh epoch
-- The new history keeps what the log still holds, at the same positions and offsets (each region works out
-- how much of what it delivered is still there), and new events continue after it. Only the
-- epoch changes, so no offset is ever handed out twice within one epoch.
-- Guarded by the rewound epoch, so regions that notice at once agree on one new history: the
-- first one makes it, the others get the epoch it made.
-- Returns the epoch now in force ('' when the log has none: it was lost, not rewound).
local epoch = redis.call('GET', KEYS[4])
if epoch ~= ARGV[1] then
  return epoch or ''
end
redis.call('SET', KEYS[4], ARGV[2])
return ARGV[2]
