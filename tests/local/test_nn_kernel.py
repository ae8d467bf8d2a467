"""Chapter 7's speed-ups: the MLP's tanh (compiled loop vs numpy formula vs numpy.tanh), the
reused scratch arrays, and digits_grid's default executor (processes) against the serial run."""
import math
import pickle

import numpy as np
import pytest

from twophase.local import _tanh
from twophase.local.digits import digits_grid
from twophase.local.nn import MLP

numba = pytest.importorskip("numba")


def _points():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(50_000) * s for s in (1e-8, 1e-3, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0)])
    edges = [0.0, -0.0, 5e-324, -5e-324, 1e-300, 22.0, -22.0, 19.06, 18.0, 0.3465, 0.3466, 700.0, -1e308]
    return np.concatenate([x, edges])


def test_tanh_compiled_equals_numpy_formula_bit_for_bit(monkeypatch):
    """The compiled loop and the numpy formula give the same bits (no FMA, no reassociation),
    signs of zeros included; TWOPHASE_ENGINE=numpy selects the formula."""
    x = _points()
    a = _tanh.tanh_(x.copy())
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    b = _tanh.tanh_(x.copy())
    c = x.copy()
    _tanh.tanh_numpy(c)
    assert _tanh._compiled()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.array_equal(np.signbit(a), np.signbit(b))


def test_tanh_within_3_ulp_of_libm_and_exact_at_special_values():
    """Against the C library's tanh (math.tanh; numpy.tanh may use its own SIMD code on some
    CPUs, and here differs from it by up to 3 units in the last place): at most 4 units in the
    last place (the largest error seen over 2.4 million points, median 0) over 400,000 points
    from 1e-8 to 30;
    tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN stays NaN, tiny values are returned as they are,
    and past |x| = 22 the result is exactly +-1."""
    x = _points()
    got = _tanh.tanh_(x.copy())
    ref = np.array([math.tanh(v) for v in x])
    nz = ref != 0
    ulp = np.abs(got[nz] - ref[nz]) / np.spacing(np.abs(ref[nz]))
    assert ulp.max() <= 4, f"max error {ulp.max()} ulp at x = {x[nz][np.argmax(ulp)]!r}"
    special = _tanh.tanh_(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, 25.0, -700.0]))
    np.testing.assert_array_equal(special[[0, 2, 3, 5, 6, 7]], [0.0, 1.0, -1.0, 1e-300, 1.0, -1.0])
    assert not np.signbit(special[0]) and np.signbit(special[1]) and np.isnan(special[4])


def test_tanh_constants_of_the_compiled_loop_are_the_formulas():
    """The constants written out in the compiled path equal those of the numpy formula (1/n!
    for n = 2..14), and its power of two built from the bits equals the numpy formula's
    product of 2**(2**b) over the bits of k, for every k = 0..64 (2|x| <= 44 gives k <= 64)."""
    assert _tanh._COEF == tuple(1.0 / math.factorial(n) for n in range(2, 15))
    assert _tanh._BITS == tuple((float(2 ** b), 2.0 ** (2 ** b)) for b in range(6, -1, -1))
    src = open(_tanh.__file__).read().split("def _reduce_one", 1)[1]
    for c in _tanh._COEF:
        assert repr(c) in src, c
    assert "(np.int64(kb[i]) + 1023) << 52" in src
    k = np.arange(65, dtype=float)
    s_np = np.ones_like(k)
    kk = k.copy()
    for thr, mult in _tanh._BITS:
        big = kk >= thr
        s_np = np.where(big, s_np * mult, s_np)
        kk = np.where(big, kk - thr, kk)
    bits = ((k.astype(np.int64) + 1023) << 52).view(np.float64)
    np.testing.assert_array_equal(bits, s_np)
    np.testing.assert_array_equal(bits, 2.0 ** k)


