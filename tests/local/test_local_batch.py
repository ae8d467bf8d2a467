"""Runs as an array axis (run_local_many, the batched MLP oracle, vectorized tuning, executor=)
against the one-run loop kept in twophase.local._reference, and serial against threads.

Identities are exact (bit for bit) where the same floating-point operations run in the same
order: iterates, preconditioner states and Dhat ranges. Train losses are compared to 1e-13
relative: the batched loss evaluates the whole train set in 128-row matrix products where the
old code multiplied one shard at a time, and BLAS may round a row differently at the edge of a
product (measured: identical here, or 1 ulp).
"""
import concurrent.futures as cf

import numpy as np
import pytest

from twophase.local import make_logistic, make_precond, make_quadratic
from twophase.local._reference import digits_grid_reference, run_local_reference
from twophase.local.digits import (_accuracy_metric, ablation_study, digits_grid, digits_problem,
                                   eps_study, method_precond)
from twophase.local.method import run_local, run_local_many
from twophase.local.problems import _MLPStack, _stack
from twophase.local.tune import tune_gamma

OPTIONS = [{}, {"stats": "last_local"}, {"average_stats": False}, {"mode": "local_adam"}]
NAMES = ["identity", "rmsprop", "adam", "oasis"]


def _same(a, b, loss_rtol=0.0):
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.dmin, b.dmin)
    np.testing.assert_array_equal(a.dmax, b.dmax)
    np.testing.assert_array_equal(a.state.D, b.state.D)
    assert a.state.count == b.state.count and a.diverged == b.diverged
    np.testing.assert_array_equal(np.isfinite(a.loss), np.isfinite(b.loss))
    np.testing.assert_allclose(a.loss, b.loss, rtol=loss_rtol, atol=0)
    assert set(a.metrics) == set(b.metrics)
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k])


@pytest.fixture(scope="module")
def mlp():
    return digits_problem(3, "dirichlet", 0, hidden=8)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opt", range(len(OPTIONS)))
def test_stacked_mlp_runs_equal_the_old_loop(mlp, name, opt):
    """Step sizes stacked (one diverges) equal run_local_reference one by one: iterates, states
    and Dhat ranges bit for bit, losses to 1e-13."""
    prob, x0, _ = mlp
    pc = method_precond(name, 1e-3, 0.9)
    grid = [0.003, 0.03, 0.3, 30.0]
    new = run_local_many(prob, x0, gammas=grid, seeds=4, H=3, rounds=5, precond=pc, **OPTIONS[opt])
    for g, r in zip(grid, new):
        _same(run_local_reference(prob, x0, gamma=g, H=3, rounds=5, precond=pc, seed=4, **OPTIONS[opt]), r, 1e-13)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opt", range(len(OPTIONS)))
def test_stacked_quadratic_runs_equal_the_old_loop(name, opt):
    """The generic stack (a loop over runs) on a heterogeneous quadratic: bit for bit, with
    runs that diverge and runs that stop at a target in the same batch."""
    q = make_quadratic(6, 3, sigma=0.2, hetero=1.0, shared_hessian=False, rng=1)
    pc = make_precond(name) if name == "identity" else make_precond(name, alpha=1e-2)
    grid, seeds = [0.05, 0.5, 40.0], [0, 1, 2]
    kw = dict(H=2, rounds=8, precond=pc, stop_at=0.05, **OPTIONS[opt])
    new = run_local_many(q, np.ones(6), gammas=grid, seeds=seeds, **kw)
    for g, s, r in zip(grid, seeds, new):
        _same(run_local_reference(q, np.ones(6), gamma=g, seed=s, **kw), r)


def test_runs_do_not_depend_on_their_batch(mlp):
    """A run stacked with others equals the same run alone, bit for bit (its own streams)."""
    prob, x0, _ = mlp
    pc = method_precond("oasis", 1e-3, 0.9)
    alone = run_local(prob, x0, gamma=0.03, H=2, rounds=4, precond=pc, seed=7)
    both = run_local_many(prob, x0, gammas=[0.01, 0.03], seeds=[3, 7], H=2, rounds=4, precond=pc)
    _same(alone, both[1])


