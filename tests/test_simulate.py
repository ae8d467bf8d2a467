"""Monte-Carlo against exact theory, and the fast sampler against the naive one.

Every comparison uses a tolerance of K standard errors computed from the seeds
themselves (K = 4.5: a correct implementation fails one of the ~100 checked
points with probability < 1e-3; seeds are fixed, so the outcome is reproducible).
"""
import warnings

import numpy as np
import pytest

from twophase import SGD, TwoPhase
from twophase import simulate as sim
from twophase import spectra as sp
from twophase import theory as th
from helpers import close

K = 4.5
# Settings are chosen in the stable regime: when the expected loss grows
# geometrically, the per-seed loss is heavy-tailed (a product of random
# factors) and the sample standard error underestimates the error of the mean,
# so a K-SE test would be meaningless there. Divergence is tested separately.


def assert_within_se(samples, expected, what):
    """Mean of ``samples`` (seeds x time) against ``expected`` (time) within K standard errors."""
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    z = np.abs(mean - expected) / np.where(se > 0, se, np.inf)
    bad = ~(z <= K) & (np.abs(mean - expected) > 1e-12 * np.abs(expected))
    assert not bad.any(), (
        f"{what}: simulation differs from theory by > {K} SE at steps {np.flatnonzero(bad)}\n"
        f" simulation mean = {mean}\n theory          = {expected}\n SE              = {se}"
    )


SETTINGS = [
    # (method, spectrum, m0 kind, sigma, cycles)
    (SGD(0.6, B=4), "power", "isotropic", 0.3, 8),
    (SGD(0.4, B=32), "spiked", "source", 0.0, 6),
    (TwoPhase(0.5, nu=1.5, S=5, R=4, B=2), "power", "isotropic", 0.2, 6),
    (TwoPhase(0.3, nu=0.7, S=3, R=8, B=4), "spiked", "isotropic", 0.5, 5),
    (TwoPhase(0.8, nu=1.0, S=4, R=2, B=8), "power", "source", 0.0, 6),
]


def _problem(kind, m0_kind, D=120):
    lam = sp.power_law(D, -1.5) if kind == "power" else sp.spiked(D, ratio=8.0, fraction=0.05, base=0.3)
    return lam, sp.initial_moments(lam, m0_kind, exponent=0.5)


@pytest.mark.parametrize("method, spec, m0_kind, sigma, cycles", SETTINGS)
@pytest.mark.parametrize("sampler", ["fast", "naive"])
def test_simulation_matches_exact_theory(method, spec, m0_kind, sigma, cycles, sampler):
    lam, m0 = _problem(spec, m0_kind)
    seeds = 3000 if sampler == "fast" else 1500
    runs = sim.loss_curves(method, lam, m0, cycles, seeds, sigma=sigma, sampler=sampler, seed=11)
    theory = th.expected_loss(method, lam, m0, cycles, sigma=sigma, form="exact")
    assert np.all(theory[1:] < 2 * theory[0] + sigma ** 2), f"setting must be stable: {theory}"
    assert_within_se(runs, theory, f"{sampler} {method!r} on {spec}")


def test_fast_and_naive_agree_in_distribution():
    """Mean and variance of the loss after a few steps agree (two-sample, K SE)."""
    lam, m0 = _problem("power", "isotropic", D=60)
    method = TwoPhase(0.9, nu=1.3, S=3, R=2, B=5)
    n = 6000
    a = sim.loss_curves(method, lam, m0, 3, n, sigma=0.4, sampler="fast", seed=1)[:, 1:]
    b = sim.loss_curves(method, lam, m0, 3, n, sigma=0.4, sampler="naive", seed=2)[:, 1:]
    se_mean = np.sqrt(a.var(0, ddof=1) / n + b.var(0, ddof=1) / n)
    dm = np.abs(a.mean(0) - b.mean(0))
    assert np.all(dm < K * se_mean), f"means differ: fast {a.mean(0)} naive {b.mean(0)} SE {se_mean}"

    def var_se(x):  # standard error of the sample variance: sqrt((mu4 - s^4) / n)
        c = x - x.mean(0)
        return np.sqrt(np.maximum((c ** 4).mean(0) - c.var(0) ** 2, 0) / x.shape[0])

    dv = np.abs(a.var(0) - b.var(0))
    se_var = np.sqrt(var_se(a) ** 2 + var_se(b) ** 2)
    assert np.all(dv < K * se_var), f"variances differ: fast {a.var(0)} naive {b.var(0)} SE {se_var}"