def test_tanh_non_contiguous_input_takes_the_formula():
    """A strided view is computed by the numpy formula, with the same bits as a contiguous copy."""
    x = _points()[:4000].reshape(40, 100)
    view = x.copy()[:, ::2]
    want = _tanh.tanh_(np.ascontiguousarray(view))
    np.testing.assert_array_equal(_tanh.tanh_(view), want)


def test_mlp_scratch_is_per_thread_and_not_pickled():
    """Scratch arrays are reused within a thread, are not carried by pickling, and the gradient
    after a round trip is the same bit for bit."""
    net = MLP((5, 4, 3))
    rng = np.random.default_rng(1)
    th = rng.standard_normal((2, net.n_params))
    A, y = rng.standard_normal((2, 6, 5)), rng.integers(0, 3, (2, 6))
    g1 = net._loss_grad_into(th, A, y, 1e-4).copy()
    assert "_tls" in vars(net)
    net2 = pickle.loads(pickle.dumps(net))
    assert "_tls" not in vars(net2) and "_pad_cache" not in vars(net2)
    np.testing.assert_array_equal(net2._loss_grad_into(th, A, y, 1e-4), g1)
    np.testing.assert_array_equal(net._loss_grad_into(th, A, y, 1e-4), g1)   # the scratch reused


class _Count:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k


def test_digits_grid_in_processes_gives_the_serial_numbers(monkeypatch):
    """executor="processes" (every local core, in forked processes; two here) gives the serial
    numbers bit for bit, and the progress object counts every configuration."""
    monkeypatch.setenv("TWOPHASE_MAX_WORKERS", "2")
    monkeypatch.setattr("twophase.parallel._local_cores", lambda: 2)
    kw = dict(Ms=[2], Hs=[1, 2], splits=["dirichlet"], methods=["identity", "adam"],
              grids={"identity": [0.3, 1.0, 3.0], "adam": [0.003, 0.03, 0.3]}, rounds=2, seeds=[0, 1],
              tune_seed=100, alpha=1e-3, beta=0.9, hidden=4)
    serial = digits_grid(**kw, executor="serial")
    count = _Count()
    procs = digits_grid(**kw, executor="processes", progress=count)
    assert count.n == 4
    assert list(serial) == list(procs)
    for k in serial:
        for f in ("gamma", "loss", "acc", "tune_scores", "loss_long"):
            if f in serial[k]:
                np.testing.assert_array_equal(serial[k][f], procs[k][f], err_msg=f"{k} {f}")


def test_default_executor_is_processes_from_the_work_threshold():
    """executor=None means processes from _PROCESS_MIN_WORK of work on (the chapter's sizes),
    serial below it (the tests' and the quick benchmark's sizes); a given executor is kept."""
    from twophase.local import digits as dg

    assert dg._where(None, dg._PROCESS_MIN_WORK) == "processes"
    assert dg._where(None, dg._PROCESS_MIN_WORK - 1) == "serial"
    assert dg._where("serial", 10 ** 9) == "serial"
    # chapter 7's quick profile is above the threshold (one configuration of it, Local SGD)
    args = (None, "identity", [1.0, 3.0, 10.0], 4, 5, 12, [0, 1, 2], 100, 1e-3, 0.9, 12)
    assert 8 * dg._config_work(args) >= dg._PROCESS_MIN_WORK


@pytest.mark.parametrize("sizes,B", [((64, 32, 10), 32), ((64, 32, 10), 128), ((5, 4, 3), 7), ((6, 9, 8, 17), 5),
                                     ((3, 2), 4)])
