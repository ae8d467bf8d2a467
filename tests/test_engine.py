"""The one moment engine (twophase.engine): the new engine against the old no-momentum engine
(reference.old_expected_loss, 1e-12), against the dense covariance oracles, exact identities
between special cases, the dense SLA operator, theory against Monte-Carlo, and divergence."""
import warnings

import numpy as np
import pytest

from twophase import SGD, TwoPhase
from twophase import engine as en
from twophase import momentum as mo
from twophase import spectra as sp
from twophase import theory as th
from twophase.reference import dense_expected_loss, dense_sla_expected_loss, old_expected_loss
from twophase.simulate import loss_curves
from helpers import close

K_SE = 4.0  # theory vs Monte-Carlo: |mean - theory| <= K_SE standard errors (over seeds)


@pytest.fixture
def problem():
    lam = sp.power_law(24, alpha=-1.2)
    return lam, sp.initial_moments(lam, "source", exponent=0.3)


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


# ----------------------------------------------------------------------------- new vs old engine
OLD_CASES = [
    # (eta, nu, S, R, B, sigma, cycles)
    (0.5, 1.0, 1, 1, 1, 0.0, 30),                                       # SGD
    (0.3, 1.7, 6, 1, 4, 0.2, 12),                                       # LA
    (0.6, 1.4, 10, 4, 16, 0.5, 8),                                      # LA-DiLoCo
    (np.geomspace(0.05, 1.5, 7)[:, None], np.linspace(0.2, 3.0, 5), 4, 2, 3, 0.3, 6),   # grid
    (np.geomspace(0.05, 2.5, 9)[:, None], np.linspace(0.2, 3.0, 4), 3, 1, 2, 0.1, 1),   # one cycle
    (np.array([0.2, 0.9, 3.0]), 2.5, 5, 3, 2, 0.0, 25),                 # a divergent point
]


@pytest.mark.parametrize("case", OLD_CASES, ids=["sgd", "la", "diloco", "grid", "one-cycle", "divergent"])
def test_new_engine_reproduces_old_engine(case, form):
    """theory.expected_loss (one engine) equals the pre-merge engine to 1e-12 relative, inf where it is inf."""
    eta, nu, S, R, B, sigma, cycles = case
    lam = sp.power_law(40, alpha=-1.3)
    m0 = sp.initial_moments(lam, "source", exponent=0.4)
    m = TwoPhase(eta, nu=nu, S=S, R=R, B=B)
    new = th.expected_loss(m, lam, m0, cycles, sigma=sigma, form=form)
    old = old_expected_loss(m, lam, m0, cycles, sigma=sigma, form=form)
    assert new.shape == old.shape
    assert np.array_equal(np.isinf(new), np.isinf(old)), "divergence marked at different steps"
    fin = np.isfinite(old)
    close(new[fin], old[fin], f"new vs old engine ({m!r}, {form})", rtol=1e-12)


def test_new_engine_divergent_case_diverges(form):
    """The divergent OLD_CASES entry really diverges (so the comparison above covers inf)."""
    lam = sp.power_law(40, alpha=-1.3)
    m0 = sp.initial_moments(lam, "source", exponent=0.4)
    L = th.expected_loss(TwoPhase(np.array([0.2, 0.9, 3.0]), nu=2.5, S=5, R=3, B=2), lam, m0, 25, form=form)
    assert np.isinf(L[-1, -1]) and np.all(np.isfinite(L[0]))


def test_one_cycle_fast_path_equals_full_cycle(problem, form):
    """cycles = 1 (quadratic in nu on the eta grid) equals the first cycle of a longer run."""
    lam, m0 = problem
    m = TwoPhase(np.geomspace(0.05, 1.5, 6)[:, None], nu=np.linspace(0.3, 2.0, 4), S=5, R=3, B=2)
    one = th.expected_loss(m, lam, m0, 1, sigma=0.4, form=form)
    two = th.expected_loss(m, lam, m0, 2, sigma=0.4, form=form)
    close(one, two[..., :2], "one-cycle quadratic vs full cycle", rtol=1e-12)


