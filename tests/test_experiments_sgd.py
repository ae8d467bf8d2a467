"""Chapter-1 computations: the hd form is below the exact one; eta_c solves K = 1; the closed-form fixed
point is stationary; runs either side of the edge settle or diverge; theory matches simulation."""
import numpy as np
import pytest

from twophase import spectra as sp
from twophase import theory as th
from twophase.experiments import sgd as ex


@pytest.fixture
def problem():
    lam = sp.power_law(40, -1.5)
    return lam, sp.initial_moments(lam)


def test_form_gap_hd_below_exact_and_grows_as_B_shrinks(problem):
    lam, m0 = problem
    g8, g1 = (ex.form_gap(lam, m0, b, [0.1, 0.3], steps=30, sigma=0.1) for b in (8, 1))
    assert g8.hd_below and g1.hd_below and g8.n == 2 * 31
    assert 0 < g8.gap < g1.gap


def test_stability_edges_solve_K_equals_one(problem):
    lam, _ = problem
    e = ex.stability_edges(lam, (1, 8))
    for b, d in e.eta_c.items():
        for f, eta in d.items():
            assert abs(float(th.noise_kernel(eta, lam, b, form=f)) - 1) < 1e-8, (b, f)
    assert e.ratio[1] < e.ratio[8] < 1 and e.deterministic == 2 / lam.max()


def test_edge_run_and_stationary_point(problem):
    lam, m0 = problem
    eta_c = ex.stability_edges(lam, (4,)).eta_c[4]["exact"]
    run = ex.edge_run(lam, m0, 4, eta_c, [0.5, 1.5], steps=3000, sigma=0.1)
    assert run.settles and run.diverges
    L_inf, rel = ex.stationary_check(0.5 * eta_c, lam, 4, 0.1, "exact", steps=50)
    assert rel < 1e-10 and L_inf == pytest.approx(float(th.sgd_stationary_loss(0.5 * eta_c, lam, 4, 0.1, form="exact")))


def test_theory_vs_simulation_and_tail_scan(problem):
    lam, m0 = problem
    eta_c = ex.stability_edges(lam, (4,)).eta_c[4]["exact"]
    rows = ex.theory_vs_simulation(lam, m0, 4, [0.2 * eta_c], steps=20, seeds=300, sigma=0.1, seed=1)
    assert rows[0].z < 4.5 and rows[0].n == 21 and rows[0].share < 3e-3
    tail = ex.tail_scan(lam, m0, 4, eta_c, [0.2], steps=20, seeds=50, sigma=0.1)
    assert len(tail) == 1 and 0 < tail[0].share < 1


def test_divergence_run_reports_divergence(problem):
    lam, m0 = problem
    eta_c = ex.stability_edges(lam, (4,)).eta_c[4]["exact"]
    d = ex.divergence_run(lam, m0, 4, 2.0 * eta_c, steps=3000, runs=4, sigma=0.1)
    assert d.all_diverge and d.theory_step > 0 and d.sim_steps.shape == (4,)


def test_kernel_curves_and_loss_shares(problem):
    lam, _ = problem
    kc = ex.kernel_curves(lam, (8, 1), 0.5, 0.1, n=7)
    assert kc.x.shape == (7,) and kc.K[8, "hd"].shape == (7,)
    shares = ex.loss_shares(lam)
    for s, x in shares.items():
        assert x.sum() == pytest.approx(1.0, rel=1e-12), s