def test_fast_gradient_moments_match_naive():
    """Single gradient from a fixed error: mean lam*e and covariance agree (K SE entry-wise)."""
    rng_e = np.random.default_rng(5)
    lam = np.array([1.5, 1.0, 0.6, 0.3, 0.1, 0.05])
    e = rng_e.standard_normal(6)
    n = 200_000
    gs = {}
    for s in ("fast", "naive"):
        E = np.broadcast_to(e, (n, 6)).copy()
        gs[s] = sim.minibatch_gradient(E, lam, 3, 0.7, np.random.default_rng(7), s)
    for s, g in gs.items():
        se = g.std(0) / np.sqrt(n)
        assert np.all(np.abs(g.mean(0) - lam * e) < K * se), f"{s}: mean {g.mean(0)} vs {lam * e}"
    ca, cb = np.cov(gs["fast"].T), np.cov(gs["naive"].T)
    # SE of a covariance entry ~ sqrt(Var(x_i x_j) / n); estimate from the naive draws.
    c = gs["naive"] - gs["naive"].mean(0)
    se = np.sqrt(np.var(c[:, :, None] * c[:, None, :], axis=0) * 2 / n)
    assert np.all(np.abs(ca - cb) < K * se), f"covariances differ:\n{ca}\n{cb}"