def test_matches_dense_covariance_reference_grid_free(form):
    """No momentum: the engine equals reference.dense_expected_loss (full D x D covariances)."""
    lam = sp.power_law(12, alpha=-1.0)
    m0 = sp.initial_moments(lam, "source", exponent=0.5)
    m = TwoPhase(0.5, nu=1.3, S=4, R=3, B=2)
    close(th.expected_loss(m, lam, m0, 5, sigma=0.2, form=form),
          dense_expected_loss(m, lam, m0, 5, sigma=0.2, form=form), "engine vs dense covariance", rtol=1e-11)


def test_one_cycle_terms_give_the_quadratic_in_nu(problem, form):
    """OneCycleTerms reproduce expected_loss after one cycle for two nu values and a sigma."""
    lam, m0 = problem
    t = en.one_cycle_terms(lam, np.array([0.2, 0.7]), S=4, B=3, form=form)
    for nu in (0.5, 1.7):
        A0, A1, A2 = lam @ m0, t.h_lam @ m0, t.h2_lam @ m0
        N = t.noise_vec @ m0 + 0.09 * t.noise_sigma
        L = 0.5 * (A0 - 2 * nu * A1 + nu ** 2 * (A2 + N / 2) + 0.09)
        ref = th.expected_loss(TwoPhase(np.array([0.2, 0.7]), nu=nu, S=4, R=2, B=3), lam, m0, 2, sigma=0.3,
                               form=form)[:, 1]
        close(L, ref, "one-cycle quadratic", rtol=1e-12)


def test_sgd_operator_dense_applies_like_step(problem, form):
    lam, m0 = problem
    P = en.sgd_operator_dense(lam, 0.7, 3, form)
    close(P @ m0, en.sgd_step_moments(m0, lam, 0.7, 3, 0.0, form), "dense P_B vs O(D) step")


# ----------------------------------------------------------------------------- identities
@pytest.mark.parametrize("R", [1, 3])
def test_no_momentum_equals_la_diloco_theory(problem, form, R):
    """beta_in = beta_out = 0: the 13-number SLA recursion equals the one-number fast path."""
    lam, m0 = problem
    m = TwoPhase(np.array([0.2, 0.6, 1.1])[:, None], nu=np.array([0.5, 1.0, 1.8]), S=4, R=R, B=2)
    out = np.empty(m.grid_shape + (8,))
    out[..., 0] = 0.5 * (lam @ m0 + 0.09)
    a = en._sla_losses(m, lam, m0, 7, 0.3, form, out)
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
    fast = th.expected_loss(m, lam, m0, 6, sigma=0.4, form=form)
    dense = _dense(m, lam, m0, 6, 0.4, form)
    close(fast, dense, f"SLA theory vs dense reference ({m!r}, {form})", rtol=1e-11)


@pytest.mark.parametrize("inner", ["reset", "carry"])
def test_beta_out_zero_is_la_with_momentum_inner_steps(problem, form, inner):
    """beta_out = 0: heavy-ball and Nesterov outer coincide and equal the dense
    reference of LA whose inner steps are heavy ball (theta <- theta - nu Delta)."""
    lam, m0 = problem
    m = TwoPhase(0.5, nu=1.4, S=4, R=2, B=3, beta_in=0.7, inner_momentum=inner)
    hb = th.expected_loss(m, lam, m0, 6, sigma=0.2, form=form)
    ne = th.expected_loss(m.replace(outer="nesterov"), lam, m0, 6, sigma=0.2, form=form)
    close(hb, ne, "beta_out=0: heavy ball vs Nesterov outer")
    lam8, m08 = lam[:8], m0[:8]
    close(th.expected_loss(m, lam8, m08, 6, sigma=0.2, form=form), _dense(m, lam8, m08, 6, 0.2, form),
          "beta_out=0 vs dense LA-with-momentum reference", rtol=1e-11)


def test_la_nu1_carry_is_heavy_ball_sgd(problem, form):
    """LA(nu = 1, R = 1) with a carried inner buffer equals heavy-ball SGD, sampled every S steps."""
    lam, m0 = problem
    S = 5
    la = th.expected_loss(TwoPhase(0.3, nu=1.0, S=S, B=2, beta_in=0.75, inner_momentum="carry"),
                          lam, m0, 4, sigma=0.3, form=form)
    hb = th.expected_loss(TwoPhase(0.3, S=1, B=2, beta_in=0.75, inner_momentum="carry"),
                          lam, m0, 4 * S, sigma=0.3, form=form)
    close(la, hb[::S], "LA(nu=1, carry) vs heavy-ball SGD")


