-- wrk script: rotate over per-user cookies (and request bodies), count statuses, print one JSON line at the end.
-- Environment: BENCH_REQUESTS = a file of lines "METHOD<TAB>PATH<TAB>COOKIE<TAB>CSRF<TAB>BODY" (BODY may hold
-- {pos}, replaced by seconds since the thread started, for video heartbeats). Without it, the plain URL is used.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  ok, bad, other = 0, 0, 0
  reqs = {}
  t0 = os.time()
  local file = os.getenv("BENCH_REQUESTS")
  if file then
    for line in io.lines(file) do
      local m, p, c, x, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      if m then table.insert(reqs, {method = m, path = p, cookie = c, csrf = x, body = b}) end
    end
  end
  -- each thread starts at a different place in the list so that threads use different users
  idx = ((id - 1) * 7919) % math.max(1, #reqs)
end

function request()
  if #reqs == 0 then return wrk.format(nil) end
  idx = idx % #reqs + 1
  local r = reqs[idx]
  local headers = {["Cookie"] = r.cookie}
  local body = nil
  if r.method == "POST" then
    headers["X-CSRFToken"] = r.csrf
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    body = r.body:gsub("{pos}", tostring(os.time() - t0 + 1))
  end
  return wrk.format(r.method, r.path, headers, body)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status >= 300 then bad = bad + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local o, b, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); b = b + t:get("bad"); x = x + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "ok": %d, "bad_status": %d, "other_status": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    o, b, x, e.connect + e.read + e.write + e.timeout))
end
