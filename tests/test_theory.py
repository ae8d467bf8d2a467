"""Exact expected-loss theory (no momentum): identities to machine precision,
agreement with an independent dense-covariance reference, structure and bad input."""
import warnings

import numpy as np
import pytest

from twophase import SGD, TwoPhase
from twophase import spectra as sp
from twophase import theory as th
from twophase.reference import dense_expected_loss
from helpers import close



@pytest.fixture
def problem():
    lam = sp.power_law(40, alpha=-1.2)
    return lam, sp.initial_moments(lam, "source", exponent=0.3)


@pytest.mark.parametrize("S", [1, 3, 7])
def test_la_nu1_R1_is_sgd(problem, form, S):
    """LA(nu = 1, R = 1) with S inner steps equals S steps of SGD, for any S."""
    lam, m0 = problem
    la = th.expected_loss(TwoPhase(0.7, nu=1.0, S=S, R=1, B=3), lam, m0, 4, sigma=0.2, form=form)
    sgd = th.expected_loss(SGD(0.7, B=3), lam, m0, 4 * S, sigma=0.2, form=form)
    close(la, sgd[::S], f"LA(nu=1,R=1,S={S}) vs SGD every S steps")


@pytest.mark.parametrize("R", [1, 2, 5])
def test_diloco_S1_is_sgd_with_rate_nu_eta_and_batch_RB(problem, form, R):
    """LA-DiLoCo with S = 1 equals SGD with rate nu*eta and batch R*B."""
    lam, m0 = problem
    a = th.expected_loss(TwoPhase(0.4, nu=1.7, S=1, R=R, B=2), lam, m0, 6, sigma=0.3, form=form)
    b = th.expected_loss(SGD(0.4 * 1.7, B=2 * R), lam, m0, 6, sigma=0.3, form=form)
    close(a, b, "LA-DiLoCo(S=1) vs SGD(nu*eta, R*B)")


@pytest.mark.parametrize("nu, R, S", [(1.0, 3, 4), (1.6, 4, 3), (0.6, 2, 5), (1.0, 1, 6)])
def test_matches_dense_covariance_reference(form, nu, R, S):
    """The O(S D) diagonal recursion equals full D x D covariance propagation
    (LA-DiLoCo; nu = 1 is Local SGD), which does not assume the diagonal closes."""
    lam = sp.spiked(12, ratio=6.0, fraction=0.2, base=0.5)
    m0 = sp.initial_moments(lam, "source", exponent=1.0)
    method = TwoPhase(0.35, nu=nu, S=S, R=R, B=2)
    fast = th.expected_loss(method, lam, m0, 5, sigma=0.4, form=form)
    dense = dense_expected_loss(method, lam, m0, 5, sigma=0.4, form=form)
    close(fast, dense, f"theory vs dense reference ({method!r}, {form})", rtol=1e-11)


def test_sgd_one_step_formula():
    """One exact SGD step: m_i' = c_i^2 m_i + (eta^2/B)(lam_i sum_j lam_j m_j + sigma^2 lam_i + lam_i^2 m_i)."""
    lam = np.array([2.0, 1.0, 0.25])
    m0 = np.array([0.3, 0.5, 0.2])
    eta, B, sigma = 0.3, 4, 0.5
    m1 = (1 - eta * lam) ** 2 * m0 + eta ** 2 / B * (lam * (lam @ m0) + sigma ** 2 * lam + lam ** 2 * m0)
    L = th.expected_loss(SGD(eta, B), lam, m0, 1, sigma=sigma)
    close(L[1], 0.5 * (lam @ m1 + sigma ** 2), "hand-computed SGD step")


def test_grid_equals_pointwise(problem):
    """A broadcast (eta, nu) grid gives the same numbers as one call per point."""
    lam, m0 = problem
    etas = np.array([0.2, 0.9, 1.8])
    nus = np.array([0.5, 1.0, 1.5, 2.5])
    grid = th.expected_loss(TwoPhase(etas[:, None], nu=nus, S=4, R=2, B=3), lam, m0, 3, sigma=0.1)
    assert grid.shape == (3, 4, 4)
    for i, e in enumerate(etas):
        for j, n in enumerate(nus):
            one = th.expected_loss(TwoPhase(e, nu=n, S=4, R=2, B=3), lam, m0, 3, sigma=0.1)
            close(grid[i, j], one, f"grid point eta={e}, nu={n}")


