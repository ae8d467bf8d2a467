"""Closed forms of the chapter-6 checks against the simulated method; chapter 5's Hutchinson error
and chapter 7's win/tie/loss tally on known inputs."""
import numpy as np
import pytest

from twophase.local import make_quadratic, run_local
from twophase.local.digits import digits_grid, win_tie_loss
from twophase.local.experiments import (MethodSpec, compare_rounds_to_target, drift_fixed_point,
                                        hutchinson_mse, stationary_floor, tail_floor)
from twophase.local.tune import compare_final


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


# ----------------------------------------------------------------------------- Hutchinson MSE (ch. 5)
def test_hutchinson_mse_is_zero_for_a_diagonal_matrix():
    # z_i (A z)_i = A_ii z_i^2 = A_ii: every probe is exact
    res = hutchinson_mse(np.diag([1.0, 2.0, 5.0]), [1, 3], n_reps=4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(res.probes, [1, 3])
    for name in ("mse", "mse_se", "exact"):
        np.testing.assert_array_equal(getattr(res, name), [0.0, 0.0], err_msg=name)


def test_hutchinson_mse_one_probe_2x2_is_deterministic():
    # d = 2, one probe: z_1 (Az)_1 - A_11 = z_1 z_2 b = +-b, so the squared error is b^2 exactly
    b = 0.75
    A = np.array([[2.0, b], [b, 3.0]])
    res = hutchinson_mse(A, [1], n_reps=5, rng=np.random.default_rng(1))
    np.testing.assert_allclose(res.mse, [b ** 2], rtol=1e-15)
    np.testing.assert_allclose(res.exact, [b ** 2], rtol=1e-15)
    np.testing.assert_array_equal(res.mse_se, [0.0])


def test_hutchinson_mse_matches_exact_within_standard_errors():
    q = make_quadratic(12, 1, kappa=20.0, rng=5)
    A = q.hessian
    res = hutchinson_mse(A, [1, 4, 16], n_reps=200, rng=np.random.default_rng(2))
    off = (np.sum(A ** 2) - np.sum(np.diag(A) ** 2)) / A.shape[0]
    np.testing.assert_allclose(res.exact, off / np.array([1, 4, 16]), rtol=1e-12)
    k = 4.0
    z = (res.mse - res.exact) / res.mse_se
    assert np.all(np.abs(z) <= k), f"measured {res.mse} vs exact {res.exact}: z = {z} (k={k})"


def test_hutchinson_mse_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="square"):
        hutchinson_mse(np.ones((2, 3)), [1], 3, rng)
    with pytest.raises(ValueError, match="symmetric"):
        hutchinson_mse(np.array([[1.0, 2.0], [0.0, 1.0]]), [1], 3, rng)
    with pytest.raises(ValueError, match="n_reps"):
        hutchinson_mse(np.eye(2), [1], 1, rng)
    with pytest.raises(ValueError, match="probe_counts"):
        hutchinson_mse(np.eye(2), [0], 3, rng)


# ----------------------------------------------------------------------------- win / tie / loss (ch. 7)
def test_compare_final_known_outcomes():
    # a = [0, 2]: mean 1, variance 2, se^2 = 2/2 = 1; b = [4, 4]: se^2 = 0 -> se = 1, |diff| = 3
    a, b = [0.0, 2.0], [4.0, 4.0]
    assert compare_final(a, b) == "win"                       # lower is better: a wins by 3 se
    assert compare_final(a, b, better="higher") == "loss"
    assert compare_final(b, a) == "loss"
    assert compare_final(a, b, k=3.0) == "tie"                # 3 > 3 se is false: strict
    assert compare_final(a, b, k=2.9) == "win"
    assert compare_final(a, b, better="higher", k=3.0) == "tie"
    assert compare_final(a, b, better="higher", k=2.9) == "loss"
    assert compare_final([1.0, 1.2], [1.1, 1.3]) == "tie"     # diff 0.1 < 2 * 0.1414
    # unequal seed counts: Welch se^2 = var(a)/3 + var(b)/2 = 1/3 + 2/2, diff = 4 -> 4 > 2 * 1.155
    assert compare_final([0.0, 1.0, 2.0], [4.0, 6.0]) == "win"
    assert compare_final([0.0, 1.0, 2.0], [4.0, 6.0], k=3.5) == "tie"


def test_compare_final_bad_input():
    with pytest.raises(ValueError, match="a must"):
        compare_final([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="b must"):
        compare_final([1.0, 2.0], [np.inf, 1.0])
    with pytest.raises(ValueError, match="better"):
        compare_final([1.0, 2.0], [1.0, 2.0], better="bigger")
    with pytest.raises(ValueError, match="k"):
        compare_final([1.0, 2.0], [1.0, 2.0], k=0.0)


def _fake_grid(finals):
    """digits_grid-shaped results whose last column is ``finals[key]`` (loss and acc alike)."""
    out = {}
    for key, f in finals.items():
        f = np.asarray(f, dtype=float)[:, None]
        curve = np.hstack([np.full_like(f, 9.0), f])   # first column never used
        out[key] = {"loss": curve, "acc": curve}
    return out


def test_win_tie_loss_tallies_per_method():
    base = [1.0, 1.1, 1.2]
    res = _fake_grid({
        (4, 5, "iid", "identity"): base,
        (4, 5, "iid", "rmsprop"): [0.5, 0.6, 0.7],        # lower by 0.5 >> 2 se: win
        (4, 5, "iid", "adam"): [1.01, 1.11, 1.21],        # within 2 se: tie
        (4, 5, "dirichlet", "identity"): base,
        (4, 5, "dirichlet", "rmsprop"): [2.0, 2.1, 2.2],  # higher: loss
        (4, 5, "dirichlet", "adam"): [0.1, 0.2, 0.3],     # win
    })
    lower = win_tie_loss(res, "loss", "lower")
    assert lower == {"rmsprop": {"win": 1, "tie": 0, "loss": 1}, "adam": {"win": 1, "tie": 1, "loss": 0}}
    assert list(lower) == ["rmsprop", "adam"]
    assert list(lower["rmsprop"]) == ["win", "tie", "loss"]
    higher = win_tie_loss(res, "acc", "higher")
    assert higher == {"rmsprop": {"win": 1, "tie": 0, "loss": 1}, "adam": {"win": 0, "tie": 1, "loss": 1}}
    # against rmsprop as the baseline instead
    assert win_tie_loss(res, "loss", baseline="rmsprop") == {
        "identity": {"win": 1, "tie": 0, "loss": 1}, "adam": {"win": 1, "tie": 0, "loss": 1}}
    del res[(4, 5, "dirichlet", "identity")]
    with pytest.raises(ValueError, match="baseline"):
        win_tie_loss(res, "loss")


def test_stationary_floor_refuses_an_unstable_gamma():
    q = make_quadratic(6, 2, kappa=10.0, sigma=0.3, rng=0)
    lam_max = np.linalg.eigvalsh(q.hessian).max()
    assert stationary_floor(q, 1.9 / lam_max) > 0
    for g in (2.0 / lam_max * 1.001, 100.0):
        with pytest.raises(ValueError, match="gamma must be < 2 / lambda_max"):
            stationary_floor(q, g)


def test_drift_fixed_point_refuses_a_diverging_gamma():
    q = make_quadratic(5, 3, kappa=10.0, hetero=1.0, shared_hessian=False, rng=1)
    with pytest.raises(ValueError, match="diverges"):
        drift_fixed_point(q, 100.0, 2)
