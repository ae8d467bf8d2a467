"""Closed forms of the chapter-6 checks against the simulated method."""
import numpy as np

from twophase.local import make_quadratic, run_local
from twophase.local.experiments import (MethodSpec, compare_rounds_to_target, digits_grid,
                                        drift_fixed_point, stationary_floor, tail_floor)


def test_stationary_floor_matches_monte_carlo():
    # identical data, shared Hessian: xbar is mini-batch SGD whatever H; k = 4 standard errors
    q = make_quadratic(20, 4, kappa=10.0, sigma=0.5, hetero=0.0, rng=0)
    x0 = q.x_star.copy()                      # start in the stationary regime's centre
    gamma, H = 0.5, 5
    theory = stationary_floor(q, gamma)
    per_seed = tail_floor(q, x0, gamma=gamma, H=H, rounds=400, seeds=range(12), tail=0.9)
    mean, se = per_seed.mean(), per_seed.std(ddof=1) / np.sqrt(per_seed.size)
    k = 4.0
    assert abs(mean - theory) <= k * se, f"MC {mean:.5g} +- {se:.2g} vs theory {theory:.5g} (k={k})"


def test_stationary_floor_identity_dhat_reduces():
    q = make_quadratic(10, 3, kappa=10.0, sigma=0.3, rng=1)
    lam = np.linalg.eigvalsh(q.hessian)
    g = 0.7
    closed = 0.5 * np.sum(g * q.sigma ** 2 / (q.M * (2 - g * lam)))
    np.testing.assert_allclose(stationary_floor(q, g), closed, rtol=1e-12)
    np.testing.assert_allclose(stationary_floor(q, g, dhat=np.ones(10)), closed, rtol=1e-12)
    # a constant Dhat = c I is the same as step gamma / c
    np.testing.assert_allclose(stationary_floor(q, g, dhat=2.0 * np.ones(10)), stationary_floor(q, g / 2),
                               rtol=1e-12)


def test_drift_fixed_point_is_where_the_method_goes():
    q = make_quadratic(12, 4, kappa=20.0, sigma=0.0, hetero=2.0, shared_hessian=False, rng=2)
    x0 = np.zeros(12)
    for H in (1, 4):
        x_fp, f_fp = drift_fixed_point(q, 0.4, H)
        r = run_local(q, x0, gamma=0.4, H=H, rounds=3000)
        np.testing.assert_allclose(r.x, x_fp, rtol=1e-8, atol=1e-10)
        if H == 1:
            # no drift for H = 1: the fixed point is x* (loss difference is rounding of O(1) values)
            np.testing.assert_allclose(x_fp, q.x_star, rtol=1e-10, atol=1e-12)
            assert f_fp < 1e-13
        else:
            assert f_fp > 1e-8


def test_compare_and_digits_grid_smoke():
    q = make_quadratic(10, 2, kappa=100.0, sigma=0.0, rng=0)
    x0 = np.ones(10)
    out = compare_rounds_to_target(q, x0, [MethodSpec("SGD", "identity", (0.5, 1.0, 1.5)),
                                           MethodSpec("OASIS", "oasis", (0.1, 0.3))],
                                   H=2, rounds=50, target=1e-3 * q.loss(x0), tune_seed=0, seeds=[1, 2])
    assert set(out) == {"SGD", "OASIS"} and out["SGD"]["rounds"].shape == (2,)
    res = digits_grid(Ms=[2], Hs=[2], splits=["iid"], methods=["identity", "adam"],
                      grids={"identity": [0.1], "adam": [1e-3]}, rounds=2, seeds=[0], tune_seed=9,
                      alpha=1e-3, beta=0.9)
    assert res[(2, 2, "iid", "adam")]["acc"].shape == (1, 3)
