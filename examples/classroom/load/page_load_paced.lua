-- wrk script: page loads (GET /tasks) as a logged-in student at a fixed offered rate, the way
-- traffic reaches a server that is not saturated: each connection waits 2-6 ms (4 ms on average,
-- random so the connections do not fall into step) before each request. With 32 connections that
-- is about 6,000-7,000 requests/s. wrk times a request from its send, so the wait is not in the
-- latency. COOKIE comes from load_test.sh.
wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("COOKIE")
wrk.path = "/tasks"

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

function delay()
  return math.random(2, 6)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.3f %.3f %.1f %d\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000,
                         summary.requests / (summary.duration / 1e6), errors))
end
