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

from ..parallel import map_chunks
from . import _mlp_kernel, _tanh
from ._checks import (boolean, choice, float_list, int_list, nonneg_float, positive_float,
                      positive_int, seed_int)
from .method import run_local_many
from .nn import MLP
from .precond import PRECONDITIONERS, Preconditioner, make_precond
from .problems import MLPClassifier, dirichlet_shards, iid_shards, load_digits_split
from .tune import OUTCOMES, compare_final, tune_gamma

__all__ = ["SPLITS", "FAMILIES", "method_precond", "digits_problem", "dead_inputs", "digits_grid",
           "oracle_cost", "equal_cost_runs", "equal_cost_finals", "win_tie_loss", "family_tally",
           "sign_test", "EpsStudy", "eps_study", "ablation_study", "grid_table", "learning_checks",
           "Comparison", "compare_to_local_sgd", "comparison_checks", "speedup_verdict", "more_H_check",
           "eps_table", "eps_checks", "eps_sentences", "ablation_checks",
           "method_costs", "cost_numbers", "grid_numbers", "comparison_numbers", "more_H_text",
           "eps_numbers"]

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


def _results(name, res, need=("loss",)):
    """Check a :func:`digits_grid`-shaped dict: keys (M, H, split, method), values dicts."""
    if not isinstance(res, dict) or not res:
        raise TypeError(f"{name} must be a non-empty dict returned by digits_grid")
    for key, v in res.items():
        if not (isinstance(key, tuple) and len(key) == 4) or not isinstance(v, dict) \
                or any(f not in v for f in need):
            raise ValueError(f"{name} must map (M, H, split, method) to dicts with {list(need)}; "
                             f"got key {key!r}")
    return res


def _seeds(name, seeds):
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"{name} must be a list of integer seeds, got {seeds!r}")
    out = [seed_int(f"{name}[{i}]", s) for i, s in enumerate(seeds)]
    if len(out) < 2:
        raise ValueError(f"{name} must hold at least 2 seeds (for a standard error), got {len(out)}")
    return out


def _accuracy_metric(prob, Xte, yte):
    """``{"acc": f}``: test accuracy, ``f(x)`` for one iterate or ``f(X)`` for all runs' at once
    (``f.batched``, see :func:`~twophase.local.method.run_local_many`); the same numbers as
    ``prob.accuracy(x, Xte, yte)``."""
    net, feats, labels = prob.net, np.asarray(Xte, dtype=float), np.asarray(yte)

    def acc(x):
        hit = np.argmax(net._full_logits(np.atleast_2d(x), feats), axis=2) == labels
        return np.mean(hit, axis=1) if np.ndim(x) == 2 else float(np.mean(hit[0]))

    acc.batched = True
    return {"acc": acc}


