-- The one wrk script, of the bench (tools/bench/wrk.py) and of the soak test, run through wrk.py.
--
-- done(): prints one line "BENCH_JSON {...}" with requests, duration, latency percentiles (in
-- microseconds) and every error count wrk keeps; errors.status counts non-2xx/3xx answers (the
-- "Non-2xx or 3xx responses" line of wrk's own report).
--
-- BENCH_PATHS (environment, space-separated request targets): when set, each connection cycles
-- through them, starting at a different offset per thread. When unset no request() hook is
-- defined, so wrk sends its pre-built static request at full speed.
--
-- BENCH_COUNT_ANSWERS=1: a response() hook counts the answers by class (non-2xx, 5xx, and by
-- X-Cache: HIT, MISS, STALE) in each thread, and done() adds their sums as "answers". It costs a
-- call per response, so the bench's measured loads leave it off.

local paths_env = os.getenv("BENCH_PATHS")
local cycling = paths_env ~= nil and paths_env ~= ""
local counting = os.getenv("BENCH_COUNT_ANSWERS") == "1"
local threads = {}
local thread_offset = 0
local requests = {}
local counter = 0

if cycling or counting then
  setup = function(thread)
    thread_offset = thread_offset + 1
    thread:set("offset", thread_offset * 7)
    table.insert(threads, thread)
  end

  -- Built here, not at load time: wrk sets the Host header just before calling init().
  init = function(args)
    if cycling then
      for path in string.gmatch(paths_env, "%S+") do
        requests[#requests + 1] = wrk.format("GET", path)
      end
      counter = tonumber(offset) or 0
    end
    non_2xx = 0; status_5xx = 0; stale = 0; miss = 0; hit = 0
  end
end

if cycling then
  request = function()
    counter = counter + 1
    return requests[counter % #requests + 1]
  end
end

if counting then
  response = function(status, headers, body)
    if status < 200 or status > 299 then non_2xx = non_2xx + 1 end
    if status >= 500 then status_5xx = status_5xx + 1 end
    local cache = headers["X-Cache"] or headers["x-cache"]
    if cache == "STALE" then stale = stale + 1
    elseif cache == "MISS" then miss = miss + 1
    elseif cache == "HIT" then hit = hit + 1 end
  end
end

local function answers()
  if not counting then return "" end
  local t = {non_2xx = 0, status_5xx = 0, stale = 0, miss = 0, hit = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
  end
  return string.format(
    ',"answers":{"non_2xx":%d,"status_5xx":%d,"stale":%d,"miss":%d,"hit":%d}',
    t.non_2xx, t.status_5xx, t.stale, t.miss, t.hit)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f,'
      .. '"stdev":%.1f}%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, latency.stdev, answers()))
end