def test_compiled_gradient_passes_equal_numpy_bit_for_bit(sizes, B, monkeypatch):
    """The gradient with the compiled elementwise passes (bias, softmax delta, column sums,
    tanh derivative, weight decay) equals the numpy passes and loss_grad + wd * theta bit for
    bit, signs of zeros included, also with large logits (an exp that underflows) and zero
    weight decay; TWOPHASE_ENGINE=numpy selects the numpy passes."""
    from twophase.local import _mlp_kernel

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    assert _mlp_kernel.kernels(), "the compiled passes must be available where numba is"
    net = MLP(sizes)
    rng = np.random.default_rng(len(sizes) * 100 + B)
    N = 6
    theta = np.stack([net.init(rng) for _ in range(N)]) + 0.5 * rng.standard_normal((N, net.n_params))
    theta[0] *= 40.0                                   # logits of hundreds: exp underflows to 0
    A = rng.standard_normal((N, B, sizes[0]))
    y = rng.integers(0, sizes[-1], (N, B))
    for wd in (1e-4, 0.0):
        got = net._loss_grad_into(theta, A, y, wd).copy()
        want = net._loss_grad_into_numpy(theta, A, y, wd).copy()
        _, g = net.loss_grad(theta, A, y)
        ref = g + wd * theta if wd else g
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, ref)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    assert not _mlp_kernel.kernels()
    np.testing.assert_array_equal(net._loss_grad_into(theta, A, y, 0.0), want)   # wd = 0 from the loop


def test_compiled_softmax_propagates_nan_like_numpy(monkeypatch):
    """A NaN logit makes the whole row NaN in both paths (numpy's max propagates it)."""
    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    net = MLP((4, 3))
    theta = np.ones((2, net.n_params))
    theta[1, 5] = np.nan
    A = np.ones((2, 4, 4))
    y = np.zeros((2, 4), dtype=int)
    got = net._loss_grad_into(theta, A, y, 0.0)
    want = net._loss_grad_into_numpy(theta, A, y, 0.0)
    np.testing.assert_array_equal(got, want)
    assert np.all(np.isnan(got[1])) and np.all(np.isfinite(got[0]))


def test_compiled_pairwise_sum_is_numpys(monkeypatch):
    """The compiled pairwise sum gives numpy's sum bit for bit for every length up to 1100
    (blocks, halves, remainders) and a few long ones up to numpy's buffer of 8192 (above it
    numpy sums buffer by buffer; the loss uses the loop for shards of at most 8192 rows)."""
    from twophase.local import _mlp_kernel

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    kern = _mlp_kernel.kernels()
    assert kern
    rng = np.random.default_rng(3)
    a = rng.standard_normal(9000) * np.exp(rng.standard_normal(9000) * 5)
    frames, vals = np.zeros((64, 3), dtype=np.int64), np.zeros(64)
    for n in list(range(0, 1100)) + [2047, 2048, 2049, 4999, 8191, 8192]:
        assert _mlp_kernel._pairwise(a, 3, n, frames, vals) == a[3:3 + n].sum(), n


def test_compiled_train_loss_equals_the_numpy_loss(monkeypatch):
    """The stacked train loss (compiled per-sample cross-entropies and shard means) equals the
    numpy computation and MLPClassifier.loss bit for bit, for runs with different shards."""
    from twophase.local.digits import digits_problem
    from twophase.local.problems import _MLPStack

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    ps = [digits_problem(5, "dirichlet", s, hidden=8) for s in (0, 1, 2)]
    X = np.stack([p[1] for p in ps]) + 0.3 * np.random.default_rng(0).standard_normal((3, ps[0][0].d))
    st = _MLPStack([p[0] for p in ps])
    got = st.loss(X)
    want = np.array([p[0].loss(x) for p, x in zip(ps, X)])
    np.testing.assert_array_equal(got, want)
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    np.testing.assert_array_equal(_MLPStack([p[0] for p in ps]).loss(X), got)


