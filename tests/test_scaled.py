"""Part III numerics (:mod:`twophase.scaled`): exact identities to rounding, closed forms against
sampling within k standard errors, and the deterministic equivalent against simulation (its error
is printed, not asserted small).

Tolerances: a test that compares ``n`` independent z-scores uses ``k = 4.5`` (a light-tailed
z above 4.5 has probability below 7e-6, so with up to a few hundred entries compared a false
failure has probability below about 1e-3). Every seed is fixed, so the tests are deterministic.
"""
import numpy as np
import pytest

from twophase import TwoPhase, reference, scaled as sc, spectra as sp, theory
from twophase.summaries import max_z, mean_se

K = 4.5


@pytest.fixture(scope="module")
def problem():
    lam = sp.power_law(40, -1.5)
    return lam, sp.initial_moments(lam), sc.jacobi(lam, 0.02)


METHODS = [TwoPhase(0.3, nu=1.2, S=4, R=3, B=5), TwoPhase(0.5, S=1, R=1, B=2),
           TwoPhase(0.2, nu=1.5, S=3, R=2, B=4, beta_in=0.5, beta_out=0.6, outer="nesterov")]


@pytest.mark.parametrize("form", ["exact", "hd"])
@pytest.mark.parametrize("method", METHODS, ids=repr)
def test_change_of_variables_is_the_engine(problem, method, form):
    """expected_loss(precond=p) on (lam, m0) equals the unscaled engine on (p lam, m0 / p),
    momentum included, to 1e-12 relative."""
    lam, m0, p = problem
    pp = sc.preconditioned_problem(lam, m0, p)
    a = theory.expected_loss(method, lam, m0, 8, sigma=0.3, form=form, precond=p)
    b = theory.expected_loss(method, pp.lam, pp.m0, 8, sigma=0.3, form=form)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("form", ["exact", "hd"])
def test_cycle_moments_against_dense_reference(problem, form):
    """cycle_moments iterated equals the dense full-covariance reference with precond (D x D
    matrices, no use of diagonality) to 1e-11, and the engine to 1e-12."""
    lam, m0, p = problem
    lam, m0, p = lam[:12], m0[:12], p[:12]
    meth = TwoPhase(0.3, nu=1.3, S=3, R=2, B=3)
    g, ours = m0.copy(), [0.5 * (lam @ m0 + 0.04)]
    for _ in range(5):
        g = sc.cycle_moments(meth, lam, g, p, sigma=0.2, form=form)
        ours.append(0.5 * (lam @ g + 0.04))
    dense = reference.dense_expected_loss(meth, lam, m0, 5, sigma=0.2, form=form, precond=p)
    np.testing.assert_allclose(ours, dense, rtol=1e-11, atol=0)
    eng = theory.expected_loss(meth, lam, m0, 5, sigma=0.2, form=form, precond=p)
    np.testing.assert_allclose(ours, eng, rtol=1e-12, atol=0)


def test_cycle_moments_identity_is_today(problem):
    """precond = ones in cycle_moments reproduces the unscaled engine (1e-12) on an eta grid."""
    lam, m0, _ = problem
    meth = TwoPhase(np.array([0.1, 0.4, 0.8]), nu=0.9, S=5, R=4, B=2)
    g = np.broadcast_to(m0, (3, lam.size))
    L = [0.5 * (g @ lam)]
    for _ in range(4):
        g = sc.cycle_moments(meth, lam, g, np.ones(lam.size))
        L.append(0.5 * (g @ lam))
    np.testing.assert_allclose(np.stack(L, -1), theory.expected_loss(meth, lam, m0, 4), rtol=1e-12)


def _dense_sgd_loss(H, m0, p, eta, B, sigma, steps):
    """Scaled SGD on a full covariance: M <- A M A^T + eta^2 P [(H M H + H tr(H M)) / B
    + sigma^2 H / B] P with A = I - eta P H (the Gaussian fourth-moment identity)."""
    P = np.diag(p)
    A = np.eye(len(p)) - eta * P @ H
    M = np.diag(m0)
    out = [0.5 * (np.trace(H @ M) + sigma ** 2)]
    for _ in range(steps):
        N = (H @ M @ H + H * np.trace(H @ M) + sigma ** 2 * H) / B
        M = A @ M @ A.T + eta ** 2 * P @ N @ P
        out.append(0.5 * (np.trace(H @ M) + sigma ** 2))
    return np.array(out)


