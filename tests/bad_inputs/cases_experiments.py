"""Bad-input cases for ``twophase.experiments`` (issue 9): each call must raise one of the exception
types with a message naming the parameter."""
import numpy as np

from twophase import TwoPhase

LAM = np.array([1.0, 0.5, 0.25])
BAD_LAM = np.array([1.0, -0.5])
M0 = np.full(3, 1 / 3)
V = ValueError

CASES = {
    # chapter 1
    "twophase.experiments.sgd.form_gap": [((BAD_LAM, M0[:2], 4, [0.1]), dict(steps=3, sigma=0.0), (V,), "lam")],
    "twophase.experiments.sgd.stability_edges": [((BAD_LAM, (4,)), {}, (V,), "lam")],
    "twophase.experiments.sgd.edge_run": [((LAM, M0, 0, 0.1, [0.9, 1.1]), dict(steps=3, sigma=0.0), (V,), "B")],
    "twophase.experiments.sgd.stationary_check": [((0.1, LAM, 4, 0.1, "nope"), {}, (V,), "form")],
    "twophase.experiments.sgd.kernel_curves": [((BAD_LAM, (4,), 0.1, 0.1), {}, (V,), "lam")],
    "twophase.experiments.sgd.theory_vs_simulation": [((LAM, M0, 4, [-0.1]), dict(steps=3, seeds=2, sigma=0.0),
                                                       (V,), "eta")],
    "twophase.experiments.sgd.tail_scan": [((LAM, M0, 4, 0.1, [0.5]), dict(steps=3, seeds=0, sigma=0.0), (V,), "seeds")],
    "twophase.experiments.sgd.divergence_run": [((LAM, M0, 4, -1.0), dict(steps=3, sigma=0.0), (V,), "eta")],
    "twophase.experiments.sgd.loss_shares": [((BAD_LAM,), {}, (V,), "lam")],
    # chapter 2
    "twophase.experiments.lookahead.source_stack": [((LAM, []), {}, (V,), "exponents")],
    "twophase.experiments.lookahead.figure1_panel": [((LAM, M0, [-0.1, 0.2], [1.0], [0.1]), dict(S=2, B=1), (V,),
                                                      "eta_rel")],
    "twophase.experiments.lookahead.best_nu_map": [((LAM, [0.0], [0.1], [0.0], [-0.1]), dict(S=2), (V,), "eta_rel")],
    "twophase.experiments.lookahead.cycle_operator_vs_dense": [((TwoPhase(0.1, 1.0, S=2), LAM, M0),
                                                                dict(sigma=0.0, cycles=0), (V,), "cycles")],
    "twophase.experiments.lookahead.signal_noise_factors": [((2, 0.1, 1.0, BAD_LAM), {}, (V,), "lam")],
    "twophase.experiments.lookahead.source_crossing": [((LAM,), dict(S=2, B=1, eta_rel=[0.1], n=0), (V,), "n")],
    "twophase.experiments.lookahead.best_nu_by_D": [(([10],), dict(alpha=-1.5, B_over_D=0.1, eta_rel=[-1.0], S=2),
                                                     (V,), "eta_rel")],
    "twophase.experiments.lookahead.la_vs_sgd_tuned": [(({"x": LAM}, [1], [0.0]), dict(budget=4, eta_rel=[-0.1],
                                                        nu_grid=[1.0], S_values=[2]), (V,), "eta_rel")],
    "twophase.experiments.lookahead.problems": [((), dict(spiked_D=0, spiked_ratio=2.0, spiked_fraction=0.1,
                                                         spiked_B_over_D=0.1, power_D=10, power_alpha=-1.0,
                                                         power_B_over_D=0.1), (V,), "D")],
    # chapter 3
    "twophase.experiments.diloco.isotropic_tau": [((0.1, 1.0, 3, "fixed"), dict(S=2, B_tot=16, lam0=1.0, D=10), (V,),
                                                   "R must divide")],
    "twophase.experiments.diloco.isotropic_rate_spread": [((0.1, 1.0, [1, 3], "fixed"),
                                                           dict(S=2, B_tot=16, lam0=1.0, D=10), (V,), "R must divide")],
    "twophase.experiments.diloco.last_true_from_start": [(([True, False], [1.0]), {}, (V,), "mask and grid")],
    "twophase.experiments.diloco.theorem31_check": [(([0.1], [1.0]), dict(forms=("nope",)), (V,), "form")],
    "twophase.experiments.diloco.domination_draws": [((0,), {}, (V,), "n_trials")],
    "twophase.experiments.diloco.radius_over_R": [((LAM, [0.1]), dict(nu=1.0, S=2, B_tot=4, Rs=[3]), (V,), "R must divide")],
    "twophase.experiments.diloco.closed_form_vs_operator": [((0.1, 1.0, 3), dict(S=2, B_tot=4, lam0=1.0, D=10), (V,),
                                                             "R must divide")],
    "twophase.experiments.diloco.rate_scan": [(([0.1], 1.0, [3]), dict(S=2, B_tot=4, lam0=1.0, D=10), (V,),
                                               "R must divide")],
    "twophase.experiments.diloco.setup": [((10, 1.0), dict(B_tot=4, S=2, nu=1.0, Rs=[3], etas=[0.1]), (V,),
                                           "R must divide")],
    "twophase.experiments.diloco.other_spectrum_statements": [((BAD_LAM, M0[:2], [0.1], 1.0),
                                                               dict(S=2, B_tot=4, Rs=[1], cycles=2, rate_tol=0.1),
                                                               (V,), "lam")],
    # chapter 4
    "twophase.experiments.momentum.family_methods": [(("Adam", [0.1]), {}, (V,), "family")],
    "twophase.experiments.momentum.stacking_verdict": [((float("nan"),), {}, (V,), "ratio")],
    "twophase.experiments.momentum.band_edges": [((1.0, 1.5), {}, (V,), "beta_in")],
    "twophase.experiments.momentum.band_bound": [((0, 0.5), {}, (V,), "S")],
    "twophase.experiments.momentum.h_slope_at_zero": [((1.0, 0.5, 0), {}, (V,), "S")],
    "twophase.experiments.momentum.removed_modes": [((-1.0, 0.5, 3), {}, (V,), "eta")],
    "twophase.experiments.momentum.rates_vs_S": [(("not a method", 0.2, [1]), {}, (V,), "method")],
    "twophase.experiments.momentum.tuned_losses": [(([], BAD_LAM, M0[:2], [4]), {}, (V,), "lam")],
    "twophase.experiments.momentum.figure3": [((1.0, 0.2, 0.9, 0.8, 2.0, 0), {}, (V,), "S_max")],
    "twophase.experiments.momentum.spectrum_checks": [(([1.5], [2]), {}, (V,), "beta_in")],
}
