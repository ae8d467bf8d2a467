"""The scaled local method: reductions (bit for bit), invariances, logging, divergence."""
import warnings

import numpy as np
import pytest

from twophase.local import (Quadratic, make_logistic, make_precond, make_quadratic, rademacher, run_local,
                            rounds_to_target, tune_gamma)


def _problems():
    return {
        "quadratic": make_quadratic(12, 4, kappa=50.0, sigma=0.3, hetero=1.0,
                                    shared_hessian=False, rng=1),
        "logistic": make_logistic(200, 10, 4, lam=1e-2, batch=5, split="label", rng=2),
    }


def _seed_streams(seed):
    # independent restatement of the documented stream layout
    a, b = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def local_sgd_reference(problem, x0, gamma, H, rounds, seed):
    """Plain Local SGD, written independently of run_local."""
    rng, _ = _seed_streams(seed)
    M = problem.M
    xbar = np.array(x0, dtype=float)
    out = [problem.loss(xbar)]
    for _ in range(rounds):
        X = np.tile(xbar, (M, 1))
        for _ in range(H):
            X = X - gamma * problem.stoch_grad(X, rng)
        xbar = X.mean(axis=0)
        out.append(problem.loss(xbar))
    return xbar, np.array(out)


@pytest.mark.parametrize("name", ["quadratic", "logistic"])
@pytest.mark.parametrize("H", [1, 3, 7])
def test_identity_equals_local_sgd_bit_for_bit(name, H):
    prob = _problems()[name]
    x0 = np.full(prob.d, 0.5)
    res = run_local(prob, x0, gamma=0.05, H=H, rounds=15, precond="identity", seed=11)
    xr, lr = local_sgd_reference(prob, x0, 0.05, H, 15, seed=11)
    assert np.array_equal(res.x, xr), np.max(np.abs(res.x - xr))
    assert np.array_equal(res.loss, lr)
    assert np.all(res.dmin == 1.0) and np.all(res.dmax == 1.0)


def minibatch_scaled_sgd_reference(problem, x0, gamma, steps, seed, name, beta, eps_or_alpha, n_warm=10):
    """Synchronous mini-batch SGD scaled by a diagonal refreshed after every step.

    Independent restatement of the rules: x <- x - gamma * g_m / D averaged over
    the M workers' one-step updates; D refreshed from fresh statistics at x.
    """
    rng, rng_stats = _seed_streams(seed)
    M, d = problem.M, problem.d
    x = np.array(x0, dtype=float)

    def stat(xc):
        Xc = np.tile(xc, (M, 1))
        if name == "oasis":
            z = rademacher(rng_stats, (M, d))
            return (z * problem.hvp(Xc, z, rng_stats)).mean(axis=0)
        g = problem.stoch_grad(Xc, rng_stats)
        return (g * g).mean(axis=0)

    if name == "oasis":
        D = np.mean(np.stack([stat(x) for _ in range(n_warm)]), axis=0)
    else:
        v = (1.0 - beta) * stat(x)          # first refresh from v = 0
        p = 1
    out = [problem.loss(x)]
    for _ in range(steps):
        if name == "oasis":
            Dh = np.maximum(eps_or_alpha, np.abs(D))
        elif name == "adam":
            Dh = np.sqrt(v / (1.0 - beta ** p)) + eps_or_alpha
        else:
            Dh = np.sqrt(v) + eps_or_alpha
        G = problem.stoch_grad(np.tile(x, (M, 1)), rng)
        x_textbook = x - gamma * G.mean(axis=0) / Dh
        x = np.mean(x[None, :] - gamma * (G / Dh), axis=0)
        # the two mini-batch forms agree to rounding
        np.testing.assert_allclose(x, x_textbook, rtol=1e-12, atol=1e-14)
        out.append(problem.loss(x))
        if name == "oasis":
            D = beta * D + (1.0 - beta) * stat(x)
        else:
            v = beta * v + (1.0 - beta) * stat(x)
            p += 1
    return x, np.array(out)