def test_seeds_of_different_problems_stack(mlp):
    """Problems of different seeds (other shards and starting points) in one batch equal their
    separate runs, with the accuracy metric batched."""
    ps = [digits_problem(3, "dirichlet", s, hidden=8) for s in (0, 1, 2)]
    Xte, yte = ps[0][2]
    assert _MLPStack.fits([p[0] for p in ps])
    met = _accuracy_metric(ps[0][0], Xte, yte)
    new = run_local_many([p[0] for p in ps], np.stack([p[1] for p in ps]), gammas=0.5, seeds=[0, 1, 2], H=2,
                         rounds=4, metrics=met)
    for (prob, x0, _), s, r in zip(ps, (0, 1, 2), new):
        old = run_local_reference(prob, x0, gamma=0.5, H=2, rounds=4, seed=s,
                                  metrics={"acc": lambda x, p=prob: p.accuracy(x, Xte, yte)})
        _same(old, r, 1e-13)


def test_logistic_stack_is_generic_and_exact():
    """Logistic regression goes through the generic stack and equals the old loop."""
    lg = make_logistic(200, 5, 2, rng=0)
    assert not isinstance(_stack([lg]), _MLPStack)
    pc = make_precond("oasis", alpha=1e-3, n_warm=2)
    new = run_local_many(lg, np.zeros(5), gammas=[0.1, 1.0], seeds=[0, 1], H=2, rounds=3, precond=pc)
    for g, s, r in zip([0.1, 1.0], [0, 1], new):
        _same(run_local_reference(lg, np.zeros(5), gamma=g, H=2, rounds=3, precond=pc, seed=s), r)


@pytest.mark.parametrize("name", ["identity", "adam", "oasis"])
def test_curves_false_keeps_the_final_values(mlp, name):
    """curves=False: the same iterates, states, divergence flags and final losses as
    curves=True (bit for bit), nan in between; a diverging step size is still caught."""
    prob, x0, _ = mlp
    pc = method_precond(name, 1e-3, 0.9)
    grid = [0.01, 0.1, 300.0] if name == "identity" else [0.003, 0.03, 30.0]
    kw = dict(seeds=1, H=2, rounds=6, precond=pc, blowup=3.0)   # a low blow-up level: some runs diverge
    full = run_local_many(prob, x0, gammas=grid, **kw)
    last = run_local_many(prob, x0, gammas=grid, curves=False, **kw)
    assert any(r.diverged for r in full) and not all(r.diverged for r in full)
    for a, b in zip(full, last):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.state.D, b.state.D)
        assert a.diverged == b.diverged
        assert a.loss[0] == b.loss[0] and (a.loss[-1] == b.loss[-1] or (a.diverged and b.loss[-1] == np.inf))
        if not a.diverged:
            assert np.all(np.isnan(b.loss[1:-1]))


def test_metric_rounds_keeps_the_first_metrics_and_every_loss(mlp):
    """metric_rounds=k: the same iterates, states and losses as without it (bit for bit), the
    metrics equal at the start and rounds 1..k and nan after; k must be an integer >= 0."""
    prob, x0, (Xte, yte) = mlp
    kw = dict(gammas=[0.3, 3.0], seeds=[0, 1], H=2, rounds=6, precond=method_precond("adam", 1e-3, 0.9),
              metrics=_accuracy_metric(prob, Xte, yte))
    full = run_local_many(prob, x0, **kw)
    part = run_local_many(prob, x0, metric_rounds=2, **kw)
    for a, b in zip(full, part):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.state.D, b.state.D)
        np.testing.assert_array_equal(a.metrics["acc"][:3], b.metrics["acc"][:3])
        assert np.all(np.isfinite(a.metrics["acc"])) and np.all(np.isnan(b.metrics["acc"][3:]))
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="metric_rounds"):
            run_local_many(prob, x0, metric_rounds=bad, **kw)


