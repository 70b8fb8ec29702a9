-- wrk script: page loads (GET /tasks) as a logged-in student. COOKIE comes from load_test.sh.
wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("COOKIE")
wrk.path = "/tasks"

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.3f %.3f %.1f %d\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000,
                         summary.requests / (summary.duration / 1e6), errors))
end
