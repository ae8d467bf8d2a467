"""The old, one-run-at-a-time implementations of Part II, kept as references (private).

:func:`run_local_reference` is :func:`twophase.local.method.run_local` as it was before
runs became an array axis (one Python loop over rounds and local steps, the problem's
per-run oracles ``stoch_grad`` / ``hvp`` / ``loss``), and :func:`digits_grid_reference` is
chapter 7's grid as it was (one run per step size while tuning, one run per seed). The tests
check the array-axis code against them and the benchmark times both side by side.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import boolean, choice, positive_float, positive_int, real_array
from .method import MODES, STATS, LocalResult, streams
from .precond import Preconditioner, make_precond
from .problems import rademacher


def _statistic(pc: Preconditioner, problem, X, G_last, rng, n_probes):
    """Per-worker statistic (M, d) for a refresh at points ``X`` (M, d)."""
    if pc.needs == "grad_sq":
        G = problem.stoch_grad(X, rng) if G_last is None else G_last
        return G * G
    if pc.needs == "hutchinson":
        acc = np.zeros_like(X)
        for _ in range(n_probes):
            z = rademacher(rng, X.shape)
            acc += z * problem.hvp(X, z, rng)
        return acc / n_probes
    return None


def run_local_reference(problem, x0, *, gamma: float, H: int, rounds: int,
              precond: Preconditioner | str = "identity", seed: int = 0,
              stats: str = "averaged_point", average_stats: bool = True,
              mode: str = "scaled", n_probes: int = 1,
              metrics: dict[str, Callable] | None = None,
              blowup: float = 1e10, stop_at: float | None = None) -> LocalResult:
    r"""Run the scaled local method for ``rounds`` communication rounds.

    Parameters
    ----------
    problem : a problem from :mod:`twophase.local.problems` (``M`` workers).
    x0 : ndarray (d,), common starting point.
    gamma : float > 0, step size :math:`\gamma`.
    H : int >= 1, local steps per round.
    rounds : int >= 1, communication rounds.
    precond : Preconditioner or one of "identity", "rmsprop", "adam", "oasis"
        (a name uses the default options of :class:`Preconditioner`).
    seed : int, see the module docstring for the two random streams.
    stats : {"averaged_point", "last_local"}; default "averaged_point".
    average_stats : bool; default True (one shared :math:`\hat D`).
    mode : {"scaled", "local_adam"}; default "scaled".
    n_probes : int >= 1, Hutchinson probes per OASIS refresh; default 1.
    metrics : dict name -> f(x) evaluated at the averaged iterate each round.
    blowup : the run counts as diverged once ``loss > blowup * max(1, loss[0])``
        or the iterate is not finite; the remaining losses are ``inf``.
    stop_at : float or None
        If given, stop as soon as ``loss <= stop_at`` (used when only the
        rounds to a target matter); the remaining losses, metrics and
        ``dmin``/``dmax`` entries are ``nan``.

    Returns
    -------
    LocalResult
    """
    gamma = positive_float("gamma", gamma)
    H = positive_int("H", H)
    rounds = positive_int("rounds", rounds)
    for attr in ("M", "loss", "stoch_grad", "hvp"):
        if not hasattr(problem, attr):
            raise TypeError(f"problem must be a twophase.local problem (with M, loss, stoch_grad, hvp); "
                            f"got {type(problem).__name__} without {attr!r}")
    M = positive_int("M (number of workers)", problem.M)
    stats = choice("stats", stats, STATS)
    mode = choice("mode", mode, MODES)
    n_probes = positive_int("n_probes", n_probes)
    average_stats = boolean("average_stats", average_stats)
    pc = make_precond(precond) if isinstance(precond, str) else precond
    if not isinstance(pc, Preconditioner):
        raise TypeError(f"precond must be a Preconditioner or one of its names; got {precond!r}")
    d_prob = getattr(problem, "d", None)
    x0 = real_array("x0", x0, ndim=1, shape=None if d_prob is None else (d_prob,))
    d = x0.shape[0]
    blowup = positive_float("blowup", blowup)
    if stop_at is not None:
        stop_at = float(real_array("stop_at", stop_at, ndim=0))
    if metrics is not None and (not isinstance(metrics, dict)
                                or not all(isinstance(k, str) and callable(f) for k, f in metrics.items())):
        raise TypeError("metrics must be a dict mapping names (str) to callables f(x)")
    work = float(rounds) * H * M * d
    if work > 5e10:
        raise ValueError(f"rounds * H * M * d = {work:.2g} gradient coordinates (more than the allowed 5e10, "
                         "hours at the measured speed); lower rounds or H")
    rng_steps, rng_stats = streams(seed)  # validates seed
    metrics = dict(metrics or {})

    loss = np.full(rounds + 1, np.inf)
    dmin = np.full(rounds, np.nan)
    dmax = np.full(rounds, np.nan)
    mvals = {k: np.full(rounds + 1, np.nan) for k in metrics}
    loss[0] = problem.loss(x0)
    for k, f in metrics.items():
        mvals[k][0] = f(x0)
    limit = blowup * max(1.0, abs(loss[0]))

    per_worker = (mode == "local_adam") or not average_stats
    shape = (M, d) if per_worker else (d,)

    def reduce(S):
        return S if per_worker else S.mean(axis=0)

    # ---- initial preconditioner (statistics at x0) ---------------------------------
    X0 = np.broadcast_to(x0, (M, d)).copy()
    state = pc.init(shape)
    if mode == "scaled" and pc.needs != "none":
        if pc.name == "oasis":
            probes = [reduce(_statistic(pc, problem, X0, None, rng_stats, 1)) for _ in range(pc.n_warm)]
            state = pc.warm_start(np.stack(probes))
        else:
            state = pc.update(state, reduce(_statistic(pc, problem, X0, None, rng_stats, n_probes)))

    xbar = x0.copy()
    diverged = False
    with np.errstate(all="ignore"):
        for r in range(rounds):
            X = np.broadcast_to(xbar, (M, d)).copy()
            G = None
            if mode == "scaled":
                Dhat = pc.dhat(state)
                lo, hi = float(Dhat.min()), float(Dhat.max())
                for _ in range(H):
                    G = problem.stoch_grad(X, rng_steps)
                    X = X - gamma * (G / Dhat)
            else:  # local_adam: per-worker refresh at every local step
                lo, hi = np.inf, -np.inf
                for _ in range(H):
                    G = problem.stoch_grad(X, rng_steps)
                    if pc.needs != "none":
                        S = G * G if pc.needs == "grad_sq" else _statistic(pc, problem, X, None, rng_stats, n_probes)
                        if pc.name == "oasis" and state.count == 0:
                            state = pc.warm_start(S[None])
                        else:
                            state = pc.update(state, S)
                    Dhat = pc.dhat(state)
                    lo, hi = min(lo, float(Dhat.min())), max(hi, float(Dhat.max()))
                    X = X - gamma * (G / Dhat)
            dmin[r], dmax[r] = lo, hi
            xbar = X.mean(axis=0)
            f = problem.loss(xbar) if np.all(np.isfinite(xbar)) else np.inf
            if not np.isfinite(f) or f > limit:
                diverged = True
                break
            loss[r + 1] = f
            for k, fn in metrics.items():
                mvals[k][r + 1] = fn(xbar)
            if stop_at is not None and f <= stop_at:
                loss[r + 2:] = np.nan
                break
            # ---- refresh at communication ----------------------------------------
            if mode == "scaled" and pc.needs != "none":
                if stats == "averaged_point":
                    Xs = np.broadcast_to(xbar, (M, d)).copy()
                    S = _statistic(pc, problem, Xs, None, rng_stats, n_probes)
                else:
                    S = _statistic(pc, problem, X, G if pc.needs == "grad_sq" else None,
                                   rng_stats, n_probes)
                state = pc.update(state, reduce(S))
    return LocalResult(xbar, loss, dmin, dmax, mvals, state, diverged)


def digits_grid_reference(*, Ms, Hs, splits, methods, grids, rounds, seeds, tune_seed, alpha, beta,
                          batch=32, concentration=0.3, hidden=32, equal_work=True):
    """Chapter 7's grid as :func:`twophase.local.digits.digits_grid` computed it before runs
    became an array axis: per configuration, one :func:`run_local_reference` per step size of
    the grid, then one per seed. Same arguments (unchecked) and the same result dict."""
    from .digits import _equal_work_rounds, digits_problem, method_precond
    from .tune import tune_gamma

    results = {}
    for M in Ms:
        for split in splits:
            probs = {s: digits_problem(M, split, s, batch=batch, concentration=concentration, hidden=hidden)
                     for s in [tune_seed, *seeds]}
            for H in Hs:
                R_ext = _equal_work_rounds(methods, H, rounds, alpha, beta, batch) if equal_work else rounds
                for name in methods:
                    pc = method_precond(name, alpha, beta)
                    prob, x0, _ = probs[tune_seed]
                    tr = tune_gamma(lambda g: run_local_reference(prob, x0, gamma=g, H=H, rounds=rounds, precond=pc,
                                                                  seed=tune_seed).loss[-1], grids[name],
                                    executor="serial")
                    R = R_ext if name == "identity" else rounds
                    L = np.full((len(seeds), R + 1), np.inf)
                    A = np.full((len(seeds), R + 1), np.nan)
                    clipped = np.full(len(seeds), np.nan)
                    xs = [None] * len(seeds)
                    if np.isfinite(tr.best):
                        for i, s in enumerate(seeds):
                            prob_s, x0_s, (Xte, yte) = probs[s]
                            r = run_local_reference(prob_s, x0_s, gamma=tr.best, H=H, rounds=R, precond=pc,
                                                    seed=int(s), metrics=_old_accuracy(prob_s, Xte, yte))
                            L[i], A[i], xs[i] = r.loss, r.metrics["acc"], r.x
                            if pc.name != "identity" and pc.positivity == "clip":
                                clipped[i] = np.mean(pc.dhat(r.state) <= pc.alpha)
                    out = {"gamma": tr.best, "grid": tr.grid, "tune_scores": tr.scores, "loss": L[:, :rounds + 1],
                           "acc": A[:, :rounds + 1], "clipped": clipped, "x_final": xs if R == rounds else None}
                    if R > rounds:
                        out["loss_long"] = L
                    results[(M, H, split, name)] = out
    return results


def _old_accuracy(prob, Xte, yte):
    """The test-accuracy metric as it was: ``net.logits`` on the whole test set, one run."""
    def acc(x):
        z = prob.net.logits(np.atleast_2d(x), np.asarray(Xte, dtype=float)[None])
        return float(np.mean(np.argmax(z[0], axis=1) == np.asarray(yte)))
    return {"acc": acc}
