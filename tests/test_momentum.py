"""Stacked momentum (SLA): conventions, identities to machine precision, an
independent dense-covariance reference, theory against Monte-Carlo, bad input."""
import warnings

import numpy as np
import pytest

from twophase import SGD, TwoPhase
from twophase import momentum as mo
from twophase import spectra as sp
from twophase import theory as th
from twophase.simulate import loss_curves, minibatch_gradient
from helpers import close

K_SE = 4.0  # theory vs Monte-Carlo: |mean - theory| <= K_SE standard errors (over seeds)


@pytest.fixture
def problem():
    lam = sp.power_law(24, alpha=-1.2)
    return lam, sp.initial_moments(lam, "source", exponent=0.3)


# ----------------------------------------------------------------------------- references
def dense_sla_loss(method, lam, m0, cycles, sigma, form):
    """Independent reference: full covariance of (e_0, v, e^1, u^1, ..., e^R, u^R)
    over all D modes (no exchangeability, no assumed diagonal closure), with the
    Gaussian fourth-moment identity for each worker's minibatch noise. EMA outer."""
    D, R, S, B = lam.size, method.R, method.S, method.B
    eta, nu, bi, bo = float(method.eta), float(method.nu), method.beta_in, method.beta_out
    n = (2 + 2 * R) * D
    H = np.diag(lam)
    I = np.eye(D)

    def blk(k):  # slice of variable k: 0 = e0, 1 = v, 2 + 2r = e^r, 3 + 2r = u^r
        return slice(k * D, (k + 1) * D)

    Sig = np.zeros((n, n))
    Sig[blk(0), blk(0)] = np.diag(m0)
    # cycle start
    start = np.eye(n)
    for r in range(R):
        start[blk(2 + 2 * r), :] = 0.0
        start[blk(2 + 2 * r), blk(0)] = I
        if method.inner_momentum == "reset":
            start[blk(3 + 2 * r), :] = 0.0
    # one inner step: u <- bi u + H e + zeta ; e <- e - eta u
    step = np.eye(n)
    for r in range(R):
        e, u = blk(2 + 2 * r), blk(3 + 2 * r)
        step[u, :] = 0.0
        step[u, u] = bi * I
        step[u, e] = H
        step[e, :] = 0.0
        step[e, e] = I - eta * H
        step[e, u] = -eta * bi * I
    # outer step on (e0, v, ebar), EMA convention
    outer = np.eye(n)
    Delta = np.zeros((D, n))
    Delta[:, blk(0)] = I
    for r in range(R):
        Delta[:, blk(2 + 2 * r)] -= I / R
    vnew = bo * np.eye(n)[blk(1), :] + (1 - bo) * Delta
    if method.outer == "nesterov":
        e0new = np.eye(n)[blk(0), :] - nu * (bo * vnew + (1 - bo) * Delta)
    else:
        e0new = np.eye(n)[blk(0), :] - nu * vnew
    outer[blk(0), :] = e0new
    outer[blk(1), :] = vnew
    out = [0.5 * (np.trace(H @ Sig[blk(0), blk(0)]) + sigma ** 2)]
    for _ in range(cycles):
        Sig = start @ Sig @ start.T
        for _ in range(S):
            N = np.zeros((n, n))
            for r in range(R):
                e, u = blk(2 + 2 * r), blk(3 + 2 * r)
                M = Sig[e, e]
                K = (H * (np.trace(H @ M) + sigma ** 2)) / B
                if form == "exact":
                    K = K + H @ M @ H / B
                N[e, e] += eta ** 2 * K
                N[e, u] += -eta * K
                N[u, e] += -eta * K
                N[u, u] += K
            Sig = step @ Sig @ step.T + N
        Sig = outer @ Sig @ outer.T
        out.append(0.5 * (np.trace(H @ Sig[blk(0), blk(0)]) + sigma ** 2))
    return np.array(out)


