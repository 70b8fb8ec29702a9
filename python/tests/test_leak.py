"""No leak per call: 1,000,000 log() calls with dict metadata, accepted and rejected alike
(the binding's refusals, C++'s refusals, results with messages), leave the process's resident
memory flat once warmed up. Bound: 2 MiB between the samples taken every 100,000 calls after
the first 200,000; a leak of one 16-byte object per rejected call would grow it by 6 MiB."""

from __future__ import annotations

import json

from conftest import run_python

BOUND_BYTES = 2 << 20

CODE = """
import json, os, sys, evlog

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

logger = evlog.Logger(sys.argv[1], max_delay=0.01, on_warning=lambda line: None)
good = {"path": "/tasks/3", "course": "python-101", "attempt": 2}
samples = []
counts = {}
for i in range(1_000_000):
    k = i % 5
    if k == 0:
        r = logger.log("page_view", i, "student", good)
    elif k == 1:
        r = logger.log("page_view", i, "student", {"answers": [1, {2}]})  # binding refusal
    elif k == 2:
        r = logger.log("page view", i, metadata={"n": i})  # C++ refusal, message renamed
    elif k == 3:
        r = logger.log("page_view", str(i))  # wrong type
    else:
        r = logger.log("quiz_attempt", i, "student", {"score": i * 0.5, "ok": True})
    counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    if i % 100_000 == 99_999:
        samples.append(rss())
assert logger.flush(30.0)
print(json.dumps({"samples": samples, "counts": counts, "stats": logger.stats().as_dict()}))
"""


def test_a_million_calls_leave_resident_memory_flat(db):
    proc = run_python(CODE, db, timeout=600)
    report = json.loads(proc.stdout)
    samples = report["samples"][1:]  # after the first 200,000 calls
    growth = max(samples) - min(samples)
    print(f"RSS after 200k..1M calls: {[s >> 10 for s in samples]} KiB; "
          f"spread {growth / 1024:.0f} KiB (bound {BOUND_BYTES >> 10} KiB); {report['counts']}")
    assert report["counts"]["rejected"] == 600_000
    assert report["stats"]["rejected"] == 600_000
    assert growth <= BOUND_BYTES