def test_rotated_change_of_variables_exact():
    """A rotated H with a diagonal P: the unscaled engine in the eigenbasis of P^1/2 H P^1/2
    equals a dense covariance recursion in the original coordinates (1e-11); the moments there
    are not diagonal, but the eigenbasis diagonal closes."""
    rng = np.random.default_rng(3)
    D = 10
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    H = (Q * sp.power_law(D, -1.0)) @ Q.T
    m0 = rng.uniform(0.5, 1.5, D) / D
    p = 1.0 / np.diag(H)
    pp = sc.preconditioned_problem(H, m0, p)
    eta = 0.4 * theory.sgd_critical_eta(pp.lam, 3)
    ours = theory.expected_loss(TwoPhase(eta, B=3), pp.lam, pp.m0, 12, sigma=0.3)
    np.testing.assert_allclose(ours, _dense_sgd_loss(H, m0, p, eta, 3, 0.3, 12), rtol=1e-11)


def test_rotated_theory_against_dense_simulation():
    """LA-DiLoCo (R=2, S=2, nu=1.3) with Jacobi scaling on a rotated power law: the exact theory
    of the transformed problem against the dense Monte-Carlo, within K standard errors."""
    rng = np.random.default_rng(5)
    D = 16
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    H = (Q * sp.power_law(D, -1.5)) @ Q.T
    m0 = np.full(D, 1.0 / D)
    p = 1.0 / np.diag(H)
    pp = sc.preconditioned_problem(H, m0, p)
    meth = TwoPhase(0.3 * theory.sgd_critical_eta(pp.lam, 3), nu=1.3, S=2, R=2, B=3)
    th = theory.expected_loss(meth, pp.lam, pp.m0, 8, sigma=0.2)
    sim = sc.simulate_rotated(meth, H, m0, 8, 1000, precond=p, sigma=0.2, seed=1)
    ms = mean_se(sim)
    assert max_z(th[1:], ms.mean[1:], ms.se[1:]).z <= K


def test_rotated_simulation_executor_independent():
    """simulate_rotated gives the same numbers bit for bit serially and on the default executor."""
    H = np.diag([1.0, 0.3, 0.1])
    meth = TwoPhase(0.2, S=2, R=2, B=2)
    a = sc.simulate_rotated(meth, H, [0.3, 0.3, 0.4], 3, 130, sigma=0.1, seed=2, executor="serial")
    b = sc.simulate_rotated(meth, H, [0.3, 0.3, 0.4], 3, 130, sigma=0.1, seed=2)
    assert np.array_equal(a, b)


def test_jacobi_makes_spectrum_isotropic(problem):
    """Pure Jacobi: the transformed spectrum is all ones exactly, and the moments are lam m0."""
    lam, m0, _ = problem
    pp = sc.preconditioned_problem(lam, m0, sc.jacobi(lam))
    np.testing.assert_allclose(pp.lam, 1.0, rtol=1e-15)
    np.testing.assert_allclose(pp.m0, lam * m0, rtol=1e-15)


def test_oasis_exact_products_is_clipped_jacobi(problem):
    """With exact Hessian-vector products the Hutchinson estimate is lam exactly for any probe
    (bit for bit with one probe; the mean of several only rounds, 1e-15), so OASIS gives
    1 / max(alpha, lam) exactly (bit for bit)."""
    lam, _, _ = problem
    rng = np.random.default_rng(0)
    assert np.array_equal(sc.hutchinson_sample(lam, rng, size=5), np.broadcast_to(lam, (5, lam.size)))
    np.testing.assert_allclose(sc.hutchinson_sample(lam, rng, probes=3, size=5)[0], lam, rtol=1e-15)
    for alpha in (1e-4, 0.01, 0.3, 2.0):
        assert np.array_equal(sc.oasis_precond(lam, alpha), sc.jacobi(lam, alpha))
        assert np.array_equal(sc.oasis_precond(lam, alpha, rng=rng), 1.0 / np.maximum(alpha, lam))
    assert np.all(sc.hutchinson_moments(lam).var == 0.0)


