"""Stacked momentum conventions and noiseless per-mode tools (twophase.momentum): EMA vs
PyTorch conventions path by path, Nesterov roots, the residual polynomial, the Nesterov double
root at the critical rate, bad input."""
import warnings

import numpy as np
import pytest

from twophase import SGD, TwoPhase
from twophase import engine as en
from twophase import momentum as mo
from twophase import spectra as sp
from twophase import theory as th
from twophase.simulate import _chunk_generator, loss_curves, minibatch_gradient
from helpers import close

K_SE = 4.0  # theory vs Monte-Carlo: |mean - theory| <= K_SE standard errors (over seeds)


@pytest.fixture
def problem():
    lam = sp.power_law(24, alpha=-1.2)
    return lam, sp.initial_moments(lam, "source", exponent=0.3)


# ----------------------------------------------------------------------------- references
def pytorch_sla_curves(method, nu_pt, lam, m0, cycles, seeds, sigma, seed):
    """SLA simulated with the PyTorch/optax outer convention (w <- b w + Delta), same
    random-number consumption as twophase.simulate.loss_curves (whose 5 seeds are one chunk)."""
    rng = _chunk_generator(seed)  # one chunk: its stream
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
        h = en.effective_spectrum(base, lam)
        for i, hi in enumerate(h):
            nu = mo.critical_nu(0.6, hi)
            A = mo.noiseless_cycle_map(base.replace(nu=nu), lam[i:i + 1])[0]
            assert abs(np.trace(A)) < 1e-12 and abs(np.linalg.det(A)) < 1e-12, (S, hi, A)
        nu = 1.7
        A = mo.noiseless_cycle_map(base.replace(nu=nu), lam)
        nu_pt = mo.to_pytorch(nu, 0.6)
        close(np.trace(A, axis1=-2, axis2=-1), 1.6 * (1 - nu_pt * h), "Nesterov trace", rtol=1e-12)
        close(np.linalg.det(A), 0.6 * (1 - nu_pt * h), "Nesterov det", rtol=1e-10)
        Ahb = mo.noiseless_cycle_map(base.replace(nu=nu, outer="heavy_ball"), lam)
        close(np.linalg.det(Ahb), np.full(lam.size, 0.6), "heavy-ball det", rtol=1e-10)


def test_effective_spectrum_and_residual_polynomial():
    lam = np.linspace(0.0, 3.0, 31)
    m = TwoPhase(0.6, S=7)
    close(en.effective_spectrum(m, lam), 1 - (1 - 0.6 * lam) ** 7, "h without momentum", rtol=1e-12)
    m = TwoPhase(0.6, S=7, beta_in=0.8)
    p = en.residual_polynomials(lam, 0.6, 0.8, 7)
    MS = en.inner_matrix_power(lam, 0.6, 0.8, 7)
    close(MS[..., 0, 0] + 1e-300, p[-1] + 1e-300, "p_S vs (M^S)_ee", rtol=1e-9)
    # direct heavy-ball iteration from rest
    e, u = np.ones_like(lam), np.zeros_like(lam)
    for k in range(7):
        u = 0.8 * u + lam * e
        e = e - 0.6 * u
        np.testing.assert_allclose(e, p[k + 1], rtol=1e-12, atol=1e-14)
    close(1 - en.effective_spectrum(m, lam), e, "h = 1 - p_S", rtol=1e-11)


def test_S1_nesterov_outer_simulation_is_nesterov_sgd():
    """Path by path: the simulated SLA(S=1) with Nesterov outer is PyTorch Nesterov SGD."""
    lam = sp.power_law(12, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    eta, nu, b, seeds = 0.5, 2.0, 0.7, 4
    sim = loss_curves(TwoPhase(eta, nu=nu, S=1, B=3, beta_out=b, outer="nesterov"), lam, m0, 15, seeds,
                      sigma=0.1, seed=5)
    rng = _chunk_generator(5)  # one chunk: its stream
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


# ----------------------------------------------------------------------------- bad input
def test_bad_input():
    lam = sp.power_law(5)
    with pytest.raises(ValueError, match="beta_out"):
        mo.to_pytorch(1.0, 1.0)
    with pytest.raises(ValueError, match="beta_out"):
        mo.from_pytorch(1.0, -0.1)
    with pytest.raises(ValueError, match="convention"):
        mo.critical_nu(0.5, convention="keras")
    with pytest.raises(TypeError, match="method"):
        mo.noiseless_cycle_map(SGD, lam)
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
        A = mo.noiseless_cycle_map(m, [h])[0]
        close(np.trace(A), 2 * (1 - np.sqrt(h)), "trace")
        close(np.linalg.det(A), (1 - np.sqrt(h)) ** 2, "det", rtol=1e-10)



@pytest.mark.parametrize("inner", ["reset", "carry"])
def test_noiseless_map_with_precond(inner):
    """precond = p: the noiseless cycle map is the map at per-mode rate eta p_i (ones: bit for
    bit the map without p), and its radius equals the radius on the spectrum p lam (change of
    variables e -> p^{-1/2} e, which only conjugates the map), to 1e-12."""
    lam = sp.power_law(9, alpha=-1.0)
    p = np.random.default_rng(2).uniform(0.2, 2.0, lam.size)
    m = TwoPhase(np.array([0.3, 0.9]), nu=1.5, S=4, beta_in=0.6, beta_out=0.5, inner_momentum=inner)
    assert np.array_equal(mo.noiseless_cycle_map(m, lam, np.ones(9)), mo.noiseless_cycle_map(m, lam))
    close(mo.noiseless_radius(m, lam, precond=p), mo.noiseless_radius(m, p * lam), "radius with precond")
    close(mo.per_step_rate(m, lam, precond=p), mo.per_step_rate(m, p * lam), "per-step rate with precond")
    for i in (0, 4, 8):
        one = mo.noiseless_cycle_map(m.replace(eta=np.array([0.3, 0.9]) * p[i]), lam[i:i + 1])[:, 0]
        close(mo.noiseless_cycle_map(m, lam, precond=p)[:, i], one, "map at eta p_i")
