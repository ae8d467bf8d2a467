r"""Experiment drivers and closed forms used by the Part II chapters.

Closed forms (quadratics, :math:`\hat D` frozen):

* :func:`stationary_floor` - identical data, shared Hessian :math:`A`,
  additive noise :math:`\sigma`. The averaged iterate then follows
  mini-batch SGD with batch M whatever H is, and its stationary suboptimality
  is :math:`\tfrac12\sum_i \gamma\sigma^2 / (M(2-\gamma\lambda_i))` for
  :math:`\hat D=I` (solve :math:`\Sigma=(I-\gamma A)\Sigma(I-\gamma A)+\gamma^2\sigma^2 I/M`
  in the eigenbasis of :math:`A`). For a fixed diagonal :math:`\hat D` replace
  :math:`A` by :math:`\hat D^{-1/2}A\hat D^{-1/2}` and the noise by
  :math:`\hat D^{-1/2}\xi`.
* :func:`drift_fixed_point` - heterogeneous quadratics without noise: one
  round is the affine map :math:`\bar x\mapsto\frac1M\sum_m[c_m+P_m(\bar x-c_m)]`,
  :math:`P_m=(I-\gamma\hat D^{-1}A_m)^H`, whose fixed point is the point the
  method converges to. Its suboptimality is the client-drift floor.

Drivers: :func:`tail_floor` (Monte-Carlo floor over seeds),
:func:`compare_rounds_to_target` (tune each method, then count rounds),
:func:`hutchinson_mse` (chapter 5: error of the Hutchinson diagonal estimate against
its exact value), :func:`digits_grid` (chapter 7's neural-network grid) and
:func:`win_tie_loss` (chapter 7's scaled-vs-baseline tally).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .method import run_local
from .nn import MLP
from .precond import make_precond
from ._checks import positive_int
from .problems import MLPClassifier, Quadratic, dirichlet_shards, iid_shards, load_digits_split, rademacher
from .tune import OUTCOMES, compare_final, rounds_to_target, tune_gamma

__all__ = ["stationary_floor", "drift_fixed_point", "tail_floor", "compare_rounds_to_target",
           "MethodSpec", "digits_grid", "digits_problem", "method_precond",
           "HutchinsonMSE", "hutchinson_mse", "win_tie_loss"]


def stationary_floor(q: Quadratic, gamma: float, dhat=None) -> float:
    """Exact stationary E[f(xbar) - f*] for identical data with a shared Hessian."""
    if not q.shared_hessian or np.any(q.c != q.c[0]):
        raise ValueError("stationary_floor needs identical data: a shared Hessian and equal optima")
    A = q.hessian
    s = np.ones(q.d) if dhat is None else 1.0 / np.sqrt(np.asarray(dhat, dtype=float))
    # in the variable y = Dhat^{1/2} x the iteration is SGD on s A s with noise s*xi
    B = s[:, None] * A * s[None, :]
    lam, U = np.linalg.eigh(B)
    # stationary covariance of y in B's eigenbasis: noise cov N = U^T diag(s^2) U gamma^2 sigma^2 / M
    N = (U.T * s ** 2) @ U * (gamma ** 2 * q.sigma ** 2 / q.M)
    a = 1.0 - gamma * lam
    Sigma = N / (1.0 - a[:, None] * a[None, :])
    # f - f* = 1/2 tr(A Cov x) = 1/2 tr(B Cov y)
    return 0.5 * float(np.sum(lam * np.diag(Sigma)))


def drift_fixed_point(q: Quadratic, gamma: float, H: int, dhat=None):
    """Fixed point of one noise-free round and its suboptimality ``(x, f(x)-f*)``."""
    d = q.d
    Dinv = np.ones(d) if dhat is None else 1.0 / np.asarray(dhat, dtype=float)
    I = np.eye(d)
    Pbar = np.zeros((d, d))
    rhs = np.zeros(d)
    for m in range(q.M):
        P = np.linalg.matrix_power(I - gamma * Dinv[:, None] * q.A[m], H)
        Pbar += P / q.M
        rhs += (q.c[m] - P @ q.c[m]) / q.M
    x = np.linalg.solve(I - Pbar, rhs)
    return x, q.loss(x)


def tail_floor(problem, x0, *, gamma, H, rounds, seeds, precond="identity", tail=0.5, **kw):
    """Per-seed mean of the loss over the last ``tail`` fraction of rounds."""
    k = max(1, int(round(tail * rounds)))
    out = []
    for s in seeds:
        r = run_local(problem, x0, gamma=gamma, H=H, rounds=rounds, precond=precond, seed=int(s), **kw)
        out.append(np.mean(r.loss[-k:]))
    return np.array(out)


class MethodSpec(NamedTuple):
    """A method to compare: a display ``label``, a preconditioner and a step-size grid."""

    label: str
    precond: object
    grid: tuple


def compare_rounds_to_target(problem, x0, methods, *, H, rounds, target, tune_seed, seeds, **kw):
    """Tune every method's gamma (fewest rounds to ``target`` on ``tune_seed``),
    then count rounds to target on ``seeds``. Returns a dict label -> dict with
    ``gamma``, ``grid``, ``tune_scores``, ``rounds`` (per seed) and ``curves``
    (``nan`` after a run has reached the target: runs stop there)."""
    out = {}
    for spec in methods:
        def score(g, spec=spec):
            r = run_local(problem, x0, gamma=g, H=H, rounds=rounds, precond=spec.precond,
                          seed=tune_seed, stop_at=target, **kw)
            return rounds_to_target(r.loss, target)
        tr = tune_gamma(score, spec.grid)
        curves, counts = [], []
        for s in seeds:
            if np.isfinite(tr.best):
                r = run_local(problem, x0, gamma=tr.best, H=H, rounds=rounds, precond=spec.precond,
                              seed=int(s), stop_at=target, **kw)
                curves.append(r.loss)
                counts.append(rounds_to_target(r.loss, target))
            else:
                curves.append(np.full(rounds + 1, np.inf))
                counts.append(np.inf)
        out[spec.label] = {"gamma": tr.best, "grid": tr.grid, "tune_scores": tr.scores,
                           "rounds": np.array(counts), "curves": np.array(curves)}
    return out


# ----------------------------------------------------------------------------- chapter 5
class HutchinsonMSE(NamedTuple):
    """Result of :func:`hutchinson_mse`, one entry per probe count."""

    probes: np.ndarray   #: the probe counts n
    mse: np.ndarray      #: measured mean squared error, averaged over repetitions
    mse_se: np.ndarray   #: standard error of ``mse`` over the repetitions
    exact: np.ndarray    #: exact expected mean squared error


def hutchinson_mse(A, probe_counts, n_reps: int, rng: np.random.Generator) -> HutchinsonMSE:
    r"""Mean squared error of Hutchinson's diagonal estimate against the number of probes.

    For each ``n`` in ``probe_counts`` and each of ``n_reps`` repetitions, draw ``n``
    Rademacher probes :math:`z^{(1..n)}` and form
    :math:`\hat a_i=\frac1n\sum_k z^{(k)}_i(Az^{(k)})_i`; record
    :math:`\frac1d\sum_i(\hat a_i-A_{ii})^2`. Since :math:`\mathbb E[z_i(Az)_i]=A_{ii}`
    and :math:`\operatorname{Var}[z_i(Az)_i]=\sum_{j\ne i}A_{ij}^2` for symmetric
    :math:`A` (Hutchinson's estimator as used by OASIS, Jahani et al., 2021, :cite:`jahani2021oasis`),
    the exact expectation is

    .. math:: \mathbb E\Big[\tfrac1d\sum_i(\hat a_i-A_{ii})^2\Big]
              = \frac1{nd}\sum_i\sum_{j\ne i}A_{ij}^2 .

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric matrix (the Hessian of a quadratic).
    probe_counts : sequence of int
        Probe counts ``n >= 1``, in the order they are drawn.
    n_reps : int
        Repetitions per probe count (>= 2, for the standard error).
    rng : numpy.random.Generator
        Source of the probes; consumed as ``rademacher(rng, (n, d))`` per repetition, probe
        counts in order.

    Returns
    -------
    HutchinsonMSE
        ``probes``, ``mse`` (mean over repetitions), ``mse_se`` (sample standard deviation
        over repetitions / sqrt(n_reps)) and ``exact``, each of shape ``(len(probe_counts),)``.
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.all(np.isfinite(A)):
        raise ValueError(f"A must be a finite square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(A), initial=0.0))):
        raise ValueError("A must be symmetric")
    probes = np.array([positive_int("probe_counts[i]", n) for n in probe_counts], dtype=int)
    n_reps = positive_int("n_reps", n_reps)
    if n_reps < 2:
        raise ValueError(f"n_reps must be an integer >= 2 (allowed range 2, 3, ...), got {n_reps}")
    d = A.shape[0]
    diagA = np.diag(A)
    offvar = np.sum(A ** 2, axis=1) - diagA ** 2        # single-probe variance per coordinate
    mse, mse_se, exact = [], [], []
    for n in probes:
        errs = []
        for _ in range(n_reps):
            Z = rademacher(rng, (int(n), d))
            est = np.mean(Z * (Z @ A), axis=0)
            errs.append(np.mean((est - diagA) ** 2))
        mse.append(np.mean(errs))
        mse_se.append(np.std(errs, ddof=1) / np.sqrt(n_reps))
        exact.append(np.mean(offvar) / n)
    return HutchinsonMSE(probes, np.array(mse), np.array(mse_se), np.array(exact))


# ----------------------------------------------------------------------------- chapter 7
def method_precond(name: str, alpha: float, beta: float):
    """Chapter 7's preconditioners: clip positivity at ``alpha`` for every scaled method."""
    if name == "identity":
        return make_precond("identity")
    return make_precond(name, beta=beta, positivity="clip", alpha=alpha)


_DIGITS = {}


def digits_problem(M: int, split: str, seed: int, *, batch: int = 32, concentration: float = 0.3,
                   hidden: int = 32):
    """Digits MLP problem with M workers; the split and init depend on ``seed``.

    Returns ``(problem, x0, (Xte, yte))``.
    """
    if "data" not in _DIGITS:
        _DIGITS["data"] = load_digits_split(seed=0)
    Xtr, ytr, Xte, yte = _DIGITS["data"]
    rng = np.random.default_rng([seed, M, 0 if split == "iid" else 1])
    if split == "iid":
        shards = iid_shards(len(ytr), M, rng)
    elif split == "dirichlet":
        shards = dirichlet_shards(ytr, M, concentration, rng)
    else:
        raise ValueError(f"split must be one of 'iid', 'dirichlet'; got {split!r}")
    net = MLP((Xtr.shape[1], hidden, 10))
    prob = MLPClassifier(net, Xtr, ytr, shards, batch=batch)
    return prob, net.init(rng), (Xte, yte)


def digits_grid(*, Ms, Hs, splits, methods, grids, rounds, seeds, tune_seed, alpha, beta,
                batch=32, concentration=0.3, hidden=32, progress=None):
    r"""Run chapter 7's grid.

    For every (M, H, split, method): tune gamma on ``grids[method]`` by the
    final train loss on ``tune_seed``, then run ``seeds`` at the tuned gamma.
    Returns a dict keyed by ``(M, H, split, method)`` with ``gamma``,
    ``tune_scores``, ``loss`` and ``acc`` arrays of shape ``(len(seeds), rounds + 1)``,
    and ``clipped``: per seed, the fraction of coordinates of the final
    :math:`\hat D` sitting at the clipping level (nan for Local SGD).
    """
    results = {}
    for M in Ms:
        for split in splits:
            probs = {s: digits_problem(M, split, s, batch=batch, concentration=concentration,
                                       hidden=hidden) for s in [tune_seed, *seeds]}
            for H in Hs:
                for name in methods:
                    pc = method_precond(name, alpha, beta)
                    prob, x0, _ = probs[tune_seed]

                    def score(g):
                        r = run_local(prob, x0, gamma=g, H=H, rounds=rounds, precond=pc, seed=tune_seed)
                        return r.loss[-1]

                    tr = tune_gamma(score, grids[name])
                    L = np.full((len(seeds), rounds + 1), np.inf)
                    A = np.full((len(seeds), rounds + 1), np.nan)
                    clipped = np.full(len(seeds), np.nan)
                    if np.isfinite(tr.best):
                        for i, s in enumerate(seeds):
                            prob_s, x0_s, (Xte, yte) = probs[s]
                            r = run_local(prob_s, x0_s, gamma=tr.best, H=H, rounds=rounds, precond=pc,
                                          seed=int(s),
                                          metrics={"acc": lambda x, p=prob_s, a=Xte, b=yte: p.accuracy(x, a, b)})
                            L[i] = r.loss
                            A[i] = r.metrics["acc"]
                            if pc.name != "identity" and pc.positivity == "clip":
                                clipped[i] = np.mean(pc.dhat(r.state) <= pc.alpha)
                    results[(M, H, split, name)] = {"gamma": tr.best, "grid": tr.grid,
                                                    "tune_scores": tr.scores, "loss": L, "acc": A,
                                                    "clipped": clipped}
                    if progress is not None:
                        progress.update(1)
    return results


def win_tie_loss(results, metric: str, better: str = "lower", baseline: str = "identity",
                 k: float = 2.0) -> dict:
    """Tally :func:`~twophase.local.tune.compare_final` of every method against a baseline.

    For every configuration ``(M, H, split, method)`` of a :func:`digits_grid` result with
    ``method != baseline``, compare the per-seed final values ``results[key][metric][:, -1]``
    with those of ``(M, H, split, baseline)`` and count the outcomes per method.

    Parameters
    ----------
    results : dict
        Keyed by ``(M, H, split, method)`` as returned by :func:`digits_grid`; every
        configuration must include the baseline method.
    metric : str
        ``"loss"`` or ``"acc"`` (any key whose value has shape ``(n_seeds, rounds + 1)``).
    better : {"lower", "higher"}
        Direction of the metric.
    baseline : str
        The method every other one is compared with (default ``"identity"``: Local SGD).
    k : float
        Standard errors a difference must exceed (default 2).

    Returns
    -------
    dict
        ``{method: {"win": int, "tie": int, "loss": int}}`` for every non-baseline method, in
        order of first appearance in ``results``; "win" means the method beats the baseline.
    """
    out = {}
    for (M, H, sp, m), v in results.items():
        if m == baseline:
            continue
        if (M, H, sp, baseline) not in results:
            raise ValueError(f"results has no baseline {baseline!r} run for configuration {(M, H, sp)}")
        a = np.asarray(v[metric])[:, -1]
        b = np.asarray(results[(M, H, sp, baseline)][metric])[:, -1]
        tally = out.setdefault(m, dict.fromkeys(OUTCOMES, 0))
        tally[compare_final(a, b, better=better, k=k)] += 1
    return out
