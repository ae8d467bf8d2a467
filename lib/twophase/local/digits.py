r"""Chapter 7's neural-network experiment: scaled local methods on the 8x8 digits.

This module owns the computations of chapter 7 (one call per result):

* :func:`digits_problem` - the MLP problem for one (M, split, seed);
* :func:`digits_grid` - tune every method's step on its grid, then run the seeds;
* :func:`oracle_cost` - per-worker gradient work of a run, counting the refresh statistics
  and the warm start as well as the local steps;
* :func:`equal_cost_runs` / :func:`equal_cost_finals` - Local SGD run on to the gradient work
  each scaled method spent, for the comparison at equal evaluations;
* :func:`win_tie_loss`, :func:`family_tally` and :func:`sign_test` - the tallies;
* :func:`eps_study` - why the additive-epsilon positivity rule fails here;
* :func:`ablation_study` - the open options of chapter 5 on one configuration.

It imports only lower modules of :mod:`twophase.local`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import (boolean, choice, float_list, int_list, nonneg_float, positive_float,
                      positive_int, seed_int)
from .method import run_local
from .nn import MLP
from .precond import PRECONDITIONERS, Preconditioner, make_precond
from .problems import MLPClassifier, dirichlet_shards, iid_shards, load_digits_split
from .tune import OUTCOMES, compare_final, tune_gamma

__all__ = ["SPLITS", "FAMILIES", "method_precond", "digits_problem", "dead_inputs", "digits_grid",
           "oracle_cost", "equal_cost_runs", "equal_cost_finals", "win_tie_loss", "family_tally",
           "sign_test", "EpsStudy", "eps_study", "ablation_study"]

SPLITS = ("iid", "dirichlet")
#: Scaled methods grouped by the statistic they estimate: RMSProp- and Adam-type fold in the
#: same g*g and differ only by Adam's bias correction, so a tally by family counts them once.
FAMILIES = {"second moment (RMSProp/Adam)": ("rmsprop", "adam"), "Hessian diagonal (OASIS)": ("oasis",)}

_DATA = {}


def _data():
    if "d" not in _DATA:
        _DATA["d"] = load_digits_split(seed=0)
    return _DATA["d"]


def method_precond(name: str, alpha: float, beta: float, positivity: str = "clip",
                   eps: float = 1e-8) -> Preconditioner:
    """Chapter 7's preconditioners: clip positivity at ``alpha`` (or add ``eps``) for every
    scaled method; ``identity`` is Local SGD."""
    name = choice("name", name, PRECONDITIONERS)
    if name == "identity":
        return make_precond("identity")
    return make_precond(name, beta=beta, positivity=positivity, alpha=alpha, eps=eps)


def dead_inputs() -> np.ndarray:
    """Indices of the pixels that are zero in every training image of :func:`load_digits_split`."""
    Xtr = _data()[0]
    return np.flatnonzero(np.all(Xtr == 0, axis=0))


def digits_problem(M: int, split: str, seed: int, *, batch: int = 32, concentration: float = 0.3,
                   hidden: int = 32, weight_decay: float = 1e-4, drop_dead: bool = False):
    """Digits MLP problem with M workers; the split and init depend on ``seed``.

    ``drop_dead=True`` removes the pixels that are zero in every training image
    (:func:`dead_inputs`) from the inputs. Returns ``(problem, x0, (Xte, yte))``.
    """
    M, seed = positive_int("M", M), seed_int("seed", seed)
    split = choice("split", split, SPLITS)
    batch, hidden = positive_int("batch", batch), positive_int("hidden", hidden)
    concentration = positive_float("concentration", concentration)
    weight_decay, drop_dead = nonneg_float("weight_decay", weight_decay), boolean("drop_dead", drop_dead)
    Xtr, ytr, Xte, yte = _data()
    if drop_dead:
        keep = np.setdiff1d(np.arange(Xtr.shape[1]), dead_inputs())
        Xtr, Xte = Xtr[:, keep], Xte[:, keep]
    rng = np.random.default_rng([seed, M, 0 if split == "iid" else 1])
    if split == "iid":
        shards = iid_shards(len(ytr), M, rng)
    else:
        shards = dirichlet_shards(ytr, M, concentration, rng)
    net = MLP((Xtr.shape[1], hidden, 10))
    prob = MLPClassifier(net, Xtr, ytr, shards, batch=batch, weight_decay=weight_decay)
    return prob, net.init(rng), (Xte, yte)


def _accuracy_metric(prob, Xte, yte):
    return {"acc": lambda x: prob.accuracy(x, Xte, yte)}


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
    Ms, Hs = int_list("Ms", Ms), int_list("Hs", Hs)
    splits = [choice(f"splits[{i}]", s, SPLITS) for i, s in enumerate(splits)]
    methods = [choice(f"methods[{i}]", m, PRECONDITIONERS) for i, m in enumerate(methods)]
    if not isinstance(grids, dict) or set(methods) - set(grids):
        raise ValueError(f"grids must be a dict with a step-size list for every method in {methods}")
    grids = {m: float_list(f"grids[{m!r}]", grids[m]) for m in methods}
    rounds, tune_seed = positive_int("rounds", rounds), seed_int("tune_seed", tune_seed)
    seeds = [seed_int(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if len(seeds) < 1:
        raise ValueError("seeds must hold at least 1 seed")
    results = {}
    for M in Ms:
        for split in splits:
            probs = {s: digits_problem(M, split, s, batch=batch, concentration=concentration,
                                       hidden=hidden) for s in [tune_seed, *seeds]}
            for H in Hs:
                for name in methods:
                    results[(M, H, split, name)] = _one_config(probs, name, grids[name], M, H, rounds,
                                                               seeds, tune_seed, alpha, beta)
                    if progress is not None:
                        progress.update(1)
    return results


def _one_config(probs, name, grid, M, H, rounds, seeds, tune_seed, alpha, beta):
    pc = method_precond(name, alpha, beta)
    prob, x0, _ = probs[tune_seed]

    def score(g):
        return run_local(prob, x0, gamma=g, H=H, rounds=rounds, precond=pc, seed=tune_seed).loss[-1]

    tr = tune_gamma(score, grid)
    L = np.full((len(seeds), rounds + 1), np.inf)
    A = np.full((len(seeds), rounds + 1), np.nan)
    clipped = np.full(len(seeds), np.nan)
    if np.isfinite(tr.best):
        for i, s in enumerate(seeds):
            prob_s, x0_s, (Xte, yte) = probs[s]
            r = run_local(prob_s, x0_s, gamma=tr.best, H=H, rounds=rounds, precond=pc, seed=int(s),
                          metrics=_accuracy_metric(prob_s, Xte, yte))
            L[i], A[i] = r.loss, r.metrics["acc"]
            if pc.name != "identity" and pc.positivity == "clip":
                clipped[i] = np.mean(pc.dhat(r.state) <= pc.alpha)
    return {"gamma": tr.best, "grid": tr.grid, "tune_scores": tr.scores, "loss": L, "acc": A,
            "clipped": clipped}


# ----------------------------------------------------------------------------- gradient work
def oracle_cost(precond, *, H: int, rounds: int, grad_cost: float, hvp_cost: float,
                stats: str = "averaged_point", n_probes: int = 1, mode: str = "scaled") -> np.ndarray:
    r"""Per-worker gradient work of :func:`~twophase.local.method.run_local`, cumulative.

    Entry ``r`` is the work spent by the end of round ``r`` (entry 0: the statistics at the
    starting point). One stochastic gradient costs ``grad_cost``, one Hessian-vector product
    ``hvp_cost`` (for the MLP: ``batch`` and ``2 * hvp_batch`` per-sample gradients, since a
    finite-difference HVP takes two gradients). Counted: ``H`` local gradients per round; the
    statistics before round 1 (one gradient for RMSProp/Adam, ``n_warm`` probes for OASIS);
    and one refresh between consecutive rounds (a fresh gradient at the averaged point, or
    ``n_probes`` HVPs; reusing the last local gradients is free). The refresh after the last
    round is not counted: no round uses it. ``mode="local_adam"`` refreshes at every local
    step (free for RMSProp/Adam, ``n_probes`` HVPs per step for OASIS).
    """
    if not isinstance(precond, Preconditioner):
        raise TypeError(f"precond must be a Preconditioner, got {type(precond).__name__}")
    H, rounds, n_probes = positive_int("H", H), positive_int("rounds", rounds), positive_int("n_probes", n_probes)
    grad_cost, hvp_cost = positive_float("grad_cost", grad_cost), positive_float("hvp_cost", hvp_cost)
    stats = choice("stats", stats, ("averaged_point", "last_local"))
    mode = choice("mode", mode, ("scaled", "local_adam"))
    local = H * grad_cost
    init = refresh = 0.0
    if precond.needs == "grad_sq":
        init = grad_cost if mode == "scaled" else 0.0
        refresh = grad_cost if (mode == "scaled" and stats == "averaged_point") else 0.0
    elif precond.needs == "hutchinson":
        if mode == "scaled":
            init, refresh = precond.n_warm * hvp_cost, n_probes * hvp_cost
        else:
            local += H * n_probes * hvp_cost
            init = (precond.n_warm - 1) * hvp_cost
    r = np.arange(rounds + 1, dtype=float)
    return init + r * local + np.maximum(r - 1, 0) * refresh


def equal_cost_runs(res, *, rounds, seeds, alpha, beta, batch=32, hvp_batch=128,
                    concentration=0.3, hidden=32) -> dict:
    """Local SGD at its tuned step, run on until it has spent the gradient work of the most
    expensive scaled method of its configuration (:func:`oracle_cost`).

    Returns ``{(M, H, split): {"cost": per-round cost of Local SGD, "loss": (seeds, R + 1)}}``;
    the first ``rounds + 1`` columns equal the grid's Local SGD runs (same streams).
    """
    out = {}
    cfgs = sorted({k[:3] for k in res})
    for M, H, sp in cfgs:
        scaled = [m for (M2, H2, sp2, m) in res if (M2, H2, sp2) == (M, H, sp) and m != "identity"]
        need = max(oracle_cost(method_precond(m, alpha, beta), H=H, rounds=rounds, grad_cost=batch,
                               hvp_cost=2 * hvp_batch)[-1] for m in scaled)
        R = int(math.floor(need / (H * batch)))
        g = res[(M, H, sp, "identity")]["gamma"]
        L = np.full((len(seeds), R + 1), np.inf)
        for i, s in enumerate(seeds):
            prob, x0, _ = digits_problem(M, sp, s, batch=batch, concentration=concentration, hidden=hidden)
            L[i] = run_local(prob, x0, gamma=g, H=H, rounds=R, precond="identity", seed=int(s)).loss
        out[(M, H, sp)] = {"cost": H * batch * np.arange(R + 1, dtype=float), "loss": L}
    return out


def equal_cost_finals(res, long_runs, *, rounds, alpha, beta, batch=32, hvp_batch=128) -> dict:
    """For every scaled configuration, Local SGD's per-seed loss after the last round whose
    cumulative work does not exceed the scaled method's (from :func:`equal_cost_runs`).

    Returns ``{(M, H, split, method): {"sgd_rounds": r, "sgd_loss": (seeds,), "cost": work}}``.
    """
    out = {}
    for (M, H, sp, m), v in res.items():
        if m == "identity":
            continue
        work = oracle_cost(method_precond(m, alpha, beta), H=H, rounds=rounds, grad_cost=batch,
                           hvp_cost=2 * hvp_batch)[-1]
        lr = long_runs[(M, H, sp)]
        r = int(np.flatnonzero(lr["cost"] <= work)[-1])
        out[(M, H, sp, m)] = {"sgd_rounds": r, "sgd_loss": lr["loss"][:, r], "cost": float(work)}
    return out


# ----------------------------------------------------------------------------- tallies
def win_tie_loss(results, metric: str, better: str = "lower", baseline: str = "identity",
                 k: float = 2.0, against=None) -> dict:
    """Tally :func:`~twophase.local.tune.compare_final` of every method against a baseline.

    For every configuration ``(M, H, split, method)`` of a :func:`digits_grid` result with
    ``method != baseline``, compare the per-seed final values ``results[key][metric][:, -1]``
    with those of ``(M, H, split, baseline)`` and count the outcomes per method. With
    ``against`` (an :func:`equal_cost_finals` result) the baseline's values are instead
    ``against[key]["sgd_loss"]``: Local SGD at equal gradient work.

    Returns ``{method: {"win": int, "tie": int, "loss": int}}`` for every non-baseline method,
    in order of first appearance in ``results``; "win" means the method beats the baseline.
    """
    return _tally(_outcomes(results, metric, better, baseline, k, against))


def _outcomes(results, metric, better, baseline, k, against) -> dict:
    out = {}
    for (M, H, sp, m), v in results.items():
        if m == baseline:
            continue
        if against is not None:
            b = np.asarray(against[(M, H, sp, m)]["sgd_loss"])
        else:
            if (M, H, sp, baseline) not in results:
                raise ValueError(f"results has no baseline {baseline!r} run for configuration {(M, H, sp)}")
            b = np.asarray(results[(M, H, sp, baseline)][metric])[:, -1]
        out[(M, H, sp, m)] = compare_final(np.asarray(v[metric])[:, -1], b, better=better, k=k)
    return out


def _tally(outcomes: dict) -> dict:
    out = {}
    for (_, _, _, m), o in outcomes.items():
        out.setdefault(m, dict.fromkeys(OUTCOMES, 0))[o] += 1
    return out


def family_tally(results, metric: str, better: str = "lower", baseline: str = "identity",
                 k: float = 2.0, against=None, families=None) -> dict:
    """Like :func:`win_tie_loss`, but one comparison per configuration and method *family*
    (:data:`FAMILIES`): a family wins (loses) a configuration only if every member present
    wins (loses) it; otherwise it is a tie. Families with no member in ``results`` are left out.
    """
    families = FAMILIES if families is None else families
    outc = _outcomes(results, metric, better, baseline, k, against)
    out = {}
    for fam, members in families.items():
        cfgs = sorted({key[:3] for key in outc if key[3] in members})
        for c in cfgs:
            os_ = {outc[(*c, m)] for m in members if (*c, m) in outc}
            o = os_.pop() if len(os_) == 1 else "tie"
            out.setdefault(fam, dict.fromkeys(OUTCOMES, 0))[o] += 1
    return out


def sign_test(wins: int, losses: int) -> float:
    """One-sided sign-test p-value of ``wins`` against ``losses`` (ties dropped):
    P[Binomial(wins + losses, 1/2) >= wins]; 1.0 when there are no decided comparisons."""
    w, lo = int(wins), int(losses)
    if w < 0 or lo < 0:
        raise ValueError(f"wins and losses must be integers >= 0, got {wins}, {losses}")
    n = w + lo
    if n == 0:
        return 1.0
    return float(sum(math.comb(n, j) for j in range(w, n + 1)) / 2 ** n)


# ----------------------------------------------------------------------------- epsilon rule
class EpsStudy(NamedTuple):
    """Result of :func:`eps_study`: for each ``variant`` and ``method``, per-seed arrays.

    ``loss`` and ``dead_penalty`` are dicts ``(variant, method, positivity) -> (seeds,)``
    (``positivity`` in {"eps", "clip"}); ``argmin_dead`` ``(variant, method) -> (seeds,)`` bool:
    the smallest final eps-rule Dhat entry is a first-layer weight of a dead pixel;
    ``min_dhat`` the smallest Dhat of the eps run; ``gamma`` ``method -> step`` (clip-tuned);
    ``own_gamma`` / ``own_loss`` the eps rule at its own tuned step (default variant).
    """

    n_dead: int
    dead_grad_zero: bool
    gamma: dict
    loss: dict
    dead_penalty: dict
    argmin_dead: dict
    min_dhat: dict
    own_gamma: dict
    own_loss: dict


VARIANTS = ("default", "no weight decay", "dead pixels dropped")


def _dead_weight_index(dead, hidden):
    return np.concatenate([np.arange(i * hidden, (i + 1) * hidden) for i in dead]) if dead.size else \
        np.zeros(0, dtype=int)


def eps_study(res, *, M, H, split, methods, grid, rounds, seeds, tune_seed, alpha, beta, batch=32,
              concentration=0.3, hidden=32, eps=1e-8) -> EpsStudy:
    r"""The additive-epsilon rule against clipping on one configuration of the grid.

    For each method in ``methods`` (RMSProp/Adam), at the clip-tuned step of ``res``, every seed
    runs both rules on three problems: the default one, one without weight decay, and one with
    the pixels that are zero in every training image removed. Also records the weight-decay
    penalty :math:`\tfrac\lambda2\|w_{dead}\|^2` of the first-layer weights of those pixels
    (whose data gradient is exactly zero, so weight decay is all they see), and tunes the eps
    rule on ``grid`` (tuning seed, default problem).
    """
    dead = dead_inputs()
    idx = _dead_weight_index(dead, hidden)
    kw = dict(batch=batch, concentration=concentration, hidden=hidden)
    prob0, x00, _ = digits_problem(M, split, seeds[0], **kw)
    rows = prob0.sample(np.random.default_rng(0))
    _, gdata = prob0.net.loss_grad(np.tile(x00, (M, 1)), prob0.a[rows], prob0.y[rows])
    dead_zero = bool(np.all(gdata[:, idx] == 0.0))
    gam, loss, pen, amin, mind, own_g, own_l = {}, {}, {}, {}, {}, {}, {}
    probs = {(v, s): digits_problem(M, split, s, weight_decay=0.0 if v == "no weight decay" else 1e-4,
                                    drop_dead=v == "dead pixels dropped", **kw)
             for v in VARIANTS for s in seeds}
    for m in methods:
        g = res[(M, H, split, m)]["gamma"]
        gam[m] = g
        for v in VARIANTS:
            for pos in ("eps", "clip"):
                pc = method_precond(m, alpha, beta, positivity=pos, eps=eps)
                L, P, A, D = [], [], [], []
                for s in seeds:
                    prob, x0, _ = probs[(v, s)]
                    r = run_local(prob, x0, gamma=g, H=H, rounds=rounds, precond=pc, seed=int(s))
                    L.append(r.loss[-1])
                    P.append(0.5 * prob.weight_decay * float(np.sum(r.x[idx] ** 2)) if v != "dead pixels dropped" else 0.0)
                    dh = pc.dhat(r.state)
                    A.append(bool(np.argmin(dh) in idx) if v == "default" else False)
                    D.append(float(np.nanmin(r.dmin)))
                loss[(v, m, pos)], pen[(v, m, pos)] = np.array(L), np.array(P)
                if pos == "eps":
                    amin[(v, m)], mind[(v, m)] = np.array(A), np.array(D)
        pce = method_precond(m, alpha, beta, positivity="eps", eps=eps)
        pt, xt, _ = digits_problem(M, split, tune_seed, **kw)
        tr = tune_gamma(lambda gg: run_local(pt, xt, gamma=gg, H=H, rounds=rounds, precond=pce,
                                             seed=tune_seed).loss[-1], grid)
        own_g[m] = tr.best
        own_l[m] = np.array([run_local(probs[("default", s)][0], probs[("default", s)][1], gamma=tr.best,
                                       H=H, rounds=rounds, precond=pce, seed=int(s)).loss[-1]
                             if np.isfinite(tr.best) else np.inf for s in seeds])
    return EpsStudy(int(dead.size), dead_zero, gam, loss, pen, amin, mind, own_g, own_l)


# ----------------------------------------------------------------------------- ablation
ABLATIONS = {"default (averaged point, shared)": {}, "last local gradients": {"stats": "last_local"},
             "per-worker Dhat": {"average_stats": False}, "local Adam (per step)": {"mode": "local_adam"}}


def ablation_study(gamma, *, M, H, split, rounds, seeds, alpha, beta, batch=32, concentration=0.3,
                   hidden=32) -> dict:
    """Chapter 5's open options on one configuration (Adam-type, clipping, one step size).

    Returns ``{variant: array (seeds, 3)}`` with columns initial train loss, final train loss
    and final test accuracy.
    """
    gamma = positive_float("gamma", gamma)
    pc = method_precond("adam", alpha, beta)
    out = {}
    for name, kw in ABLATIONS.items():
        vals = []
        for s in seeds:
            prob, x0, (Xte, yte) = digits_problem(M, split, s, batch=batch, concentration=concentration,
                                                  hidden=hidden)
            r = run_local(prob, x0, gamma=gamma, H=H, rounds=rounds, precond=pc, seed=int(s),
                          metrics=_accuracy_metric(prob, Xte, yte), **kw)
            vals.append((r.loss[0], r.loss[-1], r.metrics["acc"][-1]))
        out[name] = np.array(vals)
    return out
