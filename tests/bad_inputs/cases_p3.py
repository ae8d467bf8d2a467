"""Bad-input cases for Part III: :mod:`twophase.scaled` and the chapter-8 experiments.

Format (see test_bad_inputs.py): ``{"twophase.module.function": [(args, kwargs, exc_types, match)]}``.
"""
import numpy as np

from twophase import TwoPhase

V = (ValueError,)
T = (TypeError,)
TV = (TypeError, ValueError)
NAN = float("nan")

LAM = [1.0, 0.5]
M0 = [0.5, 0.5]
P = [1.0, 2.0]
M = TwoPhase(0.1, S=2, R=2, B=2)
MOM = TwoPhase(0.1, S=2, beta_in=0.5)
GRID = TwoPhase(np.array([0.1, 0.2]))
RNG = np.random.default_rng(0)
H2 = np.array([[1.0, 0.2], [0.2, 0.5]])
NOT_SYM = np.array([[1.0, 0.2], [0.0, 0.5]])
NOT_PSD = np.array([[1.0, 2.0], [2.0, 1.0]])


def _rule_cases(base):
    """Bad adaptive-rule arguments for ``f(*base, rule=, beta=, eps=, average=)``."""
    return [
        (base, {"rule": "adagrad"}, V, "rule"),
        (base, {"rule": 1}, T, "rule"),
        (base, {"beta": 1.0}, V, "beta"),
        (base, {"beta": 0.0}, V, "beta"),
        (base, {"beta": "0.9"}, TV, "beta"),
        (base, {"eps": 0.0}, V, "eps"),
        (base, {"eps": True}, T, "eps"),
        (base, {"average": "mean"}, V, "average"),
    ]


