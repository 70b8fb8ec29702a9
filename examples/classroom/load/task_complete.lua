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

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.3f %.3f %.1f %d\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000,
                         summary.requests / (summary.duration / 1e6), errors))
end
