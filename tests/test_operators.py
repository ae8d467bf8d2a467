"""The structured cycle operator of LA-DiLoCo (twophase.operators): agreement with expected_loss
to machine precision, dense vs structured application, the Perron root of the second-moment
map by three methods, the stationary loss, the noise factor, and the dense SLA map for momentum."""
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
    close(split.signal, (1 - 1.3 * th.effective_spectrum(method, lam)) ** 2, "signal = (1 - nu h)^2")
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
    h = th.effective_spectrum(m, lam)
    close(h[:2], 20 * 0.9 * lam[:2], "h ~ S eta lam at small lam", rtol=2e-2)
    assert abs(h[-1] - 1) < 1e-12 and np.all(np.diff(h) > 0)


@pytest.mark.parametrize("how", ["grouped", "secular"])
def test_second_moment_radius_methods_agree_with_dense(form, how):
    rng = np.random.default_rng(3)
    for lam in (problem(20)[0], sp.spiked(20, 8.0, 0.1), sp.identical(15, 0.7)):
        for _ in range(4):
            method = TwoPhase(float(rng.uniform(0.05, 1.5) / lam.max()), float(rng.uniform(0.3, 2.5)),
                              S=int(rng.integers(1, 8)), R=int(rng.integers(1, 5)), B=int(rng.integers(1, 6)))
            rd = op.second_moment_radius(method, lam, form, how="dense")
            r = op.second_moment_radius(method, lam, form, how=how)
            close(r, rd, f"rho {how} vs dense for {method!r}", rtol=1e-9)


def test_second_moment_radius_vectorised():
    lam = sp.spiked(40, 10.0, 0.05)
    eta = np.geomspace(0.005, 0.15, 5)
    r = op.second_moment_radius(TwoPhase(eta, 1.2, S=5, R=2, B=4), lam, "exact")
    for i, e in enumerate(eta):
        close(r[i], op.second_moment_radius(TwoPhase(float(e), 1.2, S=5, R=2, B=4), lam, "exact", how="dense"),
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


def test_momentum_uses_the_dense_sla_map():
    """cycle_operator refuses momentum (one result type); the radius and the stationary loss
    with momentum come from engine.dense_cycle_operator and agree with expected_loss."""
    from twophase import engine as en

    lam = sp.power_law(6)
    m = TwoPhase(0.3, nu=1.2, S=3, R=2, B=2, beta_in=0.5, beta_out=0.3)
    with pytest.raises(ValueError, match="dense_cycle_operator"):
        op.cycle_operator(m, lam)
    T, b, _ = en.dense_cycle_operator(m, lam)
    m0 = sp.initial_moments(lam)
    s = en.initial_state(m, m0)
    L = th.expected_loss(m, lam, m0, 2, sigma=0.2)
    s = T @ s + 0.04 * b
    close(en.loss_from_state(s, lam, 0.2), L[1], "momentum operator vs expected_loss", rtol=1e-10)
    close(op.second_moment_radius(m, lam), np.max(np.abs(np.linalg.eigvals(T))), "momentum radius")
    Ls = op.stationary_loss(m, lam, 0.2)
    close(Ls, th.expected_loss(m, lam, m0, 3000, sigma=0.2)[-1], "momentum stationary loss", rtol=1e-8)


def test_theory_face_is_the_home_object():
    """theory re-exports the operator and engine entry points (same objects, no __getattr__)."""
    from twophase import engine as en

    assert th.cycle_operator is op.cycle_operator
    for name in ("expected_loss", "effective_spectrum", "sgd_step_moments", "inner_phase"):
        assert getattr(th, name) is getattr(en, name)
    assert not hasattr(th, "__getattr__") and not hasattr(op, "__getattr__")


def test_noise_factor_closed_form_and_sgd_case():
    """noise_factor n_i = (nu^2/R)(eta^2 lam_i/B) sum_{k<S} c_i^{2k}; for SGD it is eta^2 lam_i / B."""
    lam = sp.power_law(12, alpha=-1.0)
    m = TwoPhase(0.5, nu=1.3, S=4, R=2, B=3)
    n = op.noise_factor(m, lam)
    c2 = (1 - 0.5 * lam) ** 2
    close(n, (1.3 ** 2 / 2) * (0.25 * lam / 3) * (1 + c2 + c2 ** 2 + c2 ** 3), "closed form", rtol=1e-14)
    close(op.noise_factor(TwoPhase(0.3, B=5), lam), 0.09 * lam / 5, "SGD noise factor", rtol=1e-14)


def test_noise_factor_is_the_noise_operator_for_one_inner_step():
    """S = 1, hd form: P_B - C^2 = (eta^2/B) lam lam^T exactly, so N g = noise_factor * (lam . g)."""
    lam = sp.power_law(12, alpha=-1.0)
    g = sp.initial_moments(lam, "source", exponent=0.7)
    m = TwoPhase(0.5, nu=1.3, S=1, R=2, B=3)
    T, _ = op.cycle_operator(m, lam, "hd")
    close(T.noise @ g, op.noise_factor(m, lam) * (lam @ g), "N g vs n (lam . g)", rtol=1e-13)


def test_noise_factor_grid_and_bad_input():
    lam = sp.power_law(8)
    eta = np.array([0.1, 0.4])
    nf = op.noise_factor(TwoPhase(eta[:, None], nu=np.array([0.5, 1.0, 2.0]), S=3), lam)
    assert nf.shape == (2, 3, 8) and np.all(nf > 0)
    close(nf[1, 2], op.noise_factor(TwoPhase(0.4, nu=2.0, S=3), lam), "grid vs scalar", rtol=1e-14)
    with pytest.raises(TypeError, match="method"):
        op.noise_factor("sgd", lam)
    with pytest.raises(ValueError, match="lam"):
        op.noise_factor(TwoPhase(0.1), [np.nan])


@pytest.mark.parametrize("kwargs, name", [({"form": "bogus"}, "form"), ({"lam": [-1.0, 1.0]}, "lam")])
def test_bad_input(kwargs, name):
    args = {"method": TwoPhase(0.1), "lam": [1.0, 0.5], "form": "exact"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        op.cycle_operator(**args)
    with pytest.raises(TypeError, match="method"):
        op.cycle_operator("sgd", [1.0])
