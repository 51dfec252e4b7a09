-- The members of one channel, with where the partition's presence stream stands (read only).
-- KEYS: 1 epoch, 2 presence counter, 3 the channel's members hash
-- ARGV: 1 most members listed
-- Returns {epoch or '', position, count, members JSON...}: the stream's newest position when
-- read (every change after it is an entry after it), the exact count, at most ARGV[1] members.
local members = redis.call('HGETALL', KEYS[3])
local out = {redis.call('GET', KEYS[1]) or '', tonumber(redis.call('GET', KEYS[2]) or '0'), #members / 2}
local most = tonumber(ARGV[1])
for i = 2, #members, 2 do
  if #out - 3 >= most then
    break
  end
  out[#out + 1] = members[i]
end
return out
