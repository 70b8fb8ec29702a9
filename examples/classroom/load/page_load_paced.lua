-- wrk script: page loads (GET /tasks) as a logged-in student at a fixed offered rate, the way
-- traffic reaches a server that is not saturated: each connection waits 2-6 ms (4 ms on average,
-- random so the connections do not fall into step) before each request. With 32 connections that
-- is about 7,000 requests/s. wrk times a request from its send, so the wait is not in the
-- latency. COOKIE comes from the load script; PACE_MS ("LOW-HIGH", default "2-6") sets the wait
-- for a server of another capacity.
wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("COOKIE")
wrk.path = "/tasks"

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

local low, high = (os.getenv("PACE_MS") or "2-6"):match("^(%d+)-(%d+)$")
low, high = tonumber(low), tonumber(high)

function delay()
  return math.random(low, high)
end

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
