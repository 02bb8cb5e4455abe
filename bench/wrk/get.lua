-- wrk script for the small GET scenario.
-- Optional pacing for the moderate-load runs: BENCH_DELAY_MS=<n> makes every connection
-- wait n ms after each response before sending the next request (wrk's delay() hook), so
-- the offered load is about connections * 1000 / (n + latency) requests per second.
-- Latency is measured from when the request is written, so the pause is not counted.
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause and pause > 0 then
   function delay()
      return pause
   end
end