@pytest.mark.parametrize("B,probes", [(1, 1), (4, 3), (16, 1)])
def test_hutchinson_minibatch_moments_against_sampling(B, probes):
    """Mean and variance of z * (Hhat z) with a minibatch Hessian: the closed form against 40000
    draws, every mode within K standard errors (SE of the variance from the sampled fourth
    central moment)."""
    lam = sp.power_law(12, -1.0)
    x = sc.hutchinson_sample(lam, np.random.default_rng(B + probes), B=B, probes=probes, size=40000)
    mom = sc.hutchinson_moments(lam, B=B, probes=probes)
    n = x.shape[0]
    assert np.max(np.abs(x.mean(0) - mom.mean) / (x.std(0, ddof=1) / np.sqrt(n))) <= K
    d = x - x.mean(0)
    se_var = np.std(d * d, axis=0, ddof=1) / np.sqrt(n)
    assert np.max(np.abs(d.var(0, ddof=1) - mom.var) / se_var) <= K


def test_hutchinson_variance_small_case_by_hand():
    """lam = (1, 1), B = 2, one probe: 2/2 + 1 * 1 / 2 = 1.5 in each mode."""
    assert sc.hutchinson_moments([1.0, 1.0], B=2).var.tolist() == [1.5, 1.5]


@pytest.mark.parametrize("average", ["squares", "gradients"])
@pytest.mark.parametrize("B,R,sigma", [(1, 1, 0.0), (4, 3, 0.5), (16, 8, 0.2)])
def test_gradient_square_moment_against_sampling(average, B, R, sigma):
    """E[s_i] = lam^2 m (1 + 1/n) + lam (lam.m + sigma^2) / n (n = B or R B) against the statistic
    sampled at random points e ~ N(0, m) with the fast gradient sampler, K standard errors."""
    lam = sp.power_law(10, -1.5)
    m = np.linspace(0.05, 0.15, 10)
    rng = np.random.default_rng(11)
    e = np.sqrt(m) * rng.standard_normal((60000, 10))
    s = sc.gradient_square_sample(lam, e, B, rng, sigma=sigma, R=R, average=average)
    mom = sc.gradient_square_moment(lam, m, B, sigma=sigma, R=R, average=average)
    assert np.max(np.abs(s.mean(0) - mom) / (s.std(0, ddof=1) / np.sqrt(s.shape[0]))) <= K


def test_gradient_square_moment_naive_features():
    """The same formula against gradients built from explicit Gaussian features X (B x D) and
    label noise, independently of the library's samplers (one worker, K standard errors)."""
    lam = np.array([1.0, 0.4, 0.1])
    m = np.array([0.3, 0.5, 0.9])
    B, sigma, n = 3, 0.4, 200000
    rng = np.random.default_rng(8)
    e = np.sqrt(m) * rng.standard_normal((n, 3))
    X = rng.standard_normal((n, B, 3)) * np.sqrt(lam)
    r = np.einsum("nbd,nd->nb", X, e) - sigma * rng.standard_normal((n, B))
    g = np.einsum("nbd,nb->nd", X, r) / B
    s = g * g
    mom = sc.gradient_square_moment(lam, m, B, sigma=sigma)
    assert np.max(np.abs(s.mean(0) - mom) / (s.std(0, ddof=1) / np.sqrt(n))) <= K


def test_deterministic_equivalent_first_round_and_chain(problem):
    """The equivalent's first p is 1 / (sqrt(E s(m0)) + eps) exactly (bias correction: v_1 / (1 -
    beta) = E s); every round's loss equals one engine call with that round's precond from the
    chained moments (1e-12); RMSProp's first p is larger by 1 / sqrt(1 - beta)."""
    lam, m0, _ = problem
    meth = TwoPhase(0.01, nu=1.1, S=3, R=2, B=4)
    de = sc.deterministic_equivalent(meth, lam, m0, 6, 0.2, beta=0.8)
    s1 = sc.gradient_square_moment(lam, m0, 4, sigma=0.2, R=2)
    np.testing.assert_allclose(de.precond[0], 1.0 / (np.sqrt(s1) + 1e-8), rtol=1e-14)
    g = m0
    for t in range(6):
        L = theory.expected_loss(meth, lam, g, 1, sigma=0.2, precond=de.precond[t])[-1]
        np.testing.assert_allclose(L, de.loss[t + 1], rtol=1e-12)
        g = sc.cycle_moments(meth, lam, g, de.precond[t], sigma=0.2)
    np.testing.assert_allclose(g, de.moments, rtol=1e-12)
    tiny = dict(beta=0.8, eps=1e-300)
    ada = sc.deterministic_equivalent(meth, lam, m0, 1, 0.2, **tiny)
    rms = sc.deterministic_equivalent(meth, lam, m0, 1, 0.2, rule="rmsprop", **tiny)
    np.testing.assert_allclose(rms.precond[0] * np.sqrt(0.2), ada.precond[0], rtol=1e-14)