def test_compiled_exp_and_log_are_numpys(monkeypatch):
    """The compiled passes are on wherever numba is (numpy's own exp and log are called between
    them, so no check of the C library's is needed), and the softmax delta of logits spread
    over exp's whole range, underflow included, equals the numpy passes bit for bit."""
    from twophase.local import _mlp_kernel

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    kern = _mlp_kernel.kernels()
    assert kern and "softmax_delta" not in kern and {"row_shift_into", "softmax_finish"} <= set(kern)
    net = MLP((3, 12))
    rng = np.random.default_rng(11)
    theta = rng.standard_normal((5, net.n_params)) * np.array([1e-3, 1.0, 30.0, 300.0, 3000.0])[:, None]
    A = rng.standard_normal((5, 64, 3))
    y = rng.integers(0, 12, (5, 64))
    np.testing.assert_array_equal(net._loss_grad_into(theta, A, y, 0.0), net._loss_grad_into_numpy(theta, A, y, 0.0))


@pytest.mark.parametrize("per_worker", [False, True])
def test_decay_step_equals_the_numpy_step(per_worker, monkeypatch):
    """One compiled pass (G += wd * X, then X -= (G / De) * g) equals the numpy operations
    (decay, np.divide, *= g, -=) bit for bit, signed zeros, infinities and NaNs included,
    for one diagonal per run and one per worker, with and without weight decay."""
    from twophase.local import _mlp_kernel

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    kern = _mlp_kernel.kernels()
    rng = np.random.default_rng(5)
    R, M, d = 3, 4, 37
    X = rng.standard_normal((R, M, d))
    G = rng.standard_normal((R, M, d)) * 1e3
    X[0, 0, :4], G[0, 0, :4] = [0.0, -0.0, np.inf, np.nan], [-0.0, 0.0, 1.0, 2.0]
    De = np.abs(rng.standard_normal((R, M if per_worker else 1, d))) + 1e-3
    De[1, 0, 3] = np.inf
    g = np.array([0.1, 3.0, 1e-5])
    for wd in (1e-4, 0.0):
        Xn, Gn = X.copy(), G.copy()
        Xc, Gc = X.copy(), G.copy()
        with np.errstate(all="ignore"):
            if wd:
                Gn += np.multiply(wd, Xn)
            step = np.empty_like(Xn)
            np.divide(Gn, De, out=step)
            step *= g[:, None, None]
            Xn -= step
            kern["decay_step"](Xc, Gc, De, g, wd)
        np.testing.assert_array_equal(Xc, Xn)
        np.testing.assert_array_equal(Gc, Gn)
        assert np.array_equal(np.signbit(Xc), np.signbit(Xn)) and np.array_equal(np.signbit(Gc), np.signbit(Gn))


def _stack_of(seeds, M=4):
    from twophase.local.digits import digits_problem
    from twophase.local.problems import _MLPStack

    ps = [digits_problem(M, "dirichlet", s, hidden=6) for s in seeds]
    return _MLPStack([p[0] for p in ps]), np.stack([np.tile(p[1], (M, 1)) for p in ps])


def test_stacked_local_step_equals_the_numpy_step(monkeypatch):
    """_MLPStack.local_step (gradient without decay, then the compiled decay and step) gives the
    iterates and gradients of the generic numpy step (stoch_grad, then divide, *= g, -=) bit
    for bit, draws the same random numbers, and TWOPHASE_ENGINE=numpy takes the numpy step."""
    from twophase.local.method import streams
    from twophase.local.problems import _RunStack

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    st, X0 = _stack_of([0, 1, 2])
    rng = np.random.default_rng(2)
    for De in (np.abs(rng.standard_normal((3, 1, st.problems[0].d))) + 0.1,
               np.abs(rng.standard_normal((3, 4, st.problems[0].d))) + 0.1):
        g = np.array([0.3, 0.03, 3.0])[:, None, None]
        out = []
        for how in ("compiled", "generic", "numpy"):
            if how == "numpy":
                monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
            X, gens = X0.copy(), [streams(s)[0] for s in (7, 8, 9)]
            step = np.empty_like(X)
            Gs = []
            for _ in range(3):
                f = _RunStack.local_step if how == "generic" else type(st).local_step
                Gs.append(f(st, X, gens, De, g, step).copy())
            out.append((X, np.stack(Gs), [r.random() for r in gens]))
            monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
        for X, G, nxt in out[1:]:
            np.testing.assert_array_equal(out[0][0], X)
            np.testing.assert_array_equal(out[0][1], G)
            assert out[0][2] == nxt


