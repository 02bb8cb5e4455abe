-- rampart-limiter-redis: a batch of requests, each with its throttle, quota and usage counter
-- decided and consumed atomically (the script runs without interleaving other commands).
--
-- ARGV[1]  now in microseconds since the Unix epoch, or '' to use redis TIME (tests inject it);
--          one clock reading for the whole batch
-- Then five ARGV per check, in order:
--   interval  emission interval in whole microseconds (>= 1), or '' when there is no throttle
--   tolerance burst * interval, microseconds
--   limit     quota limit for this period, or '' when there is no quota
--   qexpire   quota key expiry, Unix seconds
--   uexpire   usage key expiry, Unix seconds, or '' when there is no usage counter
-- KEYS, per check and in check order, each present only when its ARGV says so:
--   bucket  GCRA state: the TAT (theoretical arrival time), integer microseconds since the
--           Unix epoch on the Redis clock; PX = time until the bucket is full + 1 s slack
--   quota   request counter for the current quota period; EXPIREAT qexpire (set when created)
--   usage   request counter (usage reporting); EXPIREAT uexpire (set when created)
-- Reply: one element per check, either
--   {allowed, throttle_allowed, retry_after_us, remaining, reset_after_us,
--    quota_state (-1 not decided, 0 denied, 1 allowed), quota_used, quota_remaining}
--   or, when Redis refused one of the check's commands (wrong key type, corrupt counter), the
--   error's text; the other checks of the batch are not affected.
-- Nothing is written unless the request is admitted (a quota counter is incremented and, when
-- over the limit, decremented again before the reply). Per check in the steady state: GET
-- bucket, INCR quota, INCR usage, SET bucket (plus one TIME per batch); expiries are set once,
-- when a counter is created. Redis does not roll a script back: a usage counter corrupted by
-- hand (not an integer) fails the request after its quota was counted.

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local k = 1

local function check(a)
  local bucket, new_tat, ttl_ms
  local remaining, reset = 0, 0
  if ARGV[a] ~= '' then
    bucket = KEYS[k]
    k = k + 1
    local interval = tonumber(ARGV[a])
    local tolerance = tonumber(ARGV[a + 1])
    -- A missing (expired) or unreadable bucket is a full one.
    local tat = tonumber(redis.call('GET', bucket) or '') or 0
    local base = tat
    if now > base then base = now end
    new_tat = base + interval
    local wait = new_tat - now
    if wait > tolerance then
      local full = tat - now
      if full < 0 then full = 0 end
      return {0, 0, wait - tolerance, 0, full, -1, 0, 0}
    end
    local left = tolerance - wait
    remaining = math.floor(left / interval)
    if remaining * interval > left then remaining = remaining - 1 end
    if (remaining + 1) * interval <= left then remaining = remaining + 1 end
    reset = wait
    ttl_ms = math.floor((wait + 999) / 1000) + 1000
  end

  local q_state, q_used, q_left = -1, 0, 0
  if ARGV[a + 2] ~= '' then
    local quota = KEYS[k]
    k = k + 1
    local limit = tonumber(ARGV[a + 2])
    -- Increment first (one call on the admitted path; INCR itself refuses a counter that is
    -- not an integer), and take it back when over the limit.
    local n = redis.call('INCR', quota)
    if n > limit then
      if n == 1 then
        redis.call('DEL', quota)
      else
        redis.call('DECR', quota)
      end
      local used = n - 1
      local left = limit - used
      if left < 0 then left = 0 end
      return {0, 1, 0, remaining, reset, 0, used, left}
    end
    -- The period's expiry is set once, when its counter is created.
    if n == 1 then
      redis.call('EXPIREAT', quota, ARGV[a + 3])
    end
    q_state, q_used, q_left = 1, n, limit - n
  end

  -- Admitted: count usage (its expiry, too, set once per day's counter) and store the bucket.
  if ARGV[a + 4] ~= '' then
    local usage = KEYS[k]
    k = k + 1
    if redis.call('INCR', usage) == 1 then
      redis.call('EXPIREAT', usage, ARGV[a + 4])
    end
  end
  if bucket then
    redis.call('SET', bucket, string.format('%d', new_tat), 'PX', string.format('%d', ttl_ms))
  end
  return {1, 1, 0, remaining, reset, q_state, q_used, q_left}
end

-- The number of KEYS each check owns, so a failed check's unread keys can be skipped.
local function keys_of(a)
  local n = 0
  if ARGV[a] ~= '' then n = n + 1 end
  if ARGV[a + 2] ~= '' then n = n + 1 end
  if ARGV[a + 4] ~= '' then n = n + 1 end
  return n
end

local out = {}
local a = 2
while a + 4 <= #ARGV do
  local first = k
  local ok, res = pcall(check, a)
  if not ok then
    if type(res) == 'table' then res = res.err end
    res = tostring(res)
  end
  k = first + keys_of(a)
  out[#out + 1] = res
  a = a + 5
end
return out
