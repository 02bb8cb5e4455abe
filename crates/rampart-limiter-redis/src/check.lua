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
--   quota   request counter for the current quota period; expires at qexpire (set when created)
--   usage   request counter (usage reporting); expires at uexpire (set when created)
-- Reply: a flat array, three elements per check, in check order: {state, wait, used}
--   state  1 admitted, 0 denied by the throttle, 2 denied by the quota, or -1 when Redis
--          refused one of the check's commands (wrong key type, corrupt counter): then `wait`
--          is the error's text; the other checks of the batch are not affected
--   wait   throttle: the new TAT minus now, microseconds (0 without a throttle); the caller
--          derives remaining, reset and retry-after from it and the interval and tolerance
--   used   quota: the counter after this request (admitted) or as it stands (denied); 0
--          without a quota
-- (Everything else is arithmetic the caller can do: every value a reply carries costs Redis
-- about 0.1 us to convert.)
-- Nothing is written unless the request is admitted, and nothing of a check that failed.
-- Every key is read at most once per batch and written at most once, at the end: checks of
-- one batch that share a key (a busy API key's bucket, quota and usage counters) see each
-- other's effects through a table of the values read so far, exactly as if their commands had
-- run one after another, but cost one GET and one SET per key instead of one or two calls per
-- check. Counters are written with SET (KEEPTTL when the key existed; EXAT its expiry when it
-- is created), buckets with SET PX. A counter that holds anything but an integer fails the
-- checks that use it ("ERR value is not an integer or out of range", as INCR says); a bucket
-- that is unreadable counts as full.

local ARGV, KEYS, tonumber = ARGV, KEYS, tonumber

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local k = 1
-- key -> {key, v, existed, dirty, ttl (buckets), exp (counters)}; `dirty` ones in write order.
local seen = {}
local dirty = {}
-- Parsed arguments: the checks of a batch mostly repeat the same few (tonumber is slow).
local nums = {}

local function num(s)
  local v = tonumber(s)
  nums[s] = v
  return v
end

local function bucket_of(key)
  local raw = redis.call('GET', key)
  -- A missing (expired) or unreadable bucket is a full one.
  local e = {key = key, v = tonumber(raw or '') or 0}
  seen[key] = e
  return e
end

local function counter_of(key)
  local raw = redis.call('GET', key)
  local v = 0
  if raw then
    if not string.match(raw, '^%-?%d+$') then
      error({err = 'ERR value is not an integer or out of range'})
    end
    v = tonumber(raw)
  end
  local e = {key = key, v = v, existed = raw ~= false}
  seen[key] = e
  return e
end

local function touch(e)
  if not e.dirty then
    e.dirty = true
    dirty[#dirty + 1] = e
  end
end

local function check(a)
  local b, new_tat, ttl_ms
  local wait = 0
  local arg = ARGV[a]
  if arg ~= '' then
    local key = KEYS[k]
    k = k + 1
    b = seen[key] or bucket_of(key)
    local interval = nums[arg] or num(arg)
    arg = ARGV[a + 1]
    local tolerance = nums[arg] or num(arg)
    local base = b.v
    if now > base then base = now end
    new_tat = base + interval
    wait = new_tat - now
    if wait > tolerance then
      return 0, wait, 0
    end
    ttl_ms = math.floor((wait + 999) / 1000) + 1000
  end

  local q, n
  arg = ARGV[a + 2]
  if arg ~= '' then
    local key = KEYS[k]
    k = k + 1
    q = seen[key] or counter_of(key)
    n = q.v + 1
    if n > (nums[arg] or num(arg)) then
      return 2, wait, q.v
    end
  end

  local u
  if ARGV[a + 4] ~= '' then
    local key = KEYS[k]
    k = k + 1
    u = seen[key] or counter_of(key)
  end

  -- Admitted, and every read succeeded: take the token, count the quota and the usage.
  if b then
    b.v = new_tat
    b.ttl = ttl_ms
    touch(b)
  end
  if q then
    q.v = n
    q.exp = ARGV[a + 3]
    touch(q)
  end
  if u then
    u.v = u.v + 1
    u.exp = ARGV[a + 4]
    touch(u)
  end
  return 1, wait, n or 0
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
local o = 0
local a = 2
local last = #ARGV
while a + 4 <= last do
  local first = k
  local ok, state, wait, used = pcall(check, a)
  if not ok then
    if type(state) == 'table' then state = state.err end
    out[o + 1], out[o + 2], out[o + 3] = -1, tostring(state), 0
    k = first + keys_of(a)
  else
    out[o + 1], out[o + 2], out[o + 3] = state, wait, used
  end
  o = o + 3
  a = a + 5
end

for _, e in ipairs(dirty) do
  local v = string.format('%d', e.v)
  if e.ttl then
    redis.call('SET', e.key, v, 'PX', string.format('%d', e.ttl))
  elseif e.existed then
    redis.call('SET', e.key, v, 'KEEPTTL')
  else
    redis.call('SET', e.key, v, 'EXAT', e.exp)
  end
end
return out
