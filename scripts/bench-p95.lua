-- wrk script for bench-dashboard.sh: one summary line with the latency
-- percentiles (wrk's --latency table has no p95).
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("p50=%.1f p95=%.1f p99=%.1f max=%.1f ms  requests=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, bad))
end