CASES = {
    "twophase.scaled.preconditioned_problem": [
        (("1,2", M0, P), {}, TV, "H"),
        (([1.0, -1.0], M0, P), {}, V, "H"),
        ((LAM, M0, [1.0, 0.0]), {}, V, "precond"),
        ((LAM, M0, [1.0, -2.0]), {}, V, "precond"),
        ((LAM, M0, [1.0, NAN]), {}, V, "precond"),
        ((LAM, M0, [1.0]), {}, V, "precond"),
        ((LAM, M0, [[1.0, 2.0]]), {}, V, "precond"),
        ((LAM, [0.5], P), {}, V, "m0"),
        ((LAM, [0.5, -0.5], P), {}, V, "m0"),
        ((NOT_SYM, M0, P), {}, V, "symmetric"),
        ((NOT_PSD, M0, P), {}, V, "semi-definite"),
        ((np.ones((2, 3)), M0, P), {}, V, "square"),
        ((H2, M0, None), {}, TV, "precond"),
    ],
    "twophase.scaled.jacobi": [
        (("1.0",), {}, TV, "lam"),
        (([1.0, -1.0],), {}, V, "lam"),
        (([1.0, 0.0],), {}, V, "alpha"),
        ((LAM,), {"alpha": -1.0}, V, "alpha"),
        ((LAM,), {"alpha": True}, T, "alpha"),
        ((LAM,), {"alpha": NAN}, V, "alpha"),
    ],
    "twophase.scaled.hutchinson_moments": [
        (([1.0, -1.0],), {}, V, "lam"),
        ((LAM,), {"B": 0}, V, "B"),
        ((LAM,), {"B": 2.5}, TV, "B"),
        ((LAM,), {"B": "4"}, TV, "B"),
        ((LAM,), {"B": 4, "probes": 0}, V, "probes"),
        ((LAM,), {"probes": True}, T, "probes"),
    ],
    "twophase.scaled.hutchinson_sample": [
        ((LAM, 0), {}, T, "rng"),
        ((LAM, None), {}, T, "rng"),
        ((LAM, RNG), {"B": 0}, V, "B"),
        ((LAM, RNG), {"probes": -1}, V, "probes"),
        ((LAM, RNG), {"size": 0}, V, "size"),
        ((LAM, RNG), {"size": 1.5}, TV, "size"),
        ((np.ones(1000), RNG), {"B": 10_000, "size": 10_000}, V, "size"),
    ],
    "twophase.scaled.oasis_precond": [
        ((LAM, 0.0), {}, V, "alpha"),
        ((LAM, "0.1"), {}, TV, "alpha"),
        ((LAM, 0.1), {"B": 4, "rng": 3}, T, "rng"),
        ((LAM, 0.1), {"B": 0}, V, "B"),
        ((LAM, 0.1), {"probes": 0}, V, "probes"),
        (([NAN, 1.0], 0.1), {}, V, "lam"),
    ],
    "twophase.scaled.gradient_square_moment": [
        ((LAM, [1.0], 2), {}, V, "m"),
        ((LAM, [1.0, -1.0], 2), {}, V, "m"),
        ((LAM, M0, 0), {}, V, "B"),
        ((LAM, M0, 2), {"sigma": -1.0}, V, "sigma"),
        ((LAM, M0, 2), {"R": 0}, V, "R"),
        ((LAM, M0, 2), {"average": "median"}, V, "average"),
        ((LAM, M0, 2), {"average": None}, T, "average"),
    ],
    "twophase.scaled.gradient_square_sample": [
        ((LAM, [1.0], 2, RNG), {}, V, "e"),
        ((LAM, [1.0, NAN], 2, RNG), {}, V, "e"),
        ((LAM, M0, 2, "rng"), {}, T, "rng"),
        ((LAM, M0, 0, RNG), {}, V, "B"),
        ((LAM, M0, 2, RNG), {"R": 0}, V, "R"),
        ((LAM, M0, 2, RNG), {"sigma": NAN}, V, "sigma"),
        ((LAM, M0, 2, RNG), {"average": "x"}, V, "average"),
        ((LAM, np.zeros((10_000, 2)), 2, RNG), {"R": 10_000}, V, "R"),
    ],
    "twophase.scaled.cycle_moments": [
        (("sgd", LAM, M0, P), {}, T, "method"),
        ((MOM, LAM, M0, P), {}, V, "momentum"),
        ((M, LAM, [1.0], P), {}, V, "g"),
        ((M, LAM, [1.0, -1.0], P), {}, V, "g"),
        ((M, LAM, M0, [1.0, 0.0]), {}, V, "precond"),
        ((M, LAM, M0, [1.0]), {}, V, "precond"),
        ((M, LAM, M0, P), {"sigma": -0.1}, V, "sigma"),
        ((M, LAM, M0, P), {"form": "approx"}, V, "form"),
        ((GRID, LAM, np.ones((3, 2)), P), {}, V, "broadcast"),
    ],
    "twophase.scaled.deterministic_equivalent": [
        (("sgd", LAM, M0, 3), {}, T, "method"),
        ((MOM, LAM, M0, 3), {}, V, "momentum"),
        ((M, LAM, M0, 0), {}, V, "rounds"),
        ((M, LAM, M0, 2.0), {}, TV, "rounds"),
        ((M, [1.0, -0.5], M0, 3), {}, V, "lam"),
        ((M, LAM, [0.5], 3), {}, V, "m0"),
        ((M, LAM, M0, 3, -1.0), {}, V, "sigma"),
        ((M, LAM, M0, 3), {"form": "x"}, V, "form"),
        ((TwoPhase(np.full(1000, 0.1)), np.ones(1000), np.ones(1000), 1000), {}, V, "rounds"),
    ] + _rule_cases((M, LAM, M0, 3)),
    "twophase.scaled.simulate_adaptive": [
        (("sgd", LAM, M0, 3, 4), {}, T, "method"),
        ((MOM, LAM, M0, 3, 4), {}, V, "momentum"),
        ((GRID, LAM, M0, 3, 4), {}, V, "scalar"),
        ((M, LAM, M0, 0, 4), {}, V, "rounds"),
        ((M, LAM, M0, 3, 0), {}, V, "seeds"),
        ((M, LAM, M0, 3, 4), {"seed": -1}, V, "seed"),
        ((M, LAM, M0, 3, 4), {"executor": "threads"}, T, "executor"),
        ((M, LAM, M0, 3, 4, -0.5), {}, V, "sigma"),
        ((M, np.ones(10_000), np.ones(10_000), 1000, 10_000), {}, V, "simulate_adaptive"),
    ] + _rule_cases((M, LAM, M0, 3, 4)),
    "twophase.scaled.simulate_rotated": [
        (("sgd", H2, M0, 3, 4), {}, T, "method"),
        ((MOM, H2, M0, 3, 4), {}, V, "momentum"),
        ((GRID, H2, M0, 3, 4), {}, V, "scalar"),
        ((M, LAM, M0, 3, 4), {}, V, "H"),
        ((M, NOT_SYM, M0, 3, 4), {}, V, "symmetric"),
        ((M, NOT_PSD, M0, 3, 4), {}, V, "semi-definite"),
        ((M, H2, [0.5], 3, 4), {}, V, "m0"),
        ((M, H2, M0, 0, 4), {}, V, "cycles"),
        ((M, H2, M0, 3, 0), {}, V, "seeds"),
        ((M, H2, M0, 3, 4), {"precond": [1.0, 0.0]}, V, "precond"),
        ((M, H2, M0, 3, 4), {"sigma": "0.1"}, TV, "sigma"),
        ((M, H2, M0, 3, 4), {"seed": 1.5}, TV, "seed"),
        ((M, np.eye(400), np.ones(400), 1000, 10_000), {}, V, "simulate_rotated"),
    ],
    # chapter 8 experiments (their inputs reach the validated functions above)
    "twophase.experiments.scaled.fixed_precond_check": [
        (([(1, 1, 0.0, 1.0)],), dict(D=0, alpha=0.01, power_alpha=-1.5, B=4, eta_frac=0.5, cycles=2,
                                     seeds=4), V, "D"),
        (([(1, 1, 0.0, 1.0)],), dict(D=20, alpha=0.01, power_alpha=-1.5, B=4, eta_frac=0.5, cycles=2,
                                     seeds=0), V, "seeds"),
    ],
    "twophase.experiments.scaled.jacobi_isotropic_gap": [
        ((20, [-1.0, 1.0]), dict(B=4, eta_frac=0.5, cycles=2, S=1, R=1, sigma=0.0), V, "alpha"),
    ],
    "twophase.experiments.scaled.help_hurt_factors": [
        (([1.0, -1.0],), dict(B=2, alpha=0.1), V, "lam"),
    ],
    "twophase.experiments.scaled.hutchinson_check": [
        ((LAM,), dict(B=2, probes=1, samples=0, alpha=0.1), V, "samples"),
    ],
    "twophase.experiments.scaled.gradient_square_check": [
        ((LAM, M0), dict(B=2, R=1, sigma=0.0, samples=0, average="squares"), V, "samples"),
        ((LAM, [0.5]), dict(B=2, R=1, sigma=0.0, samples=10, average="squares"), V, "m"),
    ],
    "twophase.experiments.scaled.tuned_map": [
        ((), dict(D=20, B_tot=3, steps=10, power_alphas=[-1.5], sigma_rels=[0.0], Rs=[2], Ss=[1],
                  alphas=[0.1], eta_rels=[0.5], adam_eta_rels=[0.5], beta=0.9), V, "R"),
    ],
    "twophase.experiments.scaled.map_table": [
        (([1],), {}, T, "rows"),
        (([],), {}, T, "rows"),
    ],
    "twophase.experiments.scaled.de_vs_simulation": [
        ((), dict(D=20, power_alpha=-1.5, betas=[1.0], Rs=[1], Bs=[1], S=1, rounds=2, seeds=2,
                  eta_frac=0.5, sigma_rel=0.0), V, "beta"),
    ],
    "twophase.experiments.scaled.de_table": [
        (("rows",), {}, T, "rows"),
    ],
    "twophase.experiments.scaled.rotated_study": [
        ((), dict(D=10, power_alpha=-1.5, B=2, S=1, R=1, cycles=2, seeds=0, eta_frac=0.5, sigma=0.0,
                  eta_rels=[0.5], tune_cycles=2), V, "seeds"),
    ],
    "twophase.experiments.scaled.chapter6_link": [
        ((), dict(d=10, M=2, kappa=0.5, H=2, target=1e-3, sigma=0.0), V, "kappa"),
    ],
    "twophase.experiments.scaled.workers_noise_check": [
        ((LAM, M0, P), dict(B_tot=3, Rs=[1, 2], S=2, eta_rels=[0.5], cycles=2), V, "R"),
    ],
    "twophase.experiments.scaled.paper_verdicts": [
        (([], None, None), {}, T, "rows"),
    ],
}
