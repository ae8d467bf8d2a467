"""Bad-input cases for the Part I numerics (spectra, methods, engine, theory, operators,
momentum conventions, simulate, summaries, reference, generic sweeps, bench).

Format (see test_bad_inputs.py): ``{"twophase.module.function": [(args, kwargs, exc_types, match)]}``;
every call must raise one of ``exc_types`` with ``match`` in its message.
"""
import numpy as np

from twophase import TwoPhase
from twophase import spectra as sp

V = (ValueError,)
T = (TypeError,)
TV = (TypeError, ValueError)

LAM = [1.0, 0.5]
M0 = [0.5, 0.5]
NAN = float("nan")
INF = float("inf")
M = TwoPhase(0.1)
MOM = TwoPhase(0.1, nu=1.2, S=2, beta_in=0.5, beta_out=0.5)
GRID = TwoPhase(np.array([0.1, 0.2]))
LAM1000 = sp.power_law(1000)
M01000 = sp.initial_moments(LAM1000)
LAM3000 = sp.power_law(3000)
LAM_BIG = np.ones(20_000)
RNG = np.random.default_rng(0)
ROW = dict(name="x", a=1.0, b=1.0, ratio=1.0, target="", ok=True, agree=None)


def _problem_cases(extra_kwargs=None, *, method=M, cycles=True):
    """The shared bad problems for functions ``f(method, lam, m0, cycles, sigma=, form=)``."""
    kw = dict(extra_kwargs or {})
    base = (method, LAM, M0, 3) if cycles else (method, LAM, M0)
    out = [
        (("sgd",) + base[1:], kw, T, "method"),
        ((None,) + base[1:], kw, T, "method"),
        ((method, "1.0,0.5") + base[2:], kw, TV, "lam"),
        ((method, [1.0, NAN]) + base[2:], kw, V, "lam"),
        ((method, [1.0, -0.5]) + base[2:], kw, V, "lam"),
        ((method, [[1.0, 0.5]]) + base[2:], kw, V, "lam"),
        ((method, []) + base[2:], kw, V, "lam"),
        ((method, LAM, [0.5]) + base[3:], kw, V, "m0"),
        ((method, LAM, [0.5, INF]) + base[3:], kw, V, "m0"),
        ((method, LAM, [0.5, -0.1]) + base[3:], kw, V, "m0"),
        ((method, LAM, ["a", "b"]) + base[3:], kw, TV, "m0"),
        (base, dict(kw, sigma=-1.0), V, "sigma"),
        (base, dict(kw, sigma=NAN), V, "sigma"),
        (base, dict(kw, sigma="0.1"), TV, "sigma"),
        (base, dict(kw, form="bogus"), V, "form"),
        (base, dict(kw, form=None), TV, "form"),
    ]
    if cycles:
        out += [
            ((method, LAM, M0, 0), kw, V, "cycles"),
            ((method, LAM, M0, -2), kw, V, "cycles"),
            ((method, LAM, M0, 2.0), kw, TV, "cycles"),
            ((method, LAM, M0, True), kw, TV, "cycles"),
            ((method, LAM, M0, "3"), kw, TV, "cycles"),
        ]
    return out