def test_deterministic_given_seed():
    lam, m0 = _problem("power", "isotropic", D=30)
    m = TwoPhase(0.5, nu=1.2, S=3, R=3, B=2)
    a = sim.loss_curves(m, lam, m0, 4, 10, sigma=0.1, seed=3)
    b = sim.loss_curves(m, lam, m0, 4, 10, sigma=0.1, seed=3)
    c = sim.loss_curves(m, lam, m0, 4, 10, sigma=0.1, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (10, 5)


def test_divergence_reported_as_inf_without_warnings():
    lam, m0 = _problem("power", "isotropic", D=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = sim.loss_curves(SGD(2.5, B=1), lam, m0, 300, 8, sigma=0.1)
    assert np.all(np.isinf(runs[:, -1])), runs[:, -1]
    for row in runs:  # inf is absorbing
        first = np.argmax(np.isinf(row))
        assert np.all(np.isinf(row[first:])) and np.all(np.isfinite(row[:first]))


@pytest.mark.parametrize("kwargs, name", [
    (dict(seeds=0), "seeds"),
    (dict(seeds=2.5), "seeds"),
    (dict(cycles=-1), "cycles"),
    (dict(sampler="exact"), "sampler"),
    (dict(sigma=np.nan), "sigma"),
    (dict(m0=[1.0]), "m0"),
    (dict(lam=[1.0, -2.0]), "lam"),
    (dict(method=TwoPhase(np.array([0.1, 0.2]))), "scalar eta"),
])
def test_bad_input(kwargs, name):
    args = dict(method=SGD(0.1), lam=[1.0, 0.5], m0=[0.5, 0.5], cycles=2, seeds=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        sim.loss_curves(**args)


# ----------------------------------------------------------------------------- preconditioning
PRECOND_METHODS = [
    SGD(0.5, B=3),
    TwoPhase(0.4, nu=1.3, S=3, R=2, B=2),
    TwoPhase(0.3, nu=1.5, S=2, R=3, B=4, beta_in=0.5, beta_out=0.4, outer="nesterov"),
]


@pytest.mark.parametrize("sampler", ["fast", "naive"])
@pytest.mark.parametrize("method", PRECOND_METHODS, ids=repr)
def test_precond_ones_is_no_preconditioner(method, sampler):
    """precond = ones gives exactly (bit for bit) the numbers of precond = None."""
    lam, m0 = _problem("power", "isotropic", D=25)
    kw = dict(sigma=0.2, sampler=sampler, seed=7)
    a = sim.loss_curves(method, lam, m0, 4, 6, **kw)
    b = sim.loss_curves(method, lam, m0, 4, 6, precond=np.ones(lam.size), **kw)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("sampler", ["fast", "naive"])
@pytest.mark.parametrize("method", PRECOND_METHODS, ids=repr)
def test_precond_constant_equals_scaled_eta(method, sampler):
    """p = c * ones is the same algorithm as eta -> c * eta (the outer step is unchanged): an
    identity path by path, so the curves agree to 1e-12 with the same seed."""
    lam, m0 = _problem("spiked", "source", D=25)
    c = 0.7
    kw = dict(sigma=0.3, sampler=sampler, seed=3)
    a = sim.loss_curves(method, lam, m0, 5, 6, precond=np.full(lam.size, c), **kw)
    b = sim.loss_curves(method.replace(eta=c * method.eta), lam, m0, 5, 6, **kw)
    close(a, b, f"p = {c} vs eta * {c}")


def _preconditioned_sgd_theory(eta, B, lam, m0, sigma, steps, p):
    """Exact second moments of SGD with step eta*p on Gaussian linear regression:
    m_i <- (1 - eta p_i lam_i)^2 m_i + (eta p_i)^2 / B (lam_i (lam.m + sigma^2) + lam_i^2 m_i)."""
    h = eta * p
    m = np.array(m0, dtype=float)
    out = [0.5 * (lam @ m + sigma ** 2)]
    for _ in range(steps):
        m = (1 - h * lam) ** 2 * m + h ** 2 / B * (lam * (lam @ m + sigma ** 2) + lam ** 2 * m)
        out.append(0.5 * (lam @ m + sigma ** 2))
    return np.array(out)


@pytest.mark.parametrize("sampler", ["fast", "naive"])
def test_preconditioned_sgd_matches_its_exact_theory(sampler):
    """SGD with a non-constant p: Monte-Carlo mean within K SE of the exact moment recursion
    (written out in the test, independent of the library's engine)."""
    lam, m0 = _problem("power", "isotropic", D=40)
    p = np.linspace(2.0, 0.5, lam.size)
    seeds = 4000 if sampler == "fast" else 1500
    runs = sim.loss_curves(SGD(0.4, B=3), lam, m0, 8, seeds, sigma=0.3, sampler=sampler, seed=5,
                           precond=p)
    theory = _preconditioned_sgd_theory(0.4, 3, lam, m0, 0.3, 8, p)
    assert abs(theory[-1] - theory[0]) > 0.1 * theory[0]  # the loss moves
    unpre = _preconditioned_sgd_theory(0.4, 3, lam, m0, 0.3, 8, np.ones(lam.size))
    assert np.max(np.abs(unpre - theory) / theory) > 0.05  # p makes a visible difference
    assert_within_se(runs, theory, f"preconditioned SGD ({sampler})")


def test_preconditioned_two_phase_matches_engine_theory():
    """LA-DiLoCo with momentum and a non-constant p: Monte-Carlo mean within K SE of
    twophase.theory.expected_loss(..., precond=p) (helper eng's engine)."""
    import inspect

    if "precond" not in inspect.signature(th.expected_loss).parameters:
        pytest.skip("twophase.theory.expected_loss has no precond yet (branch eng not merged)")
    lam, m0 = _problem("power", "isotropic", D=40)
    p = np.linspace(1.8, 0.6, lam.size)
    method = TwoPhase(0.3, nu=1.4, S=3, R=3, B=4, beta_in=0.4, beta_out=0.3)
    runs = sim.loss_curves(method, lam, m0, 6, 4000, sigma=0.2, seed=9, precond=p)
    theory = th.expected_loss(method, lam, m0, 6, sigma=0.2, form="exact", precond=p)
    assert_within_se(runs, theory, "preconditioned SLA")


@pytest.mark.parametrize("precond, match", [
    (np.ones(3), r"shape \(2,\)"), (np.array([1.0, 0.0]), "> 0"), (np.array([1.0, -1.0]), "> 0"),
    (np.array([1.0, np.inf]), "finite"), ("ones", "precond"), (np.array([True, False]), "precond"),
])
def test_precond_bad_input(precond, match):
    with pytest.raises(ValueError, match=match):
        sim.loss_curves(SGD(0.1), [1.0, 0.5], [0.5, 0.5], 2, 3, precond=precond)


# ----------------------------------------------------------------------------- the chunked loop
def _reference_chunk(method, lam, m0, cycles, n, sigma, sampler, rng, precond=None):
    """The straightforward loop (repeat, sample, step, average, outer step) on one chunk's
    stream, drawing what loss_curves draws in the same order: the reference for the in-place,
    chunked implementation."""
    R, S, b, nu = method.R, method.S, method.beta_out, method.nu
    lr = method.eta * (1.0 if precond is None else precond)
    e0 = np.sqrt(m0) * rng.standard_normal((n, lam.size))
    buf, u = np.zeros_like(e0), np.zeros((n, R, lam.size))
    out = [0.5 * (np.sum(lam * e0 * e0, -1) + sigma ** 2)]
    for _ in range(cycles):
        er = np.repeat(e0[:, None, :], R, axis=1)
        if method.inner_momentum == "reset":
            u = np.zeros_like(u)
        for _ in range(S):
            g = sim.minibatch_gradient(er, lam, method.B, sigma, rng, sampler)
            u = method.beta_in * u + g
            er = er - lr * (u if method.beta_in else g)
        delta = e0 - er.mean(axis=1)
        buf = b * buf + (1 - b) * delta
        e0 = e0 - nu * (b * buf + (1 - b) * delta if method.outer == "nesterov" else buf)
        out.append(0.5 * (np.sum(lam * e0 * e0, -1) + sigma ** 2))
    return np.stack(out, 1)


LOOP_METHODS = [
    SGD(0.5, B=3),
    TwoPhase(0.5, nu=1.0, S=4, R=1, B=2),
    TwoPhase(0.5, nu=1.0, S=3, R=1, B=2, beta_in=0.6),
    TwoPhase(0.5, nu=1.0, S=3, R=1, B=2, beta_in=0.6, inner_momentum="carry"),
    TwoPhase(0.4, nu=1.7, S=3, R=1, B=2),
    TwoPhase(0.4, nu=1.3, S=3, R=3, B=2),
    TwoPhase(0.3, nu=1.5, S=2, R=3, B=4, beta_in=0.5, beta_out=0.4, outer="nesterov"),
    TwoPhase(0.3, nu=1.5, S=2, R=2, B=1, beta_in=0.5, beta_out=0.7, inner_momentum="carry"),
    TwoPhase(0.3, nu=2.0, S=1, R=1, B=5, beta_out=0.6, outer="nesterov"),
]


@pytest.fixture(params=["numba", "numpy"])
def kernel_path(request, monkeypatch):
    """Run a test on the compiled kernel and on the pure-numpy path."""
    if request.param == "numba":
        pytest.importorskip("numba", reason="numba not installed (pinned in requirements.txt)")
        assert sim._fast_step_kernel() is not None
    else:
        monkeypatch.setattr(sim, "_USE_NUMBA", False)
        assert sim._fast_step_kernel() is None
    return request.param


def test_numba_is_used_where_it_is_installed():
    """With numba importable (it is pinned; CI installs it) the fast sampler runs compiled."""
    import importlib.util
    import os

    if importlib.util.find_spec("numba") is None:
        assert not os.environ.get("CI"), "numba is pinned in requirements.txt; CI must have it"
        pytest.skip("numba not installed")
    assert sim._USE_NUMBA and sim._fast_step_kernel() is not None


def test_compiled_normals_are_numpys_stream_bit_for_bit():
    """The compiled filler draws exactly what rng.standard_normal(out=...) draws from the same
    SFC64 state, and leaves the generator where numpy would (the next draws agree too)."""
    pytest.importorskip("numba", reason="numba not installed (pinned in requirements.txt)")
    fill = sim._kernels()[2]
    a, b = sim._chunk_generator(11, 2), sim._chunk_generator(11, 2)
    for shape in [(3, 1001), (1, 7), (40, 64)]:
        x = np.empty(shape)
        fill(a, x)
        y = b.standard_normal(shape)
        assert np.array_equal(x, y), f"shape {shape}: max |compiled - numpy| {np.abs(x - y).max()}"
        assert np.array_equal(a.chisquare(5, size=4), b.chisquare(5, size=4)), "streams drifted apart"


@pytest.mark.parametrize("B, sigma", [(16, 0.3), (1, 0.3), (4, 0.0)])
def test_compiled_draw_step_draws_what_draw_fast_draws(B, sigma):
    """The one-call kernel draws xi, chi2_B, a and chi2_{B-1} in _draw_fast's order, bit for bit
    (its a and rest unscaled: times sigma and sigma**2 they are _draw_fast's), and leaves the
    generator where _draw_fast leaves it."""
    pytest.importorskip("numba", reason="numba not installed (pinned in requirements.txt)")
    draw_step = sim._kernels()[3]
    n, D = 5, 33
    lam = np.linspace(0.1, 1.0, D)
    g1, g2 = sim._chunk_generator(4, 1), sim._chunk_generator(4, 1)
    xi, chi2, a, rest = np.empty((n, D)), np.empty(n), np.empty(n), np.empty(n)
    rows = np.ones((n, D))
    ones = np.ones(D)
    draw_step(g1, rows, xi, lam, np.sqrt(lam), ones * 0.01, ones * 0.1, B, sigma, np.empty((0, D)),
              0.0, np.empty(0), chi2, a, rest)
    xi2 = np.empty((n, D))
    chi2_2, a2, rest2 = sim._draw_fast(g2, xi2, B, sigma)
    assert np.array_equal(xi, xi2), "xi differs"
    assert np.array_equal(chi2, chi2_2), (chi2, chi2_2)
    assert np.array_equal(a * sigma, a2) and np.array_equal(rest * sigma ** 2, rest2), (a, a2, rest, rest2)
    assert g1.random() == g2.random(), "the generators ended in different states"


@pytest.mark.parametrize("sigma", [0.0, 0.3])
@pytest.mark.parametrize("sampler", ["fast", "naive"])
@pytest.mark.parametrize("method", LOOP_METHODS, ids=repr)
def test_chunked_in_place_loop_equals_the_straightforward_loop(method, sampler, sigma, kernel_path,
                                                              monkeypatch):
    """Path by path, to 1e-12: loss_curves (in place, chunks of seeds_per_chunk seeds, each
    on its SeedSequence child, no outer step at R = nu = 1; compiled kernels and numpy path;
    the naive sampler has a compiled outer step only)
    against the plain loop run chunk by chunk on the same streams; with and without a
    preconditioner."""
    from twophase import parallel as par

    # small chunks (a few hundred seeds in all): the test is about chunk boundaries, and over
    # thousands of seeds a rare unstable path amplifies the 1e-16 rounding differences
    monkeypatch.setattr(sim, "CHUNK_ENTRIES", 1 << 12)
    lam, m0 = _problem("power", "isotropic", D=30)
    p = np.linspace(1.5, 0.5, lam.size)
    n = sim.seeds_per_chunk(lam.size, method.R, method.B, sampler)
    seeds = 2 * n + 3  # three chunks, the last one short
    for precond in (None, p):
        got = sim.loss_curves(method, lam, m0, 4, seeds, sigma=sigma, sampler=sampler, seed=5,
                              precond=precond, executor="serial")
        kids = par.chunk_seeds(5, 3)
        ref = np.concatenate([_reference_chunk(method, lam, m0, 4, k, sigma, sampler,
                                               sim._generator(s), precond)
                              for k, s in zip((n, n, 3), kids)])
        close(got, ref, f"{method!r} {sampler} sigma={sigma} precond={precond is not None}")


def _without_stopping(method, lam, m0, cycles, seeds, sigma, seed):
    """The same chunks, each simulated to the end even after all its seeds diverged (the
    library's behaviour before it stopped diverged chunks)."""
    plan = sim._plan(method, lam, m0, cycles, seeds, sigma, "fast", seed, False, None, "serial")
    parts = [sim._simulate_chunk(*task[:9], False, None) for task in plan.tasks]
    return np.concatenate([c for c, _ in parts]), [n for _, n in parts]


@pytest.mark.parametrize("eta, all_diverge", [(0.7, False), (1.1, True)])
def test_diverged_chunks_stop_and_change_nothing(eta, all_diverge, monkeypatch):
    """Chunks of 2 seeds (CHUNK_ENTRIES patched): the curves equal bit for bit those of the
    same chunks simulated to the end; a chunk stops at the cycle where its last seed diverged
    (counted by _simulate), and a run where every seed diverges simulates far fewer cycles."""
    monkeypatch.setattr(sim, "CHUNK_ENTRIES", 64)
    lam = sp.power_law(32, -1.0)
    m0 = sp.initial_moments(lam)
    method, cycles = SGD(eta, B=1), 300
    run = sim._simulate(method, lam, m0, cycles, 16, sigma=0.1, seed=2, executor="serial")
    full, full_n = _without_stopping(method, lam, m0, cycles, 16, 0.1, 2)
    assert np.array_equal(run.curves, full)
    assert full_n == [cycles] * 8 and len(run.simulated) == 8
    first_inf = np.argmax(np.isinf(run.curves), axis=1)
    for k, n in enumerate(run.simulated):
        rows = first_inf[2 * k:2 * k + 2]
        if np.all(np.isinf(run.curves[2 * k:2 * k + 2, -1])):
            assert n == rows.max(), (k, n, rows)  # stopped where its last seed diverged
        else:
            assert n == cycles
    assert np.all(np.isinf(run.curves[:, -1])) == all_diverge
    if all_diverge:
        assert max(run.simulated) < cycles // 2, run.simulated
    else:
        assert np.any(np.isinf(run.curves[:, -1])), "the setting should have some diverged seeds"


def test_all_diverged_run_returns_early_at_default_chunks():
    """Default chunks: SGD far above the edge diverges everywhere within a few dozen of the
    3000 requested steps, and no chunk simulates past that."""
    lam, m0 = _problem("power", "isotropic", D=30)
    run = sim._simulate(SGD(2.5, B=1), lam, m0, 3000, 300, sigma=0.1, seed=1)
    assert len(run.simulated) == 300 // sim.seeds_per_chunk(30) + 1
    first_inf = np.argmax(np.isinf(run.curves), axis=1)
    assert np.all(np.isinf(run.curves[:, -1])) and max(run.simulated) == first_inf.max() < 200


def _executors():
    return ["serial", None, "threads", "processes"]


@pytest.mark.parametrize("executor", ["serial", None, "threads", "processes"])
def test_same_numbers_whatever_runs_the_chunks(executor, monkeypatch):
    """Bit for bit: serial, the default (every local core, here capped at 2 threads),
    ThreadPoolExecutor(2) and ProcessPoolExecutor(2) give the same curves (5 chunks): SLA with
    a preconditioner, and SGD near its edge where some seeds diverge."""
    import concurrent.futures as cf

    monkeypatch.setenv("TWOPHASE_MAX_WORKERS", "2")
    lam, m0 = _problem("power", "isotropic", D=40)
    seeds = 4 * sim.seeds_per_chunk(40, R=2) + 7
    calls = [(TwoPhase(0.5, nu=1.4, S=3, R=2, B=2, beta_in=0.3, beta_out=0.2), 6,
              dict(sigma=0.2, seed=13, precond=np.linspace(0.8, 1.3, 40))),
             (SGD(1.8, B=1), 40, dict(seed=3))]

    def run(ex):
        return [sim.loss_curves(m, lam, m0, c, seeds, executor=ex, **kw) for m, c, kw in calls]

    serial = run("serial")
    if executor == "threads":
        with cf.ThreadPoolExecutor(2) as pool:
            got = run(pool)
    elif executor == "processes":
        with cf.ProcessPoolExecutor(2) as pool:
            got = run(pool)
    else:
        got = run(executor)
    for a, b in zip(got, serial):
        assert a.shape == b.shape and np.array_equal(a, b)
    last = serial[1][:, -1]
    assert np.any(np.isinf(last)) and np.any(np.isfinite(last)), "SGD should be at its edge"


def test_progress_bar_runs_with_threads(capsys):
    """progress=True with the default executor: a shared bar, the same numbers as without."""
    lam, m0 = _problem("power", "isotropic", D=30)
    m = TwoPhase(0.5, nu=1.2, S=2, R=2, B=2)
    a = sim.loss_curves(m, lam, m0, 3, 2000, seed=1, progress=True)
    b = sim.loss_curves(m, lam, m0, 3, 2000, seed=1, progress=False, executor="serial")
    assert np.array_equal(a, b)


@pytest.mark.parametrize("sigma, B", [(0.0, 1), (0.7, 3), (0.4, 16)])
def test_fast_gradient_moments_match_theory_on_the_simulation_stream(sigma, B):
    """The fast sampler on loss_curves' own bit generator (SFC64 from a SeedSequence child):
    E[g] = H e and Cov[g] = ((e.He + sigma^2) H + H e e^T H) / B (Gaussian design), entry-wise
    within K standard errors estimated from the draws themselves (n = 200000)."""
    lam = np.array([1.5, 1.0, 0.6, 0.3, 0.1, 0.05])
    e = np.random.default_rng(5).standard_normal(6)
    n = 200_000
    E = np.broadcast_to(e, (n, 6)).copy()
    g = sim.minibatch_gradient(E, lam, B, sigma, sim._chunk_generator(17), "fast")
    se = g.std(0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(g.mean(0) - lam * e) < K * se), f"mean {g.mean(0)} vs {lam * e}"
    He = lam * e
    cov = ((e @ He + sigma ** 2) * np.diag(lam) + np.outer(He, He)) / B
    c = g - lam * e  # centred at the exact mean
    prod = c[:, :, None] * c[:, None, :]
    se_cov = prod.std(0, ddof=1) / np.sqrt(n)
    z = np.abs(prod.mean(0) - cov) / se_cov
    assert np.all(z < K), f"covariance off by {z.max():.2f} SE:\n{prod.mean(0)}\n{cov}"


@pytest.mark.parametrize("method", [SGD(0.5, B=3), LOOP_METHODS[6]], ids=repr)
def test_zero_error_rows_compiled_and_numpy_agree(method, kernel_path):
    """m0 = 0 with label noise (every first gradient is at e = 0, where ŵ is the first axis)
    and a spectrum with zero modes: loss_curves against the plain loop to 1e-12 on both paths."""
    lam = np.array([1.0, 0.0, 0.5, 0.0, 0.2, 0.1])  # the first axis has lam > 0
    m0 = np.zeros(6)
    got = sim.loss_curves(method, lam, m0, 5, 7, sigma=0.4, seed=2, executor="serial")
    ref = _reference_chunk(method, lam, m0, 5, 7, 0.4, "fast", sim._chunk_generator(2))
    close(got, ref, f"m0 = 0, {kernel_path}")
    assert np.all(got[:, 1:] > got[:, :1])  # noise moved the iterate off zero


@pytest.mark.parametrize("method", [SGD(0.5, B=3), LOOP_METHODS[6], LOOP_METHODS[7]], ids=repr)
def test_numbers_do_not_depend_on_how_the_arrays_arrive(method):
    """Bit for bit: read-only or writable, fresh or reused lam, m0 and precond (the compiled
    kernels may be specialised differently for each, e.g. arrays unpickled in a worker process
    are writable): strict arithmetic with fixed summation orders gives the same numbers."""
    lam, m0 = _problem("power", "isotropic", D=37)
    p = np.linspace(0.6, 1.4, lam.size)
    ro = [x.copy() for x in (lam, m0, p)]
    for x in ro:
        x.setflags(write=False)
    a = sim.loss_curves(method, *ro[:2], 5, 40, sigma=0.2, seed=8, precond=ro[2], executor="serial")
    b = sim.loss_curves(method, lam.copy(), m0.copy(), 5, 40, sigma=0.2, seed=8, precond=p.copy(),
                        executor="serial")
    c = sim.loss_curves(method, list(lam), list(m0), 5, 40, sigma=0.2, seed=8, precond=list(p),
                        executor="serial")
    assert np.array_equal(a, b) and np.array_equal(a, c)
