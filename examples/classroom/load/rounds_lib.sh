# Sourced by the load scripts of both classroom apps (not run on its own): the statistics over
# rounds. The caller keeps its measurements in the associative array `runs`, keyed
# MODE,WORKLOAD,FIELD (fields p50, p99, rps), each value the rounds' figures, space-separated,
# with modes named off and evlog among them.

# The median of the numbers given (the mean of the middle two for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Median over the rounds of one mode's paced p99 divided by off's in the same round: each round
# runs every mode within a minute, so this pairs runs that saw the same load from other jobs.
paired_ratio() {
  # shellcheck disable=SC2086,SC2046  # the values are space-separated on purpose
  median $(paste -d' ' <(printf '%s\n' ${runs[$1,page_load_paced,p99]}) \
                       <(printf '%s\n' ${runs[off,page_load_paced,p99]}) | awk '{printf "%.6f\n", $1 / $2}')
}

# The 95 % interval of the judged statistic (evlog's median paced p99 over off's), by a paired
# bootstrap over the rounds: 2,000 times, draw ROUNDS rounds with replacement (a round keeps its
# evlog and off runs together) and take the ratio of the two medians; print the 2.5th and 97.5th
# percentiles. A fixed seed, so the same runs give the same interval. It says how far the verdict
# can be trusted on a noisy machine: an interval that spans the target means this run did
# not settle it.
paced_interval() {
  # shellcheck disable=SC2086  # the values are space-separated on purpose
  paste -d' ' <(printf '%s\n' ${runs[evlog,page_load_paced,p99]}) \
              <(printf '%s\n' ${runs[off,page_load_paced,p99]}) | awk '
    function median(a, k,   i, j, t) {  # sorts a[1..k] in place (k is small)
      for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    {e[NR] = $1; o[NR] = $2}
    END {
      srand(1)
      for (b = 1; b <= 2000; b++) {
        for (i = 1; i <= NR; i++) { r = int(rand() * NR) + 1; se[i] = e[r]; so[i] = o[r] }
        ratio[b] = median(se, NR) / median(so, NR)
      }
      median(ratio, 2000)
      printf "%.3f %.3f", ratio[50], ratio[1951]
    }'
}