def nesterov_sgd_loss(lr, beta, B, lam, m0, steps, sigma, form):
    """Independent per-mode recursion of PyTorch-convention Nesterov SGD:
    w <- beta w + g ; theta <- theta - lr (g + beta w)  (g = lam e + zeta)."""
    # state (e, w): e' = e - lr((1 + beta) g + beta^2 w), w' = beta w + g
    ee, ew, ww = m0.copy(), np.zeros_like(m0), np.zeros_like(m0)
    out = [0.5 * (lam @ ee + sigma ** 2)]
    for _ in range(steps):
        s = (lam * (lam @ ee) + sigma ** 2 * lam + (lam ** 2 * ee if form == "exact" else 0)) / B
        a00 = 1 - lr * (1 + beta) * lam
        a01 = -lr * beta ** 2
        a10 = lam
        a11 = beta
        n0, n1 = -lr * (1 + beta), 1.0  # noise direction
        ee, ew, ww = (a00 ** 2 * ee + 2 * a00 * a01 * ew + a01 ** 2 * ww + n0 ** 2 * s,
                      a00 * a10 * ee + (a00 * a11 + a01 * a10) * ew + a01 * a11 * ww + n0 * n1 * s,
                      a10 ** 2 * ee + 2 * a10 * a11 * ew + a11 ** 2 * ww + s)
        out.append(0.5 * (lam @ ee + sigma ** 2))
    return np.array(out)


def pytorch_sla_curves(method, nu_pt, lam, m0, cycles, seeds, sigma, seed):
    """SLA simulated with the PyTorch/optax outer convention (w <- b w + Delta), same
    random-number consumption as twophase.simulate.loss_curves."""
    rng = np.random.default_rng(seed)
    D, R, S, b = lam.size, method.R, method.S, method.beta_out
    e0 = np.sqrt(m0) * rng.standard_normal((seeds, D))
    w = np.zeros((seeds, D))
    ub = np.zeros((seeds, R, D))
    out = [0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)]
    for _ in range(cycles):
        er = np.repeat(e0[:, None, :], R, axis=1)
        if method.inner_momentum == "reset":
            ub[...] = 0.0
        for _ in range(S):
            g = minibatch_gradient(er, lam, method.B, sigma, rng, "fast")
            ub = method.beta_in * ub + g
            er = er - method.eta * ub
        delta = e0 - er.mean(axis=1)
        w = b * w + delta
        if method.outer == "nesterov":
            e0 = e0 - nu_pt * (b * w + delta)
        else:
            e0 = e0 - nu_pt * w
        out.append(0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2))
    return np.stack(out, axis=1)


# ----------------------------------------------------------------------------- conventions
def test_convention_round_trip():
    for b in (0.0, 0.5, 0.9):
        nu = np.array([0.3, 1.0, 7.0])
        close(mo.from_pytorch(mo.to_pytorch(nu, b), b), nu, "nu round trip")
        close(mo.to_pytorch(2.0, b), 2.0 * (1 - b), "to_pytorch")
        close(mo.buffer_from_pytorch(mo.buffer_to_pytorch(nu, b), b), nu, "buffer round trip")
    assert mo.critical_nu(0.8) == pytest.approx(5.0, rel=1e-14)
    assert mo.critical_nu(0.8, convention="pytorch") == 1.0
    assert mo.critical_nu(0.8, h=0.5) == pytest.approx(10.0, rel=1e-14)


