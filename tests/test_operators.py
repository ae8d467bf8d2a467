"""Cycle operator of LA-DiLoCo: agreement with expected_loss to machine precision,
dense vs structured application, spectral radius and stationary loss."""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import spectra as sp
from twophase import theory as th
from twophase import operators as op

RTOL = 1e-12


def close(a, b, what, rtol=RTOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    assert err <= rtol, f"{what}: max rel. error {err:.3e} > {rtol:.0e}\n lhs={a}\n rhs={b}"


@pytest.fixture(params=["exact", "hd"])
def form(request):
    return request.param


def problem(D=25):
    lam = sp.power_law(D, alpha=-1.3)
    return lam, sp.initial_moments(lam, "source", exponent=0.4)


@pytest.mark.parametrize("eta, nu, S, R, B", [(0.6, 1.4, 5, 3, 2), (0.2, 0.7, 1, 1, 4),
                                             (1.1, 2.0, 7, 4, 1), (0.4, 1.0, 3, 2, 5)])
def test_one_step_matches_expected_loss(form, eta, nu, S, R, B):
    """g -> T g + sigma^2 b reproduces expected_loss cycle by cycle (sigma > 0)."""
    lam, m0 = problem()
    sigma = 0.37
    method = TwoPhase(eta, nu=nu, S=S, R=R, B=B)
    T, b = op.cycle_operator(method, lam, form)
    L = th.expected_loss(method, lam, m0, 3, sigma=sigma, form=form)
    g = m0
    for t in range(1, 4):
        g = T @ g + sigma ** 2 * b
        close(0.5 * (lam @ g + sigma ** 2), L[t], f"cycle {t} of {method!r} ({form})")


def test_dense_equals_structured(form):
    lam, m0 = problem(18)
    rng = np.random.default_rng(0)
    method = TwoPhase(0.8, nu=1.3, S=6, R=2, B=3)
    T, b = op.cycle_operator(method, lam, form)
    Td = T.dense()
    for _ in range(3):
        g = rng.random(lam.size)
        close(Td @ g, T @ g, "dense T @ g vs structured", rtol=1e-12)
    close(np.diag(T.signal) + T.noise.dense(), Td, "signal + noise == T")
    tau, U, W = T.low_rank()
    close(np.diag(tau) + U @ W.T, Td, "low-rank form diag(tau) + U W^T == T", rtol=1e-11)
    assert np.all(Td >= 0), "T must be entry-wise non-negative"
    split = op.signal_noise_split(method, lam, form)
    close(split.signal, (1 - 1.3 * op.effective_spectrum(method, lam)) ** 2, "signal = (1 - nu h)^2")
    close(split.b, b, "b from split")


def test_grid_operator_equals_pointwise(form):
    lam, m0 = problem(12)
    eta = np.array([0.1, 0.5, 0.9])[:, None]
    nu = np.array([0.5, 1.0, 1.8])[None, :]
    T, b = op.cycle_operator(TwoPhase(eta, nu, S=4, R=2, B=2), lam, form)
    Tg = T @ m0
    for i in range(3):
        for j in range(3):
            Ti, bi = op.cycle_operator(TwoPhase(float(eta[i, 0]), float(nu[0, j]), S=4, R=2, B=2), lam, form)
            close(Tg[i, j], Ti @ m0, "grid vs pointwise T g")
            close(b[i, j], bi, "grid vs pointwise b")
            close(T.dense()[i, j], Ti.dense(), "grid vs pointwise dense")


def test_effective_spectrum_limits():
    lam = np.array([1e-6, 1e-3, 0.5, 1.0])
    m = TwoPhase(0.9, S=20)
    h = op.effective_spectrum(m, lam)
    close(h[:2], 20 * 0.9 * lam[:2], "h ~ S eta lam at small lam", rtol=2e-2)
    assert abs(h[-1] - 1) < 1e-12 and np.all(np.diff(h) > 0)


@pytest.mark.parametrize("how", ["grouped", "secular"])
def test_spectral_radius_methods_agree_with_dense(form, how):
    rng = np.random.default_rng(3)
    for lam in (problem(20)[0], sp.spiked(20, 8.0, 0.1), sp.identical(15, 0.7)):
        for _ in range(4):
            method = TwoPhase(float(rng.uniform(0.05, 1.5) / lam.max()), float(rng.uniform(0.3, 2.5)),
                              S=int(rng.integers(1, 8)), R=int(rng.integers(1, 5)), B=int(rng.integers(1, 6)))
            rd = op.spectral_radius(method, lam, form, how="dense")
            r = op.spectral_radius(method, lam, form, how=how)
            close(r, rd, f"rho {how} vs dense for {method!r}", rtol=1e-9)


def test_spectral_radius_vectorised():
    lam = sp.spiked(40, 10.0, 0.05)
    eta = np.geomspace(0.005, 0.15, 5)
    r = op.spectral_radius(TwoPhase(eta, 1.2, S=5, R=2, B=4), lam, "exact")
    for i, e in enumerate(eta):
        close(r[i], op.spectral_radius(TwoPhase(float(e), 1.2, S=5, R=2, B=4), lam, "exact", how="dense"),
              "vectorised grouped rho", rtol=1e-9)


def test_isotropic_eigenvalues_closed_form(form):
    D, lam0 = 9, 0.8
    method = TwoPhase(0.2, 1.5, S=4, R=3, B=2)
    tau_sym, tau_perp = op.isotropic_eigenvalues(method, lam0, D, form)
    T, _ = op.cycle_operator(method, sp.identical(D, lam0), form)
    ev = np.sort(np.linalg.eigvals(T.dense()).real)
    close(ev[-1], tau_sym, "symmetric eigenvalue", rtol=1e-10)
    close(ev[:-1], np.full(D - 1, tau_perp), "perpendicular eigenvalues", rtol=1e-10)


def test_stationary_loss(form):
    lam, m0 = problem(15)
    method = TwoPhase(0.3, nu=1.3, S=4, R=2, B=3)
    Ls = op.stationary_loss(method, lam, 0.5, form)
    L = th.expected_loss(method, lam, m0, 4000, sigma=0.5, form=form)
    close(Ls, L[-1], "stationary loss vs long run", rtol=1e-10)
    # SGD special case: S = 1, nu = 1, R = 1 is SGD, whose hd stationary loss is known in closed form
    if form == "hd":
        sgd = op.stationary_loss(TwoPhase(0.3, B=3), lam, 0.5, "hd")
        close(sgd, th.sgd_stationary_loss(0.3, lam, 3, 0.5, "hd"), "stationary LA(S=1) vs SGD formula")
    assert op.stationary_loss(TwoPhase(2.5, nu=1.0, S=3, B=1), lam, 0.5, form) == np.inf


def test_momentum_delegates_or_raises():
    lam = sp.power_law(6)
    m = TwoPhase(0.3, nu=1.2, S=3, R=2, B=2, beta_in=0.5, beta_out=0.3)
    try:
        from twophase import momentum
        has = hasattr(momentum, "cycle_operator")
    except ImportError:
        has = False
    if not has:
        with pytest.raises(NotImplementedError, match="issue 4"):
            op.cycle_operator(m, lam)
        return
    T, b = op.cycle_operator(m, lam)
    T2, b2 = momentum.cycle_operator(m, lam)
    close(T, T2, "delegated T")
    # the dense momentum operator reproduces expected_loss, and so do rho / stationary loss
    m0 = sp.initial_moments(lam)
    s = momentum.initial_state(m, m0)
    L = th.expected_loss(m, lam, m0, 2, sigma=0.2)
    s = T @ s + 0.04 * b
    close(momentum.loss_from_state(s, lam, 0.2), L[1], "momentum operator vs expected_loss", rtol=1e-10)
    Ls = op.stationary_loss(m, lam, 0.2)
    close(Ls, th.expected_loss(m, lam, m0, 3000, sigma=0.2)[-1], "momentum stationary loss", rtol=1e-8)


def test_reexported_from_theory():
    for name in ("cycle_operator", "effective_spectrum", "spectral_radius", "stationary_loss",
                 "signal_noise_split"):
        assert getattr(th, name) is getattr(op, name)


@pytest.mark.parametrize("kwargs, name", [({"form": "bogus"}, "form"), ({"lam": [-1.0, 1.0]}, "lam")])
def test_bad_input(kwargs, name):
    args = {"method": TwoPhase(0.1), "lam": [1.0, 0.5], "form": "exact"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        op.cycle_operator(**args)
    with pytest.raises(ValueError, match="method"):
        op.cycle_operator("sgd", [1.0])