@pytest.mark.parametrize("name", ["quadratic", "logistic"])
@pytest.mark.parametrize("pname", ["rmsprop", "adam", "oasis"])
def test_H1_equals_minibatch_scaled_sgd_bit_for_bit(name, pname):
    prob = _problems()[name]
    x0 = np.full(prob.d, 0.5)
    beta = 0.8
    if pname == "oasis":
        pc = make_precond("oasis", beta=beta, alpha=1e-3)
        lvl = 1e-3
    else:
        pc = make_precond(pname, beta=beta, positivity="eps", eps=1e-6)
        lvl = 1e-6
    res = run_local(prob, x0, gamma=0.01, H=1, rounds=12, precond=pc, seed=5)
    xr, lr = minibatch_scaled_sgd_reference(prob, x0, 0.01, 12, 5, pname, beta, lvl)
    assert np.array_equal(res.x, xr), np.max(np.abs(res.x - xr))
    assert np.array_equal(res.loss, lr)


def test_shared_hessian_H_has_no_effect():
    # A_m = A, heterogeneous optima, no noise: xbar follows exact GD, whatever H
    q = make_quadratic(20, 8, kappa=100.0, sigma=0.0, hetero=3.0, shared_hessian=True, rng=4)
    x0 = np.ones(20)
    R, gamma = 6, 0.3
    base = run_local(q, x0, gamma=gamma, H=1, rounds=R * 10)
    for H in (2, 5, 10):
        res = run_local(q, x0, gamma=gamma, H=H, rounds=R * 10 // H)
        np.testing.assert_allclose(res.loss[1:], base.loss[H::H], rtol=1e-10,
                                   err_msg=f"H={H}")
    # control: with worker-specific Hessians H does matter (client drift)
    het = make_quadratic(20, 8, kappa=100.0, sigma=0.0, hetero=3.0, shared_hessian=False, rng=4)
    a = run_local(het, x0, gamma=gamma, H=1, rounds=60)
    b = run_local(het, x0, gamma=gamma, H=10, rounds=6)
    assert abs(a.loss[-1] - b.loss[-1]) > 1e-8 * max(a.loss[-1], 1e-300)


def test_dhat_bounds_logged():
    q = make_quadratic(15, 4, kappa=1e3, sigma=0.1, rng=7)
    x0 = np.ones(15)
    A = q.hessian
    Gamma = np.max(np.sum(np.abs(A), axis=1))      # |(z*Az)_i| <= sum_j |A_ij|
    pc = make_precond("oasis", beta=0.9, alpha=1e-2)
    res = run_local(q, x0, gamma=0.1, H=4, rounds=30, precond=pc, seed=0)
    assert np.all(res.dmin >= 1e-2) and np.all(res.dmax <= Gamma * (1 + 1e-12)), (res.dmin.min(), res.dmax.max(), Gamma)
    pa = make_precond("adam", beta=0.9, positivity="clip", alpha=1e-3)
    ra = run_local(q, x0, gamma=0.01, H=4, rounds=30, precond=pa, seed=0)
    assert np.all(ra.dmin >= 1e-3) and np.all(ra.dmin <= ra.dmax)


@pytest.mark.parametrize("stats", ["averaged_point", "last_local"])
@pytest.mark.parametrize("avg", [True, False])
@pytest.mark.parametrize("mode", ["scaled", "local_adam"])
@pytest.mark.parametrize("pname", ["rmsprop", "adam", "oasis"])
def test_all_option_combinations_run(stats, avg, mode, pname):
    prob = _problems()["logistic"]
    res = run_local(prob, np.zeros(prob.d), gamma=0.002, H=3, rounds=5, precond=pname,
                    stats=stats, average_stats=avg, mode=mode, seed=1)
    assert np.all(np.isfinite(res.loss)) and res.loss[-1] < res.loss[0]
    assert np.all(res.dmin > 0) and np.all(res.dmin <= res.dmax)
    expect = (prob.M, prob.d) if (mode == "local_adam" or not avg) else (prob.d,)
    assert res.state.D.shape == expect


def test_preconditioner_does_not_change_gradient_noise_stream():
    # same seed: the first local step's gradients coincide whatever the preconditioner,
    # so identity and a scaled method with Dhat = c*I differ only by the step scale.
    q = Quadratic(np.eye(6), np.random.default_rng(0).standard_normal((3, 6)), sigma=0.5)
    x0 = np.ones(6)
    a = run_local(q, x0, gamma=0.1, H=1, rounds=1, precond="identity", seed=3)
    # oasis on A = I: every probe z*Iz = 1, so Dhat = 1 exactly
    b = run_local(q, x0, gamma=0.1, H=1, rounds=1, precond="oasis", seed=3)
    assert np.array_equal(a.x, b.x)


def test_divergence_gives_inf_without_warnings():
    q = make_quadratic(10, 2, kappa=10.0, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run_local(q, np.ones(10), gamma=50.0, H=5, rounds=50)
    assert res.diverged
    assert np.isinf(res.loss[-1]) and np.isfinite(res.loss[0])


def test_tune_and_rounds_to_target():
    loss = np.array([5.0, 2.0, 1.0, 0.5, 0.5])
    assert rounds_to_target(loss, 1.0) == 2.0
    assert rounds_to_target(loss, 0.1) == float("inf")
    tr = tune_gamma(lambda g: (g - 0.3) ** 2 if g < 1 else float("nan"), [0.1, 0.3, 1.0])
    assert tr.best == 0.3 and np.isinf(tr.scores[-1])
    tr = tune_gamma(lambda g: 1.0, [0.1, 0.2])
    assert tr.best == 0.2          # ties -> larger step
    assert np.isnan(tune_gamma(lambda g: np.inf, [0.1]).best)


def test_stop_at_truncates_without_changing_the_path():
    q = make_quadratic(10, 2, kappa=10.0, sigma=0.1, rng=0)
    full = run_local(q, np.ones(10), gamma=0.5, H=3, rounds=40, seed=2)
    target = full.loss[7]
    cut = run_local(q, np.ones(10), gamma=0.5, H=3, rounds=40, seed=2, stop_at=target)
    k = rounds_to_target(full.loss, target)
    assert rounds_to_target(cut.loss, target) == k
    assert np.array_equal(cut.loss[:int(k) + 1], full.loss[:int(k) + 1])
    assert np.all(np.isnan(cut.loss[int(k) + 1:]))


def test_last_local_stats_and_local_adam_match_manual_loops():
    q = make_quadratic(6, 3, kappa=10.0, sigma=0.4, hetero=1.0, shared_hessian=False, rng=3)
    x0 = np.ones(6)
    beta, eps, gamma, H, R = 0.7, 1e-6, 0.05, 3, 4

    # stats="last_local", shared: refresh from the workers' last local gradients
    res = run_local(q, x0, gamma=gamma, H=H, rounds=R, seed=9, stats="last_local",
                    precond=make_precond("adam", beta=beta, positivity="eps", eps=eps))
    rng, rng_stats = _seed_streams(9)
    g0 = q.stoch_grad(np.tile(x0, (3, 1)), rng_stats)
    v, p, xbar = (1 - beta) * (g0 * g0).mean(axis=0), 1, x0.copy()
    for _ in range(R):
        Dh = np.sqrt(v / (1 - beta ** p)) + eps
        X = np.tile(xbar, (3, 1))
        for _ in range(H):
            G = q.stoch_grad(X, rng)
            X = X - gamma * (G / Dh)
        xbar = X.mean(axis=0)
        v, p = beta * v + (1 - beta) * (G * G).mean(axis=0), p + 1
    assert np.array_equal(res.x, xbar)

    # mode="local_adam": every worker refreshes its own scaling at every local step
    res = run_local(q, x0, gamma=gamma, H=H, rounds=R, seed=9, mode="local_adam",
                    precond=make_precond("adam", beta=beta, positivity="eps", eps=eps))
    rng, _ = _seed_streams(9)
    v, p, xbar = np.zeros((3, 6)), 0, x0.copy()
    for _ in range(R):
        X = np.tile(xbar, (3, 1))
        for _ in range(H):
            G = q.stoch_grad(X, rng)
            v, p = beta * v + (1 - beta) * (G * G), p + 1  # the update order of Preconditioner.update
            X = X - gamma * (G / (np.sqrt(v / (1 - beta ** p)) + eps))
        xbar = X.mean(axis=0)
    assert np.array_equal(res.x, xbar)