def test_stacked_sampling_equals_each_problems_sample():
    """_MLPStack.sample_rows draws every run's rows as problems[r].sample does (the same numbers
    from the same generator, then the same arithmetic, all runs at once), and the hook before
    each draw sees the generators in run order; the generators end in the same state."""
    from twophase.local.method import streams
    from twophase.local.problems import rademacher

    st, _ = _stack_of([0, 1, 2, 3], M=5)
    for batch in (None, 128):
        a, b = [streams(s)[1] for s in (1, 2, 3, 4)], [streams(s)[1] for s in (1, 2, 3, 4)]
        Za, Zb, seen = np.empty((4, 5, 3)), np.empty((4, 5, 3)), []

        def before(r, g):
            seen.append(r)
            Za[r] = rademacher(g, (5, 3))

        got = st.sample_rows(a, batch, before=before)
        want = []
        for r, (p, g) in enumerate(zip(st.problems, b)):
            Zb[r] = rademacher(g, (5, 3))
            want.append(p.sample(g, batch))
        np.testing.assert_array_equal(got, np.stack(want))
        np.testing.assert_array_equal(Za, Zb)
        assert seen == [0, 1, 2, 3] and got.dtype == np.stack(want).dtype
        assert [g.random() for g in a] == [g.random() for g in b]
    sub = st.take([2, 0])
    a, b = [streams(s)[0] for s in (5, 6)], [streams(s)[0] for s in (5, 6)]
    np.testing.assert_array_equal(sub.sample_rows(a), np.stack([st.problems[2].sample(b[0]),
                                                                 st.problems[0].sample(b[1])]))


def test_small_grid_equals_the_old_grid_steps_and_iterates_bit_for_bit():
    """digits_grid (compiled passes, fused step, batched sampling) and the old grid
    (_reference.digits_grid_reference) give the same tuned steps and final iterates, bit for
    bit, for all four methods, and the accuracy curves; the loss curves and tuning scores to
    1e-13 relative. The two form the losses in other matrix products, and BLAS may round a row
    at the edge of a product differently by CPU: identical on the machine this was written on,
    1 ulp in one of 200 entries on an AMD EPYC (the bound test_local_batch keeps for the same
    reason)."""
    from twophase.local._reference import digits_grid_reference

    kw = dict(Ms=[3], Hs=[1, 3], splits=["dirichlet"], methods=["identity", "rmsprop", "adam", "oasis"],
              grids={"identity": [0.3, 3.0], "rmsprop": [0.003, 0.03], "adam": [0.003, 0.03],
                     "oasis": [0.003, 0.03]},
              rounds=3, seeds=[0, 1], tune_seed=100, alpha=1e-3, beta=0.9, hidden=6)
    new = digits_grid(**kw, executor="serial")
    old = digits_grid_reference(**kw)
    assert list(new) == list(old)
    for k in new:
        assert new[k]["gamma"] == old[k]["gamma"], k
        if new[k]["x_final"] is not None:
            for a, b in zip(new[k]["x_final"], old[k]["x_final"]):
                np.testing.assert_array_equal(a, b, err_msg=f"{k} x_final")
        if "acc" in old[k]:
            np.testing.assert_array_equal(new[k]["acc"], old[k]["acc"], err_msg=f"{k} acc")
        for f in ("loss", "tune_scores", "loss_long"):
            if f in old[k]:
                np.testing.assert_allclose(new[k][f], old[k][f], rtol=1e-13, atol=0,
                                           err_msg=f"{k} {f}")