@pytest.mark.parametrize("R", [1, 4])
def test_S1_nesterov_outer_is_nesterov_sgd(problem, form, R):
    """S = 1, beta_in = 0, Nesterov outer (EMA, rate nu) = Nesterov SGD with batch R*B and
    PyTorch learning rate nu (1 - beta_out) eta, i.e. EMA-Nesterov SGD at rate nu*eta."""
    lam, m0 = problem
    eta, nu, b = 0.3, 2.5, 0.6
    sla = th.expected_loss(TwoPhase(eta, nu=nu, S=1, R=R, B=2, beta_out=b, outer="nesterov"),
                           lam, m0, 9, sigma=0.25, form=form)
    ref = nesterov_sgd_loss(mo.to_pytorch(nu, b) * eta, b, 2 * R, lam, m0, 9, 0.25, form)
    close(sla, ref, "SLA(S=1, Nesterov) vs Nesterov SGD recursion", rtol=1e-11)


# ----------------------------------------------------------------------------- operator
@pytest.mark.parametrize("inner", ["reset", "carry"])
@pytest.mark.parametrize("R", [1, 3])
def test_cycle_operator_matches_expected_loss(form, inner, R):
    lam = sp.power_law(7, alpha=-1.0)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.6, nu=2.2, S=3, R=R, B=2, beta_in=0.6, beta_out=0.5, outer="nesterov", inner_momentum=inner)
    T, b, labels = en.dense_cycle_operator(m, lam, form)
    n = len(en.state_labels(m))
    assert T.shape == (n * lam.size,) * 2 and b.shape == (n * lam.size,)
    s = en.initial_state(m, m0)
    L = [en.loss_from_state(s, lam, 0.3)]
    for _ in range(5):
        s = T @ s + 0.09 * b
        L.append(en.loss_from_state(s, lam, 0.3))
    close(L, th.expected_loss(m, lam, m0, 5, sigma=0.3, form=form), "cycle_operator vs expected_loss")


def test_grid_broadcasting_matches_scalar_calls(problem):
    lam, m0 = problem
    etas, nus = np.array([0.2, 0.9]), np.array([0.5, 1.5, 4.0])
    m = TwoPhase(etas[:, None], nu=nus, S=3, R=2, B=2, beta_in=0.5, beta_out=0.7, outer="nesterov",
                 inner_momentum="carry")
    grid = th.expected_loss(m, lam, m0, 5, sigma=0.1)
    assert grid.shape == (2, 3, 6)
    for i, e in enumerate(etas):
        for j, n in enumerate(nus):
            one = th.expected_loss(m.replace(eta=e, nu=n), lam, m0, 5, sigma=0.1)
            close(grid[i, j], one, "grid vs scalar")


