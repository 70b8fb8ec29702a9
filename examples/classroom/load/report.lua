-- The `done` function the load scripts share: one line for the load scripts,
--   RESULT <p50 ms> <p99 ms> <requests/s> <errors> <requests>
-- where errors counts failed connections, reads, writes, timeouts and statuses other than
-- 2xx/3xx, and requests is every request answered. Loaded with dofile() from the script's own
-- directory.
return function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.3f %.3f %.1f %d %d\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000,
                         summary.requests / (summary.duration / 1e6), errors, summary.requests))
end
