"""Chapter-3 computations: closed-form rates over R and their spread; the Theorem 3.1 grid check holds
and reports failures; domination on random spectra; the closed form against the dense operator."""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import operators as op
from twophase import spectra as sp
from twophase.experiments import diloco as ex

FORMS = ("exact", "hd")
SMALL_GRID = dict(forms=FORMS, S_values=(1, 2, 5), B_tots=(4, 6), lam0s=(0.5, 2.0), Ds=(1, 50))


def close(a, b, what, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    assert err <= rtol, f"{what}: max rel. error {err:.3e} > {rtol:.0e}\n lhs={a}\n rhs={b}"


@pytest.mark.parametrize("rule", ["fixed", "sqrt"])
def test_isotropic_tau_scaling_rule(rule):
    kw = dict(S=6, B_tot=16, lam0=0.5, D=300, form="exact")
    for R in (1, 4, 16):
        e, n = (0.2, 1.3) if rule == "fixed" else (0.2 / np.sqrt(R), 1.3 * np.sqrt(R))
        ref, _ = op.isotropic_eigenvalues(TwoPhase(e, n, S=6, R=R, B=16 // R), 0.5, 300, "exact")
        t = ex.isotropic_tau(0.2, 1.3, R, rule, **kw)
        assert isinstance(t, float)
        close(t, ref, f"tau_sym, R={R}, {rule}")
        ts = ex.isotropic_tau(np.array([0.1, 0.2]), 1.3, R, rule, **kw)
        assert ts.shape == (2,)
        close(ts[1], ref, "vectorised over eta")
    with pytest.raises(ValueError, match="R must divide B_tot"):
        ex.isotropic_tau(0.2, 1.3, 3, rule, **kw)


def test_rate_spread_known_values():
    tau = {1: np.exp([-1.0, -1.0, 0.0]), 2: np.exp([-1.05, -1.0, -1.0]), 8: np.array([np.exp(-0.8), np.inf, 1.0])}
    d = ex.rate_spread(tau)
    close(d[0], 0.2, "max(|-0.05|, |0.2|) / 1")
    assert d[1] == np.inf and d[2] == np.inf  # diverged tau_8; tau_1 = 1 (no contraction)
    close(ex.rate_spread(tau, Rs=[1, 2])[0], 0.05, "restricted to R in {1, 2}")
    assert np.all(ex.rate_spread({1: tau[1], 2: tau[1]})[:2] == 0)


def test_isotropic_rate_spread():
    kw = dict(S=10, B_tot=64, lam0=1.0, D=3200, form="exact")
    taus = {R: ex.isotropic_tau(0.016, 1.0, R, "sqrt", **kw) for R in (1, 2, 8)}
    close(ex.isotropic_rate_spread(0.016, 1.0, [1, 2, 8], "sqrt", **kw), ex.rate_spread(taus), "spread at one eta")
    # S = 1: tau does not depend on R at fixed B_tot (Theorem 3.1), so the fixed rule has no spread
    one = ex.isotropic_rate_spread(0.3, 1.2, [1, 2, 4, 8], "fixed", **dict(kw, S=1))
    assert one <= 1e-12, one


def test_last_true_from_start():
    grid = np.array([1.0, 2.0, 3.0, 4.0])
    assert ex.last_true_from_start([True, True, False, True], grid) == 2.0
    assert ex.last_true_from_start([True, True, True, True], grid) == 4.0
    assert np.isnan(ex.last_true_from_start([False, True, True, True], grid))
    with pytest.raises(ValueError, match="mask and grid"):
        ex.last_true_from_start([True, False], grid)


def test_theorem31_check_holds_and_counts():
    """On a grid where every tau is finite, every (eta, nu, setting) point is checked once and
    the theorem holds; n_strict counts the S >= 2 points."""
    eta_rel, nu = np.geomspace(0.01, 1.9, 3), np.linspace(0.2, 3.0, 4)
    out = ex.theorem31_check(eta_rel, nu, **SMALL_GRID)
    n_settings = 2 * 3 * 2 * 2 * 2
    assert out.failures == []
    assert out.n_checks == n_settings * 3 * 4, out
    assert out.n_strict == out.n_checks * 2 // 3, out  # S in (2, 5) of (1, 2, 5)


def test_theorem31_check_reports_failures(monkeypatch):
    """A noise term that decreases with R violates the theorem in every setting (S = 1 included,
    where it must be R-free); a noise term that is never finite is never checked."""
    eta_rel, nu = np.geomspace(0.01, 1.9, 3), np.linspace(0.2, 3.0, 4)
    true_noise = op.isotropic_noise

    def decreasing(method, lam0, D, form):
        s, q = true_noise(method, lam0, D, form)
        return s / method.R ** 2, q / method.R ** 2

    monkeypatch.setattr(ex, "isotropic_noise", decreasing)
    out = ex.theorem31_check(eta_rel, nu, **SMALL_GRID)
    expected = [(f, S, Bt, lam0, D) for f in FORMS for S in (1, 2, 5) for Bt in (4, 6)
                for lam0 in (0.5, 2.0) for D in (1, 50)]
    assert out.failures == expected
    monkeypatch.setattr(ex, "isotropic_noise", lambda m, lam0, D, form: (np.full(m.grid_shape, np.inf),) * 2)
    out = ex.theorem31_check(eta_rel, nu, **SMALL_GRID)
    assert out == (0, 0, [])
    with pytest.raises(ValueError, match="form"):
        ex.theorem31_check(eta_rel, nu, forms=("exact", "nope"))


def test_domination_radius_and_closed_form():
    assert ex.domination_draws(6, seed=3).failures == []
    r = ex.radius_over_R(sp.power_law(200, -1.5), [0.5, 1.9], nu=1.0, S=5, B_tot=16, Rs=[1, 4, 16])
    assert r.monotone and r.gain[-1] > 0
    cf = ex.closed_form_vs_operator([0.01, 0.03], 1.0, 8, S=5, B_tot=16, lam0=1.0, D=300, D_dense=40)
    assert cf.dense_err < 1e-10 and cf.action_err < 1e-10 and cf.D_dense == 40


def test_other_spectrum_on_identical_eigenvalues_equals_rate_spread():
    """With identical eigenvalues the loss is L0 tau^t, so the average log-rate spread equals rate_spread."""
    D, Bt, S = 200, 16, 4
    lam = sp.identical(D, 1.0)
    eta = np.array([0.005, 0.01, 0.02])
    o = ex.other_spectrum_statements(lam, sp.initial_moments(lam), eta, 1.0, S=S, B_tot=Bt, Rs=[1, 2, 8], cycles=5,
                                     rate_tol=0.1)
    for rule in ("fixed", "sqrt"):
        taus = {R: ex.isotropic_tau(eta, 1.0, R, rule, S=S, B_tot=Bt, lam0=1.0, D=D) for R in (1, 2, 8)}
        close(o.spread[rule], ex.rate_spread(taus), f"spread, {rule}", rtol=1e-9)


def test_figure2_and_divergence_timing():
    D, Bt, S = 100, 16, 4
    su = ex.setup(D, 1.0, B_tot=Bt, S=S, nu=1.0, Rs=[1, 8], etas=[0.01, 0.2])
    f2 = ex.figure2(su.lam, su.m0, [0.01, 0.2], 1.0, S=S, B_tot=Bt, Rs=[1, 8], cycles=6, seeds=8, seed=1)
    assert set(f2.theory) == {"fixed", "sqrt"} and f2.sims["sqrt"][1] is f2.sims["fixed"][1]
    dt = ex.divergence_timing(f2, 1, "fixed", nu=1.0, eta=0.2, S=S, B_tot=Bt, lam0=1.0, D=D)
    assert dt.theory == dt.predicted, (dt.theory, dt.predicted)
    with pytest.raises(ValueError, match="R must divide"):
        ex.setup(D, 1.0, B_tot=Bt, S=S, nu=1.0, Rs=[3], etas=[0.1])


# --- the chapter's text helpers (issue 10) ------------------------------------------------------


def test_final_simulated_loss_is_the_mean_over_seeds_and_helpers_quote_it():
    """final_simulated_loss is the seed mean at the last cycle (compared with a direct mean to
    1e-15); the Figure-2 text helpers quote the thresholds and rates they are given."""
    from twophase import spectra as sp
    from twophase.experiments import diloco as ex

    lam = sp.identical(20, 1.0)
    m0 = sp.initial_moments(lam)
    f2 = ex.figure2(lam, m0, [0.05, 0.4], 1.0, S=3, B_tot=4, Rs=[1, 2], cycles=3, seeds=5, seed=1)
    final = ex.final_simulated_loss(f2, "fixed", 1)
    for R in (1, 2):
        direct = f2.sims["fixed"][R][1][:, -1].mean()
        assert abs(final[R] - direct) <= 1e-15 * abs(direct), (R, final[R], direct)
    eta_scan = np.geomspace(0.01, 0.6, 30)
    iso = dict(S=3, B_tot=4, lam0=1.0, D=20)
    rho = ex.rate_scan(eta_scan, 1.0, [1, 2], **iso)
    st = ex.figure2_statements(rho, eta_scan, [0.05, 0.4], 1.0, [1, 2], rate_tol=0.1, **iso)
    gl = ex.statements_glue(st, 0.1)
    assert gl["Rmax"] == "2" and gl["eta_indep"] == f"{st.eta_indep_fixed:.3g}"
    table = ex.statements_markdown(st).splitlines()
    assert len(table) == 2 + len(st.table) and table[2].startswith("| 0.05 |")
    assert f"{final[2]:.3g}" in ex.fixed_large_detail(st, final, f2.L0)
    assert "np.float64" not in ex.statements_text(st, 0.1)