def test_loss_bounds_hold(mlp):
    """The MLP stack's bounds bracket the loss, for parameters from small to huge."""
    prob, x0, _ = mlp
    st = _stack([prob])
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0, 1e2, 1e5, 1e8):
        X = x0[None] + scale * rng.standard_normal((1, x0.size))
        lo, hi = st.loss_bounds(X)
        f = st.loss(X)
        assert lo[0] <= f[0] <= hi[0], (scale, lo, f, hi)


def test_tune_gamma_vectorized_and_threads_equal_the_loop(mlp):
    """One vectorized call, a loop in threads and a serial loop give the same scores."""
    prob, x0, _ = mlp

    def one(g):
        return run_local(prob, x0, gamma=g, H=2, rounds=3, precond="adam", seed=0).loss[-1]

    def many(gs):
        return [r.loss[-1] for r in run_local_many(prob, x0, gammas=gs, seeds=0, H=2, rounds=3, precond="adam",
                                                   curves=False)]

    grid = [0.001, 0.01, 0.1]
    a = tune_gamma(one, grid, executor="serial")
    with cf.ThreadPoolExecutor(2) as pool:
        b = tune_gamma(one, grid, executor=pool)
    c = tune_gamma(many, grid, vectorized=True)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.scores, c.scores)
    assert a.best == b.best == c.best


KW = dict(Ms=[2], Hs=[1, 2], splits=["iid", "dirichlet"], methods=["identity", "adam", "oasis"],
          grids={"identity": [0.3, 1.0, 3.0], "adam": [0.003, 0.03], "oasis": [0.01, 0.1]}, rounds=3,
          seeds=[0, 1], tune_seed=100, alpha=1e-3, beta=0.9, hidden=4)


@pytest.fixture(scope="module")
def grid_serial():
    return digits_grid(**KW, executor="serial")


def _grid_equal(a, b, rtol):
    assert list(a) == list(b)
    for k in a:
        assert a[k]["gamma"] == b[k]["gamma"] or (np.isnan(a[k]["gamma"]) and np.isnan(b[k]["gamma"]))
        for f in ("loss", "acc", "tune_scores", "clipped", "loss_long"):
            if f in a[k] or f in b[k]:
                np.testing.assert_allclose(a[k][f], b[k][f], rtol=rtol, atol=0, err_msg=f"{k} {f}")


def test_digits_grid_serial_equals_two_threads(grid_serial):
    """digits_grid in a ThreadPoolExecutor(2) equals the serial run bit for bit."""
    with cf.ThreadPoolExecutor(2) as pool:
        _grid_equal(grid_serial, digits_grid(**KW, executor=pool), 0.0)


def test_digits_grid_equals_the_old_grid(grid_serial):
    """The grid with stacked step sizes and seeds equals the old one-run-at-a-time grid: same
    tuned steps, curves to 1e-13."""
    _grid_equal(grid_serial, digits_grid_reference(**{k: v for k, v in KW.items()}), 1e-13)


def test_eps_study_and_ablation_serial_equal_threads(grid_serial):
    """eps_study and ablation_study: ThreadPoolExecutor(2) equals serial bit for bit."""
    kw = dict(M=2, H=2, split="dirichlet", rounds=3, seeds=[0, 1], alpha=1e-3, beta=0.9, hidden=4)
    a = eps_study(grid_serial, methods=["adam"], grid=[0.003, 0.03], tune_seed=100, executor="serial", **kw)
    with cf.ThreadPoolExecutor(2) as pool:
        b = eps_study(grid_serial, methods=["adam"], grid=[0.003, 0.03], tune_seed=100, executor=pool, **kw)
        d = ablation_study(0.01, executor=pool, **kw)
    c = ablation_study(0.01, executor="serial", **kw)
    for f in a._fields:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, dict):
            assert list(x) == list(y)
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
        else:
            assert x == y
    assert c.keys() == d.keys()
    for k in c:
        np.testing.assert_array_equal(c[k], d[k])


