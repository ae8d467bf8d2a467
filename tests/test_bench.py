"""The benchmark script runs (smoke test at small sizes; speed is not asserted in tests)."""
from twophase import bench


def test_bench_quick_runs_and_reports_all_rows(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for key in ("dense-matrix", "grid", "naive", "normals"):
        assert key in out, out