def test_hd_never_above_exact(problem):
    """hd drops a non-negative term from a monotone recursion, so its loss is <= exact."""
    lam, m0 = problem
    method = TwoPhase(np.linspace(0.05, 1.5, 9)[:, None], nu=np.linspace(0.3, 2.0, 7), S=5, R=3, B=2)
    ex = th.expected_loss(method, lam, m0, 5, sigma=0.2, form="exact")
    hd = th.expected_loss(method, lam, m0, 5, sigma=0.2, form="hd")
    ok = np.isinf(ex) | (hd <= ex * (1 + 1e-14))
    assert ok.all(), f"hd above exact at {np.argwhere(~ok)[:5]}"


def test_divergence_is_inf_without_warnings(problem):
    lam, m0 = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L = th.expected_loss(TwoPhase(np.array([0.5, 5.0]), nu=1.0, S=3), lam, m0, 400, sigma=0.1)
    assert np.all(np.isfinite(L[0])), "stable run must stay finite"
    first = np.argmax(np.isinf(L[1]))
    assert first > 0 and np.all(np.isinf(L[1, first:])) and np.all(np.isfinite(L[1, :first])), L[1]


def test_stationary_loss_is_long_time_limit():
    """The recursion's fixed point equals sigma^2 / (2 (1 - K)) in both forms.
    (A spectrum with lam_min = 0.2 so that 5000 steps reach the fixed point to ~1e-12.)"""
    lam = sp.spiked(100, ratio=5.0, fraction=0.1, base=0.2)
    m0 = sp.initial_moments(lam)
    for form in ("hd", "exact"):
        assert th.noise_kernel(0.5, lam, 32, form) < 1
        L = th.expected_loss(SGD(0.5, B=32), lam, m0, 5000, sigma=0.5, form=form)
        Ls = th.sgd_stationary_loss(0.5, lam, 32, 0.5, form=form)
        close(L[-1], Ls, f"stationary loss ({form})", rtol=1e-9)