CASES = {
    # ------------------------------------------------------------------ spectra
    "twophase.spectra.identical": [
        ((0,), {}, V, "D"), ((-3,), {}, V, "D"), ((2.5,), {}, TV, "D"), ((True,), {}, TV, "D"),
        (("10",), {}, TV, "D"), ((10 ** 8,), {}, V, "MB"), ((2 ** 63,), {}, V, "D"),
        ((3,), dict(value=0.0), V, "value"), ((3,), dict(value=NAN), V, "value"), ((3,), dict(value=INF), V, "value"),
    ],
    "twophase.spectra.spiked": [
        ((0,), {}, V, "D"), ((10 ** 9,), {}, V, "D"), ((10,), dict(ratio=-1.0), V, "ratio"),
        ((10,), dict(fraction=1.5), V, "fraction"), ((10,), dict(fraction=0.0), V, "fraction"),
        ((10,), dict(fraction="0.1"), TV, "fraction"), ((10,), dict(base=NAN), V, "base"),
    ],
    "twophase.spectra.power_law": [
        ((2 ** 63,), {}, V, "D"), ((0,), {}, V, "D"), ((None,), {}, TV, "D"), ((10,), dict(alpha=0.5), V, "alpha"),
        ((10,), dict(alpha=NAN), V, "alpha"), ((10,), dict(alpha="-1.5"), TV, "alpha"),
        ((10,), dict(alpha=-INF), V, "alpha"),
    ],
    "twophase.spectra.initial_moments": [
        (("abc",), {}, TV, "lam"), (([1.0, NAN],), {}, V, "lam"), (([],), {}, V, "lam"),
        ((LAM,), dict(kind="bogus"), V, "kind"), ((LAM,), dict(kind="source", exponent=-1.0), V, "exponent"),
        ((LAM,), dict(kind="source", exponent=NAN), V, "exponent"), (([0.0, 0.0],), dict(kind="source"), V, "lam"),
    ],
    # ------------------------------------------------------------------ methods
    "twophase.methods.TwoPhase": [
        (("0.5",), {}, T, "eta"), ((True,), {}, T, "eta"), ((None,), {}, T, "eta"), ((0.0,), {}, V, "eta"),
        ((-0.1,), {}, V, "eta"), ((NAN,), {}, V, "eta"), ((INF,), {}, V, "eta"), ((np.array([]),), {}, V, "eta"),
        ((np.array([True, False]),), {}, T, "eta"), ((0.1 + 0.2j,), {}, T, "eta"),
        ((0.1,), dict(nu=-1.0), V, "nu"), ((0.1,), dict(nu="1"), T, "nu"),
        ((0.1,), dict(S=0), V, "S"), ((0.1,), dict(S=1.5), TV, "S"), ((0.1,), dict(S=True), TV, "S"),
        ((0.1,), dict(R=0), V, "R"), ((0.1,), dict(B=-1), V, "B"), ((0.1,), dict(B="4"), TV, "B"),
        ((0.1,), dict(beta_in=1.0), V, "beta_in"), ((0.1,), dict(beta_in=-0.1), V, "beta_in"),
        ((0.1,), dict(beta_out=NAN), V, "beta_out"), ((0.1,), dict(outer="adam"), V, "outer"),
        ((0.1,), dict(outer=1), TV, "outer"), ((0.1,), dict(inner_momentum="keep"), V, "inner_momentum"),
        ((np.ones(2),), dict(nu=np.ones(3)), V, "broadcast"),
    ],
    "twophase.methods.SGD": [
        (("0.5",), {}, T, "eta"), ((True,), {}, T, "eta"), ((-1.0,), {}, V, "eta"), ((0.1,), dict(B=0), V, "B"),
        ((0.1,), dict(B=2.0), TV, "B"),
    ],
    # ------------------------------------------------------------------ engine
    "twophase.engine.expected_loss": _problem_cases() + [
        ((TwoPhase(0.5, S=10 ** 8), LAM1000, M01000, 1), {}, V, "would take"),
        ((M, LAM1000, M01000, 10 ** 12), {}, V, "would take"),
        ((MOM, LAM1000, M01000, 10 ** 9), {}, V, "would take"),
    ],
    "twophase.engine.sgd_step_moments": [
        (("m", LAM, 0.5, 1), {}, TV, "m"), (([1.0], LAM, 0.5, 1), {}, V, "m"), (([1.0, NAN], LAM, 0.5, 1), {}, V, "m"),
        ((M0, LAM, 0.5, -1), {}, V, "B"), ((M0, LAM, 0.5, 0), {}, V, "B"), ((M0, LAM, 0.5, True), {}, TV, "B"),
        ((M0, LAM, -0.5, 1), {}, V, "eta"), ((M0, LAM, "0.5", 1), {}, T, "eta"), ((M0, LAM, NAN, 1), {}, V, "eta"),
        ((M0, LAM, 0.5, 1), dict(sigma=-1.0), V, "sigma"), ((M0, LAM, 0.5, 1), dict(form="bogus"), V, "form"),
        ((M0, [1.0, -1.0], 0.5, 1), {}, V, "lam"),
    ],
    "twophase.engine.inner_phase": [
        ((M0, LAM, 0.5, -1, 1), {}, V, "S"), ((M0, LAM, 0.5, 0, 1), {}, V, "S"), ((M0, LAM, 0.5, 2.0, 1), {}, TV, "S"),
        ((M0, LAM, 0.5, 2, 0), {}, V, "B"), ((M0, LAM, 0.0, 2, 1), {}, V, "eta"),
        ((M0, LAM, 0.5, 2, 1), dict(form="bogus"), V, "form"), (([0.5], LAM, 0.5, 2, 1), {}, V, "m"),
        ((M01000, LAM1000, 0.5, 10 ** 9, 1), {}, V, "would take"),
    ],
    "twophase.engine.effective_spectrum": [
        (("m", LAM), {}, T, "method"), ((M, "lam"), {}, TV, "lam"), ((M, [NAN]), {}, V, "lam"),
        ((M, [[1.0]]), {}, V, "lam"), ((TwoPhase(np.ones(20_000)), LAM_BIG), {}, V, "entries"),
    ],
    "twophase.engine.residual_polynomials": [
        ((LAM, 0.1, 0.5, 0), {}, V, "S"), ((LAM, 0.1, 0.5, -1), {}, V, "S"), ((LAM, 0.1, 1.0, 3), {}, V, "beta_in"),
        ((LAM, 0.1, NAN, 3), {}, V, "beta_in"), ((LAM, -0.1, 0.5, 3), {}, V, "eta"), (([-1.0], 0.1, 0.5, 3), {}, V, "lam"),
        (("x", 0.1, 0.5, 3), {}, TV, "lam"), ((LAM, 0.1, 0.5, 10 ** 9), {}, V, "entries"),
        ((LAM, np.ones(3), 0.5, 2), {}, V, "broadcast"),
    ],
    "twophase.engine.inner_matrix_power": [
        ((LAM, 0.1, 0.5, 0), {}, V, "S"), ((LAM, 0.1, 1.5, 2), {}, V, "beta_in"), ((LAM, "0.1", 0.5, 2), {}, T, "eta"),
        (([NAN], 0.1, 0.5, 2), {}, V, "lam"), ((LAM, np.ones(3), 0.5, 2), {}, V, "broadcast"),
    ],
    "twophase.engine.sgd_operator_dense": [
        ((LAM, 0.1, 0), {}, V, "B"), ((LAM, 0.0, 1), {}, V, "eta"), ((LAM, 0.1, 1, "bogus"), {}, V, "form"),
        ((LAM_BIG, 0.1, 1), {}, V, "entries"), (([-1.0], 0.1, 1), {}, V, "lam"),
    ],
    "twophase.engine.one_cycle_terms": [
        ((LAM, 0.1), dict(S=0, B=1), V, "S"), ((LAM, 0.1), dict(S=1, B=0), V, "B"), ((LAM, -0.1), dict(S=1, B=1), V, "eta"),
        ((LAM, 0.1), dict(S=1, B=1, form="bogus"), V, "form"), (([NAN], 0.1), dict(S=1, B=1), V, "lam"),
        ((LAM1000, 0.1), dict(S=10 ** 9, B=1), V, "would take"),
    ],
    "twophase.engine.initial_moments_state": [
        (([0.5, -0.5],), {}, V, "m0"), (([0.5, NAN],), {}, V, "m0"), (([[0.5]],), {}, V, "m0"),
        ((M0,), dict(shape=3), T, "shape"), ((M0,), dict(shape=(10 ** 6, 10 ** 6)), V, "entries"),
        ((M0,), dict(shape=(-1,)), V, "shape"),
    ],
    "twophase.engine.state_labels": [(("sgd",), {}, T, "method"), ((None,), {}, T, "method")],
    "twophase.engine.initial_state": [
        (("sgd", M0), {}, T, "method"), ((M, [0.5, -1.0]), {}, V, "m0"), ((M, "m0"), {}, TV, "m0"),
    ],
    "twophase.engine.loss_from_state": [
        (([1.0, 2.0, 3.0], LAM), {}, V, "state"), (([1.0, NAN], LAM), {}, V, "state"), ((M0, LAM), dict(sigma=-1.0), V, "sigma"),
        ((M0, [1.0, NAN]), {}, V, "lam"), (("s", LAM), {}, TV, "state"),
    ],
    "twophase.engine.dense_cycle_operator": [
        ((GRID, LAM), {}, V, "scalar"), ((MOM, LAM), dict(form="x"), V, "form"), (("m", LAM), {}, T, "method"),
        ((MOM, LAM3000), {}, V, "entries"), ((MOM, [NAN]), {}, V, "lam"),
    ],
    # ------------------------------------------------------------------ theory (closed forms of SGD)
    "twophase.theory.noise_kernel": [
        ((NAN, LAM, 4), {}, V, "eta"), ((-1.0, LAM, 4), {}, V, "eta"), (("0.5", LAM, 4), {}, T, "eta"),
        ((0.5, LAM, 0), {}, V, "B"), ((0.5, LAM, 4), dict(form="bogus"), V, "form"), ((0.5, [NAN], 4), {}, V, "lam"),
        ((np.ones(10 ** 4), np.ones(20_000), 4), {}, V, "entries"),
    ],
    "twophase.theory.sgd_stable": [
        ((-1.0, LAM, 4), {}, V, "eta"), ((0.0, LAM, 4), {}, V, "eta"), ((True, LAM, 4), {}, T, "eta"),
        ((0.5, LAM, -4), {}, V, "B"), ((0.5, [-1.0], 4), {}, V, "lam"), ((0.5, LAM, 4, "bogus"), {}, V, "form"),
    ],
    "twophase.theory.sgd_stationary_loss": [
        ((-1.0, LAM, 4, 0.1), {}, V, "eta"), ((0.5, LAM, 4, -0.1), {}, V, "sigma"), ((0.5, LAM, 4, NAN), {}, V, "sigma"),
        ((0.5, LAM, 0, 0.1), {}, V, "B"), ((0.5, LAM, 4, 0.1), dict(form="x"), V, "form"),
    ],
    "twophase.theory.sgd_critical_eta": [
        (([0.0, 0.0], 1), {}, V, "lam"), ((LAM, 0), {}, V, "B"), ((LAM, 1, "bogus"), {}, V, "form"),
        (([NAN], 1), {}, V, "lam"), ((LAM, 1.5), {}, TV, "B"),
    ],
    "twophase.theory.sgd_stationary_moments": [
        ((5.0, [1.0], 1, 0.1), {}, V, "eta"), ((-0.5, LAM, 1, 0.1), {}, V, "eta"), ((0.5, LAM, 1, -0.1), {}, V, "sigma"),
        ((0.9, [1.0] * 50, 1, 0.1), {}, V, "noise kernel"), ((np.ones(2), LAM, 1, 0.1), {}, V, "eta"),
        ((0.5, LAM, 1, 0.1), dict(form="bogus"), V, "form"),
    ],
    # ------------------------------------------------------------------ operators
    "twophase.operators.cycle_operator": [
        (("sgd", LAM), {}, T, "method"), ((M, [-1.0]), {}, V, "lam"), ((M, LAM, "bogus"), {}, V, "form"),
        ((MOM, LAM), {}, V, "momentum"), ((M, [[1.0]]), {}, V, "lam"),
    ],
    "twophase.operators.signal_noise_split": [
        (("sgd", LAM), {}, T, "method"), ((M, LAM, "x"), {}, V, "form"), ((M, [NAN]), {}, V, "lam"),
    ],
    "twophase.operators.second_moment_radius": [
        (("sgd", LAM), {}, T, "method"), ((M, LAM), dict(how="eig"), V, "how"), ((M, LAM, "bogus"), {}, V, "form"),
        ((MOM, LAM3000), {}, V, "would take"), ((TwoPhase(np.array([0.1, 0.2]), beta_in=0.5), LAM), {}, V, "scalar"),
        ((M, LAM_BIG), dict(how="dense"), V, "D"),
    ],
    "twophase.operators.stationary_loss": [
        ((M, LAM, -1.0), {}, V, "sigma"), ((M, LAM, NAN), {}, V, "sigma"), (("m", LAM, 0.1), {}, T, "method"),
        ((M, LAM, 0.1, "x"), {}, V, "form"), ((MOM, LAM3000, 0.1), {}, V, "would take"),
    ],
    "twophase.operators.isotropic_eigenvalues": [
        ((M, 0.0, 3), {}, V, "lam0"), ((M, NAN, 3), {}, V, "lam0"), ((M, 1.0, 0), {}, V, "D"), ((M, 1.0, 2.5), {}, TV, "D"),
        (("m", 1.0, 3), {}, T, "method"), ((M, 1.0, 3, "x"), {}, V, "form"),
    ],
    "twophase.operators.isotropic_noise": [
        ((M, -1.0, 3), {}, V, "lam0"), ((M, 1.0, -3), {}, V, "D"), ((None, 1.0, 3), {}, T, "method"),
        ((M, "1", 3), {}, T, "lam0"),
    ],
    "twophase.operators.noise_factor": [
        (("sgd", LAM), {}, T, "method"), ((M, [NAN]), {}, V, "lam"), ((M, [-1.0]), {}, V, "lam"), ((M, "x"), {}, TV, "lam"),
        ((TwoPhase(np.ones((100, 1)), nu=np.ones(100)), LAM_BIG), {}, V, "entries"),
    ],
    # ------------------------------------------------------------------ momentum conventions and per-mode maps
    "twophase.momentum.to_pytorch": [
        ((1.0, 1.0), {}, V, "beta_out"), ((1.0, -0.1), {}, V, "beta_out"), (("1", 0.5), {}, T, "nu"),
        ((NAN, 0.5), {}, V, "nu"), ((-1.0, 0.5), {}, V, "nu"),
    ],
    "twophase.momentum.from_pytorch": [
        ((1.0, -0.1), {}, V, "beta_out"), ((1.0, NAN), {}, V, "beta_out"), ((INF, 0.5), {}, V, "nu_pt"),
        ((True, 0.5), {}, T, "nu_pt"),
    ],
    "twophase.momentum.buffer_to_pytorch": [
        (([1.0], 1.0), {}, V, "beta_out"), (([NAN], 0.5), {}, V, "buf"), (("b", 0.5), {}, TV, "buf"),
    ],
    "twophase.momentum.buffer_from_pytorch": [
        (([1.0], 2.0), {}, V, "beta_out"), (([INF], 0.5), {}, V, "w"), ((None, 0.5), {}, TV, "w"),
    ],
    "twophase.momentum.critical_nu": [
        ((1.0,), {}, V, "beta_out"), ((0.5,), dict(convention="keras"), V, "convention"), ((0.5,), dict(h=-1.0), V, "h"),
        ((0.5,), dict(h=NAN), V, "h"), ((0.5,), dict(h="1"), TV, "h"),
    ],
    "twophase.momentum.noiseless_cycle_map": [
        (("sgd", LAM), {}, T, "method"), ((MOM, [NAN]), {}, V, "lam"), ((MOM, [-1.0]), {}, V, "lam"),
        ((TwoPhase(np.ones((100, 1)), nu=np.ones(100), beta_in=0.5), LAM_BIG), {}, V, "entries"),
    ],
    "twophase.momentum.noiseless_radius": [
        ((None, LAM), {}, T, "method"), ((MOM, "lam"), {}, TV, "lam"), ((MOM, []), {}, V, "lam"),
    ],
    "twophase.momentum.per_step_rate": [
        (("sgd", LAM), {}, T, "method"), ((MOM, [INF]), {}, V, "lam"),
    ],
    # ------------------------------------------------------------------ simulate
    "twophase.simulate.loss_curves": [
        (("sgd", LAM, M0, 2, 3), {}, T, "method"), ((GRID, LAM, M0, 2, 3), {}, V, "scalar"),
        ((M, LAM, M0, 0, 3), {}, V, "cycles"), ((M, LAM, M0, 2, 0), {}, V, "seeds"), ((M, LAM, M0, 2, 2.5), {}, TV, "seeds"),
        ((M, LAM, M0, 2, 3), dict(sampler="exact"), V, "sampler"), ((M, LAM, M0, 2, 3), dict(sigma=NAN), V, "sigma"),
        ((M, LAM, [1.0], 2, 3), {}, V, "m0"), ((M, [1.0, -2.0], M0, 2, 3), {}, V, "lam"),
        ((M, LAM, M0, 2, 3), dict(seed=-1), V, "seed"), ((M, LAM, M0, 2, 3), dict(seed="0"), TV, "seed"),
        ((M, LAM, M0, 2, 3), dict(progress="yes"), TV, "progress"),
        ((M, LAM, M0, 2, 10 ** 9), {}, V, "seeds"), ((M, LAM, M0, 10 ** 9, 100), {}, V, "would take"),
        ((M, LAM, M0, 2, 3), dict(form="hd"), T, "form"),
    ],
    "twophase.simulate.minibatch_gradient": [
        ((np.ones((2, 2)), LAM, 4, 0.1, "seed"), {}, T, "rng"), ((np.ones((2, 3)), LAM, 4, 0.1, RNG), {}, V, "e"),
        ((np.ones((2, 2)), LAM, 0, 0.1, RNG), {}, V, "B"), ((np.ones((2, 2)), LAM, 4, -0.1, RNG), {}, V, "sigma"),
        ((np.ones((2, 2)), LAM, 4, 0.1, RNG, "exact"), {}, V, "sampler"), ((np.full((2, 2), NAN), LAM, 4, 0.1, RNG), {}, V, "e"),
        ((np.ones((2, 2)), [NAN, 1.0], 4, 0.1, RNG), {}, V, "lam"),
        ((np.ones((1000, 2)), LAM, 10 ** 6, 0.1, RNG, "naive"), {}, V, "entries"),
    ],
    # ------------------------------------------------------------------ summaries
    "twophase.summaries.mean_se": [
        (("abc",), {}, T, "curves"), (([],), {}, V, "curves"), ((np.ones((3, 2)),), dict(axis=5), V, "axis"),
        ((np.ones((3, 2)),), dict(axis=0.5), TV, "axis"), ((1.0,), {}, V, "curves"),
    ],
    "twophase.summaries.max_z": [
        (([1.0], [1.0], [1.0]), dict(floor=-1.0), V, "floor"), (([1.0], [1.0], [-1.0]), {}, V, "se"),
        (([1.0, 2.0], [1.0, 2.0, 3.0], [1.0]), {}, V, "broadcast"), (("t", [1.0], [1.0]), {}, T, "theory"),
        (([1.0], [1.0], [1.0]), dict(floor=NAN), V, "floor"),
    ],
    "twophase.summaries.tail_share": [
        (([1.0, 2.0],), dict(q=1.5), V, "q"), (([1.0, 2.0],), dict(q=0.0), V, "q"), (([1.0, INF],), {}, V, "samples"),
        (([],), {}, V, "samples"), (([-1.0, 1.0],), {}, V, "samples"), ((["a"],), {}, TV, "samples"),
        (([0.0, 0.0],), {}, V, "samples"),
    ],
    # ------------------------------------------------------------------ reference (dense oracles)
    "twophase.reference.dense_expected_loss": _problem_cases() + [
        ((M, LAM_BIG, np.ones(20_000) / 20_000, 1), {}, V, "D"), ((MOM, LAM, M0, 2), {}, V, "momentum"),
        ((GRID, LAM, M0, 2), {}, V, "scalar"),
    ],
    "twophase.reference.dense_operator_expected_loss": _problem_cases() + [
        ((M, LAM_BIG, np.ones(20_000) / 20_000, 1), {}, V, "D"), ((MOM, LAM, M0, 2), {}, V, "momentum"),
    ],
    "twophase.reference.dense_sla_expected_loss": _problem_cases(method=MOM) + [
        ((MOM, LAM3000, np.ones(3000) / 3000, 1), {}, V, "D"), ((TwoPhase(np.ones(2), beta_in=0.5), LAM, M0, 2), {}, V, "scalar"),
    ],
    "twophase.reference.old_expected_loss": _problem_cases() + [
        ((MOM, LAM, M0, 2), {}, V, "momentum"),
        ((TwoPhase(np.ones((100, 1)), nu=np.ones(100)), LAM_BIG, np.ones(20_000) / 20_000, 1), {}, V, "entries"),
    ],
    # ------------------------------------------------------------------ sweeps (generic)
    "twophase.sweeps.loss_grid": [
        ((LAM, M0, [0.1], [1.0]), dict(S=0, B=1), V, "S"), ((LAM, M0, [], [1.0]), dict(S=1, B=1), V, "eta"),
        ((LAM, M0, [0.1], [-1.0]), dict(S=1, B=1), V, "nu"), ((LAM, M0, [[0.1]], [1.0]), dict(S=1, B=1), V, "eta"),
        ((LAM, M0, [0.1], [1.0]), dict(S=1, B=1, curves="yes"), TV, "curves"),
        ((LAM, M0, [0.1], [1.0]), dict(S=1, B=1, cycles=0), V, "cycles"),
        ((LAM, [0.5], [0.1], [1.0]), dict(S=1, B=1), V, "m0"), ((LAM, M0, [0.1], [1.0]), dict(S=1, B=1, form="x"), V, "form"),
    ],
    "twophase.sweeps.best_eta": [
        ((np.ones((3, 2)), [0.1, 0.2]), {}, V, "loss"), (("loss", [0.1, 0.2]), {}, T, "loss"),
        ((np.ones((2, 2)), [0.1, -0.2]), {}, V, "eta"), ((np.full((2, 2), NAN), [0.1, 0.2]), {}, V, "loss"),
        ((np.ones((2, 2)), [0.1, 0.2]), dict(refine=1), TV, "refine"), ((np.ones((2, 2, 2)), [0.1, 0.2]), {}, V, "loss"),
    ],
    "twophase.sweeps.one_cycle_optimum": [
        ((LAM, [0.0, 0.0], [0.1, 0.2]), dict(S=2, B=1), V, "m0"), ((LAM, [0.5, -0.5], [0.1, 0.2]), dict(S=2, B=1), V, "m0"),
        ((LAM, [0.5], [0.1, 0.2]), dict(S=2, B=1), V, "m0"), ((LAM, M0, [0.1, 0.2]), dict(S=2, B=1, sigma=-1.0), V, "sigma"),
        ((LAM, M0, [0.1, 0.2]), dict(S=2, B=1, sigma=[[0.1]]), V, "sigma"), ((LAM, M0, [0.1, 0.2]), dict(S=2, B=1, R=0), V, "R"),
        ((LAM, M0, [0.1, 0.0]), dict(S=2, B=1), V, "eta"), ((LAM, M0, [0.1, 0.2]), dict(S=0, B=1), V, "S"),
        ((LAM, M0, [0.1, 0.2]), dict(S=2, B=1, form="x"), V, "form"),
    ],
    "twophase.sweeps.scaled_hyperparameters": [
        ((0.1, 1.0, 0, "sqrt"), {}, V, "R"), ((0.1, 1.0, 2, "linear"), {}, V, "rule"), ((-0.1, 1.0, 2, "sqrt"), {}, V, "eta"),
        ((0.1, NAN, 2, "sqrt"), {}, V, "nu"), (("0.1", 1.0, 2, "sqrt"), {}, T, "eta"),
    ],
    "twophase.sweeps.batch_per_worker": [
        ((64, 3), {}, V, "R"), ((0, 1), {}, V, "B_tot"), ((64, 0), {}, V, "R"), (("64", 2), {}, T, "B_tot"),
    ],
    "twophase.sweeps.r_sweep": [
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[3], cycles=2), V, "R"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[], cycles=2), V, "Rs"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs="12", cycles=2), T, "Rs"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[0], cycles=2), V, "Rs"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=0), V, "cycles"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, rule="x"), V, "rule"),
    ],
    "twophase.sweeps.simulate_r_sweep": [
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, seeds=0), V, "seeds"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1, 2], cycles=2, seeds={1: 3}), V, "seeds"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[3], cycles=2, seeds=3), V, "R"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=5, cycles=2, seeds=3), T, "Rs"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, seeds=3, progress="no"), TV, "progress"),
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, seeds=3, sampler="x"), V, "sampler"),
    ],
    "twophase.sweeps.relative_spread": [
        (([1.0],), {}, T, "curves_by_R"), (({},), {}, T, "curves_by_R"), (({2: [1.0]},), {}, V, "reference"),
        (({1: [1.0, 2.0], 2: [1.0]},), {}, V, "shape"), (({1: ["a"]},), {}, TV, "curves_by_R"),
    ],
    "twophase.sweeps.first_divergent": [
        (("x",), {}, T, "curves"), (([1.0, 2.0],), dict(factor=0.0), V, "factor"), ((1.0,), {}, V, "curves"),
        (([1.0],), dict(factor=NAN), V, "factor"),
    ],
    # ------------------------------------------------------------------ bench
    "twophase.bench.best_time": [
        ((3,), {}, T, "fn"), ((lambda: None,), dict(repeats=0), V, "repeats"),
        ((lambda: None,), dict(min_time=NAN), V, "min_time"), ((lambda: None,), dict(min_time=1e6), V, "min_time"),
    ],
    "twophase.bench.format_rows": [
        (("x",), {}, T, "rows"), (([{"a": 1}],), {}, V, "rows"), (([1, 2],), {}, T, "rows"),
    ],
    "twophase.bench.exit_code": [
        ((None,), {}, T, "rows"), (([ROW],), dict(quick="no"), TV, "quick"), (([{"ok": True}],), {}, V, "rows"),
    ],
    "twophase.parallel.chunk_slices": [
        ((0, 2), {}, V, "n"), ((5, 0), {}, V, "size"), ((5.0, 2), {}, TV, "n"), ((5, True), {}, TV, "size"),
        (("5", 2), {}, TV, "n"),
    ],
    "twophase.parallel.chunk_seeds": [
        ((-1, 2), {}, V, "seed"), ((0, 0), {}, V, "n_chunks"), (("0", 2), {}, TV, "seed"), ((0.5, 2), {}, TV, "seed"),
    ],
    "twophase.parallel.map_chunks": [
        ((abs, [(1,)]), dict(executor="threads"), TV, "executor"), ((abs, [(1,)]), dict(executor=4), TV, "executor"),
        ((None, [(1,)]), {}, TV, "fn"),
    ],
}