def test_pow2_inverse_only_where_multiplying_is_dividing():
    """The softmax multiplies by 1 / B only for B a power of two (then x * (1 / B) == x / B for
    every x, checked here on normal, subnormal, zero and infinite values); otherwise it divides."""
    from twophase.local._mlp_kernel import pow2_inverse

    assert [pow2_inverse(b) for b in (1.0, 2.0, 32.0, 128.0, 2.0 ** 1000)] == [1.0, 0.5, 1 / 32, 1 / 128,
                                                                                2.0 ** -1000]
    assert all(pow2_inverse(b) == 0.0 for b in (3.0, 7.0, 96.0, 0.5 ** 1030, 2.0 ** 1023 * 1.5, 0.0, -4.0,
                                                np.inf, np.nan))
    rng = np.random.default_rng(4)
    with np.errstate(over="ignore", under="ignore"):
        x = rng.standard_normal(20_000) * 10.0 ** rng.uniform(-320.0, 308.0, 20_000)
    x = np.concatenate([x, [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, np.inf, -np.inf,
                            1.7976931348623157e308]])
    assert np.sum((x != 0) & (np.abs(x) < 2.2250738585072014e-308)) > 100   # subnormals included
    for b in (2.0, 32.0, 128.0, 2.0 ** 60):
        np.testing.assert_array_equal(x * pow2_inverse(b), x / b)
        assert np.array_equal(np.signbit(x * pow2_inverse(b)), np.signbit(x / b))


@pytest.mark.parametrize("shape,rows", [((3, 1536, 32), 1437), ((4, 40, 7), 40), ((2, 5, 256), 3), ((2, 9, 300), 9)])
def test_bias_tanh_equals_bias_then_tanh(shape, rows, monkeypatch):
    """The compiled bias-and-tanh pass gives z + b then tanh_ bit for bit on the first ``rows``
    rows and leaves the rest as they were; it declines (returns False, z untouched) for rows
    of more than 256 entries, non-contiguous arrays and TWOPHASE_ENGINE=numpy."""
    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    rng = np.random.default_rng(shape[2])
    z0 = rng.standard_normal(shape) * 3.0
    z0[0, 0, :3] = [np.nan, np.inf, -0.0]
    theta = rng.standard_normal((shape[0], shape[2] + 17))
    want = z0 + theta[:, None, 10:10 + shape[2]]
    _tanh.tanh_(want)
    z = z0.copy()
    ok = _tanh.bias_tanh_(z, theta, 10, rows)
    assert ok == (shape[2] <= 256)
    if ok:
        np.testing.assert_array_equal(z[:, :rows], want[:, :rows])
        assert np.array_equal(np.signbit(z[:, :rows]), np.signbit(want[:, :rows]))
        np.testing.assert_array_equal(z[:, rows:], z0[:, rows:])
    else:
        np.testing.assert_array_equal(z, z0)
    assert not _tanh.bias_tanh_(np.asfortranarray(z0[:, :, :2]), theta, 0)
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    assert not _tanh.bias_tanh_(z0.copy(), theta, 10)


def test_full_logits_compiled_equal_numpy(monkeypatch):
    """The full-data logits (bias and tanh in one pass on the data rows, compiled last-layer
    bias) equal the numpy path (TWOPHASE_ENGINE=numpy) bit for bit, train and test sets."""
    from twophase.local.digits import digits_problem

    monkeypatch.delenv("TWOPHASE_ENGINE", raising=False)
    prob, x0, (Xte, _) = digits_problem(4, "iid", 0)
    X = np.stack([x0, 1.5 * x0, -x0]) + 0.01
    got = [prob.net._full_logits(X, f).copy() for f in (prob.a, Xte)]
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    for g, f in zip(got, (prob.a, Xte)):
        np.testing.assert_array_equal(g, prob.net._full_logits(X, f))