def digits_grid(*, Ms, Hs, splits, methods, grids, rounds, seeds, tune_seed, alpha, beta,
                batch=32, concentration=0.3, hidden=32, progress=None, equal_work=True, executor=None):
    r"""Run chapter 7's grid.

    For every (M, H, split, method): tune gamma on ``grids[method]`` by the
    final train loss on ``tune_seed``, then run ``seeds`` at the tuned gamma.
    Returns a dict keyed by ``(M, H, split, method)`` with ``gamma``,
    ``tune_scores``, ``loss`` and ``acc`` arrays of shape ``(len(seeds), rounds + 1)``,
    and ``clipped``: per seed, the fraction of coordinates of the final
    :math:`\hat D` sitting at the clipping level (nan for Local SGD), and ``x_final`` (per seed).
    With ``equal_work`` the Local SGD seeds run on to the gradient work of the most expensive
    scaled method (:func:`oracle_cost`); that longer curve is ``loss_long`` (its first
    ``rounds + 1`` entries are ``loss``), used by :func:`equal_cost_runs`.

    Every configuration is one chunk of work (:func:`twophase.parallel.map_chunks`), run where
    ``executor`` says: None (the default: every local core, in processes, capped by
    ``TWOPHASE_MAX_WORKERS``), "serial", "processes", or any ``concurrent.futures.Executor``
    (a Dask cluster's executor, say). Processes, not threads, by default: the chunks are many
    small numpy calls that hold the GIL between them, and two threads slowed this grid down
    (about 10 % on 2 cores). The chunks are fixed by the grid and every run's random numbers
    by its own seed, so the results do not depend on the executor. Inside a chunk the step
    sizes of the grid run together, then the seeds
    (:func:`~twophase.local.method.run_local_many`). ``progress`` advances by one per finished
    configuration, whichever executor ran it.
    """
    Ms, Hs = int_list("Ms", Ms), int_list("Hs", Hs)
    for name, v in (("splits", splits), ("methods", methods)):
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise TypeError(f"{name} must be a list of names, got {v!r}")
    splits = [choice(f"splits[{i}]", s, SPLITS) for i, s in enumerate(splits)]
    methods = [choice(f"methods[{i}]", m, PRECONDITIONERS) for i, m in enumerate(methods)]
    if not isinstance(grids, dict) or set(methods) - set(grids):
        raise ValueError(f"grids must be a dict with a step-size list for every method in {methods}")
    grids = {m: float_list(f"grids[{m!r}]", grids[m]) for m in methods}
    rounds, tune_seed = positive_int("rounds", rounds), seed_int("tune_seed", tune_seed)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of integer seeds, got {seeds!r}")
    seeds = [seed_int(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if len(seeds) < 1:
        raise ValueError("seeds must hold at least 1 seed")
    if progress is not None and not hasattr(progress, "update"):
        raise TypeError("progress must be None or have an update(n) method (e.g. tqdm)")
    tasks = []
    for M in Ms:
        for split in splits:
            probs = {s: digits_problem(M, split, s, batch=batch, concentration=concentration,
                                       hidden=hidden) for s in [tune_seed, *seeds]}
            for H in Hs:
                R_ext = _equal_work_rounds(methods, H, rounds, alpha, beta, batch) if equal_work else rounds
                for name in methods:
                    tasks.append(((M, H, split, name), (probs, name, grids[name], M, H, rounds, seeds, tune_seed,
                                                        alpha, beta, R_ext if name == "identity" else rounds)))
    # the most work first (M H rounds runs), so that no long configuration starts last on a worker
    work = [_config_work(args) for _, args in tasks]
    order = sorted(range(len(tasks)), key=lambda i: -work[i])
    done = map_chunks(_config_task, [(tasks[i][1],) for i in order], _where(executor, sum(work)),
                      progress=progress)
    outs = dict(zip(order, done))
    return {key: outs[i] for i, (key, _) in enumerate(tasks)}


def _config_work(args) -> int:
    """Relative work of one configuration: workers x local steps x rounds x runs."""
    _, _, grid, M, H, rounds, seeds, _, _, _, run_rounds = args
    return M * H * (rounds * len(grid) + run_rounds * len(seeds))


#: Below this much work (the sum of :func:`_config_work`, about 3 s on one core) the default
#: executor runs serially: starting processes would cost more than it saves.
_PROCESS_MIN_WORK = 2000


def _where(executor, work):
    """This module's default executor (see :func:`digits_grid`): every local core, in processes,
    for at least :data:`_PROCESS_MIN_WORK` of work; serial below. The compiled loops (tanh, the
    MLP's passes) are loaded first, so that forked processes inherit them instead of each
    loading them again."""
    if executor is not None:
        return executor
    if work < _PROCESS_MIN_WORK:
        return "serial"
    _tanh._compiled()
    _mlp_kernel.kernels()
    return "processes"


def _config_task(args):
    return _one_config(*args)


def _equal_work_rounds(methods, H, rounds, alpha, beta, batch, hvp_batch=128) -> int:
    """Rounds of Local SGD that fit in the gradient work of the most expensive scaled method."""
    scaled = [m for m in methods if m != "identity"]
    if not scaled:
        return rounds
    need = max(oracle_cost(method_precond(m, alpha, beta), H=H, rounds=rounds, grad_cost=batch,
                           hvp_cost=2 * hvp_batch)[-1] for m in scaled)
    return max(rounds, int(math.floor(need / (H * batch))))


def _one_config(probs, name, grid, M, H, rounds, seeds, tune_seed, alpha, beta, run_rounds=None):
    pc = method_precond(name, alpha, beta)
    prob, x0, _ = probs[tune_seed]

    def scores(gammas):   # the whole grid at once: runs stacked along an array axis
        return [r.loss[-1] for r in run_local_many(prob, x0, gammas=gammas, seeds=tune_seed, H=H,
                                                   rounds=rounds, precond=pc, curves=False)]

    tr = tune_gamma(scores, grid, vectorized=True)
    R = rounds if run_rounds is None else run_rounds
    L = np.full((len(seeds), R + 1), np.inf)
    A = np.full((len(seeds), R + 1), np.nan)
    clipped = np.full(len(seeds), np.nan)
    xs = [None] * len(seeds)
    if np.isfinite(tr.best):
        ps = [probs[s] for s in seeds]
        Xte, yte = ps[0][2]
        runs = run_local_many([p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=tr.best, seeds=seeds,
                              H=H, rounds=R, precond=pc, metrics=_accuracy_metric(ps[0][0], Xte, yte),
                              metric_rounds=rounds)   # only the first rounds + 1 accuracies are kept
        for i, r in enumerate(runs):
            L[i], A[i], xs[i] = r.loss, r.metrics["acc"], r.x
            if pc.name != "identity" and pc.positivity == "clip":
                clipped[i] = np.mean(pc.dhat(r.state) <= pc.alpha)
    out = {"gamma": tr.best, "grid": tr.grid, "tune_scores": tr.scores, "loss": L[:, :rounds + 1],
           "acc": A[:, :rounds + 1], "clipped": clipped, "x_final": xs if R == rounds else None}
    if R > rounds:   # the first rounds + 1 entries equal a run of ``rounds`` rounds (same streams)
        out["loss_long"] = L
    return out


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
    res = _results("res", res, ("gamma",))
    rounds, seeds = positive_int("rounds", rounds), _seeds("seeds", seeds)
    batch, hvp_batch = positive_int("batch", batch), positive_int("hvp_batch", hvp_batch)
    out = {}
    cfgs = sorted({k[:3] for k in res})
    for M, H, sp in cfgs:
        scaled = [m for (M2, H2, sp2, m) in res if (M2, H2, sp2) == (M, H, sp) and m != "identity"]
        R = _equal_work_rounds(scaled, H, rounds, alpha, beta, batch, hvp_batch)
        g = res[(M, H, sp, "identity")]["gamma"]
        have = res[(M, H, sp, "identity")].get("loss_long")
        if have is not None and have.shape == (len(seeds), R + 1):
            out[(M, H, sp)] = {"cost": H * batch * np.arange(R + 1, dtype=float), "loss": have}
            continue
        ps = [digits_problem(M, sp, s, batch=batch, concentration=concentration, hidden=hidden) for s in seeds]
        L = np.stack([r.loss for r in run_local_many([p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=g,
                                                     seeds=seeds, H=H, rounds=R, precond="identity")])
        out[(M, H, sp)] = {"cost": H * batch * np.arange(R + 1, dtype=float), "loss": L}
    return out


def equal_cost_finals(res, long_runs, *, rounds, alpha, beta, batch=32, hvp_batch=128) -> dict:
    """For every scaled configuration, Local SGD's per-seed loss after the last round whose
    cumulative work does not exceed the scaled method's (from :func:`equal_cost_runs`).

    Returns ``{(M, H, split, method): {"sgd_rounds": r, "sgd_loss": (seeds,), "cost": work}}``.
    """
    res = _results("res", res)
    if not isinstance(long_runs, dict):
        raise TypeError("long_runs must be the dict returned by equal_cost_runs")
    rounds, batch, hvp_batch = positive_int("rounds", rounds), positive_int("batch", batch), \
        positive_int("hvp_batch", hvp_batch)
    out = {}
    for (M, H, sp, m), v in res.items():
        if m == "identity":
            continue
        if (M, H, sp) not in long_runs:
            raise ValueError(f"long_runs has no entry for configuration {(M, H, sp)}")
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
    results = _results("results", results, (choice("metric", metric, ("loss", "acc")),))
    better = choice("better", better, ("lower", "higher"))
    baseline = choice("baseline", baseline, PRECONDITIONERS)
    k = positive_float("k", k)
    if against is not None and not isinstance(against, dict):
        raise TypeError("against must be None or the dict returned by equal_cost_finals")
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
    if not isinstance(families, dict) or not all(isinstance(v, tuple) for v in families.values()):
        raise TypeError("families must be a dict name -> tuple of method names")
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
    from ._checks import nonneg_int

    w, lo = nonneg_int("wins", wins), nonneg_int("losses", losses)
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
              concentration=0.3, hidden=32, eps=1e-8, executor=None) -> EpsStudy:
    r"""The additive-epsilon rule against clipping on one configuration of the grid.

    For each method in ``methods`` (RMSProp/Adam), at the clip-tuned step of ``res``, every seed
    runs both rules on three problems: the default one, one without weight decay, and one with
    the pixels that are zero in every training image removed. Also records the weight-decay
    penalty :math:`\tfrac\lambda2\|w_{dead}\|^2` of the first-layer weights of those pixels
    (whose data gradient is exactly zero, so weight decay is all they see), and tunes the eps
    rule on ``grid`` (tuning seed, default problem).

    Each (variant, method, rule) is one chunk, and so is each method's own tuning of the eps
    rule (:func:`twophase.parallel.map_chunks`, ``executor`` as in :func:`digits_grid`); the
    seeds of a chunk run together (:func:`~twophase.local.method.run_local_many`).
    """
    res = _results("res", res, ("gamma",))
    M, H, rounds = positive_int("M", M), positive_int("H", H), positive_int("rounds", rounds)
    split, seeds = choice("split", split, SPLITS), _seeds("seeds", seeds)
    methods = [choice(f"methods[{i}]", m, ("rmsprop", "adam")) for i, m in enumerate(methods)]
    for m in methods:
        if (M, H, split, m) not in res:
            raise ValueError(f"res has no configuration {(M, H, split, m)}")
    grid, tune_seed, eps = float_list("grid", grid), seed_int("tune_seed", tune_seed), positive_float("eps", eps)
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
    runs, pt_xt = [], digits_problem(M, split, tune_seed, **kw)[:2]
    for m in methods:
        g = res[(M, H, split, m)]["gamma"]
        gam[m] = g
        cached = res[(M, H, split, m)]
        for v in VARIANTS:
            for pos in ("eps", "clip"):
                if v == "default" and pos == "clip" and cached.get("x_final") and len(cached["x_final"]) == len(seeds):
                    loss[(v, m, pos)] = cached["loss"][:, -1].copy()
                    pen[(v, m, pos)] = np.array([0.5 * probs[(v, s)][0].weight_decay * float(np.sum(x[idx] ** 2))
                                                 for s, x in zip(seeds, cached["x_final"])])
                    continue
                pc = method_precond(m, alpha, beta, positivity=pos, eps=eps)
                runs.append(((v, m, pos), ([probs[(v, s)] for s in seeds], g, seeds, H, rounds, pc, idx, v)))
        pce = method_precond(m, alpha, beta, positivity="eps", eps=eps)
        runs.append(((None, m, "own"), (pt_xt, [probs[("default", s)] for s in seeds], grid, seeds, tune_seed, H,
                                        rounds, pce)))
    work = len(runs) * M * H * rounds * len(seeds)
    outs = map_chunks(_eps_task, [(key[2], args) for key, args in runs], _where(executor, work))
    for ((v, m, pos), _), out in zip(runs, outs):
        if pos == "own":
            own_g[m], own_l[m] = out
            continue
        L, P, A, D = out
        loss[(v, m, pos)], pen[(v, m, pos)] = L, P
        if pos == "eps":
            amin[(v, m)], mind[(v, m)] = A, D
    order = [(v, m, pos) for m in methods for v in VARIANTS for pos in ("eps", "clip")]   # the loop's order
    loss, pen = {k: loss[k] for k in order}, {k: pen[k] for k in order}
    return EpsStudy(int(dead.size), dead_zero, gam, loss, pen, amin, mind, own_g, own_l)


def _eps_task(kind, args):
    """One chunk of :func:`eps_study`: the seeds of one (variant, method, rule), or the eps
    rule's own tuning and its seeds (``kind == "own"``)."""
    if kind == "own":
        (pt, xt), ps, grid, seeds, tune_seed, H, rounds, pce = args
        tr = tune_gamma(lambda gs: [r.loss[-1] for r in run_local_many(pt, xt, gammas=gs, seeds=tune_seed, H=H,
                                                                       rounds=rounds, precond=pce, curves=False)],
                        grid, vectorized=True)
        if not np.isfinite(tr.best):
            return tr.best, np.full(len(seeds), np.inf)
        return tr.best, np.array([r.loss[-1] for r in run_local_many(
            [p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=tr.best, seeds=seeds, H=H, rounds=rounds,
            precond=pce, curves=False)])
    ps, g, seeds, H, rounds, pc, idx, v = args
    runs = run_local_many([p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=g, seeds=seeds,
                          H=H, rounds=rounds, precond=pc, curves=False)
    L, P, A, D = [], [], [], []
    for (prob, _, _), r in zip(ps, runs):
        L.append(r.loss[-1])
        P.append(0.5 * prob.weight_decay * float(np.sum(r.x[idx] ** 2)) if v != "dead pixels dropped" else 0.0)
        A.append(bool(np.argmin(pc.dhat(r.state)) in idx) if v == "default" else False)
        D.append(float(np.nanmin(r.dmin)))
    return np.array(L), np.array(P), np.array(A), np.array(D)


# ----------------------------------------------------------------------------- ablation
ABLATIONS = {"default (averaged point, shared)": {}, "last local gradients": {"stats": "last_local"},
             "per-worker Dhat": {"average_stats": False}, "local Adam (per step)": {"mode": "local_adam"}}


def ablation_study(gamma, *, M, H, split, rounds, seeds, alpha, beta, batch=32, concentration=0.3,
                   hidden=32, executor=None) -> dict:
    """Chapter 5's open options on one configuration (Adam-type, clipping, one step size).

    Returns ``{variant: array (seeds, 3)}`` with columns initial train loss, final train loss
    and final test accuracy. Each variant is one chunk (``executor`` as in :func:`digits_grid`),
    its seeds run together.
    """
    gamma = positive_float("gamma", gamma)
    M, H, rounds = positive_int("M", M), positive_int("H", H), positive_int("rounds", rounds)
    split, seeds = choice("split", split, SPLITS), _seeds("seeds", seeds)
    pc = method_precond("adam", alpha, beta)
    ps = [digits_problem(M, split, s, batch=batch, concentration=concentration, hidden=hidden) for s in seeds]
    outs = map_chunks(_ablation_task, [(ps, gamma, seeds, H, rounds, pc, kw) for kw in ABLATIONS.values()],
                      _where(executor, len(ABLATIONS) * M * H * rounds * len(seeds)))
    return dict(zip(ABLATIONS, outs))


def _ablation_task(ps, gamma, seeds, H, rounds, pc, kw):
    """One variant of :func:`ablation_study`, its seeds together."""
    Xte, yte = ps[0][2]
    runs = run_local_many([p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=gamma, seeds=seeds, H=H,
                          rounds=rounds, precond=pc, metrics=_accuracy_metric(ps[0][0], Xte, yte),
                          curves=False, **kw)
    return np.array([(r.loss[0], r.loss[-1], r.metrics["acc"][-1]) for r in runs])


# ----------------------------------------------------------------------------- chapter summaries
# Functions returning {claim key: (holds, detail)} for the chapter to pass to ``claim``, and
# plain-text tables. Each docstring says what the checks test.
def _need(name, value, kind):
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} result, got {type(value).__name__}")
    return value


_LABEL = {"identity": "Local SGD", "rmsprop": "RMSProp-type", "adam": "Adam-type", "oasis": "OASIS-type"}


def grid_table(res) -> str:
    """One line per configuration: tuned step, final train loss and test accuracy (mean +- s.d.)
    and the share of clipped coordinates."""
    res = _results("res", res, ("loss", "acc", "gamma", "clipped"))
    lines = [f"{'M':>2} {'H':>3} {'split':>9} {'method':>13} {'gamma':>7} {'train loss':>17} {'test acc':>15} "
             f"{'clipped':>8}"]
    for (M, H, sp, m), v in res.items():
        L, A = v["loss"][:, -1], v["acc"][:, -1]
        cl = "" if m == "identity" else f"{np.mean(v['clipped']):.0%}"
        lines.append(f"{M:>2} {H:>3} {sp:>9} {_LABEL[m]:>13} {v['gamma']:>7.3g} {L.mean():>9.4f} ± "
                     f"{L.std(ddof=1):.4f} {A.mean():>8.4f} ± {A.std(ddof=1):.4f} {cl:>8}")
    return "\n".join(lines)


def learning_checks(res) -> dict:
    """``ch7-tuned-steps-inside-grids``: no tuned step at an end of its grid;
    ``ch7-every-method-learns``: final < initial train loss in every run, and every final test
    accuracy above 0.8."""
    res = _results("res", res, ("loss", "acc", "gamma", "grid"))
    min_acc = min(v["acc"][:, -1].min() for v in res.values())
    down = all(bool(np.all(v["loss"][:, -1] < v["loss"][:, 0])) for v in res.values())
    edge = sorted({(k[0], k[1], k[2], _LABEL[k[3]]) for k, v in res.items()
                   if v["gamma"] in (min(v["grid"]), max(v["grid"]))})
    return {"ch7-tuned-steps-inside-grids": (not edge, f"every tuned step size lies strictly inside its grid "
                                             f"({len(res)} configurations); at an end: {edge or 'none'}"),
            "ch7-every-method-learns": (down and min_acc > 0.8, f"train loss decreases in every run: {down}; "
                                        f"lowest final test accuracy {min_acc:.3f} (> 0.8)")}


class Comparison(NamedTuple):
    """Result of :func:`compare_to_local_sgd`."""

    tallies: dict      #: name -> tally: "rounds", "work", "acc" per method; "fam_rounds", "fam_work" per family
    counts: dict       #: name -> (wins, ties, losses, total)
    verdict: dict      #: "fam_rounds" / "fam_work" -> sentence
    p_acc: float       #: one-sided sign test of the accuracy wins against losses
    long_runs: dict    #: :func:`equal_cost_runs`
    equal: dict        #: :func:`equal_cost_finals`
    wins_at: list      #: configurations where a family wins at equal work


def _verdict_sentence(w, ti, lo, n):
    if w > lo and w >= n / 2:
        return "scaling wins on train loss in most comparisons"
    if lo > w and lo >= n / 2:
        return "tuned Local SGD wins on train loss in most comparisons"
    return "neither side wins on train loss in most comparisons"


def compare_to_local_sgd(res, *, rounds, seeds, alpha, beta, batch=32, hvp_batch=128, concentration=0.3,
                         hidden=32, k: float = 2.0) -> Comparison:
    """Every scaled method against tuned Local SGD: final train loss at equal rounds and at equal
    gradient work (:func:`equal_cost_runs`), per method and per family (:func:`family_tally`),
    and final test accuracy at equal rounds."""
    res = _results("res", res, ("gamma", "loss", "acc"))
    long_runs = equal_cost_runs(res, rounds=rounds, seeds=seeds, alpha=alpha, beta=beta, batch=batch,
                                hvp_batch=hvp_batch, concentration=concentration, hidden=hidden)
    eq = equal_cost_finals(res, long_runs, rounds=rounds, alpha=alpha, beta=beta, batch=batch, hvp_batch=hvp_batch)
    T = {"rounds": win_tie_loss(res, "loss", k=k), "work": win_tie_loss(res, "loss", k=k, against=eq),
         "acc": win_tie_loss(res, "acc", better="higher", k=k), "fam_rounds": family_tally(res, "loss", k=k),
         "fam_work": family_tally(res, "loss", k=k, against=eq)}
    counts = {}
    for name, t in T.items():
        w, lo = sum(v["win"] for v in t.values()), sum(v["loss"] for v in t.values())
        n = sum(sum(v.values()) for v in t.values())
        counts[name] = (w, n - w - lo, lo, n)
    verdict = {x: _verdict_sentence(*counts[x]) for x in ("fam_rounds", "fam_work")}
    outc = _outcomes(res, "loss", "lower", "identity", k, eq)
    wins_at = sorted(f"{fam} at M={c[0]}, H={c[1]}, {c[2]}" for fam, mem in FAMILIES.items()
                     for c in {key[:3] for key in outc}
                     if [outc[(*c, m)] for m in mem if (*c, m) in outc] and
                     all(outc[(*c, m)] == "win" for m in mem if (*c, m) in outc))
    return Comparison(T, counts, verdict, sign_test(counts["acc"][0], counts["acc"][2]), long_runs, eq, wins_at)


def comparison_checks(cmp: Comparison, n_expected: int) -> dict:
    """``ch7-scaling-verdict-train-loss``: the tallies cover every (configuration, scaled method)
    pair exactly once (``n_expected``), at equal rounds and equal work (the verdict itself is
    reported, never asserted); ``ch7-no-clear-accuracy-gain``: the one-sided sign test of the
    accuracy wins against the losses has p >= 0.05."""
    _need("cmp", cmp, Comparison)
    complete = all(cmp.counts[x][3] == n_expected for x in ("rounds", "work", "acc"))
    w, _, lo, _ = cmp.counts["acc"]
    return {"ch7-scaling-verdict-train-loss": (complete, f"the tally covers all {n_expected} (configuration, scaled "
                                               f"method) pairs at equal rounds and at equal gradient work; verdict by "
                                               f"family: {cmp.verdict['fam_rounds']} (equal rounds), "
                                               f"{cmp.verdict['fam_work']} (equal work)"),
            "ch7-no-clear-accuracy-gain": (cmp.p_acc >= 0.05, f"test accuracy: {w} wins vs {lo} losses; one-sided "
                                           f"sign-test p = {cmp.p_acc:.2g} (a clear gain would need p < 0.05)")}


def speedup_verdict(cmp: Comparison, *, Ms, Hs, rounds, n_seeds):
    """The verdict on "scaling speeds up training of a neural network", decided at equal gradient
    work by family: reproduced if the wins are the majority, under conditions if there are some,
    not reproduced otherwise. Returns ``(verdict, conditions)``."""
    _need("cmp", cmp, Comparison)
    w, ti, lo, n = cmp.counts["fam_work"]
    v = "reproduced" if w > lo and w >= n / 2 else "reproduced under conditions" if w > 0 else "not reproduced"
    r = cmp.counts["fam_rounds"]
    cond = (f"digits MLP, M in {list(Ms)}, H in {list(Hs)}, iid and Dirichlet splits, {rounds} rounds, {n_seeds} "
            f"seeds, each method at its own tuned step. At equal per-worker gradient work (refresh and warm-start "
            f"evaluations counted; OASIS's HVP = 2 gradients on 128 samples), RMSProp/Adam counted as one family: "
            f"{w} wins, {ti} ties, {lo} losses of {n} on final train loss; at equal rounds: {r[0]} wins, {r[1]} "
            f"ties, {r[2]} losses. Scaling wins at: {'; '.join(cmp.wins_at) if cmp.wins_at else 'none'}. The "
            f"paper's network and settings are not public")
    return v, cond


def more_H_check(res, *, Ms, Hs, splits, methods) -> dict:
    """``ch7-more-local-steps-lower-loss``: at the largest H the mean final train loss is below the
    one at the smallest H in at least 75 % of the (M, split, method) combinations. Empty if only
    one H is run."""
    res = _results("res", res)
    if len(Hs) < 2:
        return {}
    fl = {k: v["loss"][:, -1].mean() for k, v in res.items()}
    frac = float(np.mean([fl[(M, max(Hs), sp, m)] < fl[(M, min(Hs), sp, m)]
                          for M in Ms for sp in splits for m in methods]))
    return {"ch7-more-local-steps-lower-loss": (frac >= 0.75, f"final train loss at H={max(Hs)} below H={min(Hs)} "
                                                f"in {frac:.0%} of (M, split, method)")}


def eps_table(es: EpsStudy) -> str:
    """Final train losses and dead-weight decay penalties of :func:`eps_study`, one line per run set."""
    _need("es", es, EpsStudy)
    lines = [f"pixels zero in every training image: {es.n_dead}; data gradient of their weights is zero: "
             f"{es.dead_grad_zero}"]
    for (v, m, pos), L in es.loss.items():
        lines.append(f"{v:>20} {_LABEL[m]:>13} {pos:>4}: final train loss {np.round(L, 4).tolist()}, dead-weight "
                     f"decay penalty {np.round(es.dead_penalty[(v, m, pos)], 4).tolist()}")
    lines.append("eps rule at its own tuned step: " + str({_LABEL[m]: (g, np.round(es.own_loss[m], 4).tolist())
                                                           for m, g in es.own_gamma.items()}))
    return "\n".join(lines)


def eps_checks(es: EpsStudy, hidden: int) -> dict:
    """``ch7-dead-inputs-get-only-weight-decay``: some pixels are zero in every training image and
    the data gradient of their first-layer weights is exactly 0; ``ch7-eps-min-dhat-on-dead-inputs``:
    in every default eps run the smallest final Dhat entry is such a weight;
    ``ch7-eps-positivity-fragile``: at the clip-tuned step the eps rule ends with a higher train
    loss than clipping in every seed (paired by seed); ``ch7-eps-fine-without-dead-input-decay``:
    with weight decay 0 and with those pixels dropped, eps is never worse than clipping at 2 s.e."""
    _need("es", es, EpsStudy)
    ms = list(es.gamma)
    S = len(es.loss[("default", ms[0], "eps")])
    worse = {m: int(np.sum(~(es.loss[("default", m, "eps")] <= es.loss[("default", m, "clip")]))) for m in ms}
    own = {m: int(np.sum(~(es.own_loss[m] <= es.loss[("default", m, "clip")]))) for m in ms}

    def cmp(v, m):
        a, b = es.loss[(v, m, "eps")], es.loss[(v, m, "clip")]
        return compare_final(a, b) if np.all(np.isfinite(a)) else "loss"

    rest = {(v, m): cmp(v, m) for v in ("no weight decay", "dead pixels dropped") for m in ms}
    amin = all(bool(np.all(a)) for (v, _), a in es.argmin_dead.items() if v == "default")
    return {"ch7-dead-inputs-get-only-weight-decay": (es.n_dead >= 1 and es.dead_grad_zero,
                                                      f"{es.n_dead} pixels are zero in every training image; the data "
                                                      f"gradient of their {es.n_dead * hidden} first-layer weights is "
                                                      f"exactly 0"),
            "ch7-eps-min-dhat-on-dead-inputs": (amin, "the smallest final Dhat of every eps run sits on a dead-input "
                                                "weight: " + ", ".join(f"{_LABEL[m]} min Dhat "
                                                                       f"{np.min(es.min_dhat[('default', m)]):.1e}"
                                                                       for m in ms)),
            "ch7-eps-positivity-fragile": (all(w == S for w in worse.values()),
                                           f"at the clip-tuned step the eps rule ends with a higher train loss than "
                                           f"clipping in every seed (paired by seed): {worse} of {S}; at its own tuned "
                                           f"step: {own} of {S}"),
            "ch7-eps-fine-without-dead-input-decay": (all(o != "loss" for o in rest.values()),
                                                      "eps vs clip (2 s.e.) with weight decay 0 and with those pixels "
                                                      "dropped: " + ", ".join(f"{v}/{_LABEL[m]}: {o}"
                                                                              for (v, m), o in rest.items()))}


def eps_sentences(es: EpsStudy) -> tuple[str, str]:
    """Two glue texts: the eps rule against clipping at the clip-tuned step, and at its own step."""
    _need("es", es, EpsStudy)
    ms = list(es.gamma)
    S = len(es.loss[("default", ms[0], "eps")])
    worse = {m: int(np.sum(~(es.loss[("default", m, "eps")] <= es.loss[("default", m, "clip")]))) for m in ms}
    own = {m: int(np.sum(~(es.own_loss[m] <= es.loss[("default", m, "clip")]))) for m in ms}
    a = ", ".join(f"{_LABEL[m]} worse in {w} of {S} seeds" for m, w in worse.items())
    b = ", ".join(f"{_LABEL[m]} (step {es.own_gamma[m]:.3g}) worse than clipping in {w} of {S} seeds"
                  if np.isfinite(es.own_gamma[m]) else f"{_LABEL[m]}: every step of the grid diverges"
                  for m, w in own.items())
    return a, b


def ablation_checks(abl: dict) -> tuple[dict, str]:
    """``ch7-ablation-variants-train``: every variant lowers the train loss in every seed and ends
    above 0.8 test accuracy. Also returns a table with each variant's outcome against the
    default (:func:`compare_final` on the final train loss)."""
    if not isinstance(abl, dict) or not abl:
        raise TypeError("abl must be the dict returned by ablation_study")
    names = list(abl)
    ref = abl[names[0]]
    vs = {n: compare_final(abl[n][:, 1], ref[:, 1]) for n in names[1:]}
    ok = all(bool(np.all(v[:, 1] < v[:, 0]) and np.all(v[:, 2] > 0.8)) for v in abl.values())
    table = "\n".join(f"{n:>34}: train loss {v[:, 1].mean():.4f} ± {v[:, 1].std(ddof=1):.4f}, test acc "
                      f"{v[:, 2].mean():.4f} ± {v[:, 2].std(ddof=1):.4f}; vs default {vs.get(n, '-')}"
                      for n, v in abl.items())
    return {"ch7-ablation-variants-train": (ok, "every variant lowers the train loss in every seed and ends above "
                                            f"0.8 test accuracy at the default's tuned step; train loss vs the "
                                            f"default: {vs}")}, table


# ----------------------------------------------------------------------------- chapter 7 texts
# The numbers chapter 7's prose quotes, as {glue name: value}, built from its results so that the
# chapter's cells stay short. Each docstring says what every entry is.
def method_costs(methods, *, H: int, rounds: int, alpha: float, beta: float, batch: int = 32,
                 hvp_batch: int = 128) -> dict:
    """``{method: oracle_cost(...)}``: every method's cumulative per-worker gradient work over
    ``rounds`` rounds of ``H`` local steps (:func:`oracle_cost` with chapter 7's
    preconditioners, a gradient costing ``batch`` and an HVP ``2 * hvp_batch`` per-sample
    gradients)."""
    if isinstance(methods, (str, bytes)) or not hasattr(methods, "__iter__"):
        raise TypeError(f"methods must be a list of method names, got {methods!r}")
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least 1 method")
    batch, hvp_batch = positive_int("batch", batch), positive_int("hvp_batch", hvp_batch)
    return {m: oracle_cost(method_precond(m, alpha, beta), H=H, rounds=rounds, grad_cost=batch,
                           hvp_cost=2 * hvp_batch) for m in methods}


def cost_numbers(*, alpha: float, beta: float, batch: int = 32, hvp_batch: int = 128) -> dict:
    """The per-worker work of one round at ``H = 1`` after the first, in per-sample gradients:
    ``ch7_cost_sgd`` (Local SGD), ``ch7_cost_adam`` (RMSProp/Adam: a local gradient plus a
    refresh gradient) and ``ch7_cost_oasis`` (a local gradient plus one HVP), and
    ``ch7_cost_warm``, OASIS's statistics before round 1 (its warm-start probes)."""
    c = method_costs(["identity", "adam", "oasis"], H=1, rounds=2, alpha=alpha, beta=beta,
                     batch=batch, hvp_batch=hvp_batch)
    return {"ch7_cost_sgd": f"{c['identity'][2] - c['identity'][1]:.0f}",
            "ch7_cost_adam": f"{c['adam'][2] - c['adam'][1]:.0f}",
            "ch7_cost_oasis": f"{c['oasis'][2] - c['oasis'][1]:.0f}",
            "ch7_cost_warm": f"{c['oasis'][0]:.0f}"}


def grid_numbers(res) -> dict:
    """From a :func:`digits_grid` result: ``ch7_clip_<method>`` for every scaled method, the
    mean over configurations of the seed-mean share of clipped coordinates; ``ch7_min_acc``,
    the lowest final test accuracy of any run; ``ch7_iid_gap``, the mean over (M, H, method)
    of the iid split's seed-mean final test accuracy minus the Dirichlet split's (``n/a``
    unless both splits were run)."""
    res = _results("res", res, ("acc", "clipped"))
    scaled = list(dict.fromkeys(k[3] for k in res if k[3] != "identity"))
    out = {}
    for m in scaled:
        share = np.mean([np.mean(v["clipped"]) for k, v in res.items() if k[3] == m])
        out[f"ch7_clip_{m}"] = f"{share:.0%}"
    out["ch7_min_acc"] = f"{min(v['acc'][:, -1].min() for v in res.values()):.3f}"

    def fin(key):
        return res[key]["acc"][:, -1].mean()

    gaps = [fin(k) - fin((k[0], k[1], "dirichlet", k[3])) for k in res
            if k[2] == "iid" and (k[0], k[1], "dirichlet", k[3]) in res]
    out["ch7_iid_gap"] = f"{np.mean(gaps):+.3f}" if gaps else "n/a"
    return out


def comparison_numbers(cmp: Comparison) -> dict:
    """From :func:`compare_to_local_sgd`: ``ch7_counts_<tally>`` ("w wins, t ties, l losses
    (of n)") for every tally, ``ch7_verdict_rounds`` and ``ch7_verdict_work`` (the family
    verdicts at equal rounds and at equal gradient work) and ``ch7_p_acc`` (the sign test)."""
    _need("cmp", cmp, Comparison)
    out = {f"ch7_counts_{x}": "{} wins, {} ties, {} losses (of {})".format(*c)
           for x, c in cmp.counts.items()}
    return out | {"ch7_verdict_rounds": cmp.verdict["fam_rounds"],
                  "ch7_verdict_work": cmp.verdict["fam_work"], "ch7_p_acc": f"{cmp.p_acc:.2g}"}


def more_H_text(mh: dict) -> str:
    """The sentence on more local steps: the detail of :func:`more_H_check`'s claim, or that a
    single H was run."""
    if not isinstance(mh, dict):
        raise TypeError(f"mh must be the dict returned by more_H_check, got {type(mh).__name__}")
    key = "ch7-more-local-steps-lower-loss"
    if not mh:
        return "This profile runs a single H, so the effect of more local steps is not measured."
    if key not in mh:
        raise ValueError(f"mh must be the dict returned by more_H_check (key {key!r}), got {list(mh)}")
    return f"At a fixed number of rounds, the {mh[key][1]}."


def eps_numbers(es: EpsStudy, *, M: int, H: int, split: str, hidden: int) -> dict:
    """From :func:`eps_study` on configuration ``(M, H, split)``: ``ch7_eps_cfg``,
    ``ch7_n_dead`` (pixels zero in every training image), ``ch7_n_dead_w`` (their first-layer
    weights, ``hidden`` each) and the two sentences of :func:`eps_sentences`
    (``ch7_eps_base``, ``ch7_eps_own``)."""
    _need("es", es, EpsStudy)
    M, H, hidden = positive_int("M", M), positive_int("H", H), positive_int("hidden", hidden)
    split = choice("split", split, SPLITS)
    base, own = eps_sentences(es)
    return {"ch7_eps_cfg": f"M={M}, H={H}, {split}", "ch7_n_dead": es.n_dead,
            "ch7_n_dead_w": es.n_dead * hidden, "ch7_eps_base": base, "ch7_eps_own": own}