def test_predict_unchanged(mlp):
    """predict (now in 128-row products) equals the argmax of logits on the whole set."""
    prob, x0, (Xte, _) = mlp
    z = prob.net.logits(x0[None], Xte[None])[0]
    np.testing.assert_array_equal(prob.net.predict(x0, Xte), np.argmax(z, axis=1))
    np.testing.assert_allclose(prob.net._full_logits(x0[None], Xte)[0], z, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("sizes", [(64, 32, 10), (5, 4, 3), (6, 10), (6, 5, 4, 3)])
def test_fast_gradient_equals_loss_grad(sizes):
    """The in-place gradient of the batched oracle equals loss_grad + wd * theta bit for bit,
    and the label-only cross-entropy equals loss_grad's mean loss."""
    from twophase.local.nn import MLP

    net, rng = MLP(sizes), np.random.default_rng(1)
    for N, b in [(4, 32), (12, 7)]:
        th = rng.standard_normal((N, net.n_params)) * 0.3
        A = rng.standard_normal((N, b, sizes[0]))
        y = rng.integers(0, sizes[-1], (N, b))
        loss, g = net.loss_grad(th, A, y)
        np.testing.assert_array_equal(net._loss_grad_into(th, A, y, 1e-4), g + 1e-4 * th)
        nll = np.stack([net._nll(th[i:i + 1], A[i], y[i])[0] for i in range(N)])
        np.testing.assert_allclose(nll.mean(axis=1), loss, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opt", range(len(OPTIONS)))
def test_one_run_loop_equals_the_stacked_loop(name, opt):
    """run_local on a problem without a batched oracle takes the plain one-run loop; it equals
    run_local_many's stacked loop at R = 1 bit for bit (with a target stop and divergence)."""
    q = make_quadratic(5, 2, sigma=0.3, hetero=0.5, rng=3)
    pc = make_precond(name) if name == "identity" else make_precond(name, alpha=1e-2)
    for g in (0.1, 50.0):
        kw = dict(H=3, rounds=6, precond=pc, seed=2, stop_at=1e-3, **OPTIONS[opt])
        a = run_local(q, np.ones(5), gamma=g, **kw)
        b = run_local_many(q, np.ones(5), gammas=[g], seeds=[kw.pop("seed")], **kw)[0]
        _same(a, b)


def test_eps_study_keeps_the_old_order_and_numbers(grid_serial):
    """eps_study's dicts come in the order of its loops (methods, variants, eps then clip) and
    hold the numbers of the old one-run loop (a copy of its loop over seeds here)."""
    from twophase.local.digits import VARIANTS, _dead_weight_index, dead_inputs

    kw = dict(M=2, H=2, split="dirichlet", rounds=3, seeds=[0, 1], alpha=1e-3, beta=0.9, hidden=4)
    es = eps_study(grid_serial, methods=["adam"], grid=[0.003, 0.03], tune_seed=100, **kw)
    assert list(es.loss) == [(v, m, p) for m in ("adam",) for v in VARIANTS for p in ("eps", "clip")]
    idx = _dead_weight_index(dead_inputs(), 4)
    for (v, m, pos), L in es.loss.items():
        pc = method_precond(m, 1e-3, 0.9, positivity=pos)
        for i, s in enumerate((0, 1)):
            prob, x0, _ = digits_problem(2, "dirichlet", s, hidden=4, weight_decay=0.0 if v == "no weight decay"
                                         else 1e-4, drop_dead=v == "dead pixels dropped")
            r = run_local_reference(prob, x0, gamma=es.gamma[m], H=2, rounds=3, precond=pc, seed=s)
            np.testing.assert_allclose(L[i], r.loss[-1], rtol=1e-13)
            if v == "default":
                pen = 0.5 * prob.weight_decay * float(np.sum(r.x[idx] ** 2))
                np.testing.assert_allclose(es.dead_penalty[(v, m, pos)][i], pen, rtol=1e-13)


def test_digits_grid_in_processes_equals_serial(grid_serial):
    """digits_grid in a ProcessPoolExecutor(2) (the chunks pickled to other processes) equals
    the serial run bit for bit."""
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
        _grid_equal(grid_serial, digits_grid(**KW, executor=pool), 0.0)
