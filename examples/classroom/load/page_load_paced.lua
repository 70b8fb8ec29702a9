-- wrk script: page loads (GET /tasks) as a logged-in student at a fixed offered rate, the way
-- traffic reaches a server that is not saturated: each connection waits 2-6 ms (4 ms on average,
-- random so the connections do not fall into step) before each request. With 32 connections that
-- is about 7,000 requests/s. wrk times a request from its send, so the wait is not in the
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

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
