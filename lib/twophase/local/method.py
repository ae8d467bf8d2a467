r"""The scaled local method: Local SGD whose local steps use a diagonal
preconditioner that is refreshed only at communication.

With M workers, a server and rounds of H local steps (notation of the book,
chapter 5):

.. math::

    \text{round } r:\quad x_m^{(0)} = \bar x_{r-1},\qquad
    x_m^{(h+1)} = x_m^{(h)} - \gamma\,\hat D_{r-1}^{-1} g_m(x_m^{(h)}),\quad h=0..H-1,

    \bar x_r = \frac1M\sum_m x_m^{(H)},\qquad
    \hat D_r = \mathrm{refresh}(\hat D_{r-1};\ \text{statistics}),

and the server broadcasts :math:`(\bar x_r, \hat D_r)`. :math:`\hat D\equiv I`
is Local SGD (Stich, 2019); ``H = 1`` is synchronous mini-batch scaled SGD.

Open choices of the description (Chezhegov et al., 2024, as summarised in
``local-scaling.md``) are options of :func:`run_local`, defaults marked *:

* ``stats``: where the refresh statistics come from -
  ``"averaged_point"`` * (a fresh stochastic gradient, or a fresh Hutchinson
  probe, at the averaged iterate :math:`\bar x_r` on every worker) or
  ``"last_local"`` (the workers' last local gradients; for OASIS a probe at
  the last local iterates).
* ``average_stats``: ``True`` * (the server averages the M workers'
  statistics and keeps one shared :math:`\hat D`) or ``False`` (every worker
  keeps its own :math:`\hat D_m`, still frozen inside a round).
* ``mode``: ``"scaled"`` * (the method above) or ``"local_adam"`` - the
  ablation where every worker refreshes its own preconditioner at every local
  step from its own statistic (not the analysed method).

Runs as an array axis: :func:`run_local_many` runs R independent runs (step sizes, seeds,
problems that share data and network) together, arrays ``(R, M, d)``, one batched oracle call
per local step for all of them; :func:`run_local` is the case R = 1 (on a problem without a
batched oracle, e.g. a quadratic, one run takes the plain loop: nothing to stack). Every run
draws from its own two streams exactly what it would draw on its own, so each run's numbers do
not depend on which runs it is stacked with (tests compare with the one-run loop kept in
:mod:`twophase.local._reference`).

Randomness: ``seed`` is split by ``numpy.random.SeedSequence(seed).spawn(2)``
into a stream for the local stochastic gradients and a stream for the refresh
statistics, so that changing the preconditioner never changes the gradient
noise the local steps see.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._checks import boolean, choice, positive_float, positive_int, real_array, seed_int
from .precond import Preconditioner, PrecondState, make_precond
from .problems import _MLPStack, _stack, rademacher

__all__ = ["LocalResult", "run_local", "run_local_many", "streams", "STATS", "MODES"]

STATS = ("averaged_point", "last_local")
MODES = ("scaled", "local_adam")


class LocalResult(NamedTuple):
    r"""Output of :func:`run_local`.

    Attributes
    ----------
    x : ndarray (d,)
        Final averaged iterate.
    loss : ndarray (rounds + 1,)
        ``problem.loss`` at the averaged iterate; entry 0 is the start.
        ``inf`` from the round the run diverged.
    dmin, dmax : ndarray (rounds,)
        Smallest and largest entry of :math:`\hat D` used in each round.
    metrics : dict of str -> ndarray (rounds + 1,)
        User metrics evaluated at the averaged iterate.
    state : PrecondState
        Preconditioner state after the last refresh.
    diverged : bool
    """

    x: np.ndarray
    loss: np.ndarray
    dmin: np.ndarray
    dmax: np.ndarray
    metrics: dict
    state: PrecondState
    diverged: bool


def streams(seed: int):
    """The two generators ``(rng_steps, rng_stats)`` used by :func:`run_local`."""
    a, b = np.random.SeedSequence(seed_int("seed", seed)).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def _statistic(pc: Preconditioner, stack, X, G_last, rngs, n_probes):
    """Per-run, per-worker statistic (R, M, d) for a refresh at points ``X`` (R, M, d)."""
    if pc.needs == "grad_sq":
        G = stack.stoch_grad(X, rngs) if G_last is None else G_last
        return G * G
    if pc.needs == "hutchinson":
        acc = np.zeros_like(X)
        for _ in range(n_probes):
            acc += stack.probe(X, rngs)
        return acc / n_probes
    return None


_DOC_OPTIONS = r"""
    H : int >= 1, local steps per round.
    rounds : int >= 1, communication rounds.
    precond : Preconditioner or one of "identity", "rmsprop", "adam", "oasis"
        (a name uses the default options of :class:`Preconditioner`).
    stats : {"averaged_point", "last_local"}; default "averaged_point".
    average_stats : bool; default True (one shared :math:`\hat D`).
    mode : {"scaled", "local_adam"}; default "scaled".
    n_probes : int >= 1, Hutchinson probes per OASIS refresh; default 1.
    metrics : dict name -> f(x) evaluated at the averaged iterate each round (a callable with
        an attribute ``batched = True`` is called once with all runs' iterates ``(R, d)`` and
        returns R values).
    curves : bool; default True. False: the loss and the metrics are evaluated only at the
        start and after the last round (the entries in between are nan), for callers that
        need the final values only (step-size tuning). The divergence test still runs after
        every round with the same outcome: it decides on bounds of the loss where the
        problem gives them (an MLP: weight decay below, logit sizes above) and evaluates the
        loss only when they cannot decide. Not allowed with ``stop_at``.
    blowup : the run counts as diverged once ``loss > blowup * max(1, loss[0])``
        or the iterate is not finite; the remaining losses are ``inf``.
    stop_at : float or None
        If given, stop as soon as ``loss <= stop_at`` (used when only the
        rounds to a target matter); the remaining losses, metrics and
        ``dmin``/``dmax`` entries are ``nan``."""


def _check_problem(name, problem):
    for attr in ("M", "loss", "stoch_grad", "hvp"):
        if not hasattr(problem, attr):
            raise TypeError(f"{name} must be a twophase.local problem (with M, loss, stoch_grad, hvp); "
                            f"got {type(problem).__name__} without {attr!r}")
    return problem


def _per_run(name, value, R, check):
    """A scalar (the same for every run) or a list of R values, each checked."""
    if isinstance(value, (list, tuple, np.ndarray)):
        vals = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(vals) != R:
            raise ValueError(f"{name} must be one value or {R} values (one per run), got {len(vals)}")
        return [check(f"{name}[{i}]", x) for i, x in enumerate(vals)]
    return [check(name, value)] * R


def run_local(problem, x0, *, gamma: float, H: int, rounds: int,
              precond: Preconditioner | str = "identity", seed: int = 0,
              stats: str = "averaged_point", average_stats: bool = True,
              mode: str = "scaled", n_probes: int = 1,
              metrics: dict[str, Callable] | None = None, curves: bool = True,
              blowup: float = 1e10, stop_at: float | None = None) -> LocalResult:
    r"""Run the scaled local method for ``rounds`` communication rounds.

    Parameters
    ----------
    problem : a problem from :mod:`twophase.local.problems` (``M`` workers).
    x0 : ndarray (d,), common starting point.
    gamma : float > 0, step size :math:`\gamma`.
    seed : int, see the module docstring for the two random streams.""" + _DOC_OPTIONS + r"""

    Returns
    -------
    LocalResult

    Notes
    -----
    The case R = 1 of :func:`run_local_many`.
    """
    _check_problem("problem", problem)
    gamma = positive_float("gamma", gamma)
    if isinstance(seed, (list, tuple, np.ndarray)):
        raise TypeError(f"seed must be an integer >= 0 (one run), got {type(seed).__name__}")
    args = _prepare(problem, x0, gamma, seed, H, rounds, precond, stats, average_stats, mode, n_probes,
                    metrics, curves, blowup, stop_at)
    (plist, X0, gam, gens), rest = args[:4], args[4:]
    with np.errstate(all="ignore"):
        if curves and not _MLPStack.fits(plist):     # nothing to batch: the plain one-run loop
            return _run_one(plist[0], X0[0].copy(), float(gam[0]), *rest[:-1], *gens[0])
        return _run(_stack(plist), X0, gam, gens, *rest)[0]


def run_local_many(problems, x0, *, gammas, seeds, H: int, rounds: int,
                   precond: Preconditioner | str = "identity",
                   stats: str = "averaged_point", average_stats: bool = True,
                   mode: str = "scaled", n_probes: int = 1,
                   metrics: dict[str, Callable] | None = None, curves: bool = True,
                   blowup: float = 1e10, stop_at: float | None = None,
                   metric_rounds: int | None = None) -> list[LocalResult]:
    r"""R independent runs of :func:`run_local`, computed together (runs as an array axis).

    Run ``r`` is ``run_local(problems[r], x0[r], gamma=gammas[r], seed=seeds[r], ...)`` with
    the options below shared by all runs; its numbers do not depend on the other runs (it
    draws from its own streams :func:`streams` what it would draw on its own). All runs share
    one loop over rounds and local steps, and one batched oracle call per step: for problems
    of :class:`~twophase.local.problems.MLPClassifier` on the same data and network, one
    batched matrix product per layer for all runs and workers. A run that diverges or reaches
    ``stop_at`` leaves the batch.

    Parameters
    ----------
    problems : a problem, or a list of R problems with the same number of workers ``M`` and
        dimension (e.g. one per seed); one problem is used by every run.
    x0 : ndarray (d,) (every run) or (R, d), starting points.
    gammas : float > 0 or R of them, step sizes :math:`\gamma`.
    seeds : int >= 0 or R of them, each run's seed (see the module docstring).""" + _DOC_OPTIONS + r"""
    metric_rounds : int >= 0 or None; default None (every round). The metrics are evaluated at
        the start and after rounds 1 .. ``metric_rounds`` only (nan after), for callers that
        keep only the first part of a metric's curve; the losses are not affected.

    Returns
    -------
    list of R :class:`LocalResult`, in run order.

    Examples
    --------
    >>> from twophase.local import make_quadratic
    >>> q = make_quadratic(4, 2, sigma=0.1, rng=0)
    >>> rs = run_local_many(q, [1.0, 1.0, 1.0, 1.0], gammas=[0.1, 0.5], seeds=0, H=2, rounds=3)
    >>> bool(rs[1].loss[-1] == run_local(q, [1.0] * 4, gamma=0.5, H=2, rounds=3).loss[-1])
    True
    """
    args = _prepare(problems, x0, gammas, seeds, H, rounds, precond, stats, average_stats, mode, n_probes,
                    metrics, curves, blowup, stop_at)
    if metric_rounds is not None:
        if isinstance(metric_rounds, bool) or not isinstance(metric_rounds, (int, np.integer)) or metric_rounds < 0:
            raise ValueError(f"metric_rounds must be None or an integer >= 0, got {metric_rounds!r}")
        metric_rounds = int(metric_rounds)
    with np.errstate(all="ignore"):
        return _run(_stack(args[0]), *args[1:], metric_rounds=metric_rounds)


def _prepare(problems, x0, gammas, seeds, H, rounds, precond, stats, average_stats, mode, n_probes, metrics,
             curves, blowup, stop_at):
    """Check the arguments of :func:`run_local_many`; returns the arguments of :func:`_run`
    (with the list of problems first)."""
    one = not isinstance(problems, (list, tuple))
    plist = [problems] if one else list(problems)
    if not plist:
        raise ValueError("problems must be a problem or a non-empty list of problems")
    for i, p in enumerate(plist):
        _check_problem("problems" if one else f"problems[{i}]", p)
    sizes = {len(v) for v in (gammas, seeds) if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) == 1}
    if not one:
        sizes.add(len(plist))
    x0_arr = np.asarray(x0) if not isinstance(x0, (str, bytes)) else x0
    if isinstance(x0_arr, np.ndarray) and x0_arr.ndim == 2:
        sizes.add(x0_arr.shape[0])
    if len(sizes) > 1:
        raise ValueError(f"problems, x0, gammas and seeds must agree on the number of runs R, got {sorted(sizes)}")
    R = sizes.pop() if sizes else 1
    positive_int("R (number of runs)", R)
    gam = np.array(_per_run("gammas", gammas, R, positive_float))
    seeds = _per_run("seeds", seeds, R, seed_int)
    plist = plist * R if len(plist) == 1 else plist
    H = positive_int("H", H)
    rounds = positive_int("rounds", rounds)
    M = positive_int("M (number of workers)", plist[0].M)
    if any(p.M != M for p in plist):
        raise ValueError(f"problems must all have the same number of workers M, got {[p.M for p in plist]}")
    stats = choice("stats", stats, STATS)
    mode = choice("mode", mode, MODES)
    n_probes = positive_int("n_probes", n_probes)
    average_stats = boolean("average_stats", average_stats)
    pc = make_precond(precond) if isinstance(precond, str) else precond
    if not isinstance(pc, Preconditioner):
        raise TypeError(f"precond must be a Preconditioner or one of its names; got {precond!r}")
    d_prob = getattr(plist[0], "d", None)
    if any(getattr(p, "d", None) != d_prob for p in plist):
        raise ValueError("problems must all have the same dimension d")
    if isinstance(x0_arr, np.ndarray) and x0_arr.ndim == 2:
        X0 = real_array("x0", x0, ndim=2, shape=None if d_prob is None else (R, d_prob))
    else:
        X0 = np.tile(real_array("x0", x0, ndim=1, shape=None if d_prob is None else (d_prob,)), (R, 1))
    d = X0.shape[1]
    blowup = positive_float("blowup", blowup)
    if stop_at is not None:
        stop_at = float(real_array("stop_at", stop_at, ndim=0))
    curves = boolean("curves", curves)
    if not curves and stop_at is not None:
        raise ValueError("curves=False needs stop_at=None (stopping at a target needs the loss every round)")
    if metrics is not None and (not isinstance(metrics, dict)
                                or not all(isinstance(k, str) and callable(f) for k, f in metrics.items())):
        raise TypeError("metrics must be a dict mapping names (str) to callables f(x)")
    work = float(rounds) * H * M * d * R
    if work > 5e10:
        raise ValueError(f"R * rounds * H * M * d = {work:.2g} gradient coordinates (more than the allowed "
                         "5e10, hours at the measured speed); lower rounds, H or the number of runs")
    gens = [streams(s) for s in seeds]
    metrics = dict(metrics or {})
    return (plist, X0, gam, gens, H, rounds, pc, stats, average_stats, mode, n_probes, metrics, blowup, stop_at,
            curves)


def _statistic_one(pc: Preconditioner, problem, X, G_last, rng, n_probes):
    """Per-worker statistic (M, d) of one run at points ``X`` (M, d) (see :func:`_run_one`)."""
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


def _run_one(problem, x0, gamma, H, rounds, pc, stats, average_stats, mode, n_probes, metrics, blowup, stop_at,
             rng_steps, rng_stats):
    """One run on checked arguments, the plain loop: for problems without a batched oracle
    there is nothing to stack, and the bookkeeping of :func:`_run` would only cost time. The
    same operations as :func:`_run` with R = 1 (tests compare the two bit for bit)."""
    M, d = problem.M, x0.shape[0]

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
            probes = [reduce(_statistic_one(pc, problem, X0, None, rng_stats, 1)) for _ in range(pc.n_warm)]
            state = pc.warm_start(np.stack(probes))
        else:
            state = pc.update(state, reduce(_statistic_one(pc, problem, X0, None, rng_stats, n_probes)))

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
                        S = G * G if pc.needs == "grad_sq" else _statistic_one(pc, problem, X, None, rng_stats, n_probes)
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
                    S = _statistic_one(pc, problem, Xs, None, rng_stats, n_probes)
                else:
                    S = _statistic_one(pc, problem, X, G if pc.needs == "grad_sq" else None,
                                   rng_stats, n_probes)
                state = pc.update(state, reduce(S))
    return LocalResult(xbar, loss, dmin, dmax, mvals, state, diverged)


def _metric(fn, X):
    """A metric at every row of ``X (R, d)``: one call if ``fn.batched``, else one per row."""
    if not X.shape[0]:
        return []
    return fn(X) if getattr(fn, "batched", False) else [fn(x) for x in X]


def _run(stack, X0, gam, gens, H, rounds, pc, stats, average_stats, mode, n_probes, metrics, blowup, stop_at,
         curves=True, metric_rounds=None):
    """The loop of :func:`run_local_many` on checked arguments (one shared loop, runs stacked)."""
    R, d = X0.shape
    M = stack.M
    rng_steps = [g[0] for g in gens]
    rng_stats = [g[1] for g in gens]
    loss = np.full((R, rounds + 1), np.inf)
    dmin = np.full((R, rounds), np.nan)
    dmax = np.full((R, rounds), np.nan)
    mvals = {k: np.full((R, rounds + 1), np.nan) for k in metrics}
    loss[:, 0] = stack.loss(X0)
    for k, f in metrics.items():
        mvals[k][:, 0] = _metric(f, X0)
    limit = blowup * np.maximum(1.0, np.abs(loss[:, 0]))

    per_worker = (mode == "local_adam") or not average_stats
    shape = (R, M, d) if per_worker else (R, d)

    def reduce(S):
        return S if per_worker else S.mean(axis=1)

    def expand(Dh):  # Dhat against (runs, M, d)
        return Dh if per_worker else Dh[:, None, :]

    # ---- initial preconditioner (statistics at x0) ---------------------------------
    XS0 = np.repeat(X0[:, None, :], M, axis=1)
    state = PrecondState(pc.init((M, d) if per_worker else (d,)).D[None].repeat(R, axis=0), 0)
    if mode == "scaled" and pc.needs != "none":
        if pc.name == "oasis":
            probes = [reduce(_statistic(pc, stack, XS0, None, rng_stats, 1)) for _ in range(pc.n_warm)]
            state = pc.warm_start(np.stack(probes))
        else:
            state = pc.update(state, reduce(_statistic(pc, stack, XS0, None, rng_stats, n_probes)))
    assert state.D.shape == shape

    xbar = X0.copy()
    diverged = np.zeros(R, dtype=bool)
    live = np.arange(R)              # runs still in the batch
    D = state.D
    count = state.count       # refreshes so far, the same for every run still in the batch
    counts = np.zeros(R, dtype=int)
    for r in range(rounds):
        if live.size == 0:
            break
        X = np.repeat(xbar[live][:, None, :], M, axis=1)
        st = stack if live.size == R else stack.take(list(live))
        rs_steps = [rng_steps[i] for i in live]
        rs_stats = [rng_stats[i] for i in live]
        g = gam[live][:, None, None]
        Dl = D[live]
        G = None
        if mode == "scaled":
            Dhat = pc.dhat(PrecondState(Dl, count))
            flat = Dhat.reshape(live.size, -1)
            lo, hi = flat.min(axis=1), flat.max(axis=1)
            De = expand(Dhat)
            step = np.empty_like(X)
            for _ in range(H):     # X <- X - g * (G / De), the same operations in place
                G = st.local_step(X, rs_steps, De, g, step)
        else:  # local_adam: per-worker refresh at every local step
            lo = np.full(live.size, np.inf)
            hi = np.full(live.size, -np.inf)
            for _ in range(H):
                G = st.stoch_grad(X, rs_steps)
                if pc.needs != "none":
                    S = G * G if pc.needs == "grad_sq" else _statistic(pc, st, X, None, rs_stats, n_probes)
                    if pc.name == "oasis" and count == 0:
                        Dl = np.mean(S[None], axis=0)
                    else:
                        Dl = pc.update(PrecondState(Dl, count), S).D
                    count += 1
                Dhat = pc.dhat(PrecondState(Dl, count))
                flat = Dhat.reshape(live.size, -1)
                lo, hi = np.minimum(lo, flat.min(axis=1)), np.maximum(hi, flat.max(axis=1))
                X = X - g * (G / Dhat)
            D = D.copy()
            D[live] = Dl
        dmin[live, r], dmax[live, r] = lo, hi
        xb = X.mean(axis=1)
        xbar[live] = xb
        fin = np.all(np.isfinite(xb), axis=1)
        f = np.full(live.size, np.inf)           # a non-finite iterate: diverged
        bad = np.ones(live.size, dtype=bool)
        if fin.any():
            idx_f = np.flatnonzero(fin)
            sf = st if idx_f.size == live.size else st.take(list(idx_f))
            lim = limit[live[idx_f]]
            if curves or r == rounds - 1:
                fv = sf.loss(xb[idx_f])
                bad[idx_f] = ~np.isfinite(fv) | (fv > lim)
            else:     # only the outcome of the divergence test is needed this round
                lo_b, hi_b = sf.loss_bounds(xb[idx_f])
                fv = np.full(idx_f.size, np.nan)
                sure_bad = lo_b > lim
                unsure = np.flatnonzero(~sure_bad & ~(hi_b <= lim))
                if unsure.size:
                    fu = sf.take(list(unsure)).loss(xb[idx_f[unsure]])
                    sure_bad[unsure] = ~np.isfinite(fu) | (fu > lim[unsure])
                bad[idx_f] = sure_bad
            f[idx_f] = fv
        diverged[live[bad]] = True
        ok = ~bad
        loss[live[ok], r + 1] = f[ok]
        if (curves or r == rounds - 1) and (metric_rounds is None or r + 1 <= metric_rounds):
            for k, fn in metrics.items():
                mvals[k][live[ok], r + 1] = _metric(fn, xb[ok])
        stop = ok & (f <= stop_at) if stop_at is not None else np.zeros(live.size, dtype=bool)
        loss[live[stop], r + 2:] = np.nan
        keep = ok & ~stop
        counts[live[~keep]] = count          # these runs leave the batch before the refresh
        # ---- refresh at communication ----------------------------------------
        if mode == "scaled" and pc.needs != "none" and keep.any():
            idx = np.flatnonzero(keep)
            stk = st if idx.size == live.size else st.take(list(idx))
            ks = [rs_stats[i] for i in idx]
            if stats == "averaged_point":
                Xs = np.repeat(xb[idx][:, None, :], M, axis=1)
                S = _statistic(pc, stk, Xs, None, ks, n_probes)
            else:
                S = _statistic(pc, stk, X[idx], G[idx] if pc.needs == "grad_sq" else None, ks, n_probes)
            D = D.copy()
            D[live[idx]] = pc.update(PrecondState(Dl[idx], count), reduce(S)).D
            count += 1
        live = live[keep]
    counts[live] = count
    return [LocalResult(xbar[i].copy(), loss[i], dmin[i], dmax[i], {k: v[i] for k, v in mvals.items()},
                        PrecondState(D[i].copy(), int(counts[i])), bool(diverged[i])) for i in range(R)]