def test_critical_eta_is_stability_edge():
    lam = sp.power_law(300, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    for form in ("hd", "exact"):
        ec = th.sgd_critical_eta(lam, B=3, form=form)
        assert abs(th.noise_kernel(ec, lam, 3, form) - 1.0) < 1e-9 or ec * lam.max() == pytest.approx(2.0)
        L = th.expected_loss(SGD(np.array([0.97 * ec, 1.03 * ec]), B=3), lam, m0, 3000, sigma=0.1, form=form)
        assert np.isfinite(L[0, -1]) and L[0, -1] < 10 * L[0, 0], f"{form}: below edge must stay bounded: {L[0, -1]}"
        assert L[0, -1] == pytest.approx(L[0, -2], rel=1e-3), f"{form}: below edge must settle"
        assert L[1, -1] > 1e6 * L[1, 0], f"{form}: above edge must grow without bound: {L[1, -1]}"


@pytest.mark.parametrize("kwargs, name", [
    (dict(lam=[1.0, -0.5]), "lam"),
    (dict(lam=[1.0, np.nan]), "lam"),
    (dict(m0=[0.5]), "m0"),
    (dict(m0=[0.5, -0.1]), "m0"),
    (dict(cycles=0), "cycles"),
    (dict(cycles=2.0), "cycles"),
    (dict(sigma=-1.0), "sigma"),
    (dict(form="approx"), "form"),
    (dict(method="sgd"), "method"),
])
def test_bad_input(kwargs, name):
    args = dict(method=SGD(0.1), lam=[1.0, 0.5], m0=[0.5, 0.5], cycles=3, sigma=0.0, form="exact")
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        th.expected_loss(**args)


def test_dense_operator_reference_agrees(form):
    """The dense-matrix benchmark baseline computes the same numbers."""
    from twophase.reference import dense_operator_expected_loss

    lam = sp.power_law(30, -1.5)
    m0 = sp.initial_moments(lam, "source", exponent=0.5)
    method = TwoPhase(0.6, nu=1.4, S=6, R=3, B=4)
    close(th.expected_loss(method, lam, m0, 5, sigma=0.3, form=form),
          dense_operator_expected_loss(method, lam, m0, 5, sigma=0.3, form=form), "dense-matrix baseline", rtol=1e-11)


def test_stationary_moments_are_fixed_point(form):
    """Sherman-Morrison fixed point: one step of the recursion maps it to itself, and its
    loss equals sigma^2 / (2 (1 - K))."""
    lam = sp.power_law(300, -1.5)
    m_star = th.sgd_stationary_moments(0.8, lam, 4, 0.3, form=form)
    step = th.sgd_step_moments(m_star, lam, 0.8, 4, 0.3, form)
    close(step, m_star, "P_B m* + b = m*", rtol=1e-12)
    close(0.5 * (lam @ m_star + 0.09), th.sgd_stationary_loss(0.8, lam, 4, 0.3, form=form), "loss at m*")
    with pytest.raises(ValueError, match="noise kernel"):
        th.sgd_stationary_moments(0.8, lam, 1, 0.3, form=form)


def test_sgd_stable_is_the_edge_of_the_noise_kernel():
    """sgd_stable holds exactly below sgd_critical_eta (K < 1 and every 2 - eta lam (1+1/B) > 0),
    and expected_loss stays bounded there and diverges above."""
    lam = sp.power_law(200, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    for form in ("hd", "exact"):
        ec = th.sgd_critical_eta(lam, 2, form)
        eta = ec * np.array([0.5, 0.99, 1.01, 1.5])
        stable = th.sgd_stable(eta, lam, 2, form)
        assert stable.dtype == bool and stable.tolist() == [True, True, False, False]
        L = th.expected_loss(SGD(eta, B=2), lam, m0, 4000, sigma=0.1, form=form)
        Ls = th.sgd_stationary_loss(eta[:2], lam, 2, 0.1, form)
        assert np.all(np.isfinite(L[:2, -1])) and np.all(L[:2, -1] < 10 * Ls)
        grown = ~np.isfinite(L[2:, -1]) | ((L[2:, -1] > 100 * L[2:, 0]) & (L[2:, -1] > L[2:, -2]))
        assert np.all(grown), L[2:, -3:]


def test_sgd_stable_per_mode_edge_without_noise_feedback():
    """A single mode with B huge: stable iff eta lam < 2 (the kernel K -> 0 as B grows)."""
    lam = np.array([1.0])
    assert th.sgd_stable(np.array([1.9, 2.1]), lam, 10 ** 9, "hd").tolist() == [True, False]
    assert th.sgd_stable(1.0, lam, 1, "hd").shape == ()


def test_noise_kernel_closed_form():
    """K = (eta/B) sum_j lam_j / (2 - eta lam_j) (hd) and with (1 + 1/B) in the exact form."""
    lam = np.array([1.0, 0.5, 0.1])
    eta, B = 0.7, 3
    close(th.noise_kernel(eta, lam, B, "hd"), eta / B * np.sum(lam / (2 - eta * lam)), "hd kernel", rtol=1e-14)
    close(th.noise_kernel(eta, lam, B, "exact"), eta / B * np.sum(lam / (2 - eta * lam * (1 + 1 / B))),
          "exact kernel", rtol=1e-14)
    assert th.noise_kernel(3.0, lam, B, "hd") == np.inf


@pytest.mark.parametrize("call, name", [
    (lambda: th.sgd_stable(-1.0, [1.0], 4), "eta"),
    (lambda: th.sgd_stable("0.5", [1.0], 4), "eta"),
    (lambda: th.sgd_stable(0.5, [1.0], 0), "B"),
    (lambda: th.noise_kernel(np.nan, [1.0], 4), "eta"),
    (lambda: th.noise_kernel(0.5, [1.0], 4, form="bogus"), "form"),
    (lambda: th.sgd_stationary_loss(-1.0, [1.0], 4, 0.1), "eta"),
    (lambda: th.sgd_step_moments([1.0], [1.0], 0.5, -1), "B"),
    (lambda: th.inner_phase([1.0], [1.0], 0.5, -1, 1), "S"),
])
def test_sgd_closed_forms_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
