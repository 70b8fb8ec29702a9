-- wrk script: task_complete POSTs (a critical event) as a logged-in student, over the 5 tasks.
-- COOKIE comes from load_test.sh.
local counter = 0

request = function()
  counter = counter + 1
  local headers = {
    ["Cookie"] = os.getenv("COOKIE"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", "/tasks/" .. (counter % 5 + 1) .. "/complete", headers, "source=wrk")
end

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
