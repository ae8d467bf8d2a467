"""Chapter-2 computations: Figure-1 panels equal the closed form with identical eigenvalues; the best-nu
map equals pointwise optima; the cycle operator equals the dense reference; tuned LA contains SGD."""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import operators as op
from twophase import spectra as sp
from twophase import sweeps as sw
from twophase.experiments import lookahead as ex


def close(a, b, what, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    assert err <= rtol, f"{what}: max rel. error {err:.3e} > {rtol:.0e}\n lhs={a}\n rhs={b}"


def test_source_stack():
    lam = sp.power_law(30, -1.5)
    m0s = ex.source_stack(lam, [0.0, 0.5, 1.0])
    assert m0s.shape == (3, 30)
    close(m0s[0], np.full(30, 1 / 30), "s = 0 row is isotropic")
    close(m0s[1], lam ** -0.5 / np.sum(lam ** -0.5), "s = 1/2 row")
    close(m0s[2], sp.initial_moments(lam, "source", exponent=1.0), "s = 1 row")
    close(m0s.sum(axis=1), np.ones(3), "rows sum to 1")
    with pytest.raises(ValueError, match="exponents"):
        ex.source_stack(lam, [])


@pytest.mark.parametrize("form", ["exact", "hd"])
def test_figure1_panel_identical_eigenvalues_closed_form(form):
    """With D identical eigenvalues and isotropic m0 the one-cycle loss is exactly L0 tau_sym, and the
    best nu at fixed eta is h / (h^2 + n_sym(nu=1)) (tau is quadratic in nu)."""
    D, lam0, S, B = 40, 2.0, 5, 3
    lam = sp.identical(D, lam0)
    m0 = sp.initial_moments(lam, "isotropic")
    eta_rel = np.geomspace(0.01, 1.5, 7)
    nu = np.linspace(0.3, 2.5, 5)
    eta_fine_rel = np.geomspace(0.01, 1.5, 2000)
    p = ex.figure1_panel(lam, m0, eta_rel, nu, eta_fine_rel, S=S, B=B, form=form)
    assert isinstance(p, ex.Figure1Panel) and p.L.shape == (7, 5) and p.eta_star.shape == (5,)
    tau, _ = op.isotropic_eigenvalues(TwoPhase(eta_rel[:, None] / lam0, nu[None, :], S=S, B=B), lam0, D, form)
    close(p.L, tau, "L / L0 = tau_sym")
    assert np.all(p.lmin <= p.L.min(axis=0) * (1 + 1e-12))
    # closed-form optimum over nu on the fine grid
    e = eta_fine_rel / lam0
    h = 1 - (1 - e * lam0) ** S
    n1, _ = op.isotropic_noise(TwoPhase(e, 1.0, S=S, B=B), lam0, D, form)
    loss_eta = 1 - h ** 2 / (h ** 2 + n1)
    k = np.argmin(loss_eta)
    close(p.loss_best, loss_eta[k], "best one-cycle loss / L0", rtol=1e-5)
    close(p.eta_best, eta_fine_rel[k], "best eta lam_max", rtol=5e-3)
    close(p.nu_best, h[k] / (h[k] ** 2 + n1[k]), "best nu = h / (h^2 + n)", rtol=5e-3)


def test_best_nu_map_matches_pointwise_optimum():
    lam = sp.power_law(50, -1.5)
    exps = [0.0, 0.5]
    bds, sig_rel = [0.001, 0.1, 0.5], [0.0, 1.0]
    eta_rel = np.geomspace(0.001, 2.0, 120)
    out = ex.best_nu_map(lam, exps, bds, sig_rel, eta_rel, S=4, form="hd")
    assert out.nu.shape == (2, 2, 3)
    close(out.B_over_D, [1 / 50, 5 / 50, 25 / 50], "realised B/D (B = max(1, round(B/D D)))")
    scale = lam @ sp.initial_moments(lam, "isotropic")
    for i, r in enumerate(sig_rel):
        for k, s in enumerate(exps):
            m0 = sp.initial_moments(lam, "source", exponent=s) if s else sp.initial_moments(lam, "isotropic")
            for j, B in enumerate((1, 5, 25)):
                ref = sw.one_cycle_optimum(lam, m0, eta_rel / lam.max(), S=4, B=B, sigma=np.sqrt(r * scale),
                                           form="hd").nu
                # a stack of m0 and an array of sigma in one call vs one at a time: the matrix products sum in
                # another order, and the parabola refinement in log eta divides by a second difference of
                # the loss, which amplifies that rounding (observed ~3e-12)
                close(out.nu[i, k, j], ref, f"best nu at sigma_rel={r}, s={s}, B={B}", rtol=1e-10)


def test_cycle_operator_vs_dense_agrees_and_detects_an_error(monkeypatch):
    lam = sp.spiked(30, ratio=10.0, fraction=0.1)
    m0 = sp.initial_moments(lam)
    meth = TwoPhase(0.5 / lam.max(), 1.3, S=4, R=1, B=3)
    assert ex.cycle_operator_vs_dense(meth, lam, m0, sigma=0.2, cycles=3).worst < 1e-12
    true_op = ex.cycle_operator

    def wrong(method, lam, form):
        T, b = true_op(method, lam, form)
        return T, 1.01 * b

    monkeypatch.setattr(ex, "cycle_operator", wrong)
    assert ex.cycle_operator_vs_dense(meth, lam, m0, sigma=0.2, cycles=3).worst > 1e-4


def test_signal_noise_factors_low_modes_match_sgd():
    sn = ex.signal_noise_factors(10, 0.5, 1.5, np.geomspace(1e-5, 1.0, 200))
    assert sn.rel_signal_low < 2e-2 and sn.rel_noise_low < 2e-2 and sn.n_high > 0 and sn.dev_high < np.exp(-3)
    assert 0.5 in sn.etas_h and len(sn.h_by_eta) == len(sn.etas_h)


def test_source_crossing_and_best_nu_by_D():
    lam = sp.power_law(200, -1.5)
    eta_rel = np.geomspace(1e-3, 2.0, 200)
    c = ex.source_crossing(lam, S=10, B=1, eta_rel=eta_rel, n=21)
    ref = sw.one_cycle_optimum(lam, ex.source_stack(lam, c.s), eta_rel / lam.max(), S=10, B=1, form="hd").nu
    close(c.nu, ref, "best nu per s")
    if np.isfinite(c.s_c):
        assert np.all(c.nu[c.s < c.s_c] >= 1) and c.nu[c.s == c.s_c][0] < 1
    by_D = ex.best_nu_by_D([100, 200], alpha=-1.5, B_over_D=0.005, eta_rel=eta_rel, S=10)
    close(by_D[200], sw.one_cycle_optimum(lam, sp.initial_moments(lam), eta_rel / lam.max(), S=10, B=1).nu, "D=200")


def test_map_summary_on_a_synthetic_map():
    bd = np.array([0.001, 0.01, 0.1])
    nu = np.ones((2, 2, 3))
    nu[0, 0] = [0.9, 1.05, 1.2]     # isotropic, sigma = 0: crosses 1 once
    nu[1, 0] = [0.95, 0.99, 1.1]    # more noise: raised at the smallest B/D only
    sp_nu = np.full((2, 2, 3), 1.1)
    sp_nu[0, 1, 0] = 0.97
    ms = ex.map_summary(ex.BestNuMap(bd, nu), ex.BestNuMap(bd, sp_nu), 0.01, 0.1)
    assert ms.single_crossing and ms.bd_cross == 0.01 and ms.bd_below == 0.001
    assert ms.noise_raises_at.tolist() == [0.001] and ms.bd_spiked_from == 0.01 and ms.bd_spiked_below == 0.001
    close(ms.sig_at_paper, [1.05, 0.99], "best nu at the paper's B/D per sigma")


def test_la_vs_sgd_tuned_contains_sgd_and_verdicts():
    lam = {"power": sp.power_law(30, -1.5)}
    tc = ex.la_vs_sgd_tuned(lam, [2], [0.0, 1.0], budget=20, eta_rel=np.geomspace(0.01, 2.0, 8),
                            nu_grid=[0.5, 1.0, 2.0], S_values=[2, 5])
    assert np.all(tc.la <= tc.sgd * (1 + 1e-9)) and tc.ratio.shape == (2,)
    assert "| power | 2 |" in ex.la_vs_sgd_markdown(tc)


# --- the chapter's text helpers (issue 10) ------------------------------------------------------


def _small_problems():
    return ex.problems(spiked_D=40, spiked_ratio=20.0, spiked_fraction=0.05, spiked_B_over_D=0.2,
                       power_D=60, power_alpha=-1.5, power_B_over_D=0.05)


def test_figure1_panels_are_the_single_panels():
    """figure1_panels equals figure1_panel per problem and form, bit for bit, with the source
    initial condition only in the first form; the summary quotes each panel's optimum."""
    pr = _small_problems()
    eta_rel, nu, fine = np.geomspace(0.01, 1.9, 9), np.linspace(0.2, 2.5, 6), np.geomspace(0.01, 1.9, 40)
    res = ex.figure1_panels(pr, eta_rel, nu, fine, S=4, forms=("hd", "exact"), source_exponent=0.5)
    assert list(res) == [("spiked", "hd"), ("spiked", "exact"), ("power", "hd"), ("power", "exact"),
                         ("power-s0.5", "hd")]
    src = sp.initial_moments(pr.lam_power, "source", exponent=0.5)
    one = ex.figure1_panel(pr.lam_power, src, eta_rel, nu, fine, S=4, B=pr.power_B, form="hd")
    assert np.array_equal(res["power-s0.5", "hd"].L, one.L) and res["power-s0.5", "hd"].nu_best == one.nu_best
    one = ex.figure1_panel(pr.lam_spiked, pr.m0_spiked, eta_rel, nu, fine, S=4, B=pr.spiked_B, form="exact")
    assert np.array_equal(res["spiked", "exact"].lmin, one.lmin)
    text = ex.figure1_summary(res).splitlines()
    assert len(text) == 5 and f"best nu = {one.nu_best:.4f}" in text[1]


def test_text_helpers_quote_the_results():
    """The detail and glue helpers format the numbers of the results they are given (nothing else):
    the margin and the count of settings where LA helps are computed from those results."""
    cross = ex.SourceCrossing(np.linspace(0, 1, 3), np.array([1.0123, 0.99, 0.95]), 0.5, True)
    bd = np.array([0.001, 0.01, 0.1])
    nu = np.ones((2, 2, 3))
    nu[0, 0] = [0.9, 1.05, 1.2]
    nu[1, 0] = [0.95, 0.99, 1.1]
    ms = ex.map_summary(ex.BestNuMap(bd, nu), ex.BestNuMap(bd, np.full((2, 2, 3), 1.1)), 0.01, 0.1)
    gl = ex.maps_glue(ms, cross, {500: 0.98, 1000: 1.0123}, B_over_D=0.005, dnu=0.05, sigma_rel_max=1.0)
    assert gl["margin_pct"] == "1.2" and gl["nu_by_D"] == "0.980 (D=500, B=2), 1.012 (D=1000, B=5)"
    why = ex.dimension_details({500: 0.98, 1000: 1.0123}, cross, B_over_D=0.005, dnu=0.05)
    assert why["flips"].endswith("< 1 at D in [500], >= 1 at D in [1000]")
    assert "0.0123 above 1" in why["margin"]
    details = ex.map_details(cross, ms, B_over_D=0.01, spiked_B_over_D=0.1, sigma_rel_max=1.0)
    assert "best nu < 1 for B/D <= 0.001, >= 1 from B/D = 0.01" in details["batch"]
    text = ex.map_summary_text(ex.BestNuMap(bd, nu), ms, [0.0, 1.0])
    assert "{0.001: 0.9, 0.01: 1.05, 0.1: 1.2}" in text and "np.float64" not in text
    tc = ex.TunedComparison([("a", 1, 0.0, 0.0), ("b", 8, 1.0, 0.5)], np.array([1.0, 1.0]),
                            np.array([0.5, 0.9]), np.array([0.5, 0.9]),
                            [{"eta_at_edge": False, "nu_at_edge": True}, {"eta_at_edge": False, "nu_at_edge": False}],
                            100)
    assert ex.tuning_edges(tc) == [("a", 1, 0.0)]
    assert ex.tuned_glue(tc) == {"tune_budget": "100", "la_helps": "1 of 2", "ratio_min": "0.50",
                                 "ratio_max": "0.90"}
