"""python -m evlog.bench runs, measures every cell it promises and checks its own counts. Its
figures are not judged here (timing belongs to the benchmark, not to the tests)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import run_python

SMALL = ["--calls", "3000", "--sync-calls", "300", "--paced-calls", "300", "--events", "10000"]


def run_bench(tmp_path, *extra):
    report = tmp_path / "bench.json"
    proc = run_python("import sys, evlog.bench; sys.exit(evlog.bench.main(sys.argv[1:]))",
                      *SMALL, "--dir", str(tmp_path / "work"), "--json", str(report), *extra,
                      timeout=300)
    return proc.stdout, json.loads(report.read_text())


def test_every_cell_is_measured_and_evlog_drops_nothing(tmp_path):
    out, figures = run_bench(tmp_path, "--cli", "")
    cells = {(c["mode"], c["strategy"]): c for c in figures["cells"]}
    assert set(cells) == {(m, s) for m in ("tight", "paced")
                          for s in ("evlog", "queue", "sqlite3")}
    assert cells[("tight", "evlog")]["calls"] == 3000
    assert cells[("tight", "sqlite3")]["calls"] == 300
    for cell in cells.values():
        assert 0 < cell["p50_ns"] <= cell["p90_ns"] <= cell["p99_ns"] <= cell["p99_9_ns"]
    assert cells[("tight", "evlog")]["dropped"] == 0
    assert cells[("paced", "evlog")]["dropped"] == 0
    assert figures["python_rows_per_s"] > 0
    assert "the C++ rate needs the evlog command" in out
    assert len(figures["verdicts"]) == 6


@pytest.mark.cli
def test_the_cpp_rate_comes_from_the_evlog_command(tmp_path):
    out, figures = run_bench(tmp_path, "--cli", os.environ["EVLOG_CLI"])
    assert figures["cpp_rows_per_s"] > 0
    assert "`evlog bench throughput --producers 1` (C++), same run:" in out
    assert len(figures["verdicts"]) == 7
