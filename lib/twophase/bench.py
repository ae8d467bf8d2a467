"""Speed benchmarks, reported as ratios measured side by side in one run.

Run ``python -m twophase.bench`` (``--quick`` for small sizes). Each row times two
implementations on the same inputs in the same process, taking the best of several repeats,
so shared, noisy machines still give stable ratios; the load average is printed with them.
Every row also checks that the two implementations *agree* (same numbers to ``1e-10``
relative, where they compute the same thing), and the exit status is non-zero if any
disagree -- in ``--quick`` mode too, so the benchmark is a test that can fail. Speed targets
are only judged at full size. Targets:

* exact LA-DiLoCo theory, O(S D) per cycle, >= 100x faster than the same recursion with
  ``P_B`` stored as a dense D x D matrix, at D = 3200 -- for the engine and, side by side,
  for the old no-momentum engine kept in :mod:`twophase.reference`;
* a 100 x 60 (eta, nu) grid, S = 10, D = 10^4, one cycle, in one call;
* the one moment engine no slower than the old engine by more than 10 % (rows "old engine vs
  new engine": ratio = old time / new time, target >= 0.9);
* fast gradient sampler (the kernel :func:`twophase.simulate.loss_curves` runs) >= 10x faster
  than naive at B = 64, D = 3200, and within 3x of drawing D standard normals;
* :func:`twophase.simulate.loss_curves` on one core within 1.5x of the time to draw its
  normals (CPU time), and on every local core >= 1.8x faster than on one (wall time, 2 cores);
  the two give the same numbers bit for bit (the row's agreement). A reference row beside it
  draws the same normals with numpy alone on as many threads: the parallel headroom the
  machine has at that moment (on a shared, loaded machine it can be ~1x for everything).
* the engine at its bandwidth floor (issue 12): the compiled kernels of
  :mod:`twophase.engine` at most 5 ns per mode-step at D = 10^6 for SGD, LA-DiLoCo and SLA,
  side by side with the numpy recursions (rows "engine floor"; the name gives ns per
  mode-step of both and the new side's CPU time, which a loaded machine inflates less), and
  the cost of loading the cached kernels in a fresh process.
* chapter 7's grid (:func:`twophase.local.digits.digits_grid`) at its paper profile >= 5x
  faster than the code before runs became an array axis, both with their defaults, and beside
  it the gain on one core (both sides serial, one BLAS thread).

Owns: the benchmark rows. May import: every Part I numerics module (it is at the top of them).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from . import _validate as v
from . import engine as en
from . import simulate as sim
from . import spectra as sp
from . import theory as th
from .methods import TwoPhase
from .reference import dense_operator_expected_loss, old_expected_loss

__all__ = ["best_time", "run", "format_rows", "exit_code", "main"]

#: Relative agreement required between the two sides of a row that compute the same numbers.
AGREE_RTOL = 1e-10


def best_time(fn, repeats: int = 5, min_time: float = 0.05) -> float:
    """Best-of-``repeats`` wall time of ``fn()``, each repeat looping to at least ``min_time`` seconds."""
    if not callable(fn):
        raise v.ArgumentTypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = v.positive_int("repeats", repeats, maximum=1000)
    min_time = v.positive_real("min_time", min_time)
    if min_time > 60:
        raise ValueError(f"min_time must be in (0, 60] seconds (allowed range), got {min_time}")
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


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return np.inf
    fin = np.isfinite(a)
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(a[fin] - b[fin]) / np.maximum(np.abs(b[fin]), 1e-300)))


def _row(name, a, b, ratio, target, ok, agree=None):
    return dict(name=name, a=a, b=b, ratio=ratio, target=target, ok=bool(ok),
                agree=None if agree is None else float(agree))


def run(quick: bool = False) -> list[dict]:
    """Run all benchmarks and return one record per comparison (``quick``: small sizes)."""
    v.flag("quick", quick)
    D = 400 if quick else 3200
    reps = 2 if quick else 5
    rows = []

    lam = sp.power_law(D, -1.5)
    m0 = sp.initial_moments(lam)
    method = TwoPhase(0.5, nu=1.2, S=10, R=4, B=16)
    t_new = best_time(lambda: th.expected_loss(method, lam, m0, 1), repeats=reps)
    t_old = best_time(lambda: old_expected_loss(method, lam, m0, 1), repeats=reps)
    t_dense = best_time(lambda: dense_operator_expected_loss(method, lam, m0, 1), repeats=3)
    agree = _rel(th.expected_loss(method, lam, m0, 1), dense_operator_expected_loss(method, lam, m0, 1))
    rows.append(_row(f"theory O(SD) vs dense-matrix P_B reference (D={D}, S=10, 1 cycle)",
                     t_new, t_dense, t_dense / t_new, ">= 100x", t_dense / t_new >= 100, agree))
    rows.append(_row(f"  same, old engine (D={D}, S=10, 1 cycle)",
                     t_old, t_dense, t_dense / t_old, ">= 100x", t_dense / t_old >= 100))

    Dg = 1000 if quick else 10_000
    lam_g = sp.spiked(Dg, ratio=20.0, fraction=0.01)
    m0_g = sp.initial_moments(lam_g)
    grid = TwoPhase(np.geomspace(1e-3, 2.0, 100)[:, None], nu=np.linspace(0.1, 3.0, 60), S=10, B=Dg // 5)
    t_grid = best_time(lambda: th.expected_loss(grid, lam_g, m0_g, 1), repeats=3)
    rows.append(_row(f"100 x 60 (eta, nu) grid, S=10, D={Dg}, 1 cycle, one call",
                     t_grid, np.nan, np.nan, "one call, seconds", t_grid < 10))

    # old engine vs new engine, side by side (ratio = old / new; > 1 means the new one is faster)
    cases = [
        (f"grid 100 x 60, S=10, D={Dg}, 1 cycle", grid, lam_g, m0_g, 1, 0.0),
        (f"LA-DiLoCo D={D}, S=10, R=4, 20 cycles", method, lam, m0, 20, 0.3),
        (f"SGD D={D}, 200 steps", TwoPhase(0.5, B=8), lam, m0, 200, 0.3),
        (f"grid 20 x 8, S=5, D={D // 4}, 10 cycles",
         TwoPhase(np.geomspace(0.01, 2.0, 20)[:, None], nu=np.linspace(0.2, 2.5, 8), S=5, R=2, B=8),
         lam[: D // 4], sp.initial_moments(lam[: D // 4]), 10, 0.1),
    ]
    for label, meth, lm, mm, cyc, sg in cases:
        tn = best_time(lambda: th.expected_loss(meth, lm, mm, cyc, sigma=sg), repeats=reps)
        to = best_time(lambda: old_expected_loss(meth, lm, mm, cyc, sigma=sg), repeats=reps)
        agree = _rel(th.expected_loss(meth, lm, mm, cyc, sigma=sg), old_expected_loss(meth, lm, mm, cyc, sigma=sg))
        rows.append(_row(f"old engine vs new engine: {label}", tn, to, to / tn, ">= 0.9x", to / tn >= 0.9, agree))

    B, rows_per_call = 64, 32
    rng = np.random.default_rng(0)
    e = rng.standard_normal((rows_per_call, D)) * np.sqrt(m0)
    kernel = sim._minibatch_gradient  # what loss_curves calls each step (validation is done once per run)
    t_f = best_time(lambda: kernel(e, lam, B, 0.5, rng, "fast"), repeats=reps) / rows_per_call
    t_n = best_time(lambda: kernel(e, lam, B, 0.5, rng, "naive"), repeats=reps) / rows_per_call
    t_r = best_time(lambda: rng.standard_normal((rows_per_call, D)), repeats=reps) / rows_per_call
    rows.append(_row(f"fast vs naive gradient sampler (B={B}, D={D})", t_f, t_n, t_n / t_f, ">= 10x",
                     t_n / t_f >= 10))
    rows.append(_row(f"fast gradient vs drawing D={D} normals", t_f, t_r, t_f / t_r, "<= 3x", t_f / t_r <= 3))
    rows += _monte_carlo_rows(quick)
    rows += _engine_floor_rows(quick)
    rows += _part2_rows(quick)
    return rows


def _cpu_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _engine_floor_rows(quick):
    """ns per mode-step of the compiled kernels vs the numpy recursions, D = 10^6 (issue 12)."""
    if en.default_backend() == "numpy" or not en._have_compiled():
        return [_row("engine floor: compiled kernels unavailable (numba missing or TWOPHASE_ENGINE=numpy)",
                     np.nan, np.nan, np.nan, "<= 5 ns/mode-step", False)]
    D = 10_000 if quick else 1_000_000
    lam = sp.power_law(D, -1.5)
    m0 = sp.initial_moments(lam)
    cases = [("SGD", TwoPhase(0.5, B=8), 40),
             ("LA-DiLoCo", TwoPhase(0.5, nu=1.2, S=10, R=4, B=16), 4),
             ("SLA", TwoPhase(0.5, nu=1.2, S=10, R=4, B=16, beta_in=0.5, beta_out=0.5, outer="nesterov"), 4)]
    rows = []
    for label, meth, cyc in cases:
        def new():
            return en._expected_loss(meth, lam, m0, cyc, 0.3, backend="compiled")

        def old():
            return en._expected_loss(meth, lam, m0, cyc, 0.3, backend="numpy")

        steps = D * meth.S * cyc
        t0 = time.perf_counter()
        L_old = old()  # the numpy recursions take seconds at D = 10^6: one timed call
        t_old = time.perf_counter() - t0
        agree = _rel(new(), L_old)
        t_new = best_time(new, repeats=7, min_time=0.02)
        cpu = _cpu_time(new, 5)
        ns, ns_old, ns_cpu = (1e9 * t / steps for t in (t_new, t_old, cpu))
        rows.append(_row(f"engine floor {label}: {ns:.2f} vs {ns_old:.1f} ns/mode-step, cpu {ns_cpu:.2f} (D={D:.0e})",
                         t_new, t_old, t_old / t_new, "<= 5 ns (cpu)", ns_cpu <= 5, agree))
    code = ("import numpy as np, time; from twophase import TwoPhase, engine as en; t = time.perf_counter(); "
            "en._expected_loss(TwoPhase(0.5, S=2, beta_in=0.5), np.ones(4), np.ones(4), 2, backend='{}'); "
            "en._expected_loss(TwoPhase(0.5, S=2), np.ones(4), np.ones(4), 2, backend='{}'); "
            "print(time.perf_counter() - t)")
    t = {b: float(subprocess.run([sys.executable, "-c", code.format(b, b)], capture_output=True, text=True,
                                 check=True).stdout) for b in ("numpy", "compiled")}
    rows.append(_row("engine floor: first calls in a fresh process, cached kernels vs numpy",
                     t["compiled"], t["numpy"], np.nan, "< 3 s", t["compiled"] < 3))
    return rows


def _timed(fn, repeats):
    """Best wall time of ``repeats`` calls of ``fn`` and the last result."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _part2_rows(quick: bool) -> list[dict]:
    """Chapter 7's main call, ``twophase.local.digits.digits_grid``, at the chapter's paper
    profile: the code before runs became an array axis
    (``twophase.local._reference.digits_grid_reference``: one run per step size and per seed,
    numpy's tanh, BLAS threads as OpenBLAS chooses) against today's, both with their defaults
    (today's: every local core, in processes), side by side; ratio = old time / new time. A
    second row, at a third of the size, holds both to one core (today's serial, BLAS one thread
    on both sides): the gain per core. Agreement: the train-loss curves of every configuration
    and the tuned steps.

    Part II sits above this module's layer, so it is imported by name when the row runs.
    """
    import importlib

    digits = importlib.import_module("twophase.local.digits")
    ref = importlib.import_module("twophase.local._reference")
    methods = ["identity", "rmsprop", "adam", "oasis"]
    if quick:
        grids = {m: ([1.0, 3.0] if m == "identity" else [0.01, 0.1]) for m in methods}
        kw = dict(Ms=[2], Hs=[1], splits=["dirichlet"], rounds=3, seeds=[0, 1], hidden=8)
        small = kw
    else:   # book/profiles.yml, 07_neural_network, paper
        grids = {m: ([1.0, 3.0, 10.0, 30.0] if m == "identity" else [0.003, 0.01, 0.03, 0.1, 0.3]) for m in methods}
        kw = dict(Ms=[4, 8], Hs=[1, 5, 10, 20], splits=["iid", "dirichlet"], rounds=40, seeds=[0, 1, 2], hidden=32)
        small = dict(kw, Ms=[8], Hs=[1, 20], splits=["dirichlet"])
    for d in (kw, small):
        d.update(methods=methods, grids=grids, tune_seed=100, alpha=1e-3, beta=0.9)

    def label(d):
        return f"M={d['Ms']}, H={d['Hs']}, {len(d['splits'])} split(s), {d['rounds']} rounds, {len(d['seeds'])} seeds"

    def agree(a, b):
        return max(_rel(np.concatenate([a[k]["loss"].ravel() for k in a]),
                        np.concatenate([b[k]["loss"].ravel() for k in a])), 0.0 if
                   all(a[k]["gamma"] == b[k]["gamma"] for k in a) else np.inf)

    rows = []
    digits.dead_inputs()       # loads scikit-learn and the data set once, outside the timings
    # which elementwise passes the new code runs here: the compiled ones only where the compiled
    # exp and log give numpy's bits (not on CPUs where numpy has its own AVX-512 exp and log)
    passes = "compiled" if importlib.import_module("twophase.local._mlp_kernel").kernels() else "numpy"
    t_new, new = _timed(lambda: digits.digits_grid(**kw), 1)
    t_old, old = _timed(lambda: ref.digits_grid_reference(**kw), 1)
    rows.append(_row(f"chapter 7 digits_grid old vs new, defaults ({label(kw)}; {passes} MLP passes)",
                     t_new, t_old, t_old / t_new,
                     ">= 5x", t_old / t_new >= 5, agree(new, old)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return rows
    with threadpool_limits(1, user_api="blas"):
        t_new1, new1 = _timed(lambda: digits.digits_grid(**small, executor="serial"), 1)
        t_old1, old1 = _timed(lambda: ref.digits_grid_reference(**small), 1)
    rows.append(_row(f"  one core both sides ({label(small)})", t_new1, t_old1, t_old1 / t_new1,
                     "(reported)", True, agree(new1, old1)))
    return rows


def _interleaved_best(fns, repeats, clock=time.perf_counter):
    """Best-of-``repeats`` time of each of ``fns``, the functions taking turns (one repeat of each
    in a row), so a change in the machine's load hits all of them alike."""
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            best[i] = min(best[i], clock() - t0)
    return best


def _monte_carlo_rows(quick: bool) -> list[dict]:
    """``loss_curves`` on one core against drawing its normals (CPU time of this process, so
    other processes' load does not count), and on every local core against one (wall time).

    Targets: one core within 1.5x of the normals it draws (the same number, in the same
    chunk-sized blocks, from the same bit generator); every core (the default executor) at
    least 1.8x faster than one on a 2-core machine (``max_workers()`` workers). The reference
    row under each case times the same normals drawn by the compiled filler ``loss_curves``
    uses (numpy's ziggurat through numba, the same numbers), the step's floor since then.
    """
    from . import parallel as par

    D = 400 if quick else 3200
    reps = 2 if quick else 7
    lam = sp.power_law(D, -1.5)
    m0 = sp.initial_moments(lam)
    rows = []
    cases = [("SGD", TwoPhase(0.5, B=16), 40 if quick else 60, 64),
             ("DiLoCo R=4 S=5", TwoPhase(0.5, nu=1.2, S=5, R=4, B=4), 8 if quick else 12, 32),
             ("SLA R=4 S=5", TwoPhase(0.3, nu=1.2, S=5, R=4, B=4, beta_in=0.5, beta_out=0.5),
              8 if quick else 12, 32)]
    for label, meth, cycles, seeds in cases:
        n = sim.seeds_per_chunk(D, meth.R)
        chunks = -(-seeds // n)
        rng = sim._generator(np.random.SeedSequence(0))
        buf = np.empty((n * meth.R, D))
        run = lambda: sim.loss_curves(meth, lam, m0, cycles, seeds, sigma=0.5, seed=1,  # noqa: E731
                                      executor="serial")
        run()  # compile (or load) the kernel outside the timing
        draws = cycles * meth.S * chunks
        fns = [run, lambda: [rng.standard_normal(out=buf) for _ in range(draws)]]
        compiled = sim._kernels()
        if compiled is not None:  # the same numbers drawn by the compiled filler loss_curves uses
            fill = compiled[2]
            fns.append(lambda: [fill(rng, buf) for _ in range(draws)])
        t_lc, t_n, *t_c = _interleaved_best(fns, reps, time.process_time)
        rows.append(_row(f"loss_curves 1 core vs its normals (CPU): {label} D={D} {seeds} seeds",
                         t_lc, t_n, t_lc / t_n, "<= 1.5x", t_lc / t_n <= 1.5))
        if t_c:
            rows.append(_row("  its normals drawn compiled (as loss_curves draws them) vs numpy's",
                             t_c[0], t_n, t_c[0] / t_n, "(reference)", True))
    meth, seeds, cycles = TwoPhase(0.5, B=16), 160 if quick else 320, 20 if quick else 40
    serial = lambda: sim.loss_curves(meth, lam, m0, cycles, seeds, sigma=0.5, seed=2,  # noqa: E731
                                     executor="serial")
    default = lambda: sim.loss_curves(meth, lam, m0, cycles, seeds, sigma=0.5, seed=2)  # noqa: E731
    # the machine's headroom right now: the same normals drawn by as many threads, numpy alone
    n = sim.seeds_per_chunk(D)
    blocks = [sim._generator(s) for s in par.chunk_seeds(0, -(-seeds // n))]
    bufs = [np.empty((n, D)) for _ in blocks]

    def draw(k):
        for _ in range(cycles):
            blocks[k].standard_normal(out=bufs[k])

    tasks = [(k,) for k in range(len(blocks))]
    t_1, t_all, t_d1, t_dall = _interleaved_best(
        [serial, default, lambda: par.map_chunks(draw, tasks, "serial"), lambda: par.map_chunks(draw, tasks)],
        reps)
    workers = par.max_workers()
    rows.append(_row(f"loss_curves {workers} cores vs 1: SGD, D={D}, {seeds} seeds, wall time",
                     t_all, t_1, t_1 / t_all, ">= 1.8x (2 cores)", t_1 / t_all >= 1.8 or workers < 2,
                     _rel(default(), serial())))
    rows.append(_row(f"  headroom now: its normals alone, {workers} threads vs 1, wall time",
                     t_dall, t_d1, t_d1 / t_dall, "(reference)", True))
    return rows


def _check_rows(rows):
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise v.ArgumentTypeError(f"rows must be a list of dicts from run(), got {type(rows).__name__}")
    need = {"name", "a", "b", "ratio", "target", "ok", "agree"}
    for r in rows:
        if not need <= set(r):
            raise ValueError(f"rows must be records from run() with keys {sorted(need)}, got {sorted(r)}")
    return rows


def format_rows(rows) -> str:
    """The rows as a text table, with the load average of the machine at the time of printing."""
    _check_rows(rows)
    load = os.getloadavg()
    lines = [f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores",
             f"{'benchmark':72s} {'time a':>10s} {'time b':>10s} {'ratio':>8s}  target             met  agree"]
    for r in rows:
        ratio = "" if np.isnan(r["ratio"]) else f"{r['ratio']:.2f}x"
        b = "" if np.isnan(r["b"]) else f"{r['b'] * 1e3:.3f}ms"
        agree = "" if r["agree"] is None else f"{r['agree']:.1e}"
        lines.append(f"{r['name']:72s} {r['a'] * 1e3:8.3f}ms {b:>10s} {ratio:>8s}  {r['target']:18s} "
                     f"{'yes' if r['ok'] else 'NO ':3s}  {agree}")
    return "\n".join(lines)


def exit_code(rows, quick: bool = False) -> int:
    """0 if every row's two sides agree (to :data:`AGREE_RTOL`) and, at full size, every target is met."""
    quick = v.flag("quick", quick)
    _check_rows(rows)
    disagree = any(r["agree"] is not None and not r["agree"] <= AGREE_RTOL for r in rows)
    missed = any(not r["ok"] for r in rows)
    return 1 if disagree or (missed and not quick) else 0


def main(argv=None) -> int:
    """Command line: ``python -m twophase.bench [--quick]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m twophase.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; only agreement is judged")
    if argv is not None and (isinstance(argv, (str, bytes)) or not all(isinstance(a, str) for a in argv)):
        raise v.ArgumentTypeError(f"argv must be None or a list of strings, got {argv!r:.80}")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    print(format_rows(rows))
    return exit_code(rows, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