def test_deterministic_equivalent_grid_matches_pointwise(problem):
    """An eta grid gives, point by point, the scalar runs (each grid point its own trajectory)."""
    lam, m0, _ = problem
    etas = np.array([0.005, 0.01, 0.02])
    grid = sc.deterministic_equivalent(TwoPhase(etas, S=2, R=2, B=4), lam, m0, 5, beta=0.9)
    for i, eta in enumerate(etas):
        one = sc.deterministic_equivalent(TwoPhase(float(eta), S=2, R=2, B=4), lam, m0, 5, beta=0.9)
        np.testing.assert_allclose(grid.loss[i], one.loss, rtol=1e-13)


def test_adaptive_simulation_with_huge_eps_is_fixed_scaling(problem):
    """eps = 1e6 makes p = 1/eps up to a relative 1e-6, so the real adaptive method is the fixed
    scaling p = ones / eps: its mean against theory.expected_loss(precond=ones/eps), K SE."""
    lam, m0, _ = problem
    eps = 1e6
    meth = TwoPhase(0.3 * eps, nu=1.2, S=3, R=2, B=4)
    sim = sc.simulate_adaptive(meth, lam, m0, 6, 600, 0.2, eps=eps, beta=0.9, seed=4)
    th = theory.expected_loss(meth, lam, m0, 6, sigma=0.2, precond=np.full(lam.size, 1.0 / eps))
    ms = mean_se(sim.loss)
    assert max_z(th[1:], ms.mean[1:], ms.se[1:]).z <= K
    assert np.max(np.abs(sim.precond_mean * eps - 1.0)) < 1e-5


def test_adaptive_simulation_executor_independent(problem):
    """simulate_adaptive gives the same numbers bit for bit serially and on the default executor."""
    lam, m0, _ = problem
    meth = TwoPhase(0.01, S=2, R=2, B=2)
    a = sc.simulate_adaptive(meth, lam, m0, 3, 130, 0.1, seed=9, executor="serial")
    b = sc.simulate_adaptive(meth, lam, m0, 3, 130, 0.1, seed=9)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("beta,R,B", [(0.9, 1, 4), (0.9, 16, 1), (0.99, 16, 1), (0.9, 16, 16)])
def test_deterministic_equivalent_against_simulation_measured(beta, R, B):
    """The deterministic equivalent against the real adaptive method: the measured error of the
    mean and of the median at the last round is PRINTED (run with -s), not asserted small; only
    that both are finite numbers is asserted."""
    lam = sp.power_law(60, -1.5)
    m0 = sp.initial_moments(lam)
    p1 = 1.0 / np.sqrt(sc.gradient_square_moment(lam, m0, B, R=R))
    meth = TwoPhase(0.5 * theory.sgd_critical_eta(p1 * lam, B), S=2, R=R, B=B)
    de = sc.deterministic_equivalent(meth, lam, m0, 20, beta=beta)
    sim = sc.simulate_adaptive(meth, lam, m0, 20, 128, beta=beta, seed=3)
    ms = mean_se(sim.loss)
    med = np.median(sim.loss[:, -1])
    print(f"\n[DE vs MC] beta={beta} R={R} B={B}: mean/DE = {ms.mean[-1] / de.loss[-1]:.4g} "
          f"(rel. SE {ms.se[-1] / ms.mean[-1]:.2%}), median/DE = {med / de.loss[-1]:.4g}")
    assert np.isfinite(de.loss[-1]) and np.isfinite(med)
