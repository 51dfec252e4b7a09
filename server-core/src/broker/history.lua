-- A channel's events after an offset, in one round trip (read only).
-- KEYS: 1 stream, 2 ids hash, 3 position counter, 4 epoch, 5 channel counters,
--       6 the channel's stream
-- ARGV: 1 after (an offset of the channel), 2 most events
-- Returns {epoch ('' when the log has none), entries}: the log's entries (as XRANGE gives
-- them) of the channel's offsets after ARGV[1], in offset order.
local epoch = redis.call('GET', KEYS[4]) or ''
local from = (tonumber(ARGV[1]) + 1) .. '-0'
local index = redis.call('XRANGE', KEYS[6], from, '+', 'COUNT', tonumber(ARGV[2]))
local entries = {}
for _, e in ipairs(index) do
  local position = e[2][2]
  local at = redis.call('XRANGE', KEYS[1], position .. '-0', position .. '-0')[1]
  if at then
    entries[#entries + 1] = at
  end
end
return {epoch, entries}