def test_divergence_is_inf_without_warnings(problem):
    lam, m0 = problem
    m = TwoPhase(np.array([0.1, 3.5]), nu=6.0, S=4, B=1, beta_in=0.9, beta_out=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L = th.expected_loss(m, lam, m0, 60)
        rho = mo.noiseless_radius(m, lam)
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
    theory = th.expected_loss(m, lam, m0, cycles, sigma=sigma)
    sim = loss_curves(m, lam, m0, cycles, seeds, sigma=sigma, seed=1234)
    mean, se = sim.mean(0), sim.std(0, ddof=1) / np.sqrt(seeds)
    z = np.abs(mean - theory) / se
    assert theory[-1] < 0.9 * theory[0]  # a non-trivial regime: the loss moves
    assert np.all(z[1:] <= K_SE), (
        f"{m!r}: theory vs simulation beyond {K_SE} SE\n theory={theory}\n sim   ={mean}\n se    ={se}\n z={z}")


# ----------------------------------------------------------------------------- diagonal preconditioner
def _precond(D, seed=0):
    """A positive preconditioner spanning a decade (finite, > 0)."""
    return np.random.default_rng(seed).uniform(0.2, 2.0, D)


PRECOND_SPECTRA = {
    "power": lambda: sp.power_law(7, alpha=-1.2),
    "spiked": lambda: sp.spiked(6, ratio=5.0, fraction=0.3, base=0.4),
    "with-zero": lambda: np.array([1.5, 0.7, 0.3, 0.0, 0.1]),
}
# (S, R, B, sigma, cycles): one worker, several, S = 1, one cycle (the quadratic in nu)
PRECOND_CASES = [(4, 1, 2, 0.3, 5), (3, 3, 4, 0.0, 4), (1, 2, 1, 0.5, 6), (5, 2, 3, 0.2, 1)]


@pytest.mark.parametrize("spectrum", PRECOND_SPECTRA)
@pytest.mark.parametrize("case", PRECOND_CASES, ids=["la", "diloco", "S1", "one-cycle"])
def test_precond_matches_dense_covariance_reference(spectrum, case, form):
    """No momentum, precond = p: the one-number-per-mode engine (and the one-cycle quadratic)
    equals reference.dense_expected_loss, which propagates full D x D covariances with the
    dense matrix P (C = I - eta P H, noise eta^2 P K P / B), to 1e-11."""
    S, R, B, sigma, cycles = case
    lam = PRECOND_SPECTRA[spectrum]()
    m0 = sp.initial_moments(lam, "source", exponent=0.5) + 0.05
    p = _precond(lam.size)
    m = TwoPhase(0.4, nu=1.3, S=S, R=R, B=B)
    fast = th.expected_loss(m, lam, m0, cycles, sigma=sigma, form=form, precond=p)
    dense = dense_expected_loss(m, lam, m0, cycles, sigma=sigma, form=form, precond=p)
    assert fast[-1] != th.expected_loss(m, lam, m0, cycles, sigma=sigma, form=form)[-1]  # p matters
    close(fast, dense, f"precond engine vs dense covariance ({spectrum}, {case}, {form})", rtol=1e-11)


@pytest.mark.parametrize("spectrum", ["power", "spiked"])
@pytest.mark.parametrize("inner", ["reset", "carry"])
@pytest.mark.parametrize("outer", ["heavy_ball", "nesterov"])
@pytest.mark.parametrize("R", [1, 2])
def test_precond_momentum_matches_dense_sla_reference(spectrum, inner, outer, R, form):
    """Inner and outer momentum, precond = p (buffer accumulates g, step -eta p u): the
    13-number engine equals reference.dense_sla_expected_loss (full covariance of
    (e_0, v, e^r, u^r) over all modes and workers, dense P) to 1e-11."""
    lam = PRECOND_SPECTRA[spectrum]()[:5]
    m0 = sp.initial_moments(lam, "source", exponent=1.0)
    p = _precond(lam.size, seed=3)
    m = TwoPhase(0.4, nu=1.6, S=3, R=R, B=2, beta_in=0.5, beta_out=0.6, outer=outer, inner_momentum=inner)
    fast = th.expected_loss(m, lam, m0, 6, sigma=0.3, form=form, precond=p)
    dense = dense_sla_expected_loss(m, lam, m0, 6, sigma=0.3, form=form, precond=p)
    close(fast, dense, f"precond SLA engine vs dense reference ({m!r}, {form})", rtol=1e-11)


PRECOND_METHODS = [
    TwoPhase(0.5, B=4),
    TwoPhase(np.array([0.2, 0.9])[:, None], nu=np.array([0.7, 1.5, 3.0]), S=4, R=3, B=2),
    TwoPhase(0.3, nu=1.4, S=3, R=2, B=2, beta_in=0.6, beta_out=0.5, outer="nesterov", inner_momentum="carry"),
    TwoPhase(np.array([0.1, 2.5]), nu=2.0, S=4, R=2, B=1, beta_in=0.9, beta_out=0.9),  # one diverges
]


@pytest.mark.parametrize("method", PRECOND_METHODS, ids=["sgd", "grid", "sla", "divergent"])
@pytest.mark.parametrize("cycles", [1, 7])
@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_precond_ones_is_no_precond(problem, method, cycles, form, backend):
    """precond = ones reproduces precond = None: bit for bit through the recursions (cycles > 1
    and momentum; numpy path and kernels), to 1e-12 on the one-cycle quadratic (it uses P_B^T,
    summed in another order)."""
    if backend == "compiled":
        pytest.importorskip("numba")
    lam, m0 = problem
    a = en._expected_loss(method, lam, m0, cycles, 0.3, form, backend=backend)
    b = en._expected_loss(method, lam, m0, cycles, 0.3, form, np.ones(lam.size), backend=backend)
    assert np.array_equal(np.isinf(a), np.isinf(b))
    if cycles > 1 or method.has_momentum:
        assert np.array_equal(a, b)
    else:
        close(b, a, "precond = ones vs None (one cycle)")


@pytest.mark.parametrize("method", PRECOND_METHODS[:3], ids=["sgd", "grid", "sla"])
@pytest.mark.parametrize("cycles", [1, 6])
def test_precond_constant_is_scaled_eta(problem, method, cycles, form):
    """precond = c * ones is exactly eta -> c * eta (the outer step is unpreconditioned), to 1e-12."""
    lam, m0 = problem
    c = 0.7
    a = th.expected_loss(method, lam, m0, cycles, sigma=0.2, form=form, precond=np.full(lam.size, c))
    b = th.expected_loss(method.replace(eta=c * np.asarray(method.eta)), lam, m0, cycles, sigma=0.2, form=form)
    close(a, b, f"precond = {c} vs eta * {c}")


@pytest.mark.parametrize("method", PRECOND_METHODS, ids=["sgd", "grid", "sla", "divergent"])
@pytest.mark.parametrize("cycles", [1, 6])
def test_precond_is_change_of_variables(problem, method, cycles, form):
    """theta -> p^{-1/2} theta: the method preconditioned by p on (lam, m0) equals the plain
    method on (p lam, m0 / p) -- an identity independent of how the engine implements p (1e-12)."""
    lam, m0 = problem
    p = _precond(lam.size, seed=5)
    a = th.expected_loss(method, lam, m0, cycles, sigma=0.2, form=form, precond=p)
    b = th.expected_loss(method, p * lam, m0 / p, cycles, sigma=0.2, form=form)
    assert np.array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(b)
    close(a[fin], b[fin], "precond p vs spectrum p * lam")


def test_precond_effective_spectrum_and_steps(problem, form):
    """effective_spectrum, sgd_step_moments, inner_phase, sgd_operator_dense, one_cycle_terms and
    dense_cycle_operator with precond: h(p lam); the O(D) step equals the dense P_B (not
    symmetric) applied; S steps equal inner_phase; one-cycle terms and the dense cycle
    operator equal expected_loss with the same p (1e-12)."""
    lam, m0 = problem
    p = _precond(lam.size, seed=7)
    for m in (TwoPhase(0.4, S=5), TwoPhase(np.array([0.3, 0.8]), S=3, beta_in=0.5)):
        close(en.effective_spectrum(m, lam, precond=p), en.effective_spectrum(m, p * lam), "h with precond")
    P = en.sgd_operator_dense(lam, 0.7, 3, form, precond=p)
    assert not np.allclose(P, P.T)
    step = en.sgd_step_moments(m0, lam, 0.7, 3, 0.3, form, precond=p)
    close(step, P @ m0 + 0.09 * (0.7 * p) ** 2 * lam / 3, "dense P_B with precond vs O(D) step")
    mS = m0
    for _ in range(4):
        mS = en.sgd_step_moments(mS, lam, 0.7, 3, 0.3, form, precond=p)
    ip = en.inner_phase(m0, lam, 0.7, 4, 3, 0.3, form, precond=p)
    close(ip.mS, mS, "inner_phase vs 4 steps")
    close(ip.cS, (1 - 0.7 * p * lam) ** 4, "cS with precond")
    t = en.one_cycle_terms(lam, np.array([0.2, 0.7]), S=4, B=3, form=form, precond=p)
    nu = 1.7
    L = 0.5 * (lam @ m0 - 2 * nu * t.h_lam @ m0
               + nu ** 2 * (t.h2_lam @ m0 + (t.noise_vec @ m0 + 0.09 * t.noise_sigma) / 2) + 0.09)
    ref = th.expected_loss(TwoPhase(np.array([0.2, 0.7]), nu=nu, S=4, R=2, B=3), lam, m0, 2, sigma=0.3,
                           form=form, precond=p)[:, 1]
    close(L, ref, "one-cycle terms with precond")
    m = TwoPhase(0.5, nu=1.8, S=3, R=2, B=2, beta_in=0.6, beta_out=0.4, inner_momentum="carry")
    lam7, m07, p7 = lam[:7], m0[:7], p[:7]
    T, b, _ = en.dense_cycle_operator(m, lam7, form, precond=p7)
    s = en.initial_state(m, m07)
    L = [en.loss_from_state(s, lam7, 0.3)]
    for _ in range(4):
        s = T @ s + 0.09 * b
        L.append(en.loss_from_state(s, lam7, 0.3))
    close(L, th.expected_loss(m, lam7, m07, 4, sigma=0.3, form=form, precond=p7), "dense cycle op, precond")

# ----------------------------------------------------------------------------- compiled kernels
KERNEL_METHODS = {
    "sgd": TwoPhase(0.5, B=2),
    "sgd-grid": TwoPhase(np.geomspace(0.05, 2.5, 6), B=3),
    "la": TwoPhase(0.3, nu=1.7, S=6, B=4),
    "diloco": TwoPhase(0.6, nu=1.4, S=10, R=4, B=16),
    "S1-R3": TwoPhase(0.4, nu=2.2, S=1, R=3, B=2),
    "grid": TwoPhase(np.geomspace(0.05, 1.5, 5)[:, None], nu=np.linspace(0.2, 3.0, 4), S=4, R=2, B=3),
    "divergent": TwoPhase(np.array([0.2, 0.9, 3.0]), nu=2.5, S=5, R=3, B=2),
    "long-S": TwoPhase(0.05, nu=1.1, S=40, R=2, B=4),
    "sla-reset": TwoPhase(0.4, nu=1.6, S=3, R=2, B=2, beta_in=0.5, beta_out=0.6),
    "sla-carry-nesterov": TwoPhase(0.4, nu=1.6, S=4, R=3, B=2, beta_in=0.6, beta_out=0.7, outer="nesterov",
                                   inner_momentum="carry"),
    "sla-carry-R1": TwoPhase(0.3, nu=1.0, S=5, B=2, beta_in=0.75, inner_momentum="carry"),
    "sla-S1": TwoPhase(0.3, nu=2.5, S=1, R=2, B=2, beta_out=0.6, outer="nesterov"),
    "sla-grid": TwoPhase(np.array([0.1, 0.5])[:, None], nu=np.array([0.8, 2.0, 6.0]), S=3, R=2, B=1,
                         beta_in=0.9, beta_out=0.9),
    "sla-long-S": TwoPhase(0.05, nu=1.3, S=30, R=2, B=4, beta_in=0.8, beta_out=0.5, inner_momentum="carry"),
    # clustered eigenvalues of the inner step (beta_in -> 1, slow modes): the 3-term recurrence of
    # the free orbit (S <= 24) and the full steps beyond it
    "sla-clustered-24": TwoPhase(0.01, nu=1.0, S=24, R=2, B=4, beta_in=0.999, beta_out=0.5, inner_momentum="carry"),
    "sla-clustered-300": TwoPhase(0.01, nu=1.0, S=300, R=2, B=4, beta_in=0.999, beta_out=0.5),
}


@pytest.mark.parametrize("name", KERNEL_METHODS)
@pytest.mark.parametrize("precond", [False, True], ids=["p=None", "p"])
def test_compiled_kernels_equal_numpy_path(name, precond, form):
    """The numba kernels (two passes per cycle, the feedback F_k from a scalar recursion,
    SGD-like runs chunked over cycles) equal the numpy recursions to 1e-12 relative, with the
    same divergence steps, over 37 cycles (more than two chunks), with label noise."""
    pytest.importorskip("numba")
    lam = sp.power_law(300, alpha=-1.2)
    m0 = sp.initial_moments(lam, "source", exponent=0.4)
    p = _precond(lam.size, seed=11) if precond else None
    m = KERNEL_METHODS[name]
    a = en._expected_loss(m, lam, m0, 37, 0.3, form, p, backend="compiled")
    b = en._expected_loss(m, lam, m0, 37, 0.3, form, p, backend="numpy")
    assert np.array_equal(np.isinf(a), np.isinf(b)), "divergence marked at different steps"
    assert np.isfinite(b).mean() > 0.5  # most of the run is finite
    fin = np.isfinite(b)
    close(a[fin], b[fin], f"compiled vs numpy ({name}, {form}, precond={precond})")


def test_compiled_kernels_in_the_noiseless_and_one_mode_limits(form):
    """sigma = 0, a spectrum with zero modes and D = 1 (a block shorter than the block size):
    compiled equals numpy to 1e-12."""
    pytest.importorskip("numba")
    for lam in (np.array([0.0, 1.0, 0.0, 0.3]), np.array([0.7]), sp.power_law(700, alpha=-1.0)):
        m0 = np.full(lam.size, 0.5)
        for m in (KERNEL_METHODS["diloco"], KERNEL_METHODS["sgd"], KERNEL_METHODS["sla-carry-nesterov"]):
            a = en._expected_loss(m, lam, m0, 9, 0.0, form, backend="compiled")
            b = en._expected_loss(m, lam, m0, 9, 0.0, form, backend="numpy")
            close(a, b, f"compiled vs numpy, sigma = 0, D = {lam.size}")


def test_engine_backend_switch(problem, monkeypatch):
    """TWOPHASE_ENGINE selects the path: numpy gives the numpy recursions bit for bit; a bad
    value is refused by name; a bad backend argument too."""
    lam, m0 = problem
    m = KERNEL_METHODS["sla-reset"]
    ref = en._expected_loss(m, lam, m0, 5, 0.2, backend="numpy")
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    assert np.array_equal(th.expected_loss(m, lam, m0, 5, sigma=0.2), ref)
    monkeypatch.setenv("TWOPHASE_ENGINE", "fast")
    with pytest.raises(ValueError, match="TWOPHASE_ENGINE"):
        th.expected_loss(m, lam, m0, 5)
    with pytest.raises(ValueError, match="backend"):
        en._expected_loss(m, lam, m0, 5, backend="gpu")


def _dense(method, lam, m0, cycles, sigma, form):
    return dense_sla_expected_loss(method, lam, m0, cycles, sigma=sigma, form=form)


def test_bad_input():
    lam = sp.power_law(5)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.3, S=2, beta_in=0.5, beta_out=0.5)
    with pytest.raises(TypeError, match="method"):
        th.expected_loss("sgd", lam, m0, 3)
    with pytest.raises(ValueError, match="form"):
        th.expected_loss(m, lam, m0, 3, form="approx")
    with pytest.raises(ValueError, match="sigma"):
        th.expected_loss(m, lam, m0, 3, sigma=-1.0)
    with pytest.raises(ValueError, match="m0"):
        th.expected_loss(m, lam, m0[:3], 3)
    with pytest.raises(ValueError, match="lam"):
        th.expected_loss(m, -lam, m0, 3)
    with pytest.raises(ValueError, match="cycles"):
        th.expected_loss(m, lam, m0, 0)
    with pytest.raises(ValueError, match="grid"):
        en.dense_cycle_operator(m.replace(eta=np.array([0.1, 0.2])), lam)
    with pytest.raises(ValueError, match="form"):
        en.dense_cycle_operator(m, lam, form="x")
    with pytest.raises(ValueError, match="S"):
        en.residual_polynomials(lam, 0.1, 0.5, 0)
    with pytest.raises(ValueError, match="beta_in"):
        en.residual_polynomials(lam, 0.1, 1.0, 3)


def test_refuses_work_that_would_take_minutes():
    lam = sp.power_law(1000)
    with pytest.raises(ValueError, match="would take about"):
        th.expected_loss(TwoPhase(0.5, S=10 ** 8), lam, sp.initial_moments(lam), 1)
    with pytest.raises(ValueError, match="float64 entries"):
        en.dense_cycle_operator(TwoPhase(0.1, beta_in=0.5), sp.power_law(3000))
