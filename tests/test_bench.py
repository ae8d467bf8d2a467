"""The benchmark (twophase.bench): every row's two sides agree, so ``--quick`` can fail; the
exit status reports disagreement and (at full size) missed targets. Speed is never asserted here."""
import numpy as np
import pytest

from twophase import bench


@pytest.fixture(scope="module")
def quick_bench():
    """The module's one ``python -m twophase.bench --quick`` (``bench.main``): its exit code,
    what it printed, and the rows of its Monte Carlo and engine-floor parts as they were made."""
    import contextlib
    import io

    parts = {}

    def recording(name):
        real = getattr(bench, name)

        def part(*args, **kwargs):
            parts[name] = real(*args, **kwargs)
            return parts[name]
        return part

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        for name in ("_monte_carlo_rows", "_engine_floor_rows"):
            mp.setattr(bench, name, recording(name))
        code = bench.main(["--quick"])
    return code, out.getvalue(), parts


@pytest.mark.xdist_group("bench")  # one worker: the quick run is made once
def test_quick_rows_agree_and_report_load(quick_bench):
    code, out, _ = quick_bench
    assert code == 0, out
    assert out.startswith("load average")
    for key in ("dense-matrix", "grid", "old engine vs new engine", "naive", "normals"):
        assert key in out, out


def test_exit_code_fails_on_disagreement_and_missed_targets():
    row = dict(name="x", a=1.0, b=2.0, ratio=2.0, target=">= 1x", ok=True, agree=0.0)
    assert bench.exit_code([row]) == 0
    assert bench.exit_code([dict(row, agree=1e-3)], quick=True) == 1
    assert bench.exit_code([dict(row, agree=np.inf)]) == 1
    assert bench.exit_code([dict(row, ok=False)]) == 1
    assert bench.exit_code([dict(row, ok=False)], quick=True) == 0


def test_best_time_bad_input():
    with pytest.raises(TypeError, match="fn"):
        bench.best_time(3)
    with pytest.raises(ValueError, match="repeats"):
        bench.best_time(lambda: None, repeats=0)


@pytest.mark.xdist_group("bench")  # one worker: the quick run is made once
def test_monte_carlo_rows_compare_like_with_like(quick_bench):
    """The loss_curves rows (helper mc): one core against its normals for SGD, LA-DiLoCo and SLA,
    and every core against one, whose two sides give the same numbers bit for bit (agree = 0)."""
    rows = quick_bench[2]["_monte_carlo_rows"]  # made by the module's one quick run
    names = [r["name"] for r in rows]
    assert sum("1 core vs its normals" in n for n in names) == 3, names
    par = [r for r in rows if "cores vs 1" in r["name"]]
    assert len(par) == 1 and par[0]["agree"] == 0.0
    assert all(r["a"] > 0 and r["b"] > 0 and np.isfinite(r["ratio"]) for r in rows)
    assert all(len(n) <= 72 for n in names), names


@pytest.mark.xdist_group("bench")  # one worker: the quick run is made once
def test_engine_floor_rows_agree(quick_bench):
    """The issue-12 rows (compiled kernels vs the numpy recursions, quick size) agree to
    AGREE_RTOL and report ns per mode-step of both sides; no speed is asserted."""
    pytest.importorskip("numba")
    rows = quick_bench[2]["_engine_floor_rows"]  # made by the module's one quick run
    names = [r["name"] for r in rows]
    for label in ("SGD", "LA-DiLoCo", "SLA"):
        assert any(n.startswith(f"engine floor {label}:") and "ns/mode-step" in n for n in names), names
    assert all(r["agree"] is None or r["agree"] <= bench.AGREE_RTOL for r in rows), rows
    assert any("fresh process" in n for n in names)
