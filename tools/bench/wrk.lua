-- wrk script of the bench (tools/bench/wrk.py).
--
-- done(): prints one line "BENCH_JSON {...}" with requests, duration, latency percentiles (in
-- microseconds) and every error count wrk keeps; errors.status counts non-2xx/3xx answers (the
-- "Non-2xx or 3xx responses" line of wrk's own report).
--
-- BENCH_PATHS (environment, space-separated request targets): when set, each connection cycles
-- through them, starting at a different offset per thread. When unset no request() hook is
-- defined, so wrk sends its pre-built static request at full speed.

local paths_env = os.getenv("BENCH_PATHS")

if paths_env ~= nil and paths_env ~= "" then
  local requests = {}
  local counter = 0
  local thread_offset = 0

  setup = function(thread)
    thread_offset = thread_offset + 1
    thread:set("offset", thread_offset * 7)
  end

  -- Built here, not at load time: wrk sets the Host header just before calling init().
  init = function(args)
    for path in string.gmatch(paths_env, "%S+") do
      requests[#requests + 1] = wrk.format("GET", path)
    end
    counter = tonumber(offset) or 0
  end

  request = function()
    counter = counter + 1
    return requests[counter % #requests + 1]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f,'
      .. '"stdev":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, latency.stdev))
end
