"""Speed benchmarks, reported as ratios measured side by side in one run.

Run ``python -m twophase.bench`` (``--quick`` for a smoke run). Each line
compares two implementations on the same inputs in the same process, taking
the best of several repeats, so shared, noisy machines still give stable
ratios. Targets (issue 2):

* exact LA-DiLoCo theory, O(S D) per cycle, >= 100x faster than the same
  recursion with ``P_B`` stored as a dense D x D matrix, at D = 3200;
* a 100 x 60 (eta, nu) grid, S = 10, D = 10^4, one cycle, in one call;
* fast gradient sampler >= 10x faster than naive at B = 64, D = 3200, and
  within 3x of drawing D standard normals.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from . import simulate as sim
from . import spectra as sp
from . import theory as th
from .methods import TwoPhase
from .reference import dense_operator_expected_loss


def best_time(fn, repeats: int = 5, min_time: float = 0.05) -> float:
    """Best-of-``repeats`` wall time of ``fn()``, each repeat looping to at least ``min_time``."""
    best = np.inf
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = min(best, dt / n)
    return best


def run(quick: bool = False) -> list[dict]:
    """Run all benchmarks and return one record per comparison."""
    D = 400 if quick else 3200
    rows = []

    lam = sp.power_law(D, -1.5)
    m0 = sp.initial_moments(lam)
    method = TwoPhase(0.5, nu=1.2, S=10, R=4, B=16)
    t_fast = best_time(lambda: th.expected_loss(method, lam, m0, 1))
    t_dense = best_time(lambda: dense_operator_expected_loss(method, lam, m0, 1), repeats=3)
    rows.append(dict(name=f"theory O(SD) vs dense-matrix P_B reference (D={D}, S=10, 1 cycle)",
                     a=t_fast, b=t_dense, ratio=t_dense / t_fast, target=">= 100x", ok=t_dense / t_fast >= 100))

    Dg = 1000 if quick else 10_000
    lam_g = sp.spiked(Dg, ratio=20.0, fraction=0.01)
    m0_g = sp.initial_moments(lam_g)
    grid = TwoPhase(np.geomspace(1e-3, 2.0, 100)[:, None], nu=np.linspace(0.1, 3.0, 60), S=10, B=Dg // 5)
    t_grid = best_time(lambda: th.expected_loss(grid, lam_g, m0_g, 1), repeats=3)
    rows.append(dict(name=f"100 x 60 (eta, nu) grid, S=10, D={Dg}, 1 cycle, one call",
                     a=t_grid, b=np.nan, ratio=np.nan, target="one call, seconds", ok=t_grid < 10))

    B, rows_per_call = 64, 32
    rng = np.random.default_rng(0)
    e = rng.standard_normal((rows_per_call, D)) * np.sqrt(m0)
    t_f = best_time(lambda: sim.minibatch_gradient(e, lam, B, 0.5, rng, "fast")) / rows_per_call
    t_n = best_time(lambda: sim.minibatch_gradient(e, lam, B, 0.5, rng, "naive")) / rows_per_call
    t_r = best_time(lambda: rng.standard_normal((rows_per_call, D))) / rows_per_call
    rows.append(dict(name=f"fast vs naive gradient sampler (B={B}, D={D})", a=t_f, b=t_n,
                     ratio=t_n / t_f, target=">= 10x", ok=t_n / t_f >= 10))
    rows.append(dict(name=f"fast gradient vs drawing D={D} normals", a=t_f, b=t_r,
                     ratio=t_f / t_r, target="<= 3x", ok=t_f / t_r <= 3))
    return rows


def format_rows(rows) -> str:
    lines = [f"{'benchmark':66s} {'time a':>10s} {'time b':>10s} {'ratio':>8s}  target      met"]
    for r in rows:
        ratio = "" if np.isnan(r["ratio"]) else f"{r['ratio']:.1f}x"
        b = "" if np.isnan(r["b"]) else f"{r['b'] * 1e3:.3f}ms"
        lines.append(f"{r['name']:66s} {r['a'] * 1e3:8.3f}ms {b:>10s} {ratio:>8s}  {r['target']:11s} "
                     f"{'yes' if r['ok'] else 'NO'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twophase.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    print(format_rows(rows))
    return 0 if all(r["ok"] for r in rows) or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