@pytest.mark.parametrize("outer", ["heavy_ball", "nesterov"])
@pytest.mark.parametrize("inner", ["reset", "carry"])
def test_pytorch_convention_gives_identical_trajectories(outer, inner):
    """EMA with nu equals PyTorch/optax with nu_pt = (1 - beta_out) nu, path by path."""
    lam = sp.power_law(16, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    method = TwoPhase(0.4, nu=3.0, S=3, R=2, B=4, beta_in=0.6, beta_out=0.7, outer=outer, inner_momentum=inner)
    ema = loss_curves(method, lam, m0, 12, seeds=5, sigma=0.2, seed=11)
    pt = pytorch_sla_curves(method, mo.to_pytorch(3.0, 0.7), lam, m0, 12, 5, 0.2, 11)
    close(ema, pt, f"EMA vs PyTorch trajectories ({outer}, {inner})", rtol=1e-10)
    # and the un-converted rate is a different algorithm
    wrong = pytorch_sla_curves(method, 3.0, lam, m0, 12, 5, 0.2, 11)
    assert np.max(np.abs(wrong - ema) / ema) > 1e-3


def test_nesterov_roots_vanish_at_critical_rate():
    """Reset Nesterov cycle map of a mode: trace = (1+b)(1 - nu_pt h), det = b (1 - nu_pt h),
    so it is nilpotent at nu_pt h = 1; heavy ball has det = b for every nu."""
    lam = np.array([0.05, 0.2, 0.7, 1.3])
    for S in (1, 3, 8):
        base = TwoPhase(0.9, S=S, beta_in=0.7, beta_out=0.6, outer="nesterov")
        h = mo.effective_spectrum(base, lam)
        for i, hi in enumerate(h):
            nu = mo.critical_nu(0.6, hi)
            A = mo.cycle_map(base.replace(nu=nu), lam[i:i + 1])[0]
            assert abs(np.trace(A)) < 1e-12 and abs(np.linalg.det(A)) < 1e-12, (S, hi, A)
        nu = 1.7
        A = mo.cycle_map(base.replace(nu=nu), lam)
        nu_pt = mo.to_pytorch(nu, 0.6)
        close(np.trace(A, axis1=-2, axis2=-1), 1.6 * (1 - nu_pt * h), "Nesterov trace", rtol=1e-12)
        close(np.linalg.det(A), 0.6 * (1 - nu_pt * h), "Nesterov det", rtol=1e-10)
        Ahb = mo.cycle_map(base.replace(nu=nu, outer="heavy_ball"), lam)
        close(np.linalg.det(Ahb), np.full(lam.size, 0.6), "heavy-ball det", rtol=1e-10)


def test_effective_spectrum_and_residual_polynomial():
    lam = np.linspace(0.0, 3.0, 31)
    m = TwoPhase(0.6, S=7)
    close(mo.effective_spectrum(m, lam), 1 - (1 - 0.6 * lam) ** 7, "h without momentum", rtol=1e-12)
    m = TwoPhase(0.6, S=7, beta_in=0.8)
    p = mo.residual_polynomials(lam, 0.6, 0.8, 7)
    MS = mo.inner_matrix_power(lam, 0.6, 0.8, 7)
    close(MS[..., 0, 0] + 1e-300, p[-1] + 1e-300, "p_S vs (M^S)_ee", rtol=1e-9)
    # direct heavy-ball iteration from rest
    e, u = np.ones_like(lam), np.zeros_like(lam)
    for k in range(7):
        u = 0.8 * u + lam * e
        e = e - 0.6 * u
        np.testing.assert_allclose(e, p[k + 1], rtol=1e-12, atol=1e-14)
    close(1 - mo.effective_spectrum(m, lam), e, "h = 1 - p_S", rtol=1e-11)


# ----------------------------------------------------------------------------- identities
@pytest.mark.parametrize("R", [1, 3])
def test_no_momentum_equals_la_diloco_theory(problem, form, R):
    """beta_in = beta_out = 0: the SLA engine equals theory.expected_loss (LA-DiLoCo)."""
    lam, m0 = problem
    m = TwoPhase(np.array([0.2, 0.6, 1.1])[:, None], nu=np.array([0.5, 1.0, 1.8]), S=4, R=R, B=2)
    a = mo.expected_loss(m, lam, m0, 7, sigma=0.3, form=form)
    b = th.expected_loss(m, lam, m0, 7, sigma=0.3, form=form)
    close(a, b, f"SLA engine (no momentum) vs LA-DiLoCo, R={R}")


@pytest.mark.parametrize("inner", ["reset", "carry"])
@pytest.mark.parametrize("outer", ["heavy_ball", "nesterov"])
@pytest.mark.parametrize("R", [1, 2, 3])
def test_matches_dense_reference(form, inner, outer, R):
    """Exchangeable per-mode moments equal the full dense covariance propagation."""
    lam = sp.spiked(6, ratio=5.0, fraction=0.3, base=0.4)
    m0 = sp.initial_moments(lam, "source", exponent=1.0)
    m = TwoPhase(0.45, nu=1.8, S=3, R=R, B=2, beta_in=0.5, beta_out=0.6, outer=outer, inner_momentum=inner)
    fast = mo.expected_loss(m, lam, m0, 6, sigma=0.4, form=form)
    dense = dense_sla_loss(m, lam, m0, 6, 0.4, form)
    close(fast, dense, f"SLA theory vs dense reference ({m!r}, {form})", rtol=1e-11)


@pytest.mark.parametrize("inner", ["reset", "carry"])
def test_beta_out_zero_is_la_with_momentum_inner_steps(problem, form, inner):
    """beta_out = 0: heavy-ball and Nesterov outer coincide and equal the dense
    reference of LA whose inner steps are heavy ball (theta <- theta - nu Delta)."""
    lam, m0 = problem
    m = TwoPhase(0.5, nu=1.4, S=4, R=2, B=3, beta_in=0.7, inner_momentum=inner)
    hb = mo.expected_loss(m, lam, m0, 6, sigma=0.2, form=form)
    ne = mo.expected_loss(m.replace(outer="nesterov"), lam, m0, 6, sigma=0.2, form=form)
    close(hb, ne, "beta_out=0: heavy ball vs Nesterov outer")
    lam8, m08 = lam[:8], m0[:8]
    close(mo.expected_loss(m, lam8, m08, 6, sigma=0.2, form=form), dense_sla_loss(m, lam8, m08, 6, 0.2, form),
          "beta_out=0 vs dense LA-with-momentum reference", rtol=1e-11)


def test_la_nu1_carry_is_heavy_ball_sgd(problem, form):
    """LA(nu = 1, R = 1) with a carried inner buffer equals heavy-ball SGD, sampled every S steps."""
    lam, m0 = problem
    S = 5
    la = mo.expected_loss(TwoPhase(0.3, nu=1.0, S=S, B=2, beta_in=0.75, inner_momentum="carry"),
                          lam, m0, 4, sigma=0.3, form=form)
    hb = mo.expected_loss(TwoPhase(0.3, S=1, B=2, beta_in=0.75, inner_momentum="carry"),
                          lam, m0, 4 * S, sigma=0.3, form=form)
    close(la, hb[::S], "LA(nu=1, carry) vs heavy-ball SGD")


@pytest.mark.parametrize("R", [1, 4])
def test_S1_nesterov_outer_is_nesterov_sgd(problem, form, R):
    """S = 1, beta_in = 0, Nesterov outer (EMA, rate nu) = Nesterov SGD with batch R*B and
    PyTorch learning rate nu (1 - beta_out) eta, i.e. EMA-Nesterov SGD at rate nu*eta."""
    lam, m0 = problem
    eta, nu, b = 0.3, 2.5, 0.6
    sla = mo.expected_loss(TwoPhase(eta, nu=nu, S=1, R=R, B=2, beta_out=b, outer="nesterov"),
                           lam, m0, 9, sigma=0.25, form=form)
    ref = nesterov_sgd_loss(mo.to_pytorch(nu, b) * eta, b, 2 * R, lam, m0, 9, 0.25, form)
    close(sla, ref, "SLA(S=1, Nesterov) vs Nesterov SGD recursion", rtol=1e-11)


def test_S1_nesterov_outer_simulation_is_nesterov_sgd():
    """Path by path: the simulated SLA(S=1) with Nesterov outer is PyTorch Nesterov SGD."""
    lam = sp.power_law(12, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    eta, nu, b, seeds = 0.5, 2.0, 0.7, 4
    sim = loss_curves(TwoPhase(eta, nu=nu, S=1, B=3, beta_out=b, outer="nesterov"), lam, m0, 15, seeds,
                      sigma=0.1, seed=5)
    rng = np.random.default_rng(5)
    e = np.sqrt(m0) * rng.standard_normal((seeds, lam.size))
    w = np.zeros_like(e)
    lr = mo.to_pytorch(nu, b) * eta
    out = [0.5 * (np.sum(lam * e * e, -1) + 0.01)]
    for _ in range(15):
        g = minibatch_gradient(e[:, None, :], lam, 3, 0.1, rng, "fast")[:, 0]
        w = b * w + g
        e = e - lr * (g + b * w)
        out.append(0.5 * (np.sum(lam * e * e, -1) + 0.01))
    close(sim, np.stack(out, 1), "simulated SLA(S=1, Nesterov) vs Nesterov SGD", rtol=1e-10)


# ----------------------------------------------------------------------------- operator
@pytest.mark.parametrize("inner", ["reset", "carry"])
@pytest.mark.parametrize("R", [1, 3])
def test_cycle_operator_matches_expected_loss(form, inner, R):
    lam = sp.power_law(7, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.6, nu=2.2, S=3, R=R, B=2, beta_in=0.6, beta_out=0.5, outer="nesterov", inner_momentum=inner)
    T, b = mo.cycle_operator(m, lam, form)
    n = len(mo.state_labels(m))
    assert T.shape == (n * lam.size,) * 2 and b.shape == (n * lam.size,)
    s = mo.initial_state(m, m0)
    L = [mo.loss_from_state(s, lam, 0.3)]
    for _ in range(5):
        s = T @ s + 0.09 * b
        L.append(mo.loss_from_state(s, lam, 0.3))
    close(L, mo.expected_loss(m, lam, m0, 5, sigma=0.3, form=form), "cycle_operator vs expected_loss")


def test_grid_broadcasting_matches_scalar_calls(problem):
    lam, m0 = problem
    etas, nus = np.array([0.2, 0.9]), np.array([0.5, 1.5, 4.0])
    m = TwoPhase(etas[:, None], nu=nus, S=3, R=2, B=2, beta_in=0.5, beta_out=0.7, outer="nesterov",
                 inner_momentum="carry")
    grid = mo.expected_loss(m, lam, m0, 5, sigma=0.1)
    assert grid.shape == (2, 3, 6)
    for i, e in enumerate(etas):
        for j, n in enumerate(nus):
            one = mo.expected_loss(m.replace(eta=e, nu=n), lam, m0, 5, sigma=0.1)
            close(grid[i, j], one, "grid vs scalar")
    # theory.expected_loss delegates
    close(th.expected_loss(m, lam, m0, 5, sigma=0.1), grid, "theory delegation")


def test_divergence_is_inf_without_warnings(problem):
    lam, m0 = problem
    m = TwoPhase(np.array([0.1, 3.5]), nu=6.0, S=4, B=1, beta_in=0.9, beta_out=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L = mo.expected_loss(m, lam, m0, 60)
        rho = mo.spectral_radius(m, lam)
    assert np.all(np.isfinite(L[0]))
    assert np.isinf(L[1, -1])
    first = np.argmax(np.isinf(L[1]))
    assert np.all(np.isinf(L[1, first:])) and np.all(np.isfinite(L[1, :first]))
    assert rho.shape == (2, lam.size)


# ----------------------------------------------------------------------------- Monte-Carlo
MC_CASES = [(outer, inner, R) for outer in ("heavy_ball", "nesterov") for inner in ("reset", "carry") for R in (1, 4)]


@pytest.mark.parametrize("outer, inner, R", MC_CASES)
def test_theory_matches_simulation(outer, inner, R):
    """Mean simulated loss within K_SE standard errors of the exact theory at every cycle."""
    lam = sp.power_law(20, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.3, nu=1.5, S=4, R=R, B=4, beta_in=0.6, beta_out=0.6, outer=outer, inner_momentum=inner)
    cycles, seeds, sigma = 10, 6000, 0.3
    theory = mo.expected_loss(m, lam, m0, cycles, sigma=sigma)
    sim = loss_curves(m, lam, m0, cycles, seeds, sigma=sigma, seed=1234)
    mean, se = sim.mean(0), sim.std(0, ddof=1) / np.sqrt(seeds)
    z = np.abs(mean - theory) / se
    assert theory[-1] < 0.9 * theory[0]  # a non-trivial regime: the loss moves
    assert np.all(z[1:] <= K_SE), (
        f"{m!r}: theory vs simulation beyond {K_SE} SE\n theory={theory}\n sim   ={mean}\n se    ={se}\n z={z}")


# ----------------------------------------------------------------------------- bad input
def test_bad_input():
    lam = sp.power_law(5)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.3, S=2, beta_in=0.5, beta_out=0.5)
    with pytest.raises(ValueError, match="method"):
        mo.expected_loss("sgd", lam, m0, 3)
    with pytest.raises(ValueError, match="form"):
        mo.expected_loss(m, lam, m0, 3, form="approx")
    with pytest.raises(ValueError, match="sigma"):
        mo.expected_loss(m, lam, m0, 3, sigma=-1.0)
    with pytest.raises(ValueError, match="m0"):
        mo.expected_loss(m, lam, m0[:3], 3)
    with pytest.raises(ValueError, match="lam"):
        mo.expected_loss(m, -lam, m0, 3)
    with pytest.raises(ValueError, match="cycles"):
        mo.expected_loss(m, lam, m0, 0)
    with pytest.raises(ValueError, match="grid"):
        mo.cycle_operator(m.replace(eta=np.array([0.1, 0.2])), lam)
    with pytest.raises(ValueError, match="form"):
        mo.cycle_operator(m, lam, form="x")
    with pytest.raises(ValueError, match="beta_out"):
        mo.to_pytorch(1.0, 1.0)
    with pytest.raises(ValueError, match="beta_out"):
        mo.from_pytorch(1.0, -0.1)
    with pytest.raises(ValueError, match="convention"):
        mo.critical_nu(0.5, convention="keras")
    with pytest.raises(ValueError, match="S"):
        mo.residual_polynomials(lam, 0.1, 0.5, 0)
    with pytest.raises(ValueError, match="beta_in"):
        mo.residual_polynomials(lam, 0.1, 1.0, 3)
    with pytest.raises(ValueError, match="method"):
        mo.cycle_map(SGD, lam)
    with pytest.raises(ValueError, match="beta_in"):
        TwoPhase(0.1, beta_in=1.0)
    with pytest.raises(ValueError, match="outer"):
        TwoPhase(0.1, outer="adam")


# ----------------------------------------------------------------------------- spectrum map
def test_nesterov_tuned_momentum_double_root():
    """Outer Nesterov at nu_pt = 1 with beta_out = (1 - sqrt h)/(1 + sqrt h) has the double
    eigenvalue 1 - sqrt(h): the accelerated per-cycle rate on the effective spectrum."""
    for h in (1e-3, 0.02, 0.3):
        b = (1 - np.sqrt(h)) / (1 + np.sqrt(h))
        # a mode with effective eigenvalue h: S = 1, no inner momentum, eta lam = h
        m = TwoPhase(1.0, nu=mo.from_pytorch(1.0, b), S=1, beta_out=b, outer="nesterov")
        A = mo.cycle_map(m, [h])[0]
        close(np.trace(A), 2 * (1 - np.sqrt(h)), "trace")
        close(np.linalg.det(A), (1 - np.sqrt(h)) ** 2, "det", rtol=1e-10)


